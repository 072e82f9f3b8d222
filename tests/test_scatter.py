"""Scatter, index and segment reductions and the other data-movement ops: value and gradient as autograd's.

`check` runs a function on real tensors under autograd and on symbolic
ones (branches decided by the inputs' values, as the conformance run
decides them), and asserts the exact value and the exact gradient of the
sum of the outputs equal torch's.
"""
import numpy as np
import pytest
import sympy
import torch

from compare import derive
from compare.explore import ByValue
from compare.sym import exact, input_symbols
from compare.symbolic import BRANCH, MEANINGS, SymTensor, UnsupportedOp, exprs_of


def _symbolic(tensors):
    symbols = {f"t{k}": input_symbols(f"t{k}", tuple(t.shape)) for k, t in enumerate(tensors)}
    point = {s: exact(v) for k, t in enumerate(tensors) for s, v in zip(symbols[f"t{k}"].flat, t.reshape(-1).tolist())}
    return symbols, point


def check(f, *tensors, atol=1e-12):
    """f's value and the gradient of its outputs' sum, exactly and by autograd, agree."""
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    out = f(*leaves)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    floating = [o for o in outs if o.dtype.is_floating_point]
    grads = torch.autograd.grad(sum(o.sum() for o in floating), leaves, allow_unused=True)
    symbols, point = _symbolic(tensors)
    token = BRANCH.set(ByValue(point))
    try:
        sym = f(*[SymTensor(symbols[f"t{k}"].copy(), t.dtype) for k, t in enumerate(tensors)])
    finally:
        BRANCH.reset(token)
    syms = list(sym) if isinstance(sym, (tuple, list)) else [sym]
    for s, o in zip(syms, outs):
        np.testing.assert_allclose(derive.evaluate(exprs_of(s), point).astype(float),
                                   o.detach().double().numpy(), rtol=1e-12, atol=atol)
    total = np.concatenate([exprs_of(s).reshape(-1) for s, o in zip(syms, outs) if o.dtype.is_floating_point])
    exact_grad = derive.gradient(total, symbols)
    for k, g in enumerate(grads):
        want = np.zeros(tuple(tensors[k].shape)) if g is None else g.numpy()
        np.testing.assert_allclose(derive.evaluate(exact_grad[f"t{k}"], point).astype(float), want,
                                   rtol=1e-12, atol=atol)


def _key(name: str):
    return next(k for k in MEANINGS if str(k) == name)


X = torch.tensor([0.5, -1.25, 2.0, 3.0, -0.75, 1.5], dtype=torch.float64)


def test_the_checker_catches_a_wrong_value(monkeypatch):
    right = MEANINGS[_key("aten.index_select")]
    monkeypatch.setitem(MEANINGS, _key("aten.index_select"), lambda *a: right(*a) * 2)
    with pytest.raises(AssertionError):
        check(lambda x: torch.index_select(x, 0, torch.tensor([2, 0])), X)


def test_the_checker_catches_a_wrong_gradient(monkeypatch):
    from compare.sym import detach

    right = MEANINGS[_key("aten.index_select")]
    monkeypatch.setitem(MEANINGS, _key("aten.index_select"),
                        lambda *a: np.frompyfunc(detach, 1, 1)(right(*a)))
    with pytest.raises(AssertionError):
        check(lambda x: torch.index_select(x, 0, torch.tensor([2, 0])), X)


# -- index_select and as_strided: the two that were wrong ------------------------------------------
def test_index_select_of_a_scalar_is_a_scalar():
    check(lambda x: torch.index_select(x[1], 0, torch.tensor([0])) * x[2], X)
    check(lambda x: torch.index_select(x[1], 0, torch.tensor(0)), X)
    check(lambda x: torch.index_select(x.reshape(2, 3), 1, torch.tensor([2, 2, 0])), X)


def test_as_strided_of_a_view_of_a_view_reads_torchs_storage():
    check(lambda x: torch.as_strided(x[2:][1:], (2,), (1,)), X)
    check(lambda x: torch.as_strided(x[1:], (2, 2), (1, 2), 2), X)  # inside the view: see below
    # Reading storage outside the input view (offset 0 of x[1:] reads x[0]) is read by value here, but
    # autograd gives x[0] no gradient (as_strided_backward only fills the input view's own entries).


def test_as_strided_past_the_known_storage_is_refused():
    s = SymTensor(input_symbols("x", (6,)), torch.float64)
    with pytest.raises(UnsupportedOp, match="storage entries 5..6"):
        torch.as_strided(s, (2,), (1,), 5)
    with pytest.raises(UnsupportedOp, match="does not model"):
        torch.as_strided(s[2:].detach(), (2,), (1,))
