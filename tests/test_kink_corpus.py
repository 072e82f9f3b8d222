"""A corpus of kinks, ties and edges, each with its verdict and the values PyTorch's rules allow there.

Every expected value below is worked out by hand from the rules PyTorch
documents (autograd notes, "Gradients for non-differentiable functions":
1. differentiable: the derivative; 2. locally convex: the subgradient of
minimum norm; 3. locally concave: the supergradient of minimum norm;
4. defined: by continuity, any one if several; 5. undefined: anything) and
from the per-op behaviours torch documents (`compare/kinks/table.py`),
never from compare's output. Each point is the case's own input (no
samples), in float64. `allowed` lists the gradients of out.sum() the rules
allow (None: not checked here, for a point that is not a kink); `verdict`
is the point's status. The same points are cases under `cases/kinks/`,
whose pages a reader reads.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import compare

F64 = torch.float64
NAN = math.nan  # in `allowed`: any value (rule 5)
SCALE, ALPHA = 1.0507009873554805, 1.6732632423543772  # selu's constants, as torch writes them
SIGMOID_20 = 1 / (1 + math.exp(-20))


@dataclass(frozen=True)
class Point:
    id: str
    fn: Callable
    inputs: dict
    verdict: str
    allowed: list | None = None
    """The gradients of out.sum() the rules allow: each a dict input -> values (or, for one input, its values)."""
    order: int = 1
    hessian: list | None = None
    """For order 2: the second derivatives (the full Hessian) autograd's is held to (the rules' nearest)."""
    rule: str = ""
    """A fragment the point's rule (or, for a disagreement, its note) must name."""


def t(*values):
    return torch.tensor(values, dtype=F64)


class BadRelu(torch.autograd.Function):
    """relu whose backward passes the gradient at 0 (rule 2 gives 0 there): wrong only at the kink."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (x >= 0).to(grad.dtype)


class SafeSqrt(torch.autograd.Function):
    """sqrt whose backward gives 0 at 0 instead of inf (rule 4's derivative by continuity)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sqrt(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * torch.where(x > 0, 0.5 / torch.sqrt(x.clamp_min(1e-300)), torch.zeros_like(x))


class HalfSwish(torch.autograd.Function):
    """hardswish whose backward gives 1/2 at -3: neither one-sided derivative there (0 and -1/2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.hardswish(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        inside = (2 * x + 3) / 6
        slope = torch.where(x < -3, torch.zeros_like(x), torch.where(x > 3, torch.ones_like(x), inside))
        return grad * torch.where(x == -3, torch.full_like(x, 0.5), slope)


class LastMax(torch.autograd.Function):
    """max() whose backward gives all of the gradient to the last tied entry (max() shares it evenly)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.max(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        last = x.numel() - 1 - int(torch.argmax(x.flip(0)))
        out = torch.zeros_like(x)
        out[last] = grad
        return out


class BentElu(torch.autograd.Function):
    """elu whose backward is right to the first order but adds 0.5 x at x = 0 only: its second derivative
    there is 1.5, where the rules allow the one-sided 1 (left) and 0 (right)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.elu(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        slope = torch.where(x > 0, torch.ones_like(x), torch.exp(x))
        return grad * (slope + 0.5 * torch.where(x == 0, x, torch.zeros_like(x)))


def notes_f(a):
    """The notes' control flow: double b while its norm is below 1000, then b or 100 b by the sign of its sum."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


POINTS = [
    # -- piecewise activations: one variable, decided side by side ------------------------------
    # relu(x) = max(x, 0): slopes 0 | 1, affine pieces: convex, [0, 1] -> least norm 0 (rule 2).
    Point("relu", lambda x: torch.relu(x).sum(), {"x": t(0.0)}, "convention", [[0.0]], rule="rule 2"),
    # relu6 = hardtanh(x, 0, 6): at 0 slopes 0 | 1, convex -> 0; at 6 slopes 1 | 0, concave -> 0 (rule 3).
    Point("relu6", lambda x: F.relu6(x).sum(), {"x": t(0.0, 6.0)}, "convention", [[0.0, 0.0]], rule="rule 3"),
    # hardtanh at -1 (convex, slopes 0 | 1) and 1 (concave, 1 | 0): 0 at both.
    Point("hardtanh", lambda x: F.hardtanh(x).sum(), {"x": t(-1.0, 1.0)}, "convention", [[0.0, 0.0]]),
    # hardsigmoid = (x + 3) / 6 clamped to [0, 1]: at -3 slopes 0 | 1/6 (convex) -> 0; at 3, 1/6 | 0 (concave) -> 0.
    Point("hardsigmoid", lambda x: F.hardsigmoid(x).sum(), {"x": t(-3.0, 3.0)}, "convention", [[0.0, 0.0]]),
    # hardswish = x (x + 3) / 6 on [-3, 3]: at -3 slopes 0 | (2x + 3)/6 = -1/2, the right piece strictly convex
    # but the slopes fall: neither convex nor concave, rule 4: {0, -1/2}; at 3 slopes 3/2 | 1, the left piece
    # convex and the slopes falling: rule 4, {3/2, 1}. Every combination is allowed; torch gives 0 and 1.
    Point("hardswish", lambda x: F.hardswish(x).sum(), {"x": t(-3.0, 3.0)}, "convention",
          [[0.0, 1.5], [0.0, 1.0], [-0.5, 1.5], [-0.5, 1.0]], rule="rule 4"),
    # leaky_relu(x, 0.01): slopes 0.01 | 1, convex: [0.01, 1] -> 0.01.
    Point("leaky_relu", lambda x: F.leaky_relu(x).sum(), {"x": t(0.0)}, "convention", [[0.01]]),
    # leaky_relu(x, -0.5): slopes -1/2 | 1, convex: [-1/2, 1] holds 0, rule 2 gives 0; torch gives -1/2.
    Point("leaky_relu_negative", lambda x: F.leaky_relu(x, -0.5).sum(), {"x": t(0.0)}, "disagree", [[0.0]],
          rule="rule 2"),
    # leaky_relu(x, 2): slopes 2 | 1, affine pieces, falling: concave, [1, 2] -> 1 (rule 3); torch gives 2.
    Point("leaky_relu_steep", lambda x: F.leaky_relu(x, 2.0).sum(), {"x": t(0.0)}, "disagree", [[1.0]],
          rule="rule 3"),
    # elu (alpha 1): slopes e^0 = 1 | 1: differentiable, 1. Its derivative min(e^x, 1) has slopes 1 | 0 and a
    # convex left piece: rule 4 one order up, the second derivative 1 or 0; torch's is 0.
    Point("elu", lambda x: F.elu(x).sum(), {"x": t(0.0)}, "convention", [[1.0]], order=2, hessian=[[0.0]]),
    # elu (alpha 2): slopes 2 e^0 = 2 | 1, the left piece convex, the slopes falling: rule 4, {2, 1}.
    Point("elu_alpha_2", lambda x: F.elu(x, 2.0).sum(), {"x": t(0.0)}, "convention", [[2.0], [1.0]]),
    # celu (alpha 2) = 2 (e^(x/2) - 1) below 0: slopes 1 | 1, differentiable; second derivative 1/2 | 0.
    Point("celu", lambda x: F.celu(x, 2.0).sum(), {"x": t(0.0)}, "convention", [[1.0]], order=2, hessian=[[0.0]]),
    # selu = scale (alpha (e^x - 1)) below 0, scale x above: slopes scale alpha | scale, falling, left convex.
    Point("selu", lambda x: F.selu(x).sum(), {"x": t(0.0)}, "convention", [[SCALE * ALPHA], [SCALE]]),
    # prelu(x, w) = x above 0, w x below: of (x, w) its pieces x and w x (bilinear: not convex) meet at x = 0,
    # gradients (1, 0) and (w, x) = (1/4, 0): rule 4.
    Point("prelu", lambda x, w: F.prelu(x, w).sum(), {"x": t(0.0), "w": t(0.25)}, "convention",
          [{"x": [1.0], "w": [0.0]}, {"x": [0.25], "w": [0.0]}]),
    # softplus: log(1 + e^x) up to 20, x beyond: a jump of log(1 + e^-20) at 20, so not continuous: rule 4,
    # {sigmoid(20), 1}; the second derivatives sigmoid'(20) | 0, torch's 0.
    Point("softplus", lambda x: F.softplus(x).sum(), {"x": t(20.0)}, "convention", [[SIGMOID_20], [1.0]],
          order=2, hessian=[[0.0]]),
    # hardshrink(x, 1/2): 0 on [-1/2, 1/2], x outside: jumps at +-1/2, rule 4 at each: {0, 1}.
    Point("hardshrink", lambda x: F.hardshrink(x).sum(), {"x": t(0.5, -0.5)}, "convention",
          [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]),
    # softshrink(x, 1/2): x - 1/2 above, x + 1/2 below, 0 between: at 1/2 slopes 0 | 1 (convex) -> 0, at -1/2
    # slopes 1 | 0 (concave) -> 0.
    Point("softshrink", lambda x: F.softshrink(x).sum(), {"x": t(0.5, -0.5)}, "convention", [[0.0, 0.0]]),
    # threshold(x, 1, 0): 0 up to 1, x beyond: a jump at 1, rule 4 {0, 1}.
    Point("threshold_jump", lambda x: F.threshold(x, 1.0, 0.0).sum(), {"x": t(1.0)}, "convention", [[0.0], [1.0]]),
    # threshold(x, 1, 1): 1 up to 1, x beyond: continuous, slopes 0 | 1, convex -> 0.
    Point("threshold_continuous", lambda x: F.threshold(x, 1.0, 1.0).sum(), {"x": t(1.0)}, "convention", [[0.0]]),
    # -- steps, remainders, roots ---------------------------------------------------------------------
    # abs: slopes -1 | 1, convex -> 0.
    Point("abs", lambda x: x.abs().sum(), {"x": t(0.0)}, "convention", [[0.0]]),
    # sign, floor, ceil, round, trunc at their jumps: constant on each side, rule 4 by continuity: 0.
    Point("sign", lambda x: torch.sign(x).sum(), {"x": t(0.0)}, "convention", [[0.0]]),
    Point("floor", lambda x: torch.floor(x).sum(), {"x": t(1.0)}, "convention", [[0.0]]),
    Point("ceil", lambda x: torch.ceil(x).sum(), {"x": t(-2.0)}, "convention", [[0.0]]),
    Point("round_half", lambda x: torch.round(x).sum(), {"x": t(0.5, 1.5)}, "convention", [[0.0, 0.0]]),
    Point("trunc", lambda x: torch.trunc(x).sum(), {"x": t(-1.0)}, "convention", [[0.0]]),
    # fmod(x, 2) = x - 2 trunc(x / 2): at 2 it jumps from 2 to 0, slope 1 on both sides: rule 4, {1}.
    Point("fmod", lambda x: torch.fmod(x, 2.0).sum(), {"x": t(2.0)}, "convention", [[1.0]]),
    # remainder(x, 2) = x - 2 floor(x / 2): at -2 it jumps (x + 4 on the left, x + 2 on the right), slope 1.
    Point("remainder", lambda x: torch.remainder(x, 2.0).sum(), {"x": t(-2.0)}, "convention", [[1.0]]),
    # frac(x) = x - trunc(x): a jump at 1, slope 1 on both sides.
    Point("frac", lambda x: torch.frac(x).sum(), {"x": t(1.0)}, "convention", [[1.0]]),
    # sqrt at 0: defined on the right only, derivative 1 / (2 sqrt(x)) -> inf: rule 4, inf.
    Point("sqrt", lambda x: torch.sqrt(x).sum(), {"x": t(0.0, 4.0)}, "convention", [[math.inf, 0.25]]),
    # pow(x, 0.5) is sqrt: the same rule, whatever the op is called.
    Point("pow_half", lambda x: torch.pow(x, 0.5).sum(), {"x": t(0.0, 4.0)}, "convention", [[math.inf, 0.25]]),
    # pow(x, 1.5) at 0: defined on the right, derivative 1.5 x^0.5 -> 0, finite: the derivative by continuity,
    # no kink for the gradient (agree); its second derivative 0.75 x^-0.5 -> inf is one (rule 4).
    Point("pow_three_halves", lambda x: torch.pow(x, 1.5).sum(), {"x": t(0.0)}, "agree"),
    Point("pow_three_halves_hessian", lambda x: torch.pow(x, 1.5).sum(), {"x": t(0.0)}, "convention", [[0.0]],
          order=2, hessian=[[math.inf]]),
    # atan2(0, 0): no limit at the origin, not defined: rule 5, anything.
    Point("atan2", lambda y, x: torch.atan2(y, x).sum(), {"y": t(0.0), "x": t(0.0)}, "convention",
          [{"y": [NAN], "x": [NAN]}], rule="rule 5"),
    # rsqrt at 0: 1 / sqrt(0) is not a number: rule 5.
    Point("rsqrt", lambda x: torch.rsqrt(x).sum(), {"x": t(0.0)}, "convention", [[NAN]], rule="rule 5"),
    # -- clamp and its kin: torch's documented pass-through at the bounds ---------------------------------
    # clamp passes the gradient to the input at both bounds (derivatives.yaml): 1 at 0 and at 1, 0 outside.
    Point("clamp", lambda x: torch.clamp(x, 0.0, 1.0).sum(), {"x": t(0.0, 1.0, 2.0)}, "convention",
          [[1.0, 1.0, 0.0]], rule="clamp"),
    # with tensor bounds: 1 to the input at its bound; a bound gets it only where the input is beyond it.
    Point("clamp_tensor_bounds", lambda x, lo, hi: torch.clamp(x, lo, hi).sum(),
          {"x": t(0.0, 1.0, 3.0), "lo": t(0.0, 0.0, 0.0), "hi": t(1.0, 1.0, 1.0)}, "convention",
          [{"x": [1.0, 1.0, 0.0], "lo": [0.0, 0.0, 0.0], "hi": [0.0, 0.0, 1.0]}]),
    Point("clamp_min", lambda x: torch.clamp_min(x, 0.0).sum(), {"x": t(0.0)}, "convention", [[1.0]]),
    # maximum(a, b) at a tie: half each (derivatives.yaml), also rule 2's least-norm point of [(1, 0), (0, 1)].
    Point("maximum", lambda a, b: torch.maximum(a, b).sum(), {"a": t(1.0, 2.0), "b": t(1.0, 3.0)}, "convention",
          [{"a": [0.5, 0.0], "b": [0.5, 1.0]}]),
    Point("minimum", lambda a, b: torch.minimum(a, b).sum(), {"a": t(1.0), "b": t(1.0)}, "convention",
          [{"a": [0.5], "b": [0.5]}]),
    # a constant operand is an argument of the op all the same: x still gets half.
    Point("maximum_with_zeros", lambda x: torch.maximum(x, torch.zeros_like(x)).sum(), {"x": t(0.0)},
          "convention", [[0.5]]),
    # fmax at a tie: all to its first argument (derivatives.yaml: self >= other).
    Point("fmax", lambda a, b: torch.fmax(a, b).sum(), {"a": t(1.0), "b": t(1.0)}, "convention",
          [{"a": [1.0], "b": [0.0]}]),
    # -- ties in reductions ----------------------------------------------------------------------------
    # max() and min() share the gradient evenly among ties (derivatives.yaml; rule 2 / 3 too).
    Point("max", lambda x: torch.max(x), {"x": t(1.0, 3.0, 3.0, 2.0)}, "convention", [[0.0, 0.5, 0.5, 0.0]]),
    Point("min", lambda x: torch.min(x), {"x": t(1.0, 1.0, 3.0)}, "convention", [[0.5, 0.5, 0.0]]),
    Point("amax", lambda x: torch.amax(x, 1).sum(), {"x": torch.tensor([[3.0, 3.0, 1.0], [0.0, 2.0, 2.0]], dtype=F64)},
          "convention", [[[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]]),
    Point("amin_three", lambda x: torch.amin(x), {"x": t(2.0, 2.0, 2.0)}, "convention", [[1 / 3, 1 / 3, 1 / 3]]),
    # max(x, dim) and min(x, dim) follow the index they return, the first of equal entries (torch.max's docs).
    Point("max_dim", lambda x: torch.max(x, 1).values.sum(),
          {"x": torch.tensor([[3.0, 3.0, 1.0], [0.0, 2.0, 2.0]], dtype=F64)}, "convention",
          [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]),
    Point("min_dim", lambda x: torch.min(x, 0).values.sum(), {"x": t(1.0, 3.0, 1.0)}, "convention",
          [[1.0, 0.0, 0.0]]),
    # cummax of [1, 3, 3, 2]: running maxima from entries 0, 1, then 1 or 2 (tied: the last, 2), then 2.
    Point("cummax", lambda x: torch.cummax(x, 0).values.sum(), {"x": t(1.0, 3.0, 3.0, 2.0)}, "convention",
          [[1.0, 1.0, 2.0, 0.0]], rule="cummax"),
    Point("cummin", lambda x: torch.cummin(x, 0).values.sum(), {"x": t(3.0, 1.0, 1.0, 2.0)}, "convention",
          [[1.0, 1.0, 2.0, 0.0]]),
    # topk(k=1) of [1, 3, 3, 2]: either 3; torch returns index 1.
    Point("topk", lambda x: torch.topk(x, 1).values.sum(), {"x": t(1.0, 3.0, 3.0, 2.0)}, "convention",
          [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]),
    # sort, weighted by position: the tied 3s may take positions 2 and 3 in either order.
    Point("sort", lambda x: (torch.sort(x).values * t(1.0, 10.0, 100.0)).sum(), {"x": t(1.0, 3.0, 3.0)},
          "convention", [[1.0, 10.0, 100.0], [1.0, 100.0, 10.0]]),
    # kthvalue(k=2) of [1, 3, 1] is 1, held by entries 0 and 2: either.
    Point("kthvalue", lambda x: torch.kthvalue(x, 2).values.sum(), {"x": t(1.0, 3.0, 1.0)}, "convention",
          [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
    # median() of [1, 3, 3, 2, 3] is 3 (the middle of 1, 2, 3, 3, 3), held by entries 1, 2, 4: evenly.
    Point("median", lambda x: torch.median(x), {"x": t(1.0, 3.0, 3.0, 2.0, 3.0)}, "convention",
          [[0.0, 1 / 3, 1 / 3, 0.0, 1 / 3]], rule="median"),
    # median() of [1, 3, 3, 2] is 2, the lower middle, held by entry 3 alone: no tie with it, smooth there.
    Point("median_untied", lambda x: torch.median(x), {"x": t(1.0, 3.0, 3.0, 2.0)}, "agree"),
    # median(x, dim) of [1, 3, 3]: the index it returns, 1 or 2.
    Point("median_dim", lambda x: torch.median(x, 0).values.sum(), {"x": t(1.0, 3.0, 3.0)}, "convention",
          [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    # mode of [1, 3, 1, 3]: 1 (the smallest of equally frequent values), held by entries 0 and 2.
    Point("mode", lambda x: torch.mode(x).values.sum(), {"x": t(1.0, 3.0, 1.0, 3.0)}, "convention",
          [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]),
    # max_pool1d(k=2) of [1, 1, 0, 2]: the first window ties (either entry), the second picks entry 3.
    Point("max_pool", lambda x: F.max_pool1d(x, 2).sum(), {"x": torch.tensor([[[1.0, 1.0, 0.0, 2.0]]], dtype=F64)},
          "convention", [[[[1.0, 0.0, 0.0, 1.0]]], [[[0.0, 1.0, 0.0, 1.0]]]]),
    # -- norms ----------------------------------------------------------------------------------------
    # the 2-norm at the zero vector: convex, 0 its minimum, so 0 is its least-norm subgradient.
    Point("norm_zero", lambda x: torch.linalg.vector_norm(x), {"x": t(0.0, 0.0)}, "convention", [[0.0, 0.0]]),
    # the 1-norm at (0, 0, 1): convex; subgradients [-1, 1] x [-1, 1] x {1}: least norm (0, 0, 1).
    Point("norm_1", lambda x: torch.linalg.vector_norm(x, 1), {"x": t(0.0, 0.0, 1.0)}, "convention",
          [[0.0, 0.0, 1.0]]),
    # the inf-norm at (1, -1, 0.5): max(|x|), convex, active pieces x0 and -x1: their hull's least-norm
    # point (1/2, -1/2, 0).
    Point("norm_inf", lambda x: torch.linalg.vector_norm(x, math.inf), {"x": t(1.0, -1.0, 0.5)}, "convention",
          [[0.5, -0.5, 0.0]]),
    Point("norm_3_zero", lambda x: torch.linalg.vector_norm(x, 3.0), {"x": t(0.0, 0.0)}, "convention", [[0.0, 0.0]]),
    # the 1/2-"norm" (sum sqrt|x|)^2 at (0, 1, -4): a cusp at the 0 entry, 0 there (documented); elsewhere
    # 2 S * sgn(x) / (2 sqrt|x|) with S = 3: 3 and -3/2.
    Point("norm_half", lambda x: torch.linalg.vector_norm(x, 0.5), {"x": t(0.0, 1.0, -4.0)}, "convention",
          [[0.0, 3.0, -1.5]]),
    # cdist between two equal points: a norm at the zero vector, 0 to both.
    Point("cdist", lambda a, b: torch.cdist(a, b).sum(), {"a": torch.zeros(1, 2, dtype=F64),
                                                          "b": torch.zeros(1, 2, dtype=F64)}, "convention",
          [{"a": [[0.0, 0.0]], "b": [[0.0, 0.0]]}]),
    # sqrt of a sum of squares, by hand: sqrt's rule (inf) times the sum's derivative (2 x = 0): nan.
    Point("hand_norm", lambda x: torch.sqrt((x * x).sum()), {"x": t(0.0, 0.0)}, "convention", [[NAN, NAN]]),
    # -- control flow and masks ------------------------------------------------------------------------
    # the notes' f at a = 1000 / 1024: b reaches 1000 exactly, where `b.norm() < 1000` turns: autograd
    # differentiates the branch that ran, f = 1024 a.
    Point("notes_boundary", notes_f, {"a": torch.tensor(1000 / 1024, dtype=F64)}, "convention", [1024.0],
          rule="control flow"),
    # a Python branch at its boundary: the branch that ran (x > 0 is false at 0): 0.01.
    Point("branch_boundary", lambda x: x if x > 0 else 0.01 * x, {"x": torch.tensor(0.0, dtype=F64)},
          "convention", [0.01], rule="control flow"),
    # where(x > 0, x, 0.01 x): the mask is not differentiable, where is linear given it: 0.01, no kink.
    Point("where_mask", lambda x: torch.where(x > 0, x, 0.01 * x).sum(), {"x": t(0.0)}, "agree"),
    # -- custom Functions wrong only at the kink ----------------------------------------------------------
    Point("bad_relu", lambda x: BadRelu.apply(x).sum(), {"x": t(0.0, 1.5)}, "disagree", [[0.0, 1.0]], rule="relu"),
    Point("safe_sqrt", lambda x: SafeSqrt.apply(x).sum(), {"x": t(0.0, 4.0)}, "disagree", [[math.inf, 0.25]]),
    Point("half_swish", lambda x: HalfSwish.apply(x).sum(), {"x": t(-3.0)}, "disagree", [[0.0], [-0.5]]),
    Point("last_max", lambda x: LastMax.apply(x), {"x": t(1.0, 3.0, 3.0)}, "disagree", [[0.0, 0.5, 0.5]]),
    # right to the first order (1), wrong only in its second derivative at 0: 1.5, not 1 or 0.
    Point("bent_elu", lambda x: BentElu.apply(x).sum(), {"x": t(0.0)}, "disagree", [[1.0]], order=2,
          rule="second derivatives"),
    # -- second derivatives at kinks ---------------------------------------------------------------------
    # relu(x) * x: its rule gives relu' = 0, relu'' = 0 at 0, so 0 and 2 * 0 + 0 = 0.
    Point("relu_times_x", lambda x: (torch.relu(x) * x).sum(), {"x": t(0.0)}, "convention", [[0.0]], order=2,
          hessian=[[0.0]]),
    # hardswish's second derivatives at -3 (0 | 1/3) and 3 (1/3 | 0): torch gives 0 at both.
    Point("hardswish_hessian", lambda x: F.hardswish(x).sum(), {"x": t(-3.0, 3.0)}, "convention",
          [[0.0, 1.5], [0.0, 1.0], [-0.5, 1.5], [-0.5, 1.0]], order=2, hessian=[[0.0, 0.0], [0.0, 0.0]]),
    # selu's second derivatives at 0: scale alpha e^0 (left) | 0 (right), rule 4; torch's is 0.
    Point("selu_hessian", lambda x: F.selu(x).sum(), {"x": t(0.0)}, "convention", [[SCALE * ALPHA], [SCALE]],
          order=2, hessian=[[0.0]]),
    # prelu's Hessian over (x, w) at (0, 1/4): its pieces x and w x have Hessians 0 and [[0, 1], [1, 0]]:
    # rule 4, either; torch's is 0.
    Point("prelu_hessian", lambda x, w: F.prelu(x, w).sum(), {"x": t(0.0), "w": t(0.25)}, "convention",
          [{"x": [1.0], "w": [0.0]}, {"x": [0.25], "w": [0.0]}], order=2, hessian=[[0.0, 0.0], [0.0, 0.0]]),
    # sqrt at 0: its second derivative -> -inf; the off-diagonal entries pass inf times 0 (any value).
    Point("sqrt_hessian", lambda x: torch.sqrt(x).sum(), {"x": t(0.0, 4.0)}, "convention", [[math.inf, 0.25]],
          order=2),
]


def _arrays(allowed, names):
    out = []
    for a in allowed:
        a = a if isinstance(a, dict) else {names[0]: a}
        out.append({n: np.asarray(v, dtype=np.float64) for n, v in a.items()})
    return out


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[n].shape == b[n].shape and np.allclose(a[n], b[n], rtol=1e-12, atol=0, equal_nan=True) for n in a)


@pytest.mark.parametrize("point", POINTS, ids=[p.id for p in POINTS])
def test_each_point_gets_the_verdict_and_the_set_the_rules_give(point):
    result = compare.check(point.fn, point.inputs, samples=0, order=point.order)
    assert result.status != "error", result.error
    example = result.points[0]
    assert example.status == point.verdict, example.note
    if point.allowed is not None:
        want = _arrays(point.allowed, list(point.inputs))
        got = list(example.allowed)
        assert len(got) == len(want) and all(any(_same(g, w) for g in got) for w in want), (got, want)
    if point.rule:
        assert point.rule in (example.rule or example.note), (example.rule, example.note)
    if point.hessian is not None:
        assert example.hessian.errors.agree, example.hessian
        np.testing.assert_array_equal(example.hessian.exact, point.hessian)


def test_the_corpus_is_large_enough_and_the_readme_counts_it():
    assert len(POINTS) >= 60
    with open("README.md", encoding="utf-8") as f:
        assert f"`tests/test_kink_corpus.py` holds {len(POINTS)} points" in " ".join(f.read().split())
