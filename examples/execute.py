"""Execute the example notebooks in a real Jupyter kernel and write them back with their outputs.

    python examples/execute.py                 # every examples/*.ipynb
    python examples/execute.py examples/notes.ipynb

The outputs are deterministic (seeded points, no timestamps), and what would
differ between runs is stripped: execution timings, the kernel's version and
cell ids. Running it twice gives the same bytes; `tests/test_notebook.py`
checks that the committed notebooks are what it writes.
"""
from __future__ import annotations

import glob
import os
import sys

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 600
"""Seconds a cell may run."""


def executed(path: str) -> nbformat.NotebookNode:
    """The notebook at `path`, executed from its own folder, with volatile metadata removed."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}).execute()
    return stripped(nb)


def stripped(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """`nb` without what changes from run to run: timings, kernel and Python versions, cell ids."""
    nb.metadata = nbformat.from_dict({"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"},
                                      "language_info": {"name": "python"}})
    for k, cell in enumerate(nb.cells):
        cell.metadata = nbformat.from_dict({})
        cell["id"] = f"cell-{k}"
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def text(nb: nbformat.NotebookNode) -> str:
    """The notebook as the file holds it."""
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    paths = argv or sorted(glob.glob(os.path.join(HERE, "*.ipynb")))
    for path in paths:
        written = text(executed(path))  # before the file is opened for writing
        with open(path, "w", encoding="utf-8") as f:
            f.write(written)
        print(f"executed {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
