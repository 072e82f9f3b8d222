"""Exploration within a budget, where the pieces multiply.

Eight entries each tested on their own have 2**8 paths, one per orthant, each of probability
2**-8 exactly; `F.grid_sample` has thousands (each grid point picks its cell). Exploration stops
at `limits.EXPLORATION_BUDGET`, reports what it did not explore as one region with its
probability (exact: every literal is about one entry, so each region is a box), and every
explored piece is still checked.
"""
import math

import numpy as np
import sympy
import torch
import torch.nn.functional as F

import compare
from compare.explore import explore
from compare.explore.feasible import Feasibility
from compare.limits import EXPLORATION_BUDGET, ExplorationBudget
from compare.records import Meta
from compare.render.report import render_case
from compare.exact.sym import input_symbols
from compare.symbolic import SymTensor

F64 = torch.float64


def orthant_sum(x):
    y = x.sum() * 0
    for i in range(x.shape[0]):
        y = y + (x[i] ** 2 if x[i] > 0 else -x[i])
    return y


def explored(fn, n: int, budget: ExplorationBudget, points=()):
    syms = input_symbols("x", (n,))
    return explore(fn, {"x": SymTensor(syms, F64)}, feasibility=Feasibility(list(syms.flat)), points=points,
                   budget=budget), syms


def test_exploration_stops_at_its_budget_of_paths_and_says_how_much_it_left():
    found, _ = explored(orthant_sum, 4, ExplorationBudget(pieces=6, seconds=1000))
    assert len(found.pieces) == 6
    left = [u for u in found.uncovered if u.stopped]
    assert all(u.reason == "exploration stopped at its budget of 6 paths" for u in left)
    assert all(u.how == "exact" and u.probability == 2.0 ** -4 * 2 ** (4 - len(u.decisions)) for u in left)
    assert math.fsum(u.probability for u in left) == 1 - 6 / 16  # the 6 orthants explored, the rest left


def test_every_path_is_explored_within_the_budget():
    found, _ = explored(orthant_sum, 4, ExplorationBudget(pieces=16, seconds=1000))
    assert len(found.pieces) == 16 and found.uncovered == ()


def test_a_cpu_budget_stops_exploration_too_and_says_the_result_depends_on_the_machine():
    point = {s: sympy.Rational(1, 2) for s in input_symbols("x", (4,)).flat}
    found, _ = explored(orthant_sum, 4, ExplorationBudget(pieces=100, seconds=-1), points=[point])
    ((left,),) = [found.uncovered]
    assert left.decisions == () and left.probability == 1.0 and "CPU seconds" in left.reason
    assert "depends on the machine's speed" in left.reason
    assert len(found.pieces) == 1 and found.point_pieces == (0,)  # the given point still has its piece


class _WrongWhereLastIsNegative(torch.autograd.Function):
    """orthant_sum's output, whose backward is wrong where x[-1] < 0 (the sign of the -x[-1] term)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return orthant_sum(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        g = torch.where(x > 0, 2 * x, -torch.ones_like(x))
        g[-1] = 2 * x[-1] if x[-1] > 0 else 1.0
        return grad * g


def test_past_the_budget_every_explored_piece_is_checked():
    """2**8 orthants: half are explored; the example's orthant (all positive) agrees, the wrong
    backward is caught on the explored pieces where x[-1] < 0, and half the mass is uncovered."""
    x = torch.tensor([0.5, 1.5, 2.0, 0.25, 1.0, 0.75, 3.0, 0.5], dtype=F64)
    assert EXPLORATION_BUDGET.pieces < 2**8
    right = compare.check(orthant_sum, (x,), order=1)
    assert right.status == "agree", right.error
    ((left,),) = [right.uncovered]
    assert left.paths > 1 and left.how == "exact"
    assert left.probability == 1 - EXPLORATION_BUDGET.pieces * 2.0**-8  # the orthants explored, each 2**-8
    wrong = compare.check(_WrongWhereLastIsNegative.apply, (x,), order=1)
    assert wrong.status == "disagree" and wrong.points[0].status == "agree"
    bad = [p for p in wrong.points if p.status == "disagree"]
    assert bad and all(p.inputs["x"][-1] < 0 for p in bad)


def test_grid_sample_explores_within_the_budget():
    """Each of 4 grid points picks one of 6 cells per coordinate: 6**8 paths."""
    g = torch.Generator().manual_seed(0)
    image = torch.randn(1, 1, 3, 3, dtype=F64, generator=g)
    grid = torch.rand(1, 2, 2, 2, dtype=F64, generator=g) * 2 - 1
    result = compare.check(lambda input, grid: F.grid_sample(input, grid, align_corners=False), (image, grid))
    assert result.status == "agree", result.error
    ((left,),) = [result.uncovered]
    assert left.reason == f"exploration stopped at its budget of {EXPLORATION_BUDGET.pieces} paths"
    assert left.how == "exact" and 0.99 < left.probability < 1
    assert len(result.pieces) >= EXPLORATION_BUDGET.pieces
    assert {p.piece for p in result.points} == set(range(len(result.pieces)))  # every piece checked
    page = render_case(result, Meta(python="3", torch="2", sympy="1", seed=0, samples=4))
    assert (f"- {left.paths} branches not taken (their conditions are in `results.json`): exploration stopped at "
            f"its budget of {EXPLORATION_BUDGET.pieces} paths; probability 1 - {1 - left.probability:.3g} (exact)"
            ) in page
    # The exact probability against a Monte Carlo estimate of the same union, drawn here.
    draws = np.random.default_rng(1).standard_normal((20000, 17))
    names = [str(s) for s in result.symbols["input"].flat] + [str(s) for s in result.symbols["grid"].flat]
    inside = sympy.lambdify(sympy.symbols(names, real=True), left.condition, modules="numpy")(*draws.T)
    assert abs(np.mean(inside) - left.probability) < 4 * math.sqrt(left.probability * (1 - left.probability) / 20000)
