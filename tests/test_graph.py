"""The exact chain rule on the traced graph (compare/exact/) against the tree path it stands in for.

The graph must give the very floats the tree gives (both are the exact values correctly
rounded), on random compositions of ops (the differential test's own) and on real layers;
a wrong local derivative or a wrong backward must be caught through it; and the case must
run on it exactly where its trees swell.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
import torch
from hypothesis import HealthCheck, assume, given, settings

import compare
from compare.exact import differentiate, evaluate
from compare.exact.graph import compiled as compiled_module
from compare.exact.graph import tape as tape_module
from compare.exact.graph.compiled import compile_graph
from compare.exact.graph.sweep import balls_of, coordinates_of, forward, reverse, rounded
from compare.exact.graph.tape import Tape, TreeTooLarge, graph, swollen, watching
from compare.exact.graph.values import graph_values
from compare.explore import run_symbolic
from compare.exact.sym import exact, input_symbols
from compare.symbolic import SymTensor
from test_differential import _TOP_FN, NEEDS_AXIS, Reject, _bounded, problems, run

F64 = torch.float64


def _symbolic(fn, symbols: dict, tape: Tape | None = None) -> np.ndarray:
    with graph(tape):
        return run_symbolic(fn, {n: SymTensor(s.copy(), F64) for n, s in symbols.items()}, lambda c, site: True)


def _tree_values(out: np.ndarray, symbols: dict, at: dict, second: bool):
    """The tree path's exact values at one point: output, gradient, Jacobian, Hessian."""
    grad = differentiate.gradient(out, symbols)
    values = [evaluate.evaluate_many(out, [at], symbols)[0]]
    values += [evaluate.evaluate_many(grad[n], [at], symbols)[0] for n in symbols]
    if out.ndim and out.size <= 8:
        jac = differentiate.jacobian(out, symbols)
        values += [evaluate.evaluate_many(jac[n], [at], {})[0] for n in symbols]
    if second:
        values.append(evaluate.evaluate_many(differentiate.hessian(grad, symbols), [at], {})[0])
    return values


def _graph_values(out: np.ndarray, tape: Tape, symbols: dict, at: dict, second: bool):
    found = graph_values(compile_graph(tape, out, symbols), [at], symbols,
                         jacobian=bool(out.ndim and out.size <= 8), hessian="full" if second else None)
    values = [found.output[0]] + [found.gradient[n][0] for n in symbols]
    if found.jacobian is not None:
        values += [found.jacobian[n][0] for n in symbols]
    if second:
        values.append(found.hessian[0])
    return values, found.notes[0]


def _same(tree: list, on_graph: list) -> bool:
    return len(tree) == len(on_graph) and all(
        np.array_equal(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), equal_nan=True)
        for a, b in zip(tree, on_graph))


def _compare(fn, point: dict) -> None:
    symbols = {n: input_symbols(n, v.shape) for n, v in point.items()}
    at = {s: exact(float(v)) for n in point for s, v in zip(symbols[n].flat, np.reshape(point[n], -1))}
    tree = _symbolic(fn, symbols)
    tape = Tape()
    out = _symbolic(fn, symbols, tape)
    assert all(tape.expand(e) == t for e, t in zip(out.flat, tree.flat))  # the graph is the tree, shared
    second = tree.shape == () and sum(s.size for s in symbols.values()) <= 6
    on_graph, note = _graph_values(out, tape, symbols, at, second)
    assert note == ""
    assert _same(_tree_values(tree, symbols, at, second), on_graph)


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(problems())
def test_the_graph_gives_the_trees_exact_values(problem):
    """Random compositions of ops: output, gradient, Jacobian and Hessian, to the same float."""
    tree, top, point = problem
    real = {n: torch.tensor(v, dtype=F64) for n, v in point.items()}
    try:  # the differential test's rejections: near a kink, or too large
        inner = run(tree, real)
        if inner.ndim == 0 and top in NEEDS_AXIS:
            raise Reject("indexing a 0-d result")
        _bounded(_TOP_FN[top](inner))
    except Reject:
        assume(False)
    _compare(lambda x, y: _TOP_FN[top](run(tree, {"x": x, "y": y})), point)


def _recurrent(x, W):
    for _ in range(4):
        x = torch.tanh(W @ x) + x
    return x.sum()


LAYERS = {
    "recurrent": (_recurrent, {"x": (3,), "W": (3, 3)}),
    "softmax_sum": (lambda x: torch.softmax(x, 0).sum(), {"x": (4,)}),  # gradient exactly 0
    "layer_norm": (lambda x, w: torch.nn.functional.layer_norm(x, (3,), weight=w), {"x": (2, 3), "w": (3,)}),
    "attention": (lambda q, k: torch.softmax(q @ k.T / 2, -1) @ k, {"q": (2, 2), "k": (2, 2)}),
    "gru_cell": (lambda x, h, W: torch.sigmoid(x @ W) * h + torch.tanh(h @ W), {"x": (1, 2), "h": (1, 2),
                                                                              "W": (2, 2)}),
    # an output that does not depend on the inputs is a number, 3*cos(2): rounded correctly too
    "constant": (lambda x: torch.cos(torch.full_like(x, 2.0)).sum() + 0 * x.sum(), {"x": (3,)}),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_give_the_same_floats_on_the_graph_and_the_tree(name):
    fn, shapes = LAYERS[name]
    g = torch.Generator().manual_seed(1)
    _compare(fn, {n: torch.randn(s, dtype=F64, generator=g).numpy() for n, s in shapes.items()})


def test_an_exact_cancellation_rounds_to_zero():
    """softmax(x).sum() is 1: its gradient's balls straddle 0 until, at 1280 bits, they lie within
    2**-1076 of it, where every number rounds to 0."""
    symbols = {"x": input_symbols("x", (4,))}
    tape = Tape()
    out = _symbolic(LAYERS["softmax_sum"][0], symbols, tape)
    at = {s: exact(v) for s, v in zip(symbols["x"].flat, [0.5, -1.25, 2.0, 0.125])}
    found = graph_values(compile_graph(tape, out, symbols), [at], symbols)
    assert found.gradient["x"].tolist() == [[0.0] * 4] and found.notes == ("",)


def test_a_ball_around_zero_is_zero_only_below_the_smallest_subnormal():
    import flint

    with flint.ctx.workprec(1300):
        tiny = flint.arb(0, flint.arb(2) ** -1100)  # 0 +/- 2**-1100
        small = flint.arb(0, flint.arb(2) ** -1000)  # may be a subnormal
    floats, undecided = rounded(np.array([tiny, small], dtype=object))
    assert floats[0] == 0.0 and not undecided[0] and undecided[1]


# -- wrong answers are caught through the graph ----------------------------------------------
class _Tanh(torch.autograd.Function):
    """tanh with a hand-written backward, `slope` times the right one."""

    slope = 1.0

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y) * _Tanh.slope


def _custom_recurrent(x, W):
    for _ in range(4):
        x = _Tanh.apply(W @ x) + x
    return x.sum()


def _inputs():
    g = torch.Generator().manual_seed(2)
    return torch.randn(3, dtype=F64, generator=g), torch.randn(3, 3, dtype=F64, generator=g)


def test_a_wrong_backward_is_caught_on_the_graph(monkeypatch):
    right = compare.check(_custom_recurrent, _inputs(), order=1)
    assert right.pieces[0].graph is not None and right.status == "agree"
    monkeypatch.setattr(_Tanh, "slope", 1.001)
    wrong = compare.check(_custom_recurrent, _inputs(), order=1)
    assert wrong.pieces[0].graph is not None and wrong.status == "disagree"


def test_a_wrong_local_derivative_is_caught_on_the_graph(monkeypatch):
    """The graph's values are what decide: tanh's local derivative made 1 - tanh (not 1 - tanh**2)
    turns a correct function into a disagreement."""
    made = compiled_module._template
    t0 = compiled_module.template_symbol(0)

    def wrong(definition, symbols, key):
        found = made(definition, symbols, key)
        if found.definition == sympy.tanh(t0):
            return compiled_module.Template(found.definition, found.symbols, found.value, (1 - sympy.tanh(t0),))
        return found

    monkeypatch.setattr(compiled_module, "_template", wrong)
    result = compare.check(_recurrent, _inputs(), order=1)
    assert result.pieces[0].graph is not None and result.status == "disagree"


def test_a_wrong_second_derivative_is_caught_on_the_graph(monkeypatch):
    """The Hessian too: a local second derivative off by a factor is a disagreement of H alone."""
    right = compare.check(_recurrent, _inputs())
    assert right.status == "agree" and all(p.hessian.errors.agree for p in right.points)
    made = compiled_module._template

    def doubled(definition, symbols, key):
        found = made(definition, symbols, key)
        if found.definition.func is sympy.tanh:
            found = compiled_module.Template(found.definition, found.symbols, found.value, found.first)
            found._second = tuple(tuple((k, 2 * d) for k, d in row) for row in found.second)
        return found

    monkeypatch.setattr(compiled_module, "_template", doubled)
    wrong = compare.check(_recurrent, _inputs())
    assert wrong.status == "disagree"
    assert all(p.errors64.agree for p in wrong.points) and not all(p.hessian.errors.agree for p in wrong.points)


# -- local partials given from outside: a kink's rule ------------------------------------------
def test_a_reverse_sweep_takes_overridden_local_partials():
    """relu(x) * y at x = 0: SymPy's Heaviside(0) is 1/2; a judge may ask for the gradient under 0 or 1."""
    symbols = {"x": input_symbols("x", ()), "y": input_symbols("y", ())}
    tape = Tape()
    out = _symbolic(lambda x, y: torch.relu(x) * y + x * y, symbols, tape)
    graph_ = compile_graph(tape, out, symbols)
    at = coordinates_of([{symbols["x"][()]: sympy.Integer(0), symbols["y"][()]: sympy.Integer(3)}], graph_.inputs)
    relu = next(k for k, n in enumerate(graph_.nodes) if isinstance(tape.definition(n), sympy.Max))
    position = len(graph_.inputs) + relu
    gradients = []
    for partial in (None, Fraction(0), Fraction(1)):
        ev = forward(graph_, at, 128)
        if partial is not None:
            ev.override(position, 0, partial)  # d relu / d x
        gradients.append(rounded(reverse(ev, np.ones((1, 1), dtype=object))[0, 0])[0].tolist())
    assert gradients == [[3 / 2 + 3, 0.0], [3.0, 0.0], [6.0, 0.0]]
    # the same asked by node and operand, as a judge asks it
    from compare.exact.graph.values import gradient_under

    point = {symbols["x"][()]: sympy.Integer(0), symbols["y"][()]: sympy.Integer(3)}
    node = graph_.nodes[relu]
    under = gradient_under(graph_, point, symbols, {(node, symbols["x"][()]): 0})
    assert (float(under["x"][0]), float(under["y"][0])) == (3.0, 0.0)


def test_a_sites_rule_through_the_graph_gives_what_the_chain_on_heads_gives():
    """The kink rules' interface (`compare.kinks`): a site's rule gives allowed local partials of its op; fed to the
    graph's reverse sweep as overrides of that op's node, they give the same gradients as the judge's
    chain rule through the recorded heads. SymPy's own convention (Heaviside(0) = 1/2) is not among them."""
    from compare.exact import differentiate, evaluate
    from compare.exact.graph.values import gradient_under
    from compare.kinks import Chain
    from compare.symbolic import recording

    fn = lambda x, y: torch.relu(x) * y + x * y  # noqa: E731
    symbols = {"x": input_symbols("x", ()), "y": input_symbols("y", ())}
    x, y = symbols["x"][()], symbols["y"][()]
    point = {x: sympy.Integer(0), y: sympy.Integer(3)}
    with recording() as rec:
        heads = _symbolic(fn, symbols)
    chain = Chain(sites=rec.sites, point=point)
    chain.locate(heads.flat)
    ((site, rule),) = chain.kinked(False).items()
    assert rec.sites[site].op == "relu"
    allowed = chain.allowed(differentiate.gradient(heads, symbols), second=False)
    tape = Tape()
    graph_ = compile_graph(tape, _symbolic(fn, symbols, tape), symbols)
    node = next(n for n in graph_.nodes if isinstance(tape.definition(n), sympy.Max))

    def under(partial) -> tuple:
        found = gradient_under(graph_, point, symbols, {(node, x): partial})
        return float(found["x"][0]), float(found["y"][0])

    on_graph = {under(alternative[0][0]) for alternative in rule.first}
    on_heads = {(float(v["x"]), float(v["y"])) for v in allowed.values}
    assert on_graph == on_heads == {(3.0, 0.0)}  # relu'(0) = 0, as torch documents
    assert under(sympy.Rational(1, 2)) not in on_heads


# -- when the graph is used ------------------------------------------------------------------
def test_a_tree_is_swollen_only_when_large_and_repeating():
    assert not swollen(tape_module.TREE_LIMIT, 1)  # not large
    assert not swollen(50_000, 40_000)  # 2 * dot(x, x) at n = 10,000: large but flat
    assert swollen(5823, 279)  # an LSTM of 3 steps


def test_the_watch_stops_a_swollen_run_and_passes_a_flat_one():
    with watching(), pytest.raises(TreeTooLarge):
        _symbolic(_recurrent, {"x": input_symbols("x", (3,)), "W": input_symbols("W", (3, 3))})
    with watching() as watch:
        _symbolic(lambda x: 2 * torch.dot(x, x), {"x": input_symbols("x", (2000,))})
    assert max(watch.sizes.values()) > 5 * tape_module.TREE_LIMIT  # large, and still a tree


def test_a_case_runs_on_the_graph_only_where_its_trees_swell():
    small = compare.check(lambda x: (torch.tanh(x) ** 2).sum(), (torch.randn(5, dtype=F64),))
    deep = compare.check(_recurrent, _inputs())
    assert small.pieces[0].graph is None and small.pieces[0].gradient["x"][0].has(sympy.tanh)
    assert deep.pieces[0].graph is not None and deep.status == "agree"


def test_a_branch_is_decided_over_the_inputs_in_graph_mode():
    """A condition on nodes reaches the explorer expanded: both sides are explored, as trees are."""
    def fn(x, W):
        h = _recurrent(x, W)
        return h * 2 if h > 0 else h * 3

    result = compare.check(fn, _inputs(), order=1)
    assert result.pieces[0].graph is not None and len(result.pieces) == 2 and result.status == "agree"
    conditions = {str(p.condition) for p in result.pieces}
    assert all("n@" not in c and "tanh" in c for c in conditions)


def test_a_page_shows_a_graph_piece_by_its_shape():
    from compare.render.notation import readable_gradient

    text = readable_gradient(compare.check(_recurrent, _inputs(), order=1), "W")
    assert text.startswith("3x3 entries on the traced graph of ") and "tanh" not in text


def _relu_first(x, W):
    x = torch.relu(W @ x) + x
    for _ in range(3):
        x = torch.tanh(W @ x) + x
    return x.sum()


def test_a_point_on_a_kink_of_a_graph_node_is_judged_on_the_tree():
    """relu at 0 inside a swollen function: PyTorch's rule for relu (0 there), not SymPy's Heaviside(0) = 1/2."""
    W = torch.tensor([[0.5, -1.25], [0.75, 1.5]], dtype=F64)
    off = compare.check(_relu_first, (torch.tensor([0.3, -0.7], dtype=F64), W), order=1, samples=0)
    on = compare.check(_relu_first, (torch.zeros(2, dtype=F64), W), order=1, samples=0)
    assert off.pieces[0].graph is not None and off.status == "agree"
    assert on.pieces[0].graph is None and on.status == "convention" and "relu" in on.points[0].rule


def test_a_float32_case_whose_constants_differ_in_float64_has_a_float64_twin_on_the_graph():
    """`linspace(..., dtype=x.dtype)` makes other numbers in float32 than in float64: the float64 run is held
    to the derivative of the function it computes, replayed on the same tape (its nodes differ where they must)."""
    def fn(x, W):
        return _recurrent(x * torch.linspace(-math.pi, math.pi, 3, dtype=x.dtype), W)

    g = torch.Generator().manual_seed(3)
    x, W = torch.randn(3, generator=g), torch.randn(3, 3, generator=g)
    result = compare.check(fn, (x, W), order=1)
    assert result.pieces[0].graph is not None and result.pieces[0].float64 is not None
    assert result.pieces[0].float64.graph is not None and result.status == "agree"
    assert result.points[0].symbolic64 is not None
    assert not np.array_equal(result.points[0].symbolic["W"], result.points[0].symbolic64["W"])


def test_the_forward_sweep_gives_the_jacobian_along_a_direction():
    """J u from the forward sweep is the exact Jacobian (from the reverse sweep's rows) times u."""
    from compare.exact.graph.sweep import directional

    symbols = {"x": input_symbols("x", (2,)), "W": input_symbols("W", (2, 2))}
    tape = Tape()
    out = _symbolic(lambda x, W: torch.tanh(W @ torch.sin(x)) * x, symbols, tape)
    graph_ = compile_graph(tape, out, symbols)
    at = coordinates_of([{s: exact(v) for s, v in zip(graph_.inputs, [0.5, -1.25, 2.0, 0.75, -0.5, 1.5])}],
                        graph_.inputs)
    u = np.array([[Fraction(1, 3), 2, -1, Fraction(1, 2), 0, 5]], dtype=object)
    ev = forward(graph_, at, 256)
    along = rounded(directional(ev, u)[0, 0])[0]
    rows = reverse(ev, np.eye(2, dtype=int).astype(object))[:, 0, :]  # (outputs, inputs)
    import flint

    with flint.ctx.workprec(256):
        weights = balls_of(u[0], 256)
        products = np.array([sum((r * c for r, c in zip(row, weights)), 0) for row in rows], dtype=object)
    expected, undecided = rounded(products)
    assert along.tolist() == expected.tolist() and not undecided.any() and np.abs(along).min() > 0
