"""Feasibility of path conditions, witness points, and the probability of a region.

Path conditions are SymPy relations over real input symbols. They are
decided by z3 where they translate (polynomials, division, `Abs`, `Max`,
`Min`, `sign`, `Heaviside`, `Piecewise`, square roots): for these,
nonlinear real arithmetic is decidable and z3's answer is exact. A
condition with a transcendental function (exp, sin, ...) does not
translate; then a seeded sample search looks for a witness, and a side
with neither a proof nor a witness is `unknown`, never silently kept or
dropped. With one input variable and piecewise rational conditions, the
exact region (`intervals.py`) decides instead of z3, solved once per
prefix of a path; so does a box (`boxes.py`), a conjunction whose every
literal is about one input entry. z3 is asked only about the rest.

The probability of a region is its mass under the case's sampling
distribution (independent standard normals): exact for one variable (the
region is a union of intervals) and for a box (a product of such masses),
a seeded Monte Carlo estimate otherwise.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
import sympy

from . import intervals
from .boxes import Boxes
from .translate import Translator, Untranslatable, load_solver, model_point, z3
from ..exact.sym import exact, release, truth

__all__ = ["Feasibility", "SolverAnswer", "SAT", "UNSAT", "UNKNOWN", "load_solver"]

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"


@dataclass(frozen=True)
class SolverAnswer:
    """The answer to "can the path take this side?"."""

    status: str
    """"sat" (a witness exists), "unsat" (proven impossible) or "unknown"."""
    witness: dict | None = None
    """A point satisfying the condition (symbol -> Rational), when one was found."""


class Feasibility:
    """Decides conditions over `symbols` and finds points, for one exploration.

    Translations and univariate solution sets are cached by condition: the
    explorer re-runs a case many times and meets the same conditions again.
    """

    def __init__(self, symbols: Sequence[sympy.Symbol], *, seed: int = 0, timeout_ms: int = 5000,
                 samples: int = 4096):
        self.symbols = list(symbols)
        self.translator = Translator(self.symbols)
        self.boxes = Boxes(self.symbols)
        self.timeout_ms = timeout_ms
        self._seed, self._samples = seed, samples
        self._draws: tuple | None = None
        self._intervals: dict = {}
        self._fallback: set = set()  # conditions solved by SymPy's solver, not by `intervals.solve`
        self._regions: dict = {}  # conjunction (a tuple) -> (region or None, all by `intervals.solve`)
        self._implications: dict = {}
        self._lambdas: dict = {}
        self._prints: dict = {}

    def _drawn(self) -> tuple[np.ndarray, np.ndarray]:
        """(search candidates, Monte Carlo sample), drawn on first use.

        Drawn lazily: for 10000 inputs they are 200 million numbers (1.6 GB),
        and a case without branches never needs them.
        """
        if self._draws is None:
            rng = np.random.default_rng(self._seed)
            # Sample search: standard normals at several scales, for the sides z3 cannot see.
            base = rng.standard_normal((self._samples, len(self.symbols)))
            scales = np.repeat(10.0 ** np.arange(-6, 7, 2), self._samples // 7 + 1)[:self._samples]
            self._draws = (base * scales[:, None], rng.standard_normal((20000, len(self.symbols))))
        return self._draws

    @property
    def candidates(self) -> np.ndarray:
        return self._drawn()[0]

    @property
    def mc(self) -> np.ndarray:
        return self._drawn()[1]

    # -- feasibility and witnesses ----------------------------------------------------------
    def check(self, conditions: Iterable[sympy.Basic]) -> SolverAnswer:
        """Is the conjunction of `conditions` satisfiable? With a witness when it is."""
        conditions = [c for c in conditions if c is not sympy.true]
        if any(c is sympy.false for c in conditions):
            return SolverAnswer(UNSAT)
        if len(self.symbols) == 1:
            # One variable, every condition piecewise rational: its exact region decides, as z3
            # would, and costs one intersection per new literal where z3 re-reads the whole path.
            region, own = self._region(tuple(conditions))
            if region is not None and own:
                return SolverAnswer(SAT, intervals.inside(region[0], self.symbols[0])) if region \
                    else SolverAnswer(UNSAT)
        box = self._box(conditions)
        if box is not None:  # every literal about one entry: decided exactly, entry by entry
            return SolverAnswer(UNSAT) if Boxes.empty(box) else SolverAnswer(SAT, self.boxes.corner(box))
        return self._solve(conditions)

    def _box(self, conditions: Sequence[sympy.Basic]) -> dict | None:
        """The conjunction's box (`boxes.py`) over several input entries, or None (one entry: `region`)."""
        return self.boxes.box(conditions) if len(self.symbols) > 1 else None

    def _solve(self, conditions: list) -> SolverAnswer:
        """`check` by z3, then (for what z3 cannot read) intervals or a sample search."""
        solver = z3.Solver(ctx=self.translator.ctx)
        solver.set("timeout", self.timeout_ms)
        opaque = []
        for c in conditions:
            try:
                expr, sides = self.translator(c)
            except Untranslatable:
                opaque.append(c)
                continue
            solver.add(expr, *sides)
        answer = solver.check()
        if answer == z3.unsat:
            return SolverAnswer(UNSAT)
        if answer == z3.sat and not opaque:
            # z3 decides translated conditions exactly: a rational model needs no re-check.
            point, is_exact = model_point(solver.model(), self.translator)
            if is_exact or all(truth(c, point) for c in conditions):
                return SolverAnswer(SAT, point)
        region = self.region(conditions) if opaque else None
        if region is not None:  # one variable, solved exactly by intervals
            return SolverAnswer(SAT, intervals.inside(region[0], self.symbols[0])) if region else SolverAnswer(UNSAT)
        found = self.search(conditions)
        return SolverAnswer(SAT, found) if found is not None else SolverAnswer(UNKNOWN)

    def holds(self, conditions: Sequence[sympy.Basic], point: dict) -> bool:
        """Does every condition hold at `point`, exactly?

        One variable, every condition piecewise rational: the point lies in the
        conjunction's exact region (solved once per prefix) exactly where each
        condition holds, so membership answers without evaluating the path.
        """
        if len(self.symbols) == 1 and self.symbols[0] in point:
            region, own = self._region(tuple(c for c in conditions if c is not sympy.true))
            if region is not None and own:
                return intervals.contains(region, point[self.symbols[0]])
        box = self._box(conditions)
        if box is not None and all(s in point for s in box):
            return Boxes.contains(box, point)
        return all(truth(c, point) for c in conditions)

    def search(self, conditions: Sequence[sympy.Basic]) -> dict | None:
        """A sampled point where every condition holds, confirmed exactly; or None."""
        if not conditions:
            return {s: sympy.Integer(0) for s in self.symbols}
        mask = self._holds(conditions, self.candidates)
        for row in self.candidates[np.flatnonzero(mask)[:8]]:
            point = {s: exact(float(v)) for s, v in zip(self.symbols, row)}
            if all(truth(c, point) for c in conditions):
                return point
        return None

    def interior(self, conditions: Sequence[sympy.Basic], *, accept) -> dict | None:
        """A point strictly inside the region, well away from its boundaries.

        One variable: the centre of one of the region's intervals (exact).
        A box (every literal about one entry): the centre of each side,
        moved off the axes (`_spread`). Several: z3 on the conditions with every bound made strict and moved
        inwards, by a margin relative to the bound (absolute where the bound is
        0), shrinking the margin until a point is found, then moved off the
        axes (`_spread`). `accept(point) -> point | None` rounds a candidate to
        the case's dtype and confirms it takes the same path; the first
        accepted point is kept.
        """
        region = self.region(conditions)
        if region is not None:
            for interval in region:
                if interval.lo != interval.hi:
                    point = accept(intervals.inside(interval, self.symbols[0]))
                    if point is not None:
                        return point
        box = self._box(conditions)
        if box is not None:
            return None if Boxes.empty(box) else next(
                (p for p in map(accept, self._spread(self.boxes.corner(box), conditions)) if p is not None), None)
        for margin in (sympy.Rational(1, 100), sympy.Rational(1, 10**4), sympy.Rational(1, 10**8), None):
            tight = [c for c in (_tighten(c, margin) for c in conditions) if c is not sympy.true]
            # z3's own model, spread: a region's centre was tried above
            found = SolverAnswer(UNSAT) if any(c is sympy.false for c in tight) else self._solve(tight)
            if found.status == SAT and found.witness is not None:
                for candidate in self._spread(found.witness, tight):
                    point = accept(candidate)
                    if point is not None:
                        return point
        return None

    def _spread(self, witness: dict, conditions: Sequence[sympy.Basic]) -> Iterator[dict]:
        """The witness moved into general position where it still meets `conditions`; then itself.

        z3's models are simple points: zeros and equal entries, such as
        a = [0, 505.5, 0]. There a backward that is wrong only off the axes
        (one that drops a cross term) still passes, and a claim like
        `out / a` divides 0 by 0. A seeded move of every entry, by up to a
        quarter (then 1/16, ..., 1/1024) of the witness's largest entry, is kept
        when it still satisfies the (tightened) conditions in float64; the
        caller's `accept` then checks the original ones exactly.
        """
        values = [sympy.Rational(witness.get(s, 0)) for s in self.symbols]  # z3 models are rational
        if all(v != 0 for v in values) and len(set(values)) == len(values):
            yield witness
            return
        rng = np.random.default_rng([self._seed, zlib.crc32(self._printed(conditions).encode())])
        size = max(abs(v) for v in values) or sympy.Integer(1)
        for fraction in (sympy.Rational(1, 4 ** k) for k in range(1, 6)):
            move = [sympy.Rational(int(k), 1000) for k in rng.integers(-1000, 1001, len(values))]
            candidate = {s: v + fraction * size * m for s, v, m in zip(self.symbols, values, move)}
            if self._holds(conditions, np.array([[float(candidate[s]) for s in self.symbols]]))[0]:
                yield candidate
        yield witness

    def _printed(self, conditions: Sequence[sympy.Basic]) -> str:
        """`str(list(conditions))`, each condition printed once per exploration: a path's conditions
        are its parent's and one more, so printing them all anew costs the square of the depth."""
        for c in conditions:
            if c not in self._prints:
                self._prints[c] = repr(c)
        return "[" + ", ".join(self._prints[c] for c in conditions) + "]"

    # -- probability --------------------------------------------------------------------------
    def probability(self, conditions: Sequence[sympy.Basic]) -> tuple[float, str]:
        """(mass of the region under independent standard normals, how it was obtained)."""
        conditions = [c for c in conditions if c is not sympy.true]
        region = self.region(conditions)
        if region is not None:
            return intervals.mass(region), "exact"
        box = self.boxes.box(conditions, compound=True) if len(self.symbols) > 1 else None
        if box is not None:
            return Boxes.mass(box), "exact"
        less = self.boxes.mass_less(conditions) if len(self.symbols) > 1 else None
        if less is not None:
            return less, "exact"
        n = len(self.mc)
        hits = int(self._holds(conditions, self.mc).sum()) if conditions else n
        if hits == 0:
            return 3.0 / n, f"below {3.0 / n:.0e} (Monte Carlo, none of {n} samples; 95% bound)"
        return hits / n, f"Monte Carlo estimate from {n} samples"

    def below(self, conditions: Sequence[sympy.Basic], limit: float) -> tuple[float, str] | None:
        """A proof that the region's probability is below `limit`: (bound, how), or None.

        One variable, or a box (`boxes.py`): the exact mass. Several: z3 proves the region lies in a
        box |x_i| < w about the origin, whose mass is prod erf(w/sqrt 2), or
        outside the box |x_i| < W, whose complement has mass at most
        n erfc(W/sqrt 2). Regions of other shapes are not bounded here.
        """
        conditions = [c for c in conditions if c is not sympy.true]
        region, box = self.region(conditions), self._box(conditions)
        if region is not None or box is not None:
            p = intervals.mass(region) if region is not None else Boxes.mass(box)
            return (p, "exact") if p < limit else None
        n = len(self.symbols)
        # erf(x) <= 2x/sqrt(pi), so this w makes the box's mass at most `limit`.
        w = exact(limit ** (1.0 / n) * math.sqrt(math.pi / 2))
        inside = sympy.Or(*(sympy.Ge(sympy.Abs(s), w, evaluate=False) for s in self.symbols))
        if self.check(conditions + [inside]).status == UNSAT:
            p = math.erf(float(w) / math.sqrt(2)) ** n
            return p, f"upper bound: z3 proves every input entry lies in (-{float(w):.3g}, {float(w):.3g})"
        big = _far_bound(limit, n)
        outside = sympy.And(*(sympy.Lt(sympy.Abs(s), big, evaluate=False) for s in self.symbols))
        if self.check(conditions + [outside]).status == UNSAT:
            p = n * math.erfc(float(big) / math.sqrt(2))
            return p, f"upper bound: z3 proves some input entry lies outside (-{float(big):.3g}, {float(big):.3g})"
        return None

    def region(self, conditions: Sequence[sympy.Basic]):
        """The exact region of a conjunction over the one input variable; None if not one or unsolved."""
        if len(self.symbols) != 1:
            return None
        return self._region(tuple(conditions))[0]

    def _region(self, conditions: tuple) -> tuple:
        """(region or None, whether every condition was solved by `intervals.solve`), by prefix.

        A path's conjunctions grow one literal at a time, and every piece
        below a loop shares the loop's earlier tests: each prefix is solved
        once, as the previous prefix's region intersected with one more set
        (the same intersections, in the same order, as solving it anew).
        """
        known = len(conditions)
        while known and conditions[:known] not in self._regions:
            known -= 1
        region, own = self._regions[conditions[:known]] if known else (_LINE, True)
        for i in range(known, len(conditions)):
            if region is not None:
                solved = self._solution_set(conditions[i])
                own = own and conditions[i] not in self._fallback
                region = None if solved is None else intervals.intersect(region, solved)
            self._regions[conditions[:i + 1]] = (region, own)
        return region, own

    def _solution_set(self, condition):
        if condition not in self._intervals:
            s = self.symbols[0]
            solved = intervals.solve(condition, s)
            if solved is None:
                self._fallback.add(condition)
                try:
                    c = release(condition)
                    found = (sympy.solvers.inequalities.solve_univariate_inequality(c, s, relational=False)
                             if isinstance(c, sympy.Rel) else c.as_set())
                    solved = intervals.from_set(found)
                except (NotImplementedError, ValueError, TypeError):
                    solved = None
            self._intervals[condition] = solved
        return self._intervals[condition]

    def readable(self, conditions: Sequence[sympy.Basic]) -> sympy.Basic:
        """An equivalent, shorter form of a conjunction, for reading and for `results.json`.

        One variable: the exact region as relations (`(250 <= a) & (a < 500)`).
        Several: the conjunction, less each literal that one of the next few
        literals of the same form implies (a loop's earlier tests).
        """
        conditions = [c for c in conditions if c is not sympy.true]
        if not conditions:
            return sympy.true
        region = self.region(conditions)
        if region is not None:
            return intervals.as_relational(region, self.symbols[0])
        box = self._box(conditions)
        if box is not None:
            return self.boxes.readable(box)
        kept: list = []
        for i, c in enumerate(conditions):
            later = conditions[i + 1:i + 4]
            if any(type(d) is type(c) and self.implies(d, c) for d in later):
                continue
            kept.append(c)
        return sympy.And(*kept)

    def implies(self, d: sympy.Basic, c: sympy.Basic) -> bool:
        """Does `d` imply `c`? Proven by z3; cached, since pieces share their paths' prefixes."""
        key = (d, c)
        if key not in self._implications:
            self._implications[key] = self.check([d, sympy.Not(c)]).status == UNSAT
        return self._implications[key]

    def _holds(self, conditions, points: np.ndarray) -> np.ndarray:
        """Float64 screening of the conjunction at many points (exactness comes after)."""
        mask = np.ones(len(points), dtype=bool)
        for c in conditions:  # compiled one by one: the explorer meets each condition in many conjunctions
            f = self._lambdas.get(c)
            if f is None:
                f = self._lambdas[c] = sympy.lambdify(self.symbols, release(c), modules="numpy")
            with np.errstate(all="ignore"):
                mask &= np.broadcast_to(np.asarray(f(*points.T), dtype=bool), mask.shape)
        return mask


_LINE = (intervals.Interval(-sympy.oo, sympy.oo, False, False),)


def _far_bound(limit: float, n: int) -> sympy.Rational:
    """The smallest power of two W with n * P(|Z| >= W) below `limit`."""
    w = 1.0
    while n * math.erfc(w / math.sqrt(2)) >= limit:
        w *= 2
    return exact(w)


def _tighten(condition, margin):
    """`g < c` as `g < c - margin*|c|` (alike for >, <=, >=), and `g <= 0` as `g < -margin`.

    A closed bound becomes strict, since the interior of `g <= c` is `g < c`;
    a margin of None only makes bounds strict.
    """
    kinds = (sympy.StrictLessThan, sympy.LessThan, sympy.StrictGreaterThan, sympy.GreaterThan)
    if not isinstance(condition, kinds):
        return condition
    g = condition.lhs - condition.rhs
    c, _ = g.as_coeff_Add()
    shift = sympy.Integer(0) if margin is None else margin * (abs(c) if c != 0 else 1)
    if isinstance(condition, (sympy.StrictLessThan, sympy.LessThan)):
        return sympy.StrictLessThan(g, -shift, evaluate=False)
    return sympy.StrictGreaterThan(g, shift, evaluate=False)

