"""One page per case: page names are all different, and the index links each row to its own page."""
import json
import os
import re
from types import SimpleNamespace

from compare import cli
from compare.load import discover, load_file
from compare.render.report import page_names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _names(*pairs):
    return page_names([SimpleNamespace(name=name, file=file) for name, file in pairs])


def test_names_that_do_not_repeat_are_the_case_names():
    assert _names(("f", "a.py"), ("g", "a.py"), ("h", "b.py")) == ["f", "g", "h"]


def test_a_name_in_two_files_is_prefixed_by_the_file_as_before():
    assert _names(("f", "x/a.py"), ("f", "x/b.py"), ("g", "x/b.py")) == ["a.f", "b.f", "g"]


def test_a_name_repeated_in_one_file_gets_a_numeric_suffix():
    assert _names(("f", "a.py"), ("f", "a.py"), ("g", "a.py"), ("f", "a.py")) == ["f", "f-2", "g", "f-3"]


def test_every_kind_of_repeat_gives_different_names():
    pairs = [("f", "x/a.py"), ("f", "x/a.py"), ("f", "y/a.py"),  # one file twice, and a file of the same name
             ("F", "x/b.py"),                                    # the same page on a case-insensitive disk
             ("index", "x/c.py"),                                # would replace index.md
             ("g", "x/d.py"), ("g", "x/d.py"), ("g-2", "x/d.py")]  # a suffix must not take a later case's name
    names = _names(*pairs)
    assert len({n.casefold() for n in names} | {"index"}) == len(names) + 1, names
    assert names == ["a.f", "a.f-2", "a.f-3", "F", "index-2", "g", "g-3", "g-2"]
    assert names == _names(*pairs)  # deterministic


def test_the_shipped_cases_keep_their_plain_names():
    cases = [c for path in discover([os.path.join(ROOT, "cases")]) for c in load_file(path).cases]
    assert len(cases) > 30
    assert page_names(cases) == [c.name for c in cases]


LOOP = '''import torch
from compare import case

for k in (2.0, 3.0):
    @case(inputs={"x": torch.tensor([1.0, 2.0])}, expect=lambda x, k=k: k * x)
    def f(x, k=k):
        return (k / 2 * x * x).sum()


@case(inputs={"x": torch.tensor([1.0, 2.0])}, expect=lambda x: torch.cos(x))
def f(x):
    return torch.sin(x).sum()
'''


def test_cases_of_one_name_in_one_file_each_have_their_page(tmp_path, capsys):
    (tmp_path / "a.py").write_text(LOOP)
    out = tmp_path / "reports"
    assert cli.main(["run", str(tmp_path / "a.py"), "--out", str(out), "--samples", "0", "--jobs", "1"]) == 0
    index = (out / "index.md").read_text()
    links = re.findall(r"\[f\]\(([^)]*)\)", index)
    assert links == ["f.md", "f-2.md", "f-3.md"]
    pages = [(out / link).read_text() for link in links]
    assert "k / 2 * x * x" in pages[0] and "k / 2 * x * x" in pages[1] and "torch.sin(x)" in pages[2]
    derivatives = [re.search(r"\\partial x\} = (.*)\$\$", page).group(1) for page in pages]
    assert derivatives == ["2 x", "3 x", "\\cos{\\left(x \\right)}"]
    assert sorted(os.listdir(out)) == ["f-2.md", "f-3.md", "f.md", "index.md", "results.json"]
    assert [c["name"] for c in json.loads((out / "results.json").read_text())["cases"]] == ["f", "f", "f"]
