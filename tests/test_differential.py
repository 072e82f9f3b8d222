"""Differential testing of the symbolic tracer: random compositions of supported ops.

Hypothesis draws an expression tree over one or two inputs of random
shapes, and values for the inputs. The same tree is run twice: on float64
torch tensors, and on SymTensors. The SymPy value, evaluated exactly at the
point, must equal torch's forward value, and SymPy's gradient must equal
autograd's, within `tolerances.TOLERANCES[torch.float64]`.

Domains are kept where every op is defined and smooth: `log`, `sqrt` and
division only see `e*e + 1`; points within 1e-3 of a kink (`abs`, `relu`,
`clamp`, `where`) or with an intermediate value above 1e3 are rejected, so
that a mismatch is the tracer's fault and not round-off or a one-sided
derivative. A failure is shrunk by Hypothesis and shown as a case file.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from compare.exact.differentiate import gradient

from compare.exact.evaluate import evaluate
from compare.exact.sym import exact, input_symbols
from compare.symbolic import MEANINGS, SymTensor, exprs_of
from compare.agreement import measure

F64 = torch.float64
LIMIT = 1e3   # largest intermediate value kept
KINK = 1e-3   # smallest distance to a kink kept


class Reject(Exception):
    """The point is too near a kink or a value is too large: not a fair test."""


# -- the ops: name -> (text with {0}, {1} for the operands, function) ----------------------
UNARY = {
    "exp": ("torch.exp({0})", lambda a: torch.exp(a)),
    "sin": ("torch.sin({0})", lambda a: torch.sin(a)),
    "cos": ("{0}.cos()", lambda a: a.cos()),
    "tanh": ("torch.tanh({0})", lambda a: torch.tanh(a)),
    "sigmoid": ("torch.sigmoid({0})", lambda a: torch.sigmoid(a)),
    "square": ("torch.square({0})", lambda a: torch.square(a)),
    "cube": ("{0} ** 3", lambda a: a ** 3),
    "neg": ("-{0}", lambda a: -a),
    "expm1": ("torch.expm1({0})", lambda a: torch.expm1(a)),
    "log": ("torch.log({0} * {0} + 1)", lambda a: torch.log(a * a + 1)),
    "log1p": ("torch.log1p({0} * {0})", lambda a: torch.log1p(a * a)),
    "sqrt": ("torch.sqrt({0} * {0} + 1)", lambda a: torch.sqrt(a * a + 1)),
    "rsqrt": ("torch.rsqrt({0} * {0} + 2)", lambda a: torch.rsqrt(a * a + 2)),
    "reciprocal": ("torch.reciprocal({0} * {0} + 1)", lambda a: torch.reciprocal(a * a + 1)),
    "abs": ("torch.abs({0})", lambda a: torch.abs(_away(a, 0.0))),
    "relu": ("torch.relu({0})", lambda a: torch.relu(_away(a, 0.0))),
    "clamp": ("torch.clamp({0}, -1.0, 1.0)", lambda a: torch.clamp(_away(_away(a, 1.0), -1.0), -1.0, 1.0)),
    "detach": ("{0}.detach() * {0}", lambda a: a.detach() * a),
    # In place and through views: the write must reach the tensor that is returned.
    "mul_": ("({0} * 1).mul_(3)", lambda a: (a * 1).mul_(3)),
    "add_self": ("({0} * 1).add_({0})", lambda a: (a * 1).add_(a)),
    "view_neg_": ("(lambda y: (y.view(-1)[:1].neg_(), y)[1])({0} * 1)",
                  lambda a: (lambda y: (y.view(-1)[:1].neg_(), y)[1])(a * 1)),
    "clamp_": ("({0} * 1).clamp_(-1.0, 1.0)", lambda a: (_away(_away(a, 1.0), -1.0) * 1).clamp_(-1.0, 1.0)),
}

BINARY = {
    "add": ("({0} + {1})", lambda a, b: a + b),
    "sub": ("({0} - {1})", lambda a, b: a - b),
    "mul": ("({0} * {1})", lambda a, b: a * b),
    "div": ("({0} / ({1} * {1} + 1))", lambda a, b: a / (b * b + 1)),
    "add_alpha": ("torch.add({0}, {1}, alpha=2)", lambda a, b: torch.add(a, b, alpha=2)),
    "mul_fn": ("torch.mul({0}, {1})", lambda a, b: torch.mul(a, b)),
    "where": ("torch.where({0} > {1}, {0}, {1})", lambda a, b: torch.where(_away(a - b, 0.0) > 0, a, b)),
}
# The last step: what the case returns (x.sum() and friends change the shape).
TOP = {
    "same": "{0}",
    "sum": "{0}.sum()",
    "mean": "torch.mean({0})",
    "sum0": "{0}.sum(0)",
    "prod": "{0}.prod()",
    "norm": "{0}.norm()",
    "first": "{0}[0]",
    "flat": "{0}.reshape(-1)",
    "dot": "torch.dot({0}.reshape(-1), {0}.reshape(-1))",
}
NEEDS_AXIS = {"sum0", "first", "flat", "dot"}
_TOP_FN = {
    "same": lambda a: a,
    "sum": lambda a: a.sum(),
    "mean": lambda a: torch.mean(a),
    "sum0": lambda a: a.sum(0),
    "prod": lambda a: a.prod(),
    "norm": lambda a: _away(a.norm(), 0.0) if isinstance(a, torch.Tensor) else a.norm(),  # kink at 0
    "first": lambda a: a[0],
    "flat": lambda a: a.reshape(-1),
    "dot": lambda a: torch.dot(a.reshape(-1), a.reshape(-1)),
}


def _away(a, kink: float):
    """`a`, checked (on real tensors only) to be at least KINK from `kink`."""
    if isinstance(a, torch.Tensor) and not isinstance(a, SymTensor) and bool(((a - kink).abs() < KINK).any()):
        raise Reject(f"too near the kink at {kink}")
    return a


def _bounded(a):
    if isinstance(a, torch.Tensor) and not isinstance(a, SymTensor) and not bool((a.abs() <= LIMIT).all()):
        raise Reject("an intermediate value is too large")
    return a


# -- trees ---------------------------------------------------------------------------------
leaves = st.sampled_from([("x",), ("y",), ("const", 0.5), ("const", -1.5), ("const", 2.0)])


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), children),
        st.tuples(st.sampled_from(sorted(BINARY)), children, children),
    )


trees = st.recursive(leaves, _extend, max_leaves=6)


def text(tree) -> str:
    if tree[0] == "const":
        return f"torch.full_like(x, {tree[1]!r})"
    if len(tree) == 1:
        return tree[0]
    if tree[0] in UNARY:
        return UNARY[tree[0]][0].format(text(tree[1]))
    return BINARY[tree[0]][0].format(text(tree[1]), text(tree[2]))


def run(tree, env):
    """The tree's value on `env` (torch tensors or SymTensors alike)."""
    if tree[0] == "const":
        return torch.full_like(env["x"], tree[1])
    if len(tree) == 1:
        return env[tree[0]]
    if tree[0] in UNARY:
        return _bounded(UNARY[tree[0]][1](run(tree[1], env)))
    return _bounded(BINARY[tree[0]][1](run(tree[1], env), run(tree[2], env)))


# -- shapes and points ---------------------------------------------------------------------
SHAPES = {(): [()], (3,): [(3,), (1,), ()], (2, 3): [(2, 3), (3,), (1, 3), ()]}
# Exact evaluation at a tiny coordinate (3.9e-246 is a rational over 2**869) makes SymPy's
# powers of huge integers slow; 0 or a magnitude in [1e-3, 2] keeps each example fast.
values = st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=2.0),
                   st.floats(min_value=-2.0, max_value=-1e-3))


@st.composite
def problems(draw):
    x_shape = draw(st.sampled_from(sorted(SHAPES)))
    y_shape = draw(st.sampled_from(SHAPES[x_shape]))
    tree = draw(trees)
    top = draw(st.sampled_from(sorted(TOP if x_shape else set(TOP) - NEEDS_AXIS)))
    point = {name: np.array(draw(st.lists(values, min_size=int(np.prod(s, dtype=int)),
                                          max_size=int(np.prod(s, dtype=int)))), dtype=np.float64).reshape(s)
             for name, s in (("x", x_shape), ("y", y_shape))}
    return tree, top, point


def as_case(tree, top, point) -> str:
    """The failing example as a case file a reader can run with `python -m compare run`."""
    args = ", ".join(f'"{n}": torch.tensor({v.tolist()!r}, dtype=torch.float64)' for n, v in point.items())
    return ("import torch\nfrom compare import case\n\n\n"
            f"@case(inputs={{{args}}})\ndef found(x, y):\n    return {TOP[top].format(text(tree))}\n")


def _check(tree, top, point):
    leaves_ = {n: torch.tensor(v, dtype=F64, requires_grad=True) for n, v in point.items()}
    try:
        inner = run(tree, leaves_)
        if inner.ndim == 0 and top in NEEDS_AXIS:  # a tree of the 0-d input only
            raise Reject("indexing a 0-d result")
        out = _bounded(_TOP_FN[top](inner))
    except Reject:
        assume(False)
    symbols = {n: input_symbols(n, v.shape) for n, v in point.items()}
    sym_out = _TOP_FN[top](run(tree, {n: SymTensor(s, F64) for n, s in symbols.items()}))
    sym_out = exprs_of(sym_out)
    at = {s: exact(float(v)) for n in point for s, v in zip(symbols[n].flat, point[n].reshape(-1))}

    case_text = as_case(tree, top, point)
    forward = measure(out.detach().numpy(), evaluate(sym_out, at), F64)
    assert forward.agree, f"forward values differ (worst entry {forward.worst}) for\n{case_text}"

    grads = (torch.autograd.grad(out.sum(), list(leaves_.values()), allow_unused=True)
             if out.requires_grad else [None] * len(leaves_))
    exact_grads = gradient(sym_out, symbols)
    for (name, leaf), g in zip(leaves_.items(), grads):
        got = np.zeros(leaf.shape) if g is None else g.numpy()
        err = measure(got, evaluate(exact_grads[name], at), F64)
        assert err.agree, (f"d/d{name} differs (worst entry {err.worst}, max abs {err.max_abs:.3g}) for\n"
                           f"{case_text}")


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(problems())
def test_symbolic_forward_and_gradient_equal_torch(problem):
    _check(*problem)


@pytest.mark.parametrize("tree, top", [
    (("mul", ("x",), ("sin", ("y",))), "sum"),
    (("where", ("x",), ("y",)), "same"),
    (("detach", ("exp", ("x",))), "norm"),
])
def test_examples_by_hand(tree, top):
    point = {"x": np.array([[0.5, -1.0, 1.5], [0.25, 2.0, -0.75]]), "y": np.array([1.0, 0.1, -0.3])}
    _check(tree, top, point)


def test_a_failure_reads_as_a_case_file():
    point = {"x": np.array([0.5, -1.0]), "y": np.array(2.0)}
    source = as_case(("add", ("x",), ("tanh", ("y",))), "sum", point)
    assert "def found(x, y):\n    return (x + torch.tanh(y)).sum()\n" in source
    assert '"x": torch.tensor([0.5, -1.0], dtype=torch.float64)' in source
    compile(source, "found.py", "exec")  # it is valid Python (compiled, never run)


@pytest.mark.parametrize("op, wrong", [
    (torch.ops.aten.sin, lambda x: np.frompyfunc(sympy.cos, 1, 1)(x)),          # the wrong function
    (torch.ops.aten.tanh, lambda x: np.frompyfunc(lambda e: sympy.tanh(e) * (1 + sympy.Rational(1, 10**6)), 1, 1)(x)),
])
def test_the_differential_test_catches_a_wrong_op(monkeypatch, op, wrong):
    """Break one entry of the meaning table: the property above must fail, and say where."""
    # an object array of x's shape, 0-d included (frompyfunc makes a 0-d result a bare scalar)
    monkeypatch.setitem(MEANINGS, op, lambda x, *a, **k: np.asarray(wrong(exprs_of(x)), dtype=object).reshape(
        exprs_of(x).shape))
    quick = settings(max_examples=500, deadline=None, derandomize=True, database=None,
                     report_multiple_bugs=False, phases=[Phase.generate],
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    with pytest.raises(AssertionError, match=r"(?s)differ.* for\n.*def found\(x, y\):"):
        quick(given(problems())(lambda problem: _check(*problem)))()
