"""Notebooks: a result displays itself in a real Jupyter kernel; the example notebook is current.

The kernel runs examples/notes.ipynb as a reader would (ipykernel, through nbclient): what
the committed file shows is what executing it writes, byte for byte, and its outputs are
markdown with the verdict first, the exact derivative in LaTeX, and for the wrong backward
the aligned lines of `assert_agrees`.
"""
import importlib.util
import os

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "examples", "notes.ipynb")


def _execute_module():
    spec = importlib.util.spec_from_file_location("execute", os.path.join(ROOT, "examples", "execute.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def executed():
    run = _execute_module()
    return run, run.executed(NOTEBOOK)


def _results(nb):
    return [o.data for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "execute_result"]


def test_the_committed_notebook_is_what_executing_it_writes(executed):
    run, nb = executed
    with open(NOTEBOOK, encoding="utf-8") as f:
        assert f.read() == run.text(nb), "run `python examples/execute.py` and commit the notebook"


def test_each_result_displays_as_markdown_verdict_first_with_latex(executed):
    _, nb = executed
    shown = _results(nb)
    assert len(shown) == 6
    for data in shown[:5]:  # the notes' five functions
        assert data["text/markdown"].startswith("**agree** · ")
        assert "$$\\frac{\\partial\\, \\mathrm{out.sum()}}{\\partial " in data["text/markdown"]
        assert "| origin " in data["text/markdown"]  # the points table
        assert "': agree, 5 points" in data["text/plain"] or "': agree, 87 points" in data["text/plain"]
        assert "\n" not in data["text/plain"] and "PointResult" not in data["text/plain"]  # one line, the repr
    assert "= 4 x$$" in shown[0]["text/markdown"]
    assert "`out.backward()` raises" in shown[2]["text/markdown"]
    assert "piecewise, 82 pieces" in shown[4]["text/markdown"]


def test_a_wrong_backward_displays_disagree_and_the_aligned_lines(executed):
    _, nb = executed
    text = _results(nb)[5]["text/markdown"]
    # the backward gives 2x² for x³: wrong in reverse mode, and its own derivative 4x (not 6x) in reverse over reverse
    assert text.startswith("**disagree (reverse, reverse over reverse)** · `Cube`"), text[:80]
    assert "compare: Cube (<cell>:" in text  # the cell, not the kernel's temporary file
    assert "       exact (SymPy): [ 3.  , 12.  ,  0.75]\n    autograd float32: [2. , 8. , 0.5]" in text
