"""How a failure is said: ULPs only where they mean something, no figure twice, headers that name the rows."""
import re

import numpy as np
import pytest
import torch

import compare
from compare.agreement import measure

from module_cases.layers import X, HalvedWeightGrad, MyLinear


def _scaled(factor: float):
    """x**3 with a backward `factor` times the right one: a relative error of factor - 1."""

    class Scaled(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * factor * 3 * x**2

    return Scaled


def _message(function, x) -> str:
    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(function.apply, (x,), order=1, samples=0)
    return str(failure.value)


def _largest(message: str) -> str:
    return next(line for line in message.splitlines() if "largest error:" in line).split(": ", 1)[1]


def test_a_float64_failure_says_each_figure_once_and_no_meaningless_ulps():
    line = _largest(_message(_scaled(1 + 1e-6), torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)))
    # 1e-6 relative in float64 is about 4.5e9 ULPs: said in words, and float64 named once
    assert line == "abs 1.2e-05, rel 1e-06, far beyond rounding (float64)", line
    assert line.count("float64") == 1 and "ULP" not in line


def test_a_sign_flip_is_said_as_such():
    line = _largest(_message(_scaled(-1.0), torch.tensor([1.0, -2.0, 0.5])))
    assert "the sign flipped" in line and not re.search(r"\d{8,}", line), line


def test_a_few_ulps_are_counted_and_the_float64_run_added():
    line = _largest(_message(_scaled(1 + 1e-4), torch.tensor([1.0, -2.0, 0.5])))
    ulps = int(re.search(r"(\d+) ULP \(float32\)", line).group(1))
    assert 100 < ulps < 2000, line  # 1e-4 relative in float32: about 840 ULPs (2**-23 apart)
    assert line.endswith("(float32); the same abs in float64"), line  # the same figure, said once


def test_the_jacobian_header_names_what_its_rows_name():
    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(MyLinear(HalvedWeightGrad), (X,), order=1, samples=0)
    message = str(failure.value)
    header = next(line for line in message.splitlines() if "Jacobian entries" in line)
    rows = [re.split(r"\s{2,}", line.strip())[1] for line in message.splitlines() if line.strip().startswith("out[")]
    assert rows and all(r.startswith("weight[") for r in rows), message
    assert "d out[i] / d weight[j]" in header and "input[j]" not in header, header
    columns = next(line for line in message.splitlines() if line.strip().startswith("output"))
    assert columns.split()[:2] == ["output", "parameter"], columns


def test_ulp_figures_are_numbers_only_where_they_mean_something():
    from compare.render.figures import ULP_MEANINGFUL, sign_flipped, ulp_figure, ulp_text

    want = np.array([1.0, -2.0])
    near = measure(np.nextafter(want, 10), want, torch.float64)
    assert ulp_figure(near) == "1" and ulp_text(near) == "1 ULP"
    far = measure(want * (1 + 1e-6), want, torch.float64)
    assert far.max_ulp > ULP_MEANINGFUL and ulp_text(far) == "far beyond rounding"
    assert sign_flipped(-want, want, torch.float64) and not sign_flipped(want * 2, want, torch.float64)
    assert not sign_flipped(np.array([-1e-20]), np.array([1e-20]), torch.float32)  # they agree: no flip to tell
    tiny = measure(np.array([7.4e-15]), np.array([0.0]), torch.float32)  # agrees, 7e8 float32 ULPs from 0
    assert tiny.agree and tiny.max_ulp > ULP_MEANINGFUL and ulp_text(tiny) == "near 0"
    rounded = measure(np.array([np.float32(0.1)], dtype=np.float64), np.array([0.1]), torch.float32)
    assert rounded.max_ulp == 0 and ulp_text(rounded) == "0 ULP, correctly rounded"
