"""Pictures: which cases get one, the same bytes every run, and matplotlib only when drawing."""
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

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


# -- what a reader sees: no overlapping ticks, no hidden points, a title that says what is drawn ----
def _drawn(monkeypatch, result):
    """render_plot's figure, caught as it is saved, laid out as in the PNG."""
    from matplotlib.figure import Figure

    caught = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (caught.append(self), save(self, *a, **k))[1])
    assert render_plot(result) is not None
    fig = caught[0]
    fig.canvas.draw()
    return fig, fig.canvas.get_renderer()


def _labels(axis, renderer):
    low, high = sorted(axis.get_view_interval())
    return [label.get_window_extent(renderer) for loc, label in zip(axis.get_majorticklocs(), axis.get_ticklabels())
            if low <= loc <= high and label.get_visible() and label.get_text()]


def _case(path, name):
    from compare.engine import check_case
    from compare.load import load_file

    return check_case(next(c for c in load_file(path).cases if c.name == name))


@pytest.mark.skipif(not available(), reason="matplotlib is an optional extra")
@pytest.mark.parametrize("path, name", [("cases/notes/autograd.py", "control_flow"),
                                        ("cases/d2l/exercises.py", "log_sin_reciprocal")])
def test_no_tick_labels_overlap_and_the_legend_hides_no_point(monkeypatch, path, name):
    fig, renderer = _drawn(monkeypatch, _case(path, name))
    for ax in fig.axes:
        for axis, lo, hi in ((ax.xaxis, "x0", "x1"), (ax.yaxis, "y0", "y1")):
            spans = sorted((getattr(b, lo), getattr(b, hi)) for b in _labels(axis, renderer))
            assert all(b[0] >= a[1] for a, b in zip(spans, spans[1:])), (name, axis.axis_name, spans)
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    for legend in legends:  # outside every panel: it covers none of their points
        box = legend.get_window_extent(renderer)
        assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes), name
    _title_fits(fig, renderer)


def _title_fits(fig, renderer):
    title = (fig._suptitle if fig.get_suptitle() else fig.axes[0].title).get_window_extent(renderer)
    assert fig.bbox.x0 <= title.x0 and title.x1 <= fig.bbox.x1, fig.get_suptitle()  # the title is not cut


@pytest.mark.skipif(not available(), reason="matplotlib is an optional extra")
def test_the_title_says_what_detach_and_a_kink_make_of_the_derivative(monkeypatch):
    fig, renderer = _drawn(monkeypatch, _case("cases/notes/autograd.py", "detached"))
    title = fig.get_suptitle() or fig.axes[0].get_title()
    assert "x**2 is held constant" in title and "3*x**2" in title, title  # f = x**3, drawn: x**2
    _title_fits(fig, renderer)
    fig, renderer = _drawn(monkeypatch, _case("cases/idioms/in_place.py", "written_under_no_grad"))
    assert "held constant" in fig.get_suptitle(), fig.get_suptitle()  # a clamp under no_grad: the slope is not 1
    _title_fits(fig, renderer)
    assert fig.axes[1].yaxis.label.get_window_extent(renderer).y0 >= 0  # nor its axis label
    fig, renderer = _drawn(monkeypatch, compare.check(F.hardswish, (torch.tensor([-4.0, 0.5, 4.0]),), samples=1))
    title = fig.get_suptitle() or fig.axes[0].get_title()
    assert "kinks at input = −3, 3" in title, title  # where hardswish's derivative jumps (F.hardswish(input))
    _title_fits(fig, renderer)
    fig, _ = _drawn(monkeypatch, compare.check(torch.sin, (torch.tensor([-1.0, 0.5, 2.0]),), samples=1))
    title = fig.get_suptitle() or fig.axes[0].get_title()
    assert "kink" not in title and "detach" not in title, title  # smooth, nothing held: nothing to say
