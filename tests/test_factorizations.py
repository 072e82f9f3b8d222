"""LU's unpacking and solves, Householder products, QR, least squares and pinv against autograd."""
import pytest
import sympy
import torch

pytest.importorskip("expecttest")  # op_db's module needs it (the `test` extra)

from torch.testing._internal.opinfo.core import SampleInput  # noqa: E402

from compare.conformance import run as conformance  # noqa: E402
from compare.exact.sym import detach  # noqa: E402
from compare.symbolic import UnsupportedOp, factorizations  # noqa: E402


@pytest.fixture(scope="module")
def ops():
    return {conformance._name(op): op for op in conformance.opinfos()}


def _randn(*shape, seed=0, grad=True):
    t = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return t.requires_grad_(grad)


def _runs(op, sample):
    result = conformance.check_sample(op, sample)
    assert result.status == "runs", result


def test_the_permutation_is_torchs():
    LU, piv = torch.linalg.lu_factor(_randn(5, 5, seed=3, grad=False))
    P, _, _ = torch.lu_unpack(LU, piv)
    ours = factorizations.permutation(piv.tolist(), 5)
    assert [[int(v) for v in row] for row in ours.tolist()] == P.to(torch.int64).tolist()


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_lu_and_its_unpacking(ops, shape):
    _runs(ops["linalg.lu"], SampleInput(_randn(*shape)))
    LU, piv = torch.linalg.lu_factor(_randn(*shape, grad=False))
    _runs(ops["lu_unpack"], SampleInput(LU.requires_grad_(), args=(piv,)))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_lu_solve(ops, left, adjoint):
    LU, piv = torch.linalg.lu_factor(_randn(4, 4, seed=1, grad=False))
    B = _randn(4, 2, seed=2) if left else _randn(2, 4, seed=2)
    _runs(ops["linalg.lu_solve"], SampleInput(LU.requires_grad_(), args=(piv, B),
                                              kwargs={"left": left, "adjoint": adjoint}))


def test_householder_product_tall_and_batched(ops):
    _runs(ops["linalg.householder_product"], SampleInput(_randn(5, 3), args=(_randn(3, seed=1),)))
    _runs(ops["linalg.householder_product"], SampleInput(_randn(2, 4, 3), args=(_randn(2, 2, seed=1),)))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [True, False])
def test_ormqr(ops, left, transpose):
    C = _randn(4, 3, seed=2) if left else _randn(3, 4, seed=2)
    _runs(ops["ormqr"], SampleInput(_randn(4, 3), args=(_randn(3, seed=1), C),
                                    kwargs={"left": left, "transpose": transpose}))


def test_a_wrong_permutation_is_caught(ops, monkeypatch):
    LU, piv = torch.linalg.lu_factor(_randn(4, 4, seed=1, grad=False))
    assert piv.tolist() != [1, 2, 3, 4]  # a sample that swaps rows
    monkeypatch.setattr(factorizations, "permutation", lambda pivots, m: factorizations._eye(m, m))
    result = conformance.check_sample(ops["linalg.lu_solve"], SampleInput(LU.requires_grad_(), args=(piv, _randn(4, 2))))
    assert result.status == "disagrees" and result.detail.startswith("forward"), result


def test_a_lost_derivative_is_caught(ops, monkeypatch):
    # the right values, tau held constant: only the gradient can tell
    right = factorizations.reflect
    monkeypatch.setattr(factorizations, "reflect", lambda c, v, tau: right(c, v, detach(sympy.sympify(tau))))
    result = conformance.check_sample(ops["linalg.householder_product"],
                                      SampleInput(_randn(4, 3, seed=5), args=(_randn(3, seed=6),)))
    assert result.status == "disagrees" and result.detail.startswith("gradient"), result


@pytest.mark.parametrize("shape,mode", [((5, 3), "reduced"), ((4, 4), "reduced"), ((4, 4), "complete"),
                                        ((2, 3, 2), "reduced")])
def test_qr(ops, shape, mode):
    _runs(ops["linalg.qr"], SampleInput(_randn(*shape, seed=4), kwargs={"mode": mode}))


def test_qr_mode_r_gives_r_alone():  # autograd refuses mode "r": the values only
    import numpy as np

    from compare.exact import evaluate
    from compare.explore import ByValue
    from compare.exact.sym import exact, input_symbols
    from compare.symbolic import BRANCH, SymTensor

    a = _randn(4, 3, seed=4, grad=False)
    x = input_symbols("t0", (4, 3))
    point = {s: exact(v) for s, v in zip(x.flat, a.reshape(-1).tolist())}
    token = BRANCH.set(ByValue(point))
    try:
        Q, R = torch.linalg.qr(SymTensor(x.copy(), torch.float64), mode="r")
    finally:
        BRANCH.reset(token)
    assert tuple(Q.shape) == (0,)
    assert np.allclose(evaluate.evaluate(R.exprs, point), torch.linalg.qr(a, mode="r").R.numpy(), rtol=1e-14)


def test_qr_signs_follow_lapack(ops):
    # columns whose leading entries (after the reflections before them) have either sign
    a = torch.tensor([[-2.0, 1.0, 3.0], [1.0, 4.0, -1.0], [0.5, -1.0, 2.0], [1.0, 2.0, 1.0]], dtype=torch.float64)
    R = torch.linalg.qr(a).R
    assert (R.diagonal() > 0).any() and (R.diagonal() < 0).any()
    _runs(ops["linalg.qr"], SampleInput(a.requires_grad_()))


def test_a_wrong_sign_is_caught(ops, monkeypatch):
    monkeypatch.setattr(factorizations, "decide", lambda condition, op=None: False)
    result = conformance.check_sample(ops["linalg.qr"], SampleInput(_randn(4, 3, seed=9)))
    assert result.status == "disagrees" and result.detail.startswith("forward"), result


def test_a_wrong_qr_partial_is_caught(ops, monkeypatch):
    from compare.symbolic import qr

    right = qr.qr_entry.fdiff
    monkeypatch.setattr(qr.qr_entry, "fdiff", lambda self, argindex=1: 2 * right(self, argindex))
    result = conformance.check_sample(ops["linalg.qr"], SampleInput(_randn(4, 3, seed=10)))
    assert result.status == "disagrees" and result.detail.startswith("gradient"), result


@pytest.mark.parametrize("shape", [(2, 3), (3, 3), (5, 3), (2, 4, 3)])
def test_lstsq_gels(ops, shape):
    B = _randn(*shape[:-1], 2, seed=1)
    _runs(ops["linalg.lstsq"], SampleInput(_randn(*shape), args=(B,), kwargs={"driver": "gels"}))


def test_lstsq_other_drivers_are_refused(ops):
    with pytest.raises(UnsupportedOp, match="driver 'gelsd'"):
        conformance.check_sample(ops["linalg.lstsq"], SampleInput(_randn(4, 3), args=(_randn(4, 2, seed=1),),
                                                                  kwargs={"driver": "gelsd"}))


def test_a_wrong_residual_is_caught(ops, monkeypatch):
    right = factorizations._lstsq2
    monkeypatch.setattr(factorizations, "_lstsq2", lambda a, b, residuals: (right(a, b, residuals)[0],
                                                                           2 * right(a, b, residuals)[1]))
    result = conformance.check_sample(ops["linalg.lstsq"], SampleInput(_randn(5, 3), args=(_randn(5, 2, seed=1),),
                                                                       kwargs={"driver": "gels"}))
    assert result.status == "disagrees" and result.detail.startswith("forward"), result


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 3, 2)])
def test_pinv_of_full_rank(ops, shape):
    _runs(ops["linalg.pinv"], SampleInput(_randn(*shape, seed=3)))


def test_pinv_hermitian(ops):
    _runs(ops["linalg.pinv.hermitian"], SampleInput(_randn(4, 4, seed=3), kwargs={"hermitian": True}))


def test_pinv_of_any_rank_runs_through_the_svd(ops):
    _runs(ops["linalg.pinv"], SampleInput(_randn(4, 4, seed=3), kwargs={"rtol": 1.0}))  # every value dropped: 0
    a, b = _randn(4, 2, seed=5), _randn(3, 2, seed=6)  # rank 2, kept whole: pinv is differentiable there
    _runs(ops["linalg.pinv.singular"], SampleInput(a, args=(b,)))


def _symbolic_pinv(*factors, hermitian=False):
    """torch.linalg.pinv of the product of `factors` (each a tensor), on symbols, decided at the point."""
    import numpy as np

    from compare.explore import ByValue
    from compare.exact.sym import exact, input_symbols
    from compare.symbolic import BRANCH, SymTensor

    symbols = [input_symbols(f"t{k}", tuple(f.shape)) for k, f in enumerate(factors)]
    point = {s: exact(v) for x, f in zip(symbols, factors) for s, v in zip(x.flat, f.reshape(-1).tolist())}
    token = BRANCH.set(ByValue(point))
    try:
        a, *rest = [SymTensor(x.copy(), torch.float64) for x in symbols]
        for b in rest:
            a = a @ b
        return np.asarray(torch.linalg.pinv(a, hermitian=hermitian).exprs), point
    finally:
        BRANCH.reset(token)


@pytest.mark.parametrize("a_shape, b_shape", [((3, 1), (1, 50)), ((5, 2), (2, 3)), ((3, 2), (2, 5))])
def test_pinv_of_a_product_of_low_rank_holds_no_svd_node(a_shape, b_shape):
    # A = a b of rank r (3 x 50 of rank 1: op_db's linalg.pinv.singular sample) is pinv'd by Decell's
    # formula, rational in A's entries: through the SVD's nodes, whose derivatives each sum over all
    # 150 entries, its exact gradient took over 200 s. Its value must be torch's.
    from compare.exact import evaluate
    from compare.symbolic.singular import svd_entry

    a, b = _randn(*a_shape, seed=1, grad=False), _randn(*b_shape, seed=2, grad=False)
    out, point = _symbolic_pinv(a, b)
    assert not any(e.atoms(svd_entry) for e in out.flat)
    assert torch.allclose(torch.from_numpy(evaluate.evaluate(out, point)), torch.linalg.pinv(a @ b), rtol=1e-12)


@pytest.mark.parametrize("a_shape, b_shape", [((3, 1), (12, 1)), ((3, 2), (5, 2))])
def test_pinv_of_a_low_rank_product_runs(ops, a_shape, b_shape):
    _runs(ops["linalg.pinv.singular"], SampleInput(_randn(*a_shape, seed=5), args=(_randn(*b_shape, seed=6),)))


def test_a_wrong_rational_pinv_is_caught(ops, monkeypatch):
    # Decell's formula with the wrong coefficient (c_r's sign): the exact pinv is -A^+, and the check sees it
    from compare.symbolic import decompositions

    right = decompositions.pinv_of_rank
    monkeypatch.setattr(decompositions, "pinv_of_rank", lambda a, rank: None if right(a, rank) is None else -right(a, rank))
    result = conformance.check_sample(ops["linalg.pinv.singular"],
                                      SampleInput(_randn(3, 1, seed=5), args=(_randn(4, 1, seed=6),)))
    assert result.status == "disagrees" and result.detail.startswith("forward"), result


def test_pinv_that_drops_a_nonzero_singular_value_has_a_wrong_backward_in_torch(ops):
    # torch's pinv_backward is the Moore-Penrose derivative (Golub-Pereyra), which the truncated
    # pseudo-inverse that rtol = 0.5 computes does not have: central differences side with the exact value
    a = _randn(3, 3, seed=0, grad=False)
    f = lambda x: torch.linalg.pinv(x, rtol=0.5).sum()  # noqa: E731
    x = a.clone().requires_grad_(True)
    f(x).backward()
    h, differences = 1e-6, torch.zeros(3, 3, dtype=torch.float64)
    for i in range(3):
        for j in range(3):
            e = torch.zeros(3, 3, dtype=torch.float64)
            e[i, j] = h
            differences[i, j] = (f(a + e) - f(a - e)) / (2 * h)
    assert not torch.allclose(x.grad, differences, atol=1e-3)
    import compare

    result = compare.check(lambda x: torch.linalg.pinv(x, rtol=0.5), (a,), samples=0, order=1, timeout=None)
    assert result.status == "disagree"
    assert torch.allclose(torch.from_numpy(result.points[0].symbolic["x"]), differences, atol=1e-6)


def test_a_wrong_rank_decision_is_caught(ops, monkeypatch):
    # rtol = 1 keeps sigma_max alone: the full-rank formula is wrong there, and the check sees it
    monkeypatch.setattr(factorizations, "decide", lambda condition, op=None: True)
    result = conformance.check_sample(ops["linalg.pinv"], SampleInput(_randn(4, 4, seed=3), kwargs={"rtol": 1.0}))
    assert result.status == "disagrees" and result.detail.startswith("forward"), result


def test_qr_of_a_wide_matrix_written_out(ops):
    _runs(ops["linalg.qr"], SampleInput(_randn(2, 3, seed=4)))


def test_geqrf_is_lapacks():
    import numpy as np

    from compare.exact import evaluate
    from compare.explore import ByValue
    from compare.exact.sym import exact, input_symbols
    from compare.symbolic import BRANCH, SymTensor

    a = _randn(4, 3, seed=4, grad=False)
    x = input_symbols("t0", (4, 3))
    point = {s: exact(v) for s, v in zip(x.flat, a.reshape(-1).tolist())}
    token = BRANCH.set(ByValue(point))
    try:
        packed, tau = torch.geqrf(SymTensor(x.copy(), torch.float64))
    finally:
        BRANCH.reset(token)
    want, want_tau = torch.geqrf(a)
    assert np.allclose(evaluate.evaluate(packed.exprs, point), want.numpy(), rtol=1e-13)
    assert np.allclose(evaluate.evaluate(tau.exprs, point), want_tau.numpy(), rtol=1e-13)
