"""LU's unpacking and solves, Householder products, QR, least squares and pinv against autograd."""
import pytest
import sympy
import torch

pytest.importorskip("expecttest")  # op_db's module needs it (the `test` extra)

from torch.testing._internal.opinfo.core import SampleInput  # noqa: E402

from compare import conformance  # noqa: E402
from compare.sym import detach  # noqa: E402
from compare.symbolic import factorizations  # noqa: E402


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
