"""nanmedian, mode, adaptive and fractional max pooling, max_unpool, adaptive_avg_pool3d, _safe_softmax
and i1e on symbolic tensors, against autograd; and that a wrong meaning of them is caught."""
import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F

import compare
from compare.conformance import run as conformance, samples as opdb_samples
from compare.records import AGREE, CONVENTION
from compare.symbolic import MEANINGS, SymTensor, UnsupportedOp, exprs_of
from compare.symbolic import selections

aten = torch.ops.aten
g = torch.Generator().manual_seed(1)


def _r(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


_GRID = torch.tensor([[[[0.3, -0.4], [-0.9, 0.75], [1.2, 0.1]]]], dtype=torch.float64)  # one out of bounds
_GRID3 = torch.tensor([[[[[0.3, -0.4, 0.6], [-0.9, 0.75, -0.2]]]]], dtype=torch.float64)
_SAMPLES = torch.tensor([[[0.3, 0.8]]], dtype=torch.float64)  # fixed random samples: the windows are fixed

CASES = {
    "nanmedian": (lambda x: torch.nanmedian(x), {"x": _r(4)}),
    "nanmedian_dim": (lambda x: torch.nanmedian(x, 1).values, {"x": _r(2, 3)}),
    "nanmedian_skips_nan": (lambda x: torch.nanmedian(torch.where(torch.tensor([True, False, True, True]), x,
                                                                  torch.tensor(float("nan"), dtype=x.dtype)), 0).values,
                            {"x": _r(4)}),
    "nanmedian_index": (lambda x: x[torch.nanmedian(x, 0).indices], {"x": _r(4)}),
    "mode": (lambda x: torch.mode(x).values, {"x": _r(3)}),
    "mode_dim_keepdim": (lambda x: torch.mode(x, 0, keepdim=True).values * 2, {"x": _r(3, 2)}),
    "adaptive_max1d": (lambda x: F.adaptive_max_pool1d(x, 2), {"x": _r(1, 1, 5)}),
    "adaptive_max2d_uneven": (lambda x: F.adaptive_max_pool2d(x, (2, 3)), {"x": _r(1, 3, 4)}),
    "adaptive_max2d_index": (lambda x: x.reshape(-1)[F.adaptive_max_pool2d(x, 2, return_indices=True)[1].reshape(-1)],
                             {"x": _r(1, 3, 3)}),
    "adaptive_avg3d_uneven": (lambda x: F.adaptive_avg_pool3d(x, (2, 1, 2)), {"x": _r(1, 3, 2, 3)}),
    # 7 columns in 3 windows of 2: they start at 0, 3, 5 for the sample 0.3 and at 0, 2, 5 for 0.8
    "fractional_max2d": (lambda x: F.fractional_max_pool2d(x, 2, output_size=(2, 3), _random_samples=_SAMPLES),
                         {"x": _r(1, 1, 4, 7)}),
    "fractional_max3d": (lambda x: F.fractional_max_pool3d(
        x, 2, output_size=2, _random_samples=torch.tensor([[[0.3, 0.8, 0.1]]], dtype=torch.float64)),
        {"x": _r(1, 1, 4, 5, 4)}),
    "max_unpool1d": (lambda x: F.max_unpool1d(x, torch.tensor([[[3, 0]]]), 2, output_size=(4,)), {"x": _r(1, 1, 2)}),
    "max_unpool2d_of_a_pool": (lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
                               {"x": _r(1, 1, 2, 4)}),
    "safe_softmax": (lambda x: aten._safe_softmax(x, 1) * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),
                     {"x": _r(2, 3)}),
    "i1e": (lambda x: torch.special.i1e(x), {"x": _r(3)}),
    # a grid that is an input makes a piece per cell that each point may fall in: one point, 2 x 2
    "grid_sample_bilinear": (lambda x, g: F.grid_sample(x, g, align_corners=False),
                             {"x": _r(1, 1, 2, 2), "g": torch.tensor([[[[0.3, -0.4]]]], dtype=torch.float64)}),
    "grid_sample_fixed_grid": (lambda x: F.grid_sample(x, _GRID, align_corners=False), {"x": _r(1, 2, 3, 3)}),
    "grid_sample_border_corners": (lambda x: F.grid_sample(x, 1.5 * _GRID, padding_mode="border", align_corners=True),
                                   {"x": _r(1, 1, 2, 3)}),
    "grid_sample_nearest": (lambda x: F.grid_sample(x, _GRID, mode="nearest", align_corners=False),
                            {"x": _r(1, 1, 3, 4)}),
    # positions 0.5 and 1.5 exactly: nearest rounds half to even, to columns 0 and 2
    "grid_sample_nearest_halves": (lambda x: F.grid_sample(x, torch.tensor([[[[-0.5, 0.0], [0.0, 0.0]]]],
                                                                           dtype=torch.float64),
                                                           mode="nearest", align_corners=False),
                                   {"x": _r(1, 1, 4, 4)}),
    "grid_sample_3d": (lambda x: F.grid_sample(x, _GRID3, align_corners=False), {"x": _r(1, 1, 2, 2, 3)}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_autograd(name):
    fn, inputs = CASES[name]
    result = compare.check(fn, inputs, samples=1, order=1, name=name)
    # the explorer also tries ties of a max pool's window, where autograd follows max(dim)'s rule
    assert result.status in (AGREE, CONVENTION), [p.note for p in result.points if p.status != AGREE]


def _sym(shape, name="x"):
    return SymTensor(np.array([sympy.Symbol(f"{name}{i}", real=True) for i in range(int(np.prod(shape)))],
                              dtype=object).reshape(shape), torch.float64)


def test_max_unpool_refuses_a_repeated_index():
    x = _sym((1, 1, 2))
    with pytest.raises(UnsupportedOp, match="repeated"):
        F.max_unpool1d(x, torch.tensor([[[1, 1]]]), 2, output_size=(3,))


def test_safe_softmax_of_a_row_of_minus_infinity_is_zero():
    x = _sym((2, 2))
    minus = torch.tensor([[float("-inf"), float("-inf")], [0.0, float("-inf")]], dtype=torch.float64)
    out = exprs_of(aten._safe_softmax(x + minus, 1))
    assert list(out.reshape(-1)) == [0, 0, 1, 0]


def test_nanmedian_of_nan_only_is_nan():
    out = exprs_of(torch.nanmedian(torch.tensor([float("nan")] * 2, dtype=torch.float64) + _sym((2,)), 0).values)
    assert out[()] is sympy.nan


# -- a wrong meaning is caught by the op database's check -----------------------------------------
QUICK = conformance.Settings(samples=3, max_entries=64, seconds=60)


@pytest.fixture(scope="module")
def ops():
    return {conformance._name(op): op for op in conformance.opinfos()}


def _first_median(row):
    """The smallest non-NaN entry instead of the lower median."""
    kept = [(v, i) for i, v in enumerate(row) if v is not sympy.nan]
    values, order = selections._sorted_along(np.array([v for v, _ in kept], dtype=object), 0, False)
    return values[0], sympy.Integer(kept[int(order[0])][1])


@pytest.mark.parametrize("name, op, wrong", [
    ("masked.median", aten.nanmedian.dim,
     lambda x, dim, keepdim=False: selections._reduced(exprs_of(x), dim, keepdim, _first_median)),
    ("special.i1e", aten.special_i1e,
     lambda x: np.frompyfunc(lambda v: sympy.besseli(1, v), 1, 1)(exprs_of(x))),  # without exp(-|x|)
    ("nn.functional.adaptive_max_pool2d", aten.adaptive_max_pool2d.default,  # the first window everywhere
     lambda x, size: tuple(np.broadcast_to(a[..., :1, :1], a.shape).copy()
                           for a in selections._adaptive_max(2)(x, size))),
])
def test_a_wrong_meaning_is_caught_in_op_db(ops, monkeypatch, name, op, wrong):
    monkeypatch.setitem(MEANINGS, op, wrong)
    assert conformance.check_op(ops[name], QUICK).status == "disagrees"


@pytest.mark.parametrize("name, op, wrong", [
    # op_db's only adaptive_avg_pool3d sample is empty, and its fractional pools' windows do not
    # depend on their samples: these are checked on the cases above
    ("adaptive_avg3d_uneven", aten._adaptive_avg_pool3d.default,
     lambda x, size: selections.adaptive_avg_pool3d(x, size) * 2),
    ("fractional_max2d", aten.fractional_max_pool2d.default,  # the samples' axes swapped
     lambda x, k, size, u: selections._fractional_max(2)(x, k, size, u.flip(-1))),
    ("grid_sample_fixed_grid", aten.grid_sampler_2d.default,  # the grid's (x, y) read as (y, x)
     lambda x, g, *rest: selections._grid_sampler(2)(x, g.flip(-1), *rest)),
    ("grid_sample_nearest_halves", aten.grid_sampler_2d.default,  # nearest rounding halves up
     lambda x, g, *rest: selections._grid_sampler(2)(x, g + 1e-9, *rest)),
])
def test_a_wrong_meaning_is_caught_on_a_case(monkeypatch, name, op, wrong):
    monkeypatch.setitem(MEANINGS, op, wrong)
    fn, inputs = CASES[name]
    assert compare.check(fn, inputs, samples=1, order=1, name=name).status not in (AGREE, CONVENTION)


def test_a_wrong_mode_is_caught(ops):
    """mode's index at the first occurrence of the mode instead of the last is caught by its indices output."""
    from torch.testing._internal.opinfo.core import SampleInput

    x = torch.tensor([2.0, 1.0, 2.0, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
    assert conformance.check_sample(ops["mode"], SampleInput(x)).status == "runs"
    wrong = lambda x, dim=-1, keepdim=False: selections._reduced(  # noqa: E731
        exprs_of(x), dim, keepdim, lambda r: (selections._mode(r)[0], sympy.Integer(1)))
    with pytest.MonkeyPatch.context() as m:
        m.setitem(MEANINGS, aten.mode.default, wrong)
        assert conformance.check_sample(ops["mode"], SampleInput(x)).status == "disagrees"


def test_an_infinite_sample_entry_is_a_constant():
    """The harness makes no symbol of an infinite entry: a real symbol is finite."""
    t = torch.tensor([1.0, float("-inf")], dtype=torch.float64)
    out = opdb_samples._finite_symbols(np.array(sympy.symbols("a b", real=True), dtype=object), t)
    assert out[0] == sympy.Symbol("a", real=True) and out[1] is sympy.S.NegativeInfinity


def test_hardsigmoids_gradient_is_one_sixth_rounded_to_float32():
    """Why op_db's hardsigmoid is `disagrees`: torch's float64 backward multiplies by float32(1/6).

    The exact slope is 1/6; torch gives 0.1666666716337204 (1/6 rounded to
    float32), 3e-8 off in relative terms: the disagreement is torch's.
    """
    x = torch.tensor([-0.6047, 1.5], dtype=torch.float64, requires_grad=True)
    grad, = torch.autograd.grad(F.hardsigmoid(x).sum(), x)
    assert grad.tolist() == [float(torch.tensor(1 / 6, dtype=torch.float32))] * 2 != [1 / 6] * 2
