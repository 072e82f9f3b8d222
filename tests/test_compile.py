"""Compiled code: autograd through torch.compile, checked against the same exact derivative.

Marked slow: a first inductor compile takes seconds to tens of seconds. To keep the suite
short, one test compiles with inductor (in float64, so one dtype, one compile); the others
use the aot_eager backend, which traces forward and backward through AOTAutograd as inductor
does, without generating C++.
"""
import json
import os
import subprocess
import sys

import pytest
import torch

import compare
from compare.case import case, collecting
from compare.engine import check_case
from compare.records import Meta
from compare.render.report import render_case

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
X = torch.tensor([0.5, -1.0, 2.0])
META = Meta(python="3", torch="2", sympy="1", seed=0, samples=4)


def tanh_times_x(x):
    return (torch.tanh(x) * x).sum()


class OffByATenth(torch.autograd.Function):
    """x**2 whose backward is 0.1% too large."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x * 1.001


class Right(OffByATenth):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x


def test_inductor_agrees_on_tanh_times_x():
    result = compare.check(tanh_times_x, (X.double(),), compile=True)
    assert result.status == "agree", result.error
    assert result.compiled == "inductor"
    assert 'torch.compile(fn, backend="inductor")' in render_case(result, META)


def test_a_compiled_backward_off_by_a_tenth_of_a_percent_disagrees():
    def off(x):
        return OffByATenth.apply(x).sum()

    def right(x):
        return Right.apply(x).sum()

    assert compare.check(right, (X,), compile="aot_eager", order=1).status == "agree"
    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(off, (X,), compile="aot_eager", order=1)
    text = str(failure.value)
    assert "through torch.compile (backend aot_eager)" in text
    assert "autograd float64: [ 1.001, -2.002,  4.004]" in text
    assert compare.check(off, (X,), order=1).status == "disagree"  # eager too: the same verdict


def test_control_flow_compiles_piece_by_piece_without_falling_back_to_eager():
    def branchy(x):  # a graph break at each branch: each side is compiled
        y = x
        while y.norm() < 10:
            y = y * 2
        return y.sum() if y.sum() > 0 else (3 * y).sum()

    result = compare.check(branchy, (X,), compile="aot_eager", order=1)
    assert result.status == "agree", result.error
    assert len(result.pieces) > 1


def test_case_declares_compile_and_its_problems_are_its_own():
    with collecting() as found:
        case(inputs={"x": X}, compile=3)(tanh_times_x)
        case(inputs={"x": X}, compile=True)(tanh_times_x)
    assert "compile must be True, False or the name of a torch.compile backend" in found[0].problem
    assert found[1].compile == "inductor" and found[1].problem is None


def test_run_compile_flag_and_case_option(tmp_path):
    out = tmp_path / "r"
    proc = subprocess.run([sys.executable, "-m", "compare", "run", "tests/compiled_cases", "--compile", "aot_eager",
                           "--out", str(out), "--samples", "1", "-j", "1"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr  # the case that is off disagrees
    cases = {c["name"]: c for c in json.loads((out / "results.json").read_text())["cases"]}
    assert {n: (c["status"], c.get("compiled")) for n, c in cases.items()} == {
        "compiled_square": ("agree", "aot_eager"),
        "compiled_off_square": ("disagree", "aot_eager"),
        "tanh_times_x": ("agree", "aot_eager"),  # compiled by --compile
    }
    assert 'torch.compile(fn, backend="aot_eager")' in (out / "tanh_times_x.md").read_text()


def test_without_compile_results_name_no_backend():
    with collecting() as found:
        case(inputs={"x": X}, order=1)(tanh_times_x)
    result = check_case(found[0], samples=0)
    assert result.compiled is None
    assert "torch.compile" not in render_case(result, META)
