"""Where a piece's kinks are: a cheap test at each point, and the recorded sites where it finds one.

Kinks are rare, so nothing is recorded until a point needs it: at each
point the switches of the piece's output (`compare.symbolic.switches`) are
tested first; only where one sits on its boundary, or a decision an op made
inside itself holds with equality (a sort's tie), is the piece run again
with its sites recorded (once per piece) and each site's rule worked out.
Off kinks a point costs that test and nothing else.

SymPy may simplify an op's kink away in the output (sqrt(x)**2 is x); such
a point is then judged as a smooth one, by the exact derivative of what
SymPy kept.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from sympy.core.relational import Relational

from ..exact import differentiate
from ..exact.sym import as_expr, rational_value, release
from ..symbolic.heads import Head
from ..symbolic.switches import at_boundary, switches
from .chain import Allowed, Chain
from .numbers import finite, sign_of

__all__ = ["PieceKinks", "PointKinks", "boundaries", "on_equality"]


def on_equality(condition, point: dict) -> bool:
    """Whether a decision's relation holds with equality at the point (a piece boundary)."""
    if not isinstance(condition, Relational):
        return False
    lhs, rhs = rational_value(condition.lhs, point), rational_value(condition.rhs, point)
    if lhs is not None and rhs is not None:
        return lhs == rhs
    return sign_of(release(condition.lhs - condition.rhs).xreplace(point)) == 0


def boundaries(decisions, point: dict, skip=frozenset()) -> list[int]:
    """Lines of the branches whose relation holds with equality at the point (a piece boundary), leaving
    out the decisions numbered in `skip` (made by an op inside itself: its own kink)."""
    return [d.site[1] for k, d in enumerate(decisions) if k not in skip and on_equality(d.condition, point)]


def _key(point: dict) -> tuple:
    return tuple(sorted(point.items(), key=lambda kv: kv[0].name))


class PieceKinks:
    """One piece's kink sites, found lazily: `record()` runs the piece again with its sites recorded and
    returns (its output with heads, the `heads.Recording`, the piece's decisions each site's op made)."""

    def __init__(self, piece, symbols: dict, record: Callable):
        self.piece, self.symbols, self._record = piece, symbols, record
        self._switches = None
        self._recorded = None
        self._derivatives: dict = {}
        self._points: dict = {}
        self._maybe: dict = {}

    def maybe(self, point: dict) -> bool:
        """Whether a switch of the output sits on its boundary at the point, or an op's own decision holds
        with equality there: only then may the point be on a kink of a site."""
        key = _key(point)
        if key not in self._maybe:
            self._maybe[key] = self._on_a_boundary(point)
        return self._maybe[key]

    def _on_a_boundary(self, point: dict) -> bool:
        if self._switches is None:
            self._switches = list(dict.fromkeys(w for o in self.piece.output.flat for w in switches(release(o))))
        at = lambda e: release(e).xreplace(point)  # noqa: E731
        if any(at_boundary(w, at) for w in self._switches):
            return True
        return any(len(d.site) > 2 and on_equality(d.condition, point) for d in self.piece.decisions)

    def recorded(self):
        if self._recorded is None:
            self._recorded = self._record()
        return self._recorded

    def owned(self, point: dict) -> frozenset:
        """The piece's decisions that ops made inside themselves at recorded sites (their ties are the sites')."""
        return frozenset(self.recorded()[2]) if self.maybe(point) else frozenset()

    def at(self, point: dict, second: bool, forward: bool = False) -> PointKinks | None:
        """The sites whose op is not smooth at the point (at the first order, or with `second` the second),
        with their rules (with `forward`, as forward mode's formulas give them); None where there is none."""
        key = (_key(point), second, forward)
        if key not in self._points:
            self._points[key] = self._at(point, second, forward)
        return self._points[key]

    def _at(self, point: dict, second: bool, forward: bool = False) -> PointKinks | None:
        if not self.maybe(point):
            return None
        output, recording, _ = self.recorded()
        chain = Chain(sites=recording.sites, point=point, forward=forward)
        chain.locate(output.flat)
        if not chain.kinked(second):
            return None
        return PointKinks(self, chain, second)

    def inputs_of(self, site: int) -> set:
        """The input symbols a site's arguments depend on."""
        if "inputs" not in self._derivatives:
            found: dict = {}
            for o in self.recorded()[0].flat:
                for h in as_expr(o).atoms(Head):
                    found.setdefault(h.site, set()).update(h.free_symbols)
            self._derivatives["inputs"] = found
        return self._derivatives["inputs"].get(site, set())

    def derivative(self, what: str):
        """The recorded output's gradient ("gradient") or Hessian ("hessian"), heads and all (kept)."""
        if what not in self._derivatives:
            output = self.recorded()[0]
            if what == "gradient":
                self._derivatives[what] = differentiate.gradient(output, self.symbols)
            else:
                self._derivatives[what] = differentiate.hessian(self.derivative("gradient"), self.symbols)
        return self._derivatives[what]


def _free_through_infinities(found: Allowed, reached: np.ndarray, directional: bool) -> Allowed:
    if not reached.any():
        return found
    name = next(iter(found.free))
    if directional:
        mask = np.ones(found.free[name].shape, dtype=bool)
    else:
        mask = reached[:, None] | reached[None, :]
    return Allowed(values=found.values, free={name: found.free[name] | mask}, combinations=found.combinations)


class PointKinks:
    """The kinked sites at one point of one piece, and every value PyTorch's rules allow there."""

    def __init__(self, piece: PieceKinks, chain: Chain, second: bool):
        self.piece, self.chain, self.second = piece, chain, second
        self.rules = chain.kinked(second)
        """site id -> its LocalRule, for the sites whose partials need a rule here."""
        self._allowed: dict = {}

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.chain.sites[k].op for k in sorted(self.rules)))

    @property
    def texts(self) -> list[str]:
        return list(dict.fromkeys(r.text for _, r in sorted(self.rules.items())))

    @property
    def first_order(self) -> bool:
        """Whether some site's first partials need a rule (else only second derivatives do: elu at 0)."""
        return any(r.kink_first for r in self.rules.values())

    def _cached(self, key, near, compute: Callable) -> Allowed:
        """`compute()` once per key; where the combinations were too many to try, once per value sought."""
        found = self._allowed.get(key)
        if found is None or (found.capped and near is not None):
            found = compute()
            if key not in self._allowed or near is None:
                self._allowed[key] = found
        return found

    def gradient(self, near: dict | None = None) -> Allowed:
        """The gradients of out.sum() the rules allow (with `near`, a gradient being checked: past the cap on
        combinations, the combination closest to it is among them)."""
        return self._cached("gradient", near, lambda: self.chain.allowed(
            self.piece.derivative("gradient"), second=False, near=near))

    def along(self, u: np.ndarray, near: dict | None = None) -> Allowed:
        """The derivatives of out.sum() along the direction u (flattened over the inputs, in their order)."""
        flat = lambda g: np.concatenate([np.asarray(g[n], dtype=np.float64).reshape(-1) for n in g])  # noqa: E731
        target = None
        if near is not None and self.gradient().capped:  # the gradient whose derivative along u is nearest
            target = min(self.gradient().values, key=lambda g: abs(float(np.dot(flat(g), u)) - float(near["u"])))
        grads = self.gradient(target)
        with np.errstate(invalid="ignore"):  # inf times a 0 of u: nan, as autograd's arithmetic gives
            values = tuple({"u": np.asarray(float(np.dot(flat(g), u)))} for g in grads.values)
        free = {"u": np.asarray(any(bool(m.any()) for m in grads.free.values()))}
        return Allowed(values=values, free=free, combinations=grads.combinations)

    def hessian(self, v=None, near: dict | None = None) -> Allowed:
        """The Hessians of out.sum() the rules allow (flattened over the inputs), or with `v` (exact numbers,
        one per input entry), H v; with `near`, as `gradient`.

        A second derivative through a site whose rules give inf is left free:
        autograd's double backward multiplies it by the incoming zeros of
        every other row (inf times 0, nan), where SymPy's chain rule has no
        term at all; their value is the order of the arithmetic, not a rule.
        """
        def compute():
            if v is None:
                found = self.chain.allowed({"H": self.piece.derivative("hessian")}, second=True, near=near)
            else:
                rows = differentiate.hessian_vector(self.piece.derivative("gradient"), self.piece.symbols, list(v))
                found = self.chain.allowed({"Hv": rows}, second=True, near=near)
            return _free_through_infinities(found, self._infinite(), v is not None)

        return self._cached("hessian" if v is None else ("hvp", tuple(v)), near, compute)

    def forward(self) -> PointKinks:
        """The same point's sites with the rules forward mode's formulas give (`Documented.forward`: fmax at
        a tie), for forward mode's quantities."""
        if self.chain.forward:
            return self
        found = self.piece.at(self.chain.point, self.second, forward=True)
        return found if found is not None else self

    @property
    def infinite(self) -> bool:
        """Whether a site's rule gives an inf here: autograd then multiplies it by zero tangents and
        cotangents (forward mode's columns, the rows of a double backward), and inf times 0 is nan."""
        return bool(self._infinite().any())

    def _infinite(self) -> np.ndarray:
        """For each input entry (flattened, in input order), whether it reaches a site whose rule gives inf."""
        flat = [s for syms in self.piece.symbols.values() for s in syms.flat]
        reached = set()
        for k, rule in self.rules.items():
            values = [x for alt in rule.first for row in alt for x in row]
            values += [x for alt in rule.second for row in alt for col in row for x in col]
            if any(not finite(x) for x in values):
                reached |= self.piece.inputs_of(k)
        return np.array([s in reached for s in flat], dtype=bool)
