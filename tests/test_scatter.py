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

from compare.exact.differentiate import gradient

from compare.exact.evaluate import evaluate
from compare.explore import ByValue
from compare.exact.sym import exact, input_symbols
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
        np.testing.assert_allclose(evaluate(exprs_of(s), point).astype(float),
                                   o.detach().double().numpy(), rtol=1e-12, atol=atol)
    total = np.concatenate([exprs_of(s).reshape(-1) for s, o in zip(syms, outs) if o.dtype.is_floating_point])
    exact_grad = gradient(total, symbols)
    for k, g in enumerate(grads):
        want = np.zeros(tuple(tensors[k].shape)) if g is None else g.numpy()
        np.testing.assert_allclose(evaluate(exact_grad[f"t{k}"], point).astype(float), want,
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
    from compare.exact.sym import detach

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


# -- scatter_reduce, index_reduce, segment_reduce -----------------------------------------------------
SELF = torch.tensor([1.0, 5.0, 2.0, -0.5], dtype=torch.float64)
SRC = torch.tensor([0.75, 1.25, 3.0, 0.5, -2.0], dtype=torch.float64)
INDEX = torch.tensor([0, 0, 2, 1, 0])


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    check(lambda s, x: s.scatter_reduce(0, INDEX, x, reduce, include_self=include_self), SELF, SRC)
    check(lambda s, x: s.reshape(2, 2).scatter_reduce(1, torch.tensor([[1, 1], [0, 1]]), x[:4].reshape(2, 2),
                                                      reduce, include_self=include_self), SELF, SRC)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    check(lambda s, x: s.reshape(2, 2).index_reduce(1, torch.tensor([1, 1, 0]), torch.cat([x, x[:1]]).reshape(2, 3),
                                                    reduce, include_self=include_self), SELF, SRC)
    check(lambda s, x: s[0].index_reduce(0, torch.tensor([0]), x[1], reduce, include_self=include_self), SELF, SRC)


def test_mean_of_integers_rounds_down():
    x = torch.tensor([2, 2, 3])
    out = torch.tensor([1, 4]).scatter_reduce(0, torch.tensor([0, 1, 1]), x, "mean")
    sym = SymTensor(np.array([sympy.Integer(1), sympy.Integer(4)], dtype=object), torch.int64)
    got = exprs_of(sym.scatter_reduce(0, torch.tensor([0, 1, 1]), x, "mean"))
    assert [int(v) for v in got] == out.tolist() == [1, 3]


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "max", "min"])
@pytest.mark.parametrize("initial", [None, 2.0])
def test_segment_reduce(reduce, initial):
    kw = {} if initial is None else {"initial": initial}
    lengths = torch.tensor([1, 2, 3])  # every segment filled: an empty one is nan, inf or the initial
    # (the second segment's largest entry is 2.0, the initial: a tie that autograd gives to the entry)
    check(lambda x: torch.segment_reduce(x, reduce, lengths=lengths, **kw), X)
    check(lambda x: torch.segment_reduce(x, reduce, offsets=torch.tensor([0, 1, 3, 6]), **kw), X)
    check(lambda x: torch.segment_reduce(x.reshape(3, 2), reduce, lengths=torch.tensor([2, 1]), **kw), X)
    check(lambda x: torch.segment_reduce(x.reshape(2, 3), reduce, axis=1,
                                         lengths=torch.tensor([[1, 2], [3, 0]]), **kw), X)


def test_an_empty_segment_is_torchs_value():
    s = SymTensor(input_symbols("x", (3,)), torch.float64)
    lengths = torch.tensor([0, 3])
    for reduce, empty in [("sum", 0), ("prod", 1), ("max", -sympy.oo), ("min", sympy.oo)]:
        assert exprs_of(torch.segment_reduce(s, reduce, lengths=lengths))[0] == empty
        want = torch.segment_reduce(torch.ones(3, dtype=torch.float64), reduce, lengths=lengths)[0].item()
        assert float(empty) == want
    assert exprs_of(torch.segment_reduce(s, "mean", lengths=lengths))[0] is sympy.nan


@pytest.mark.parametrize("fn", [
    lambda x: x.scatter_reduce(0, torch.tensor([0, 0, 1]), torch.tensor([3.0, 3.0, 0.0], dtype=x.dtype), "amax"),
    lambda x: torch.zeros(2, dtype=x.dtype).scatter_reduce(0, torch.tensor([0, 0, 1, 1]), x.repeat(2)[:4], "amin",
                                                           include_self=False),
    lambda x: x.index_reduce(0, torch.tensor([0, 0]), x[1:], "amax"),
    lambda x: torch.segment_reduce(x, "max", lengths=torch.tensor([3])),
], ids=["scatter_amax_with_self", "scatter_amin", "index_amax", "segment_max"])
def test_a_tie_shares_the_gradient_as_autograd_does(fn):
    """At a tie autograd divides the gradient evenly among the tied entries: the amax/amin rule."""
    import compare
    from compare.records import CONVENTION

    x = torch.tensor([3.0, 3.0, 3.0], dtype=torch.float64)
    assert compare.check(fn, {"x": x}, samples=0, order=1).status == CONVENTION


# -- put, masked_scatter, diagonal_scatter, as_strided_scatter ----------------------------------------
@pytest.mark.parametrize("accumulate", [True, False])
def test_put(accumulate):
    index = torch.tensor([3, -1, 0, -4]) if accumulate else torch.tensor([2, -1, 0])  # -1 is 3, -4 is 0
    check(lambda s, x: s.reshape(2, 2).put(index, x[:len(index)], accumulate), SELF, SRC)


def test_masked_scatter():
    mask = torch.tensor([[True, False, True], [False, False, True]])
    check(lambda x, s: x.reshape(2, 3).masked_scatter(mask, s), X, SRC)
    check(lambda x, s: x[:3].masked_scatter(mask, s), X, SRC)  # self broadcasts to the mask's shape
    check(lambda x, s: x.reshape(2, 3).masked_scatter(x.reshape(2, 3) > 0, s), X, SRC)  # a symbolic mask


def test_diagonal_scatter():
    check(lambda x, s: torch.diagonal_scatter(x.reshape(2, 3), s[:2], 1), X, SRC)
    check(lambda x, s: torch.diagonal_scatter(x.reshape(3, 2), s[:1], -2), X, SRC)


def test_as_strided_scatter_value_is_torchs_and_its_gradient_is_exact():
    """torch's own gradient of as_strided_scatter wrt the input is wrong (its op_db marks test_fn_grad an
    expected failure): it sends the gradient to the entries overwritten, and none to those kept."""
    import compare
    from compare.records import DISAGREE

    f = lambda x, s: torch.as_strided_scatter(x.reshape(2, 3), s[:4].reshape(2, 2), (2, 2), (1, 2), 1)  # noqa
    with pytest.raises(AssertionError):
        check(f, X, SRC)
    symbols, point = _symbolic([X, SRC])
    out = f(SymTensor(symbols["t0"].copy(), X.dtype), SymTensor(symbols["t1"].copy(), SRC.dtype))
    np.testing.assert_allclose(evaluate(exprs_of(out), point).astype(float), f(X, SRC).numpy())
    grad = gradient(exprs_of(out).reshape(-1), symbols)
    # storage entries 1, 3, 2, 4 are overwritten by src: d out.sum() / dx is 1 at entries 0 and 5 only
    assert evaluate(grad["t0"], point).tolist() == [1, 0, 0, 0, 0, 1]
    assert evaluate(grad["t1"], point).tolist() == [1, 1, 1, 1, 0]
    result = compare.check(f, {"x": X.clone().requires_grad_(), "s": SRC.clone().requires_grad_()},
                           samples=0, order=1)
    assert result.status == DISAGREE


# -- equal, bilinear, cdist, pdist, embedding_bag ------------------------------------------------------
def test_equal_is_a_branch_decided_by_the_values():
    f = lambda x: x * 2 if torch.equal(x[:2], x[2:4]) else x * 3  # noqa: E731
    check(f, X)
    check(f, torch.tensor([1.0, 2.0, 1.0, 2.0, 0.0, 0.0], dtype=torch.float64))
    s = SymTensor(input_symbols("x", (2,)), torch.float64)
    assert torch.equal(s, s) and not torch.equal(s, s[:1])  # no branch: decided by the expressions


def test_bilinear():
    w = torch.tensor([[[0.5, -1.0], [2.0, 0.25], [1.5, -0.5]]], dtype=torch.float64).repeat(2, 1, 1)
    check(lambda x, y, w, b: torch.nn.functional.bilinear(x.reshape(2, 3), y[:4].reshape(2, 2), w, b[:2]),
          X, SRC, w, SELF)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, 0.0, float("inf")])
def test_cdist_and_pdist(p):
    check(lambda a, b: torch.cdist(a.reshape(3, 2), b[:4].reshape(2, 2), p=p), X, SRC)
    check(lambda a, b: torch.cdist(a.reshape(1, 3, 2), b[:4].reshape(2, 1, 2), p=p), X, SRC)  # batches broadcast
    check(lambda a: torch.pdist(a.reshape(3, 2), p=p), X)


@pytest.mark.parametrize("p", [2.0, 1.0])
def test_a_zero_distance_follows_the_norms_rule(p):
    """At zero distance autograd gives 0, the rule of a norm at the zero vector."""
    import compare
    from compare.records import CONVENTION

    x = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]], dtype=torch.float64)
    assert compare.check(lambda x: torch.pdist(x, p=p), {"x": x}, samples=0, order=1).status == CONVENTION
    assert compare.check(lambda x: torch.cdist(x[:1], x[1:], p=p), {"x": x}, samples=0, order=1).status == CONVENTION


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 1])
@pytest.mark.parametrize("last", [False, True])
def test_embedding_bag(mode, padding_idx, last):
    indices, offsets = torch.tensor([2, 1, 0, 2, 1, 1]), torch.tensor([0, 3, 3] + ([6] if last else []))
    weights = mode == "sum"

    def f(w, psw):
        return torch.nn.functional.embedding_bag(indices, w.reshape(3, 2), offsets, mode=mode,
                                                 per_sample_weights=psw if weights else None,
                                                 include_last_offset=last, padding_idx=padding_idx)

    if last and mode != "sum":  # torch's meta kernel and its CPU kernel disagree on bag_size's shape
        with pytest.raises(UnsupportedOp, match="meta kernel gives output 2"):
            check(f, X, SRC.repeat(2)[:6])
        return
    check(f, X, SRC.repeat(2)[:6])


def test_embedding_bag_max_returns_the_rows_of_the_maxima():
    w = torch.tensor([[0.5, 3.0], [2.0, -1.0], [1.0, 1.0]], dtype=torch.float64)
    args = (torch.tensor([0, 1, 2, 2]), torch.tensor([0, 2]), False, 2, False, None, False, -1)
    want = torch.ops.aten._embedding_bag_forward_only(w, *args)
    symbols, point = _symbolic([w])
    token = BRANCH.set(ByValue(point))
    try:
        got = torch.ops.aten._embedding_bag_forward_only(SymTensor(symbols["t0"].copy(), w.dtype), *args)
    finally:
        BRANCH.reset(token)
    for g, t in zip(got, want):
        assert evaluate(exprs_of(g), point).astype(float).tolist() == t.double().tolist()


# -- the conformance run: a view's storage, mixed precision, and a wrong meaning caught ----------------
def test_a_view_input_gets_a_model_of_its_whole_storage():
    from compare.conformance.samples import _symbolic_leaf
    from compare.symbolic.shapes import _storage

    base = torch.arange(20, dtype=torch.float64)
    leaf = _symbolic_leaf(base[5:15], input_symbols("t", (10,)))
    flat, at = _storage(leaf)
    assert (leaf.storage_offset(), at, flat.size) == (5, 5, 20)
    assert flat[4] == 4 and flat[15] == 15 and flat[5] == sympy.Symbol("t_0", real=True)


def test_a_less_precise_input_sets_the_tolerance():
    from compare.conformance.samples import _coarsest

    assert _coarsest([torch.float64, torch.float32]) is torch.float32
    assert _coarsest([torch.float64]) is torch.float64


def test_the_conformance_run_catches_a_wrong_scatter_reduce(monkeypatch):
    from compare.conformance import run as conformance

    right = MEANINGS[_key("aten.scatter_reduce.two")]
    op = next(o for o in conformance.opinfos() if conformance._name(o) == "scatter_reduce.mean")
    assert conformance.check_op(op, conformance.Settings(samples=1)).status == "runs"
    monkeypatch.setitem(MEANINGS, _key("aten.scatter_reduce.two"),
                        lambda x, dim, index, src, reduce, include_self=True:  # the input's entries wrongly
                        right(x, dim, index, src, reduce, include_self=not include_self))  # in or out of the mean
    assert conformance.check_op(op, conformance.Settings(samples=1)).status == "disagrees"


def test_an_excluded_input_tying_the_result_takes_a_share_in_torch():
    """scatter_reduce_backward counts an input entry equal to the result among the ties even with
    include_self=False, then drops its share: src[0], the one maximum, gets half of the gradient in
    torch, all of it exactly (the function does not depend on the input at all)."""
    import compare
    from compare.records import DISAGREE

    fn = lambda s: torch.tensor([1.0, 2.0, 0.0], dtype=s.dtype).scatter_reduce(  # noqa: E731
        0, torch.tensor([1, 1]), s, "amax", include_self=False)
    s = torch.tensor([2.0, 1.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.grad(fn(s).sum(), s)[0].tolist() == [0.5, 0.0]
    symbols, point = _symbolic([s.detach()])
    grad = gradient(exprs_of(fn(SymTensor(symbols["t0"].copy(), s.dtype))), symbols)
    assert evaluate(grad["t0"], point).tolist() == [1, 0]
    assert compare.check(fn, {"s": s}, samples=0, order=1).status == DISAGREE
