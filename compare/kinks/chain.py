"""The chain rule through the sites at one point: every value PyTorch's rules allow for a derivative.

A piece recorded with heads (`compare.symbolic.heads`) is differentiated
once, as SymPy differentiates any function: a head's derivative is a head
with one more order. At a point each head is worth what its site says: its
local function's value, and for its partials the derivative where the op is
smooth there, else one of the alternatives its `LocalRule` allows. Each
combination of the kinked sites' alternatives gives one value of the
gradient (or Hessian, or forward mode's J u); `Allowed` holds them all, up
to `CAP` combinations, and says when there were more.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import sympy
import torch

from ..exact.evaluate import evaluate
from ..exact.sym import as_expr
from ..symbolic.heads import Head
from ..tolerances import Tolerance
from ..agreement import agreeing, measure_all
from .numbers import ANYTHING, derivative_at, value_at
from .local import analyse
from .record import LocalRule
from .several import CAP

__all__ = ["Allowed", "Chain", "measure_nearest"]


@dataclass(frozen=True)
class Allowed:
    """The values PyTorch's rules allow for one quantity at one point (a gradient, a Hessian, J u)."""

    values: tuple
    """One dict (name -> float64 array) per combination of the kinked sites' choices, distinct."""
    free: dict
    """name -> bool array: the entries any value of which the rules allow (rule 5 somewhere upstream)."""
    combinations: int
    """How many combinations there are; more than were tried when above `CAP`."""

    @property
    def capped(self) -> bool:
        return self.combinations > CAP

    def mapped(self, f) -> Allowed:
        """The same set with each value mapped by `f` (name -> array to name -> array), as a projection
        onto structured inputs' directions maps gradients; free entries stay free."""
        return Allowed(values=tuple(f(v) for v in self.values), free=self.free, combinations=self.combinations)

    def match(self, got: dict, dtype: torch.dtype, tolerance: Tolerance | None = None) -> int | None:
        """The index of an allowed value `got` agrees with (under the dtype's tolerance), or None."""
        for k, want in enumerate(self.values):
            if all(np.all(agreeing(got[n], want[n], dtype, tolerance=tolerance) | self.free[n]) for n in want):
                return k
        return None

    def nearest(self, got: dict, dtype: torch.dtype) -> dict:
        """The allowed value `got` agrees with, else the one closest to it (the free entries set to got's)."""
        k = self.match(got, dtype)
        if k is None:
            k = min(range(len(self.values)), key=lambda j: _distance(got, self.values[j]))
        return {n: np.where(self.free[n], np.asarray(got[n], dtype=np.float64), w) for n, w in self.values[k].items()}


def _distance(got: dict, want: dict) -> float:
    total = 0.0
    for n, w in want.items():
        with np.errstate(invalid="ignore"):  # inf - inf: as far as anything
            d = np.abs(np.asarray(got[n], dtype=np.float64) - w)
        total += float(np.nansum(np.where(np.isfinite(d), d, 1e300)))
    return total


@dataclass
class Chain:
    """One recorded piece at one point: its sites' values and rules, and the chain rule through them."""

    sites: dict
    """site id -> `heads.Site`."""
    point: dict
    """The point: input symbol -> exact value."""
    arguments: dict = field(default_factory=dict)
    """site id -> its variables' values at the point."""
    rules: dict = field(default_factory=dict)
    """site id -> its `LocalRule`, for the sites that are not smooth here."""
    forward: bool = False
    """The rules as forward mode's formulas give them, where an op's differ from its backward's."""

    def locate(self, outputs) -> None:
        """Find each site's arguments and rule at the point (heads inside heads first)."""
        for e in outputs:
            self._walk(as_expr(e), {}, {})

    def kinked(self, second: bool) -> dict:
        """site id -> rule, for the sites whose first (or, with `second`, second) partials need a rule."""
        return {k: r for k, r in self.rules.items() if r.kink_first or (second and r.kink_second)}

    def value(self, expr, choice: dict) -> sympy.Basic:
        """`expr` (heads and all) at the point, with each kinked site's partials as `choice` picks:
        site id -> (index of its first-order alternative, index of its second-order one)."""
        return self._walk(as_expr(expr), choice, {})

    def _walk(self, e, choice: dict, memo: dict):
        found = memo.get(e)
        if found is not None:
            return found
        if isinstance(e, Head):
            args = tuple(self._walk(a, choice, memo) for a in e.arguments)
            out = self._head(e, args, choice)
        elif not e.args:  # the point's values go in from the leaves up: 0 * inf is nan, as in autograd
            out = self.point.get(e, e)
        else:
            out = e.func(*(self._walk(a, choice, memo) for a in e.args))
        memo[e] = out
        return out

    def _head(self, head: Head, args: tuple, choice: dict):
        site = self.sites[head.site]
        if head.site not in self.arguments:
            self.arguments[head.site] = args
            rule = analyse(site, args, self.point, self.forward)
            if rule is not None:
                self.rules[head.site] = rule
        rule: LocalRule | None = self.rules.get(head.site)
        orders, entry = head.orders, head.entry
        local = dict(zip(site.symbols, args))
        if rule is not None and len(orders) == 1 and rule.first:
            return rule.first[choice.get(head.site, (0, 0))[0] % len(rule.first)][entry][orders[0]]
        if rule is not None and len(orders) == 2 and rule.kink_second and rule.second:
            i, k = orders
            return rule.second[choice.get(head.site, (0, 0))[1] % len(rule.second)][entry][i][k]
        f = site.outputs[entry]
        for k in orders[:-1]:
            f = sympy.diff(f, site.symbols[k])
        if not orders:
            return value_at(f, local)
        d = derivative_at(f, site.symbols[orders[-1]], local)
        return d if d is not sympy.nan and d is not sympy.zoo else ANYTHING

    def options(self, second: bool) -> list:
        """For each kinked site, its choices: (site id, (first-order alternative, second-order one))."""
        options = []
        for k, rule in sorted(self.kinked(second).items()):
            seconds = range(len(rule.second)) if second and rule.kink_second and rule.second else [0]
            options.append([(k, (i, j)) for i in range(max(1, len(rule.first))) for j in seconds])
        return options

    def allowed(self, quantity: dict, second: bool, near: dict | None = None) -> Allowed:
        """Every value of `quantity` (name -> object array of expressions with heads) the rules allow:
        one per combination of the kinked sites' alternatives (and, with `second`, of their second-order
        ones). Past `CAP` combinations, the first `CAP` and, given `near` (the value a check holds to the
        rules), the combination closest to it, found site by site (`_closest`)."""
        options = self.options(second)
        total = int(np.prod([len(o) for o in options])) if options else 1
        values, free = [], None
        combos = list(itertools.islice(itertools.product(*options), CAP))
        if total > CAP and near is not None:
            combos.append(tuple(self._closest(quantity, options, near).items()))
        for combo in combos:
            got, free_here = self._evaluated(quantity, dict(combo))
            free = free_here if free is None else {n: free[n] | free_here[n] for n in free}
            if not any(_same(got, v) for v in values):
                values.append(got)
        return Allowed(values=tuple(values), free=free, combinations=total)

    def _closest(self, quantity: dict, options: list, near: dict) -> dict:
        """The combination whose value is closest to `near`, searched one site at a time (a few sweeps):
        sites on separate entries (an elementwise op's) do not interact, so a sweep finds it in
        linear time where the combinations number 2 ** sites."""
        choice = {opts[0][0]: opts[0][1] for opts in options}
        best = _distance(near, self._evaluated(quantity, choice)[0])
        for _ in range(3):
            improved = False
            for opts in options:
                for k, pick in opts:
                    trial = {**choice, k: pick}
                    d = _distance(near, self._evaluated(quantity, trial)[0])
                    if d < best:
                        choice, best, improved = trial, d, True
            if not improved or best == 0:
                break
        return choice

    def _evaluated(self, quantity: dict, choice: dict) -> tuple[dict, dict]:
        got, free = {}, {}
        for name, exprs in quantity.items():
            exact = np.empty(exprs.shape, dtype=object)
            mask = np.zeros(exprs.shape, dtype=bool)
            for idx in np.ndindex(*exprs.shape):
                v = self.value(exprs[idx], choice)
                mask[idx] = bool(getattr(v, "has", lambda *_: False)(ANYTHING))
                exact[idx] = sympy.nan if mask[idx] else v
            got[name], free[name] = evaluate(exact, {}), mask
        return got, free


def _same(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[n], b[n], equal_nan=True) for n in a)


def measure_nearest(allowed: Allowed, got: dict, dtype: torch.dtype):
    """`verdict.measure_all` of `got` against the allowed value nearest to it."""
    return measure_all(got, allowed.nearest(got, dtype), dtype)
