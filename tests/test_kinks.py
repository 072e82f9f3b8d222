"""Kinks: autograd following PyTorch's rules is `convention`; anything else still fails.

How the rules are found: sites are the ops autograd runs (recorded as heads
at the dispatcher), each judged by its own local function; the chain rule
through every combination of the sites' allowed partials gives the allowed
gradients. tests/test_kink_corpus.py holds the points with their sets.
"""
import json
import math
import re

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F

import compare
from compare import case
from compare.case import collecting
from compare.engine import check_case
from compare.explore import run_symbolic
from compare import kinks
from compare.kinks import TABLE, TORCH
from compare.kinks.local import analyse
from compare.load import load_file
from compare.records import Meta
from compare.render.report import render_index
from compare.render.results_json import render_json
from compare.exact.sym import input_symbols
from compare.symbolic import SymTensor, recording
from compare.symbolic.switches import sign_of

F64 = torch.float64


def _one(declare):
    with collecting() as found:
        declare()
    return found[0]


@pytest.fixture(scope="module")
def cases():
    found = {}
    for name in ("activations", "elementwise", "ties", "norms"):
        loaded = load_file(f"cases/kinks/{name}.py")
        assert loaded.error is None
        found.update({c.name: c for c in loaded.cases})
    return found


@pytest.fixture(scope="module")
def kinked(cases):
    names = ["relu_at_zero", "abs_at_zero", "norm_at_zero", "sqrt_at_zero", "clamp_at_bounds", "max_with_ties",
             "amax_with_ties", "max_dim_with_ties"]
    return {n: check_case(cases[n], samples=1) for n in names}


def test_relu_at_zero_is_convention_with_the_rule_named(kinked):
    r = kinked["relu_at_zero"]
    assert r.status == "convention"
    example = r.points[0]
    assert example.status == "convention"
    assert example.rule.startswith("relu(0): convex there") and "rule 2" in example.rule
    assert example.torch == TORCH == torch.__version__
    np.testing.assert_array_equal(example.symbolic["x"], [0.5, 1, 0])  # SymPy's Heaviside(0) = 1/2
    np.testing.assert_array_equal(example.autograd["x"], [0, 1, 0])
    assert [a["x"].tolist() for a in example.allowed] == [[0, 1, 0]]
    np.testing.assert_allclose(example.oracles["finite_difference"].values["x"], [0.5, 1, 0], atol=1e-9)
    assert [p.status for p in r.points[1:]] == ["agree"]  # off the kink, an ordinary point
    assert r.points[1].rule is None and r.points[1].allowed == ()


@pytest.mark.parametrize("name, op, autograd", [
    ("abs_at_zero", "abs", [0, 1, -1]),
    ("norm_at_zero", "linalg_vector_norm", [0, 0, 0]),
    ("sqrt_at_zero", "sqrt", [np.inf, 1, 0.25]),
    ("clamp_at_bounds", "clamp", [1, 1, 1, 0]),
    ("max_with_ties", "max", [0, 0.5, 0.5, 0]),
    ("amax_with_ties", "amax", [[0.5, 0.5, 0], [0, 0.5, 0.5]]),
    ("max_dim_with_ties", "max", [[1, 0, 0], [0, 1, 0]]),
])
def test_each_kink_follows_its_rule(kinked, name, op, autograd):
    example = kinked[name].points[0]
    assert example.status == "convention", example.note
    assert example.rule.startswith(op + "(")
    np.testing.assert_array_equal(example.autograd64["x"], autograd)


def test_a_wrong_backward_at_the_kink_is_still_disagree():
    r = check_case(load_file("tests/user_cases/wrong_kink.py").cases[0], samples=2)
    assert r.status == "disagree"
    example = r.points[0]
    assert example.status == "disagree"
    assert example.rule is None
    assert "relu" in example.note and "not what PyTorch's rules give" in example.note and "rule 2" in example.note
    assert all(p.status == "agree" for p in r.points[1:])  # right everywhere but at 0


def test_the_rule_follows_the_chain_rule_through_the_op():
    def declare():
        @case(inputs={"x": torch.tensor([0.0, 1.0])})
        def scaled(x):
            return (3 * torch.relu(2 * x) + torch.abs(x - 1)).sum()

    r = check_case(_one(declare), samples=0)
    assert r.status == "convention"
    rules = r.points[0].rule.split("; ")
    assert [rule.split(":")[0] for rule in rules] == ["relu(0)", "abs(0)"]
    np.testing.assert_array_equal(r.points[0].autograd64["x"], [-1, 6])  # 3 relu'(0) 2 - 1, 3 * 2 + abs'(0)


def test_a_piece_boundary_names_control_flow():
    def declare():
        @case(inputs={"x": torch.tensor(0.0)}, samples=0)
        def branch(x):
            if x > 0:
                return 2 * x
            return -x

    r = check_case(_one(declare))
    example = r.points[0]
    assert example.status == "convention"
    assert example.rule.startswith("control flow")


def test_inf_times_a_zero_factor_is_nan_as_in_autograd():
    def declare():
        @case(inputs={"x": torch.tensor([0.0, 0.0])}, samples=0, order=1)
        def hand_norm(x):
            # sqrt of a sum of squares, written out: sqrt's rule gives inf * 0 = nan, as autograd does
            return torch.sqrt((x * x).sum())

    r = check_case(_one(declare))
    assert r.points[0].status == "convention"
    assert np.isnan(r.points[0].autograd64["x"]).all()


def test_convention_counts_in_the_index_and_json(kinked):
    meta = Meta(python="3", torch=torch.__version__, sympy="1", seed=0, samples=1)
    results = [kinked["relu_at_zero"], kinked["abs_at_zero"]]
    assert "2 cases: 0 agree, 2 convention, 0 disagree, 0 errors." in render_index(results, meta)
    assert "convention (relu)" in render_index(results, meta)
    doc = json.loads(render_json(results, meta))
    point = doc["cases"][0]["points"][0]
    assert point["status"] == "convention" and point["rule"].startswith("relu") and point["torch"]
    assert point["allowed"] == [{"x": [0.0, 1.0, 0.0]}]
    assert set(point["oracles"]) == {"symbolic", "reverse", "forward", "finite_difference"}
    assert point["oracles"]["reverse"] == {"x": [0.0, 1.0, 0.0]}
    assert "allowed" not in doc["cases"][0]["points"][1]


def test_the_documented_behaviours_are_data():
    ops = [op for entry in TABLE for op in entry.ops]
    assert len(ops) == len(set(ops))
    assert {"clamp", "max", "amax", "max.dim", "cummax", "sort", "topk", "median", "linalg_vector_norm"} <= set(ops)
    for entry in TABLE:
        assert entry.gives and entry.source and ";" not in entry.gives + entry.source
        assert "derivatives.yaml" in entry.source or "docs" in entry.source


def test_the_readme_lists_every_documented_behaviour():
    readme = open("README.md").read()
    section = readme[readme.index("### What torch documents beyond the rules"):]
    for entry in TABLE:
        assert any(f"`{op}`" in section for op in entry.ops), entry.ops


def test_conventions_exit_0(tmp_path, capsys):
    from compare.cli import main

    assert main(["run", "cases/kinks", "--samples", "0", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    counted = re.search(r"(\d+) cases: (\d+) agree, (\d+) convention, (\d+) disagree, 0 errors", out)
    known = re.search(r"\((\d+) of the disagreements are cases declared known_wrong", out)
    assert counted and known and counted.group(4) == known.group(1)


@pytest.mark.parametrize("value, sign", [
    (sympy.Rational(-3, 7), -1), (sympy.S.Zero, 0), (sympy.Rational(1, 10**60), 1),
    (sympy.sqrt(2) - sympy.Rational(141421, 100000), 1), (sympy.tanh(sympy.Rational(1, 3)) - 1, -1),
    (sympy.exp(-200), 1),  # below the fast path's threshold: SymPy's exact queries decide
    (-sympy.exp(-200), -1),
    (sympy.sin(sympy.pi / 7) ** 2 + sympy.cos(sympy.pi / 7) ** 2 - 1, 0),  # 0, though not by evaluation
    (sympy.nan, None), (sympy.zoo, None), (sympy.oo, 1),
])
def test_the_sign_of_an_exact_number(value, sign):
    assert sign_of(value) == sign


# -- the sites are the ops autograd runs -------------------------------------------------------------
def _recorded(fn, shape=(2,)):
    x = SymTensor(input_symbols("x", shape).copy(), F64)
    with recording() as rec:
        out = run_symbolic(fn, {"x": x}, lambda condition, site: True)
    return out, rec


@pytest.mark.parametrize("fn, ops", [
    (lambda x: F.hardswish(x), {"hardswish"}),  # not the clamp it decomposes into
    (lambda x: F.relu6(x), {"hardtanh"}),  # relu6 is composite: autograd records hardtanh
    (lambda x: F.selu(x), {"elu"}),  # so is selu: elu with a scale
    (lambda x: F.leaky_relu(x, 0.2), {"leaky_relu"}),
    (lambda x: torch.relu(x).clamp_(max=1.0), {"relu", "clamp"}),  # an in-place op is recorded as what it computes
    (lambda x: (x * x).exp().sum(), set()),  # smooth ops are no sites
])
def test_a_site_is_the_op_autograd_runs(fn, ops):
    _, rec = _recorded(fn)
    assert {s.op for s in rec.sites.values()} == ops


def test_each_entry_of_a_site_is_a_head_that_releases_to_the_plain_expression():
    fn = lambda x: (3 * F.hardswish(x) * torch.relu(x - 1)).sum()  # noqa: E731
    out, rec = _recorded(fn)
    plain = run_symbolic(fn, {"x": SymTensor(input_symbols("x", (2,)).copy(), F64)}, lambda c, s: True)
    assert rec.release(out[()]) == plain[()]
    assert len(rec.sites) == 4 and all(len(s.outputs) == 1 for s in rec.sites.values())


def test_a_sites_rule_needs_only_its_op_its_local_function_and_the_values():
    """What the graph engine calls for a kinked node: no output, no chain."""
    _, rec = _recorded(lambda x: F.hardswish(x), shape=(1,))
    site, = rec.sites.values()
    rule = analyse(site, (sympy.Integer(3),))
    assert rule.kink_first and "rule 4" in rule.text
    assert sorted(float(a[0][0]) for a in rule.first) == [1.0, 1.5]
    assert analyse(site, (sympy.Integer(1),)) is None  # smooth there


class _Piece:
    """A piece as `PieceKinks` reads it: its output and its decisions (none)."""

    def __init__(self, output):
        self.output, self.decisions = output, ()


def _piece_kinks(fn, shape):
    """`PieceKinks` of `fn`'s one piece, and the list its recording runs append to."""
    out, rec = _recorded(fn, shape)
    plain = run_symbolic(fn, {"x": SymTensor(input_symbols("x", shape).copy(), F64)}, lambda c, s: True)
    runs = []

    def record():
        runs.append(1)
        return out, rec, set()

    return kinks.PieceKinks(_Piece(plain), {"x": input_symbols("x", shape)}, record), runs


def test_nothing_is_recorded_off_kinks():
    sites, runs = _piece_kinks(lambda x: torch.relu(x).sum(), (2,))
    x = input_symbols("x", (2,))
    assert sites.at({x[0]: sympy.Rational(1, 2), x[1]: sympy.Integer(-1)}, second=True) is None
    assert runs == []  # the output's switches are off their boundaries: no recording run
    assert sites.at({x[0]: sympy.Integer(0), x[1]: sympy.Integer(-1)}, second=True) is not None
    assert sites.at({x[0]: sympy.Integer(0), x[1]: sympy.Integer(2)}, second=True) is not None
    assert runs == [1]  # one recording run per piece


def test_past_the_cap_the_combination_closest_to_autograds_is_found():
    """hardshrink jumps at each of 8 entries at -1/2: rule 4 allows slope 1 (left) or 0 (right) at each,
    2 ** 8 combinations; autograd's (0 at each) is the last of them, far past the first 64."""
    x = torch.tensor([-0.5] * 8, dtype=F64)
    result = compare.check(lambda x: F.hardshrink(x).sum(), {"x": x}, samples=0, order=1)
    example = result.points[0]
    assert example.status == "convention", example.note
    assert "of 256 combinations of the sites' choices, the first 64 and the one closest" in example.note
    assert any((a["x"] == 0).all() for a in example.allowed)


class _OneAtTheKink(torch.autograd.Function):
    """hardshrink whose backward gives 1/2 at one of its jumps, where rule 4 allows 0 or 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.hardshrink(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        slope = (x.abs() > 0.5).to(grad.dtype)
        slope[3] = 0.5
        return grad * slope


def test_past_the_cap_a_wrong_value_is_still_caught():
    x = torch.tensor([-0.5] * 8, dtype=F64)
    result = compare.check(lambda x: _OneAtTheKink.apply(x).sum(), {"x": x}, samples=0, order=1)
    assert result.points[0].status == "disagree"


def test_forward_mode_at_the_zero_vector_is_held_to_the_rule(kinked):
    example = kinked["norm_at_zero"].points[0]
    forward = example.oracles["forward"]
    assert forward.errors.agree and "rules allow" in forward.note


def test_a_hessian_at_a_kink_follows_the_rules_one_order_up():
    result = compare.check(lambda x: F.elu(x).sum(), {"x": torch.tensor([0.0], dtype=F64)}, samples=0)
    example = result.points[0]
    assert example.status == "convention"
    assert "second derivative" in example.rule and "{1, 0}" in example.rule
    assert example.hessian.errors.agree and example.hessian.exact.tolist() == [[0.0]]


def test_the_allowed_values_for_another_mode():
    """`kinks.allowed`: the one question another mode's check asks at a point."""
    sites, _ = _piece_kinks(lambda x: F.hardswish(x).sum(), (2,))
    x = input_symbols("x", (2,))
    at = sites.at({x[0]: sympy.Integer(-3), x[1]: sympy.Integer(3)}, second=True)
    gradients = {tuple(g["x"].tolist()) for g in kinks.allowed(at, "gradient").values}
    assert gradients == {(0.0, 1.5), (0.0, 1.0), (-0.5, 1.5), (-0.5, 1.0)}  # rule 4 at each: {0, -1/2}, {3/2, 1}
    along = {float(g["u"]) for g in kinks.allowed(at, "along", np.array([1.0, 2.0])).values}
    assert along == {3.0, 2.0, 2.5, 1.5}
    hessians = {tuple(h["H"].reshape(-1).tolist()) for h in kinks.allowed(at, "hessian").values}
    assert hessians == {(a, 0.0, 0.0, b) for a in (0.0, 1 / 3) for b in (0.0, 1 / 3)}  # second derivatives
    assert kinks.allowed(None, "gradient") is None
    with pytest.raises(ValueError):
        kinks.allowed(at, "jacobian")


# -- the pieces of the analysis -------------------------------------------------------------------
@pytest.mark.parametrize("points, least", [
    ([(1, 0), (0, 1)], (sympy.Rational(1, 2), sympy.Rational(1, 2))),  # a segment: its midpoint
    ([(2, 1), (2, -1)], (2, 0)),
    ([(1, 0, 0), (0, 1, 0), (0, 0, 1)], (sympy.Rational(1, 3),) * 3),  # a triangle's point nearest 0
    ([(1, 1), (-1, 1), (0, -1)], (0, 0)),  # 0 inside the hull
    ([(3, 4)], (3, 4)),
    ([(1, 2), (2, 2), (3, 2)], (1, 2)),  # a vertex
])
def test_the_least_norm_point_of_a_convex_hull(points, least):
    from compare.kinks.record import hull_min_norm

    assert hull_min_norm(points) == tuple(sympy.Integer(v) if isinstance(v, int) else v for v in least)


@pytest.mark.parametrize("make, value, on", [
    (lambda x: sympy.Max(x, 0), 0, True), (lambda x: sympy.Max(x, 0), 1, False),
    (lambda x: sympy.Abs(x - 1), 1, True),
    (lambda x: sympy.Piecewise((x, x > 2), (0, True)), 2, True),
    (lambda x: sympy.sqrt(x), 0, True), (lambda x: sympy.sqrt(x), 4, False),
    (lambda x: sympy.atan2(x, x), 0, True),
])
def test_a_switch_knows_its_boundary(make, value, on):
    from compare.symbolic.switches import at_boundary, switches

    x = sympy.Symbol("x", real=True)
    node, = switches(make(x))
    assert at_boundary(node, lambda e: e.xreplace({x: sympy.Integer(value)})) is on


@pytest.mark.parametrize("op, at, jumps", [
    ("floor", 1, True), ("floor", sympy.Rational(1, 2), False), ("trunc", 0, False), ("trunc", -1, True),
    ("round_", sympy.Rational(1, 2), True), ("round_", 1, False), ("sign", 0, True),
])
def test_a_step_jumps_where_it_should(op, at, jumps):
    from compare.symbolic import elementwise
    from compare.symbolic.switches import at_boundary

    x = sympy.Symbol("x", real=True)
    node = getattr(elementwise, op)(x)
    assert at_boundary(node, lambda e: e.xreplace({x: sympy.Integer(at) if isinstance(at, int) else at})) is jumps


def test_a_branch_on_a_sites_output_replays_as_the_piece_went():
    """The recorded run's outputs are heads; its branches still follow the piece (matched by what they ask)."""
    def declare():
        @case(inputs={"x": torch.tensor([0.0, 2.0], dtype=F64)}, samples=0, order=1)
        def branch_on_relu(x):
            y = torch.relu(x)
            if y.sum() > 1:
                return (3 * y).sum()
            return y.sum()

    r = check_case(_one(declare))
    example = r.points[0]
    assert example.status == "convention", example.note
    assert [a["x"].tolist() for a in example.allowed] == [[0.0, 3.0]]  # relu'(0) = 0 (rule 2), then 3 * 1


def test_a_kink_whose_sides_curve_against_it_allows_the_least_norm_value_too():
    """i1e(x) = exp(-|x|) I1(x) is smooth at 0 to first order, i1e'(0) = 1/2, but its derivative there is
    1/2 - |x| + 15/16 x² + ...: one-sided slopes 1 and -1 (mpmath: i1e'' at ∓1e-8 is ±0.99999998), each side
    convex. Not concave on any neighbourhood, but the kink alone is, with generalized gradient [-1, 1]:
    rule 3's least-norm value 0 (torch's i1e backward at 0 is the constant 1/2, whose derivative is 0) and
    rule 4's one-sided values -1 and 1 are allowed; nothing else (2 is caught)."""
    import mpmath
    f = lambda t: mpmath.exp(-abs(t)) * mpmath.besseli(1, t)  # noqa: E731
    assert abs(mpmath.diff(f, -1e-8, 2) - 1) < 1e-6 and abs(mpmath.diff(f, 1e-8, 2) + 1) < 1e-6
    x = torch.tensor([0.0, 0.7], dtype=torch.float64)
    result = compare.check(lambda x: torch.special.i1e(x).sum(), (x,), samples=0)
    assert result.status == "convention", str(result)

    def i1e_with_second_derivative_at_0(slope):
        class I1e(torch.autograd.Function):
            """i1e with a backward whose own derivative at 0 is `slope` (torch's own gives 0 there)."""

            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return torch.special.i1e(x)

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                safe = torch.where(x == 0, torch.ones_like(x), x)  # no 1/0 in the branch not taken
                exact = torch.special.i0e(safe) - torch.special.i1e(safe) * (torch.sign(safe) + 1 / safe)
                return g * torch.where(x == 0, 0.5 + slope * x, exact)

        return lambda x: I1e.apply(x).sum()

    assert compare.check(i1e_with_second_derivative_at_0(0.0), (x,), samples=0).status == "convention"
    wrong = compare.check(i1e_with_second_derivative_at_0(2.0), (x,), samples=0)
    assert wrong.status == "disagree", str(wrong)
