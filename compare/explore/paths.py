"""Path exploration: a case's Python control flow as pieces (path condition, output).

The case function is re-run on SymTensors, each time forcing a prefix of
branch decisions (depth first, deterministic). At a branch it has not met
on this prefix, the explorer asks the feasibility which sides are feasible
under the path so far and forks only when both are. A finished run is one
piece. Loops are bounded per branch site: a side is cut when its
probability under the sampling distribution is below the budget, or when
the site's count passes the bound; a cut side is an uncovered region,
reported with its probability, never hidden.

Each point the caller checks is also run with its branches decided by its
exact value; a point whose path was not explored adds its piece.

The runs of one exploration share their pure torch calls' answers
(`symbolic.shared_runs`): a run down a sibling path replays the prefix it
has in common with earlier runs from their answers instead of computing it
again.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import sympy
import torch

from .domain import describe, outside_domain, raise_site
from .feasible import SAT, UNSAT, SolverAnswer, Feasibility
from ..limits import EXPLORATION_BUDGET, ExplorationBudget
from ..exact.sym import truth
from ..options import Options
from ..symbolic import BRANCH, SymTensor, exprs_of, shared_runs

__all__ = ["Decision", "Piece", "Uncovered", "Raises", "Exploration", "ByValue", "explore", "run_symbolic",
           "path_key", "is_branch"]


@dataclass(frozen=True)
class Decision:
    """One branch taken on a path."""

    site: tuple
    """(file, line) of the `if`/`while` in the case file; (file, line, op) for a selection made
    inside an op on that line (a sort's comparison, a boolean mask), a branch inside a TorchScript
    function called there, which autograd's own run makes below Python, not as a Python branch, or
    a branch in the Python code of a torch function called there (`F.gaussian_nll_loss`'s check)."""
    condition: sympy.Basic
    """The relation as the code wrote it (`2*Abs(a) < 1000`)."""
    taken: bool
    """Whether the relation held on this path."""

    @property
    def literal(self) -> sympy.Basic:
        """The condition as it holds on this path."""
        return self.condition if self.taken else sympy.Not(self.condition)


@dataclass(frozen=True)
class Piece:
    """A region of input space where the case runs one path, and its output there."""

    decisions: tuple[Decision, ...]
    """The branches, in the order the run met them."""
    output: np.ndarray
    """The case's output on this path, an object array of SymPy expressions."""
    witness: dict | None
    """A point well inside the region (symbol -> Rational), or None if none was found."""

    @property
    def condition(self) -> sympy.Basic:
        """The path condition: the conjunction of the decisions' literals."""
        return sympy.And(*(d.literal for d in self.decisions))


@dataclass(frozen=True)
class Uncovered:
    """A side of a branch that was not explored."""

    decisions: tuple[Decision, ...]
    """The path up to and including the unexplored side."""
    reason: str
    """Why it was cut: the loop bound, the probability budget, or an undecidable side."""
    probability: float
    """Its mass under the sampling distribution (an upper bound where not exact)."""
    how: str
    """How that probability was obtained."""
    stopped: bool = False
    """Left because exploration stopped at its budget (`limits.ExplorationBudget`), not cut by a rule."""

    @property
    def condition(self) -> sympy.Basic:
        return sympy.And(*(d.literal for d in self.decisions))


@dataclass(frozen=True)
class Raises:
    """A region where the case raises: outside the function's domain, not a piece (`domain.py`)."""

    decisions: tuple[Decision, ...]
    """The path up to the raise."""
    error: str
    """What it raises: `ValueError: var has negative entry/entries`."""
    site: tuple[str, int]
    """(file, line) of the case's code through which it raised."""
    probability: float
    """Its mass under the sampling distribution (an estimate where `how` says so)."""
    how: str
    """How that probability was obtained."""
    witness: dict | None
    """A point well inside, where torch's own run must raise too; None if none was found."""
    points: tuple[int, ...] = ()
    """The given points that lie here (never the first, the case's own example), left unchecked."""
    exception: BaseException | None = dataclasses.field(default=None, compare=False, repr=False)
    """What the symbolic run raised."""

    @property
    def condition(self) -> sympy.Basic:
        return sympy.And(*(d.literal for d in self.decisions))


@dataclass(frozen=True)
class Exploration:
    """All pieces found, what was left uncovered, and the piece of each given point."""

    pieces: tuple[Piece, ...]
    uncovered: tuple[Uncovered, ...]
    point_pieces: tuple[int | None, ...]
    """For each point passed to `explore`, the index of its piece; None for a point outside the
    function's domain (in one of `outside`)."""
    runs: int = 0
    """How many times the case function ran symbolically."""
    outside: tuple[Raises, ...] = ()
    """The regions where the case raises."""


def is_branch(decision: Decision) -> bool:
    """A Python branch (`if`, `while`, `bool()`), not a selection inside an op."""
    return len(decision.site) == 2


def path_key(decisions: Sequence) -> tuple:
    """What identifies a path: the sites and the sides, not the conditions' form."""
    return tuple((d.site, d.taken) if isinstance(d, Decision) else d for d in decisions)


class _Cut(Exception):
    """This run's path stops here; what was cut is in the decider's `cuts`."""


def run_symbolic(fn: Callable, inputs: Mapping[str, SymTensor], decide) -> np.ndarray:
    """Run `fn` on SymTensors with branches answered by `decide(condition, site)`.

    Code compiled inside (a library's function under `torch.compile`, as torchvision wraps its
    Python `roi_align`) runs eagerly here: dynamo would trace SymPy's own code on symbolic tensors.
    Autograd's runs call it compiled, as the case's own code does.
    """
    token = BRANCH.set(decide)
    try:  # fresh entries every run: an in-place write must not outlive its run
        with torch.compiler.set_stance("force_eager"):
            out = fn(**{name: SymTensor(t.exprs.copy(), t.dtype) for name, t in inputs.items()})
    finally:
        BRANCH.reset(token)
    return exprs_of(out)


class ByValue:
    """Decides each branch by the exact value of one point."""

    def __init__(self, point: dict):
        self.point = point
        self.decisions: list[Decision] = []

    def __call__(self, condition, site) -> bool:
        taken = truth(condition, self.point)
        self.decisions.append(Decision(site, condition, taken))
        return taken


def _side(condition, taken: bool):
    return condition if taken else sympy.Not(condition)


class _Forced:
    """Follows a forced prefix of sides, then forks where both sides are feasible.

    At a loop (a site met before on this path) the region still reaching the
    branch is cut when its probability is below half the remaining budget,
    or when the site's count passes the bound; a cut region is reported.
    """

    def __init__(self, prefix: tuple[bool, ...], feasibility: Feasibility, *, loop_bound: int, budget: list,
                 epsilon: float, witness: dict | None = None):
        self.prefix = prefix
        self.witness = witness  # a point on the path so far, when one is known
        self.feasibility = feasibility
        self.loop_bound = loop_bound
        self.budget = budget  # [remaining probability budget], shared by all runs
        self.epsilon = epsilon
        self.decisions: list[Decision] = []
        self.counts: dict = {}
        self.forks: list[tuple[tuple[Decision, ...], dict | None]] = []
        """(the path to it, a point on it) for each side left for a later run."""
        self.cuts: list[Uncovered] = []

    def __call__(self, condition, site) -> bool:
        self.counts[site] = self.counts.get(site, 0) + 1
        if len(self.decisions) < len(self.prefix):
            return self._take(condition, site, self.prefix[len(self.decisions)])
        path = [d.literal for d in self.decisions]
        if self.counts[site] > 1 and len(site) == 2:  # a loop; an op's selections are finite
            self._bound_loop(site, path)
        # The side the known point takes is feasible: only the other side needs the solver.
        sides = {truth(condition, self.witness): SolverAnswer(SAT, self.witness)} if self.witness else {}
        for taken in (True, False):
            if taken not in sides:
                sides[taken] = self.feasibility.check(path + [_side(condition, taken)])
        feasible = [taken for taken in (True, False) if sides[taken].status == SAT]
        for taken in (True, False):
            if sides[taken].status not in (SAT, UNSAT):
                p, how = self.feasibility.probability(path + [_side(condition, taken)])
                self.cuts.append(Uncovered(tuple(self.decisions) + (Decision(site, condition, taken),),
                                           "unverified: no proof either way and no witness found", p, how))
        if not feasible:
            raise _Cut()
        if len(feasible) == 2:
            self.forks.append((tuple(self.decisions) + (Decision(site, condition, False),), sides[False].witness))
        self.witness = sides[feasible[0]].witness
        return self._take(condition, site, feasible[0])

    def _bound_loop(self, site, path) -> None:
        where = f"line {site[1]} of {os.path.basename(site[0])}"
        if self.counts[site] > self.loop_bound:
            p, how = self.feasibility.probability(path)
            reason = f"loop bound {self.loop_bound} reached at {where}"
        else:
            proven = self.feasibility.below(path, self.budget[0] / 2)
            if proven is None:
                return
            p, how = proven
            self.budget[0] -= p
            reason = f"probability below {self.epsilon:g} at {where}"
        self.cuts.append(Uncovered(tuple(self.decisions), reason, p, how))
        raise _Cut()

    def _take(self, condition, site, taken: bool) -> bool:
        self.decisions.append(Decision(site, condition, taken))
        return taken


def explore(fn: Callable, inputs: Mapping[str, SymTensor], *, feasibility: Feasibility,
            points: Sequence[dict] = (), loop_bound: int = Options.loop_bound, epsilon: float = Options.epsilon,
            interior: Callable[[dict], dict | None] = lambda p: p,
            budget: ExplorationBudget = EXPLORATION_BUDGET) -> Exploration:
    """Every feasible path of `fn` (within the bounds and the budget), and the piece of each point.

    `interior(point)` rounds a witness to the case's dtype and returns it if
    it still takes the same path (else None). A path that raises is a region
    outside the function's domain (`domain.py`); a raise at the first point
    (the case's own example) is the case's error.
    """
    with shared_runs():  # each run replays a prefix of an earlier one: its torch calls are answered from it
        return _explore(fn, inputs, feasibility, points, loop_bound, epsilon, interior, budget)


def _explore(fn, inputs, feasibility: Feasibility, points, loop_bound: int, epsilon: float, interior,
             budget: ExplorationBudget = EXPLORATION_BUDGET) -> Exploration:
    """`explore`, each run computing every torch call anew."""
    return _Explorer(fn, inputs, feasibility, interior, loop_bound, epsilon, budget).run(points)


class _Explorer:
    """One exploration: the paths depth first, within the budget, then the given points."""

    def __init__(self, fn, inputs, feasibility: Feasibility, interior, loop_bound: int, epsilon: float,
                 budget: ExplorationBudget):
        self.fn, self.inputs, self.feasibility, self.interior = fn, inputs, feasibility, interior
        self.loop_bound, self.epsilon, self.budget = loop_bound, epsilon, budget
        self.pieces: list[Piece] = []
        self.keys: dict = {}
        self.uncovered: list[Uncovered] = []
        self.raised: dict = {}  # path key -> Raises
        self.runs = 0

    def run(self, points: Sequence[dict]) -> Exploration:
        self._paths()
        if len(self.pieces) == 1 and not self.pieces[0].decisions and not self.uncovered:
            # The code met no branch: every point takes the one path, no need to run it again.
            return Exploration(tuple(self.pieces), (), (0,) * len(points), self.runs)
        point_pieces = tuple(self._place(i, point) for i, point in enumerate(points))
        if not self.pieces and self.raised:  # it raises on every path explored: no function to check
            raise next(iter(self.raised.values())).exception
        return Exploration(tuple(self.pieces), tuple(self.uncovered), point_pieces, self.runs,
                           tuple(self.raised.values()))

    def _paths(self) -> None:
        loop_budget = [self.epsilon]
        stack: list[tuple[tuple[Decision, ...], dict | None]] = [((), None)]
        start = time.process_time()
        while stack:
            spent = self._spent(start)
            if spent:
                self.uncovered += [self._unexplored(path, spent) for path, _ in reversed(stack)]
                return
            path, witness = stack.pop()
            decider = _Forced(tuple(d.taken for d in path), self.feasibility, loop_bound=self.loop_bound,
                              budget=loop_budget, epsilon=self.epsilon, witness=witness)
            output = self._run(decider)
            self.uncovered.extend(decider.cuts)
            stack.extend(reversed(decider.forks))
            key = path_key(decider.decisions)
            if output is not None and key not in self.keys:
                decisions = tuple(decider.decisions)
                inside = _interior_point(decisions, self.feasibility, self.interior) if decisions else None
                self.keys[key] = len(self.pieces)
                self.pieces.append(Piece(decisions, output, inside))

    def _spent(self, start: float) -> str:
        """Why exploration stops here, or "" while the budget lasts."""
        if len(self.pieces) + len(self.raised) >= self.budget.pieces:
            return f"exploration stopped at its budget of {self.budget.pieces} paths"
        if time.process_time() - start > self.budget.seconds:
            return (f"exploration stopped at its budget of {self.budget.seconds:g} CPU seconds (what it reached "
                    "depends on the machine's speed)")
        return ""

    def _unexplored(self, path: tuple[Decision, ...], reason: str) -> Uncovered:
        p, how = self.feasibility.probability([d.literal for d in path])
        return Uncovered(path, reason, p, how, stopped=True)

    def _run(self, decider: _Forced) -> np.ndarray | None:
        """The output on the decider's path; None where the path is cut or raises."""
        self.runs += 1
        try:
            return run_symbolic(self.fn, self.inputs, decider)
        except _Cut:
            return None
        except Exception as exc:
            if not decider.decisions or not outside_domain(exc):
                raise
            self._raises(tuple(decider.decisions), exc)
            return None

    def _place(self, i: int, point: dict) -> int | None:
        """The piece of a given point (a path the bounds cut off becomes one), None outside the domain."""
        by_value = ByValue(point)
        self.runs += 1
        try:
            output = run_symbolic(self.fn, self.inputs, by_value)
        except Exception as exc:
            if i == 0 or not by_value.decisions or not outside_domain(exc):
                raise
            self._raises(tuple(by_value.decisions), exc, (i, point))
            return None
        key = path_key(by_value.decisions)
        if key not in self.keys:  # a path the bounds cut off: the point explores it
            self.keys[key] = len(self.pieces)
            self.pieces.append(Piece(tuple(by_value.decisions), output, dict(point)))
        return self.keys[key]

    def _raises(self, decisions: tuple[Decision, ...], exc: BaseException, given: tuple | None = None) -> None:
        """Note a region outside the domain (or a given point `(index, point)` lying in one)."""
        key = path_key(decisions)
        found = self.raised.get(key)
        if found is None:
            p, how = self.feasibility.probability([d.literal for d in decisions])
            witness = given[1] if given else _interior_point(decisions, self.feasibility, self.interior)
            found = Raises(decisions, describe(exc), raise_site(exc), p, how, witness, exception=exc)
        if given is not None:
            found = dataclasses.replace(found, points=found.points + (given[0],))
        self.raised[key] = found


def _interior_point(decisions, feasibility: Feasibility, interior) -> dict | None:
    literals = [d.literal for d in decisions]

    def accept(candidate: dict) -> dict | None:
        point = interior(candidate)
        if point is None:
            return None
        return point if feasibility.holds(literals, point) else None

    return feasibility.interior(literals, accept=accept)
