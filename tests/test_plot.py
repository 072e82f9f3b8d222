"""Pictures: which cases get one, the same bytes every run, and matplotlib only when drawing."""
import subprocess
import sys

import pytest
import torch

import compare
from compare.render.plot import available, curve, render_plot


def _flow(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    return b if b.sum() > 0 else 100 * b


def test_one_dimensional_cases_have_a_curve_and_others_none():
    assert curve(compare.check(torch.sin, (torch.tensor([0.5, 1.0]),), samples=1)) is not None
    assert curve(compare.check(lambda x: torch.dot(x, x), (torch.tensor([0.5, 1.0]),), samples=1)) is None
    assert curve(compare.check(lambda x: torch.softmax(x, 0), (torch.tensor([0.5, 1.0]),), samples=1)) is None
    flow = curve(compare.check(_flow, {"a": torch.tensor(0.8)}, loop_bound=8, samples=1))
    assert flow is not None and len(flow.pieces) > 4 and flow.uncovered


@pytest.mark.skipif(not available(), reason="matplotlib is an optional extra")
def test_pictures_are_byte_identical_and_carry_no_software_stamp():
    result = compare.check(_flow, {"a": torch.tensor(0.8)}, loop_bound=8, samples=1)
    first, second = render_plot(result), render_plot(result)
    assert first.startswith(b"\x89PNG") and first == second
    assert b"matplotlib" not in first


def test_reports_do_not_import_matplotlib():
    code = ("import sys; import compare.cli, compare.render.report, compare.engine, compare.render.plot, compare.api; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_matplotlib_pages_are_complete_and_have_no_picture(monkeypatch, tmp_path):
    from compare import cli
    from compare.render import plot

    case_file = tmp_path / "sine.py"
    case_file.write_text("import torch\nfrom compare import case\n\n"
                         "@case(inputs={'x': torch.tensor([0.5, 1.0])}, samples=1)\n"
                         "def sine(x):\n    return torch.sin(x)\n")
    monkeypatch.setattr(plot, "available", lambda: False)
    assert cli.main(["run", str(case_file), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.md", "results.json", "sine.md"]
    page = (tmp_path / "out" / "sine.md").read_text()
    assert "![" not in page, page
    assert "## Points" in page and "· matplotlib" not in page, page


def test_a_picture_that_cannot_be_drawn_costs_only_the_picture(monkeypatch, tmp_path, capsys):
    from compare import cli
    from compare.render import plot

    case_file = tmp_path / "sine.py"
    case_file.write_text("import torch\nfrom compare import case\n\n"
                         "@case(inputs={'x': torch.tensor([0.5, 1.0])}, samples=1)\n"
                         "def sine(x):\n    return torch.sin(x)\n")

    def breaks(result):
        raise TypeError("only 0-dimensional arrays can be converted to Python scalars")

    monkeypatch.setattr(plot, "render_plot", breaks)
    assert cli.main(["run", str(case_file), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.md", "results.json", "sine.md"]
    assert "sine: no picture: TypeError" in capsys.readouterr().err


def test_erfc_is_drawn_entry_by_entry():
    import numpy as np
    import sympy

    from compare.render.plot import _numeric

    x = sympy.Symbol("x", real=True)
    got = _numeric(sympy.erfc(x) * sympy.asin(x / 2), x)(np.array([0.5, -1.0]))
    assert np.allclose(got, [0.4795001221869535 * 0.25268025514207865, 1.8427007929497148 * -0.5235987755982989])
