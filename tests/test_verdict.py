"""The comparison rules of `verdict.measure`, each shown to accept what it should and to catch a wrong answer."""
import math

import numpy as np
import pytest
import torch

import compare
from compare.agreement import measure, ulp_distance
from compare.tolerances import TOLERANCES

inf, nan = math.inf, math.nan
F64, F32 = torch.float64, torch.float32


def agree(got, want, dtype=F64) -> bool:
    return measure(np.array(got, dtype=np.float64), np.array(want, dtype=np.float64), dtype).agree


# -- tolerances ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F64, F32, torch.float16, torch.bfloat16])
def test_tolerance_is_the_table_entry_of_the_dtype(dtype):
    tol = TOLERANCES[dtype]
    want = 3.0  # the array's largest entry: atol is scaled by it
    inside = want + 0.9 * (tol.atol * want + tol.rtol * want)
    outside = want + 1.1 * (tol.atol * want + tol.rtol * want)
    assert agree([inside], [want], dtype)
    assert not agree([outside], [want], dtype)


def test_a_relative_error_of_1e_3_is_caught_in_float32_and_float64():
    assert not agree([1.001], [1.0], F32)
    assert not agree([1.001], [1.0], F64)


def test_torch_s_own_float64_kernel_accuracy_is_no_disagreement_but_a_float32_leak_is():
    # torch's trigamma (digamma's derivative) against mpmath at 40 digits: 4.9e-10 relative
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    x = 1.1349000000000005
    got = torch.special.polygamma(1, torch.tensor(x, dtype=F64)).item()
    exact = float(mpmath.polygamma(1, x))
    assert abs(got - exact) / exact > 1e-10  # the kernel really is this far off
    assert agree([got], [exact], F64)
    # a float32 number in a float64 backward: hardsigmoid's slope 1/6 as torch's kernel has it
    sixth32 = float(torch.tensor(1 / 6, dtype=torch.float32))
    assert not agree([sixth32], [1 / 6], F64)
    x = torch.tensor([-0.6047], dtype=F64, requires_grad=True)
    torch.nn.functional.hardsigmoid(x).sum().backward()
    assert not agree(x.grad.numpy(), [1 / 6], F64)  # what torch 2.13 gives, caught


def test_one_wrong_entry_among_many_is_caught_and_located():
    got = np.arange(6.0).reshape(2, 3)
    want = got.copy()
    got[1, 2] += 1e-3
    e = measure(got, want, F64)
    assert not e.agree and e.worst == (1, 2)
    assert e.max_abs == pytest.approx(1e-3) and e.max_rel == pytest.approx(1e-3 / 5)


# -- the absolute tolerance scales with the derivative's magnitude -----------------------------
def test_rounding_at_an_exact_zero_beside_large_entries_agrees():
    """The Hessian of x.prod() over eight entries (make_tensor's, seed 4): its diagonal is exactly 0, and
    torch's prod backward (result / x_i, differentiated again) leaves 7.3e-12 there beside entries of
    1.6e4, a rounding of 4.5e-16 relative to them. Unscaled, float64's atol of 1e-12 called it a
    disagreement."""
    x = torch.tensor([-0.4120310730046346, 4.169785074479985, -7.963973330890175, 7.976826173134215,
                      8.075385454183436, 0.9233505946898992, -1.6184987825838657, 4.672199521810679], dtype=F64)
    result = compare.check(lambda x: x.prod(), (x,), samples=0)
    hessian = result.points[0].hessian
    assert np.diag(hessian.exact).tolist() == [0.0] * 8  # d2/dx_i2 of a product of distinct entries
    assert np.abs(np.diag(hessian.autograd)).max() > TOLERANCES[F64].atol  # what failed before
    assert result.status == "agree"


def test_a_relative_error_of_1e_6_in_a_small_entry_of_a_large_tensor_is_caught():
    want = np.array([2.5e5, -1.3e5, 1.0, 0.0])
    got = want.copy()
    got[2] *= 1 + 1e-6
    assert not measure(got, want, F64).agree
    assert measure(got, want, F64).worst == (2,)
    wrong_zero = want.copy()
    wrong_zero[3] = 1e-6  # 4e-12 of the largest entry: more than rounding
    assert not measure(wrong_zero, want, F64).agree


class _SmallEntryOff(torch.autograd.Function):
    """x * w, whose backward is 1e-6 relative off in the gradient's smallest entry (w = [2.5e5, 1])."""

    @staticmethod
    def forward(ctx, x):
        return x * torch.tensor([2.5e5, 1.0], dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * torch.tensor([2.5e5, 1.0 + 1e-6], dtype=g.dtype)


def test_a_backward_off_in_a_small_entry_of_a_large_gradient_is_caught():
    result = compare.check(_SmallEntryOff.apply, (torch.tensor([0.5, -2.0], dtype=F64),), order=1, samples=0)
    assert result.status == "disagree"
    assert result.points[0].errors64_by_input["x"].worst == (1,)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="shapes differ"):
        measure(np.zeros(3), np.zeros(4), F64)


# -- NaN: agrees only with NaN ------------------------------------------------------------
def test_nan_agrees_with_nan():
    assert agree([nan, 1.0], [nan, 1.0])
    assert ulp_distance(np.array([nan]), np.array([nan]), F64) == 0


@pytest.mark.parametrize("got, want", [(nan, 1.0), (1.0, nan), (nan, 0.0), (nan, inf), (inf, nan)])
def test_nan_against_anything_else_is_caught(got, want):
    e = measure(np.array([got]), np.array([want]), F64)
    assert not e.agree and e.worst == (0,)
    assert e.max_ulp is None  # no distance between a NaN and a number


# -- infinities: each agrees only with itself ---------------------------------------------
def test_infinity_agrees_with_the_same_infinity():
    assert agree([inf, -inf], [inf, -inf])


@pytest.mark.parametrize("got, want", [(inf, -inf), (-inf, inf), (1e308, inf), (inf, 1e308), (-inf, -1e308)])
def test_wrong_sign_or_finite_against_infinite_is_caught(got, want):
    assert not agree([got], [want])


def test_infinite_pairs_do_not_pollute_the_error_measures():
    e = measure(np.array([inf, 2.0]), np.array([inf, 2.0]), F64)
    assert e.agree and e.max_abs == 0.0 and e.max_rel == 0.0


# -- signed zeros: equal ------------------------------------------------------------------
def test_signed_zeros_are_equal():
    e = measure(np.array([-0.0, 0.0]), np.array([0.0, -0.0]), F64)
    assert e.agree and e.max_abs == 0.0 and e.max_ulp == 0
    assert ulp_distance(np.array([-0.0]), np.array([0.0]), F32) == 0


def test_a_zero_where_a_nonzero_is_exact_is_caught():
    assert not agree([-0.0], [1e-6])
    assert not agree([0.0], [-1e-3], F32)


# -- subnormals: like any finite number ---------------------------------------------------
def test_ulp_distance_counts_subnormal_steps():
    tiny64 = np.float64(5e-324)  # the smallest float64 subnormal
    assert ulp_distance(np.array([3 * tiny64]), np.array([0.0]), F64) == 3
    tiny32 = float(np.float32(1.4e-45))  # the smallest float32 subnormal
    assert ulp_distance(np.array([2 * tiny32]), np.array([-tiny32]), F32) == 3
    # across zero, through the subnormals: -tiny and +tiny are two steps apart
    assert ulp_distance(np.array([-tiny64]), np.array([tiny64]), F64) == 2


def test_subnormals_agree_within_the_absolute_tolerance():
    sub = 1e-310
    assert np.float64(sub) != 0 and abs(np.float64(sub)) < np.finfo(np.float64).tiny
    assert agree([sub], [0.0])
    assert agree([0.0], [-sub], F32)


def test_a_wrong_answer_near_a_subnormal_is_caught():
    assert not agree([1e-11], [1e-310])
    assert not agree([-1e-5], [1e-40], F32)


def test_float32_ulps_are_counted_in_float32():
    one = np.float32(1.0)
    next_up = np.nextafter(one, np.float32(2.0))
    e = measure(np.array([float(next_up)]), np.array([1.0]), F32)
    assert e.max_ulp == 1 and e.agree


def test_empty_arrays_agree():
    e = measure(np.zeros((0,)), np.zeros((0,)), F64)
    assert e.agree and e.worst is None and e.max_ulp == 0


@pytest.mark.parametrize("got, want, shown", [(nan, 1.0, "nan"), (1.0, nan, "nan"), (inf, 1.0, "inf"),
                                               (-inf, inf, "inf"), (1e308, inf, "inf")])
def test_a_disagreeing_non_finite_pair_never_reads_as_error_0(got, want, shown):
    e = measure(np.array([got, 2.0]), np.array([want, 2.0]), F64)
    assert not e.agree
    assert str(e.max_abs) == str(e.max_rel) == shown


def test_the_largest_error_is_nan_when_any_is_whatever_the_order():
    from compare.agreement import largest

    assert math.isnan(largest([1.0, nan, 2.0])) and math.isnan(largest([nan, 1.0]))
    assert largest([1.0, 3.0]) == 3.0 and largest([]) == 0.0
