"""What torch documents beyond the general rules: per-op behaviours at kinks and ties, keyed by the ATen op.

Each entry names the op autograd runs (what `compare.symbolic.heads`
recorded, never what its meaning decomposes into), what autograd gives, and
where torch says so: the op's docs or its formula in
`tools/autograd/derivatives.yaml`. An entry wins over the general rules at
its op's kinks; `general` says where the two coincide (max shares the
gradient evenly among ties, which is also rule 2's subgradient of minimum
norm). The README's table of exceptions is this table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy

from .numbers import derivative_at, finite, same, value_at
from . import spectral
from .several import decision_pieces

__all__ = ["Documented", "TABLE", "documented"]


@dataclass(frozen=True)
class Documented:
    """One op's documented behaviour at its kinks."""

    ops: tuple[str, ...]
    """The ATen ops (by name, as autograd records them) it is for."""
    gives: str
    """What autograd gives there, in a sentence."""
    source: str
    """Where torch documents it."""
    partials: Callable
    """(site, values) -> the allowed first partials (alternatives, each a tuple over outputs of tuples
    over variables), or None where the entry does not decide this point (the general rules do)."""
    general: str = ""
    """The general rule it coincides with, if any."""
    second: Callable | None = None
    """(site, values) -> the allowed second partials, for an op whose kinks are its own nodes' (an
    eigenvalue's), which the general rules cannot take apart; None: the general rules' (or the Hessian)."""
    forward: Callable | None = None
    """Forward mode's allowed first partials, where its own formula (derivatives.yaml's `result:`)
    gives another value at the kink than the backward's (`partials`); None where they agree."""
    forward_gives: str = ""
    """What forward mode gives there, in a sentence, where `forward` is set."""


def _point(site, values) -> dict:
    return dict(zip(site.symbols, values))


def _unit(site, chosen, weight=sympy.S.One) -> tuple:
    return tuple(weight if s in chosen else sympy.S.Zero for s in site.symbols)


def _tied(site, values, f, among=None) -> list:
    """The variables (of `among`, else all of the site's) whose value equals f's at the point."""
    point = _point(site, values)
    result = value_at(f, point)
    return [s for s in site.symbols if (among is None or s in among) and same(point[s], result)]


def _evenly(among_own: bool):
    """Each entry's gradient shared evenly among the tied entries (of its own arguments, or of the site's)."""
    def partials(site, values):
        rows = []
        for f in site.outputs:
            tied = _tied(site, values, f, f.free_symbols if among_own else None)
            if not tied:
                return None
            rows.append(_unit(site, tied, sympy.Rational(1, len(tied))))
        return [tuple(rows)]
    return partials


def _orders(site, values):
    """Every order the op's ties may take: the index each entry's gradient goes to is any of the tied ones."""
    point = _point(site, values)
    return [tuple(tuple(derivative_at(f, s, point) for s in site.symbols) for f in piece)
            for piece in decision_pieces(site, point)]


def _indexed(pick: Callable, among_own: bool):
    """One entry's gradient to the tied entry `pick` chooses (or, pick None, to any tied entry)."""
    def partials(site, values):
        options = []
        for f in site.outputs:
            tied = _tied(site, values, f, f.free_symbols if among_own else None)
            if not tied:
                return None
            options.append([_unit(site, [t]) for t in (tied if pick is None else [pick(tied)])])
        combos = [()]
        for o in options:
            combos = [c + (row,) for c in combos for row in o]
        return combos
    return partials


def _clamp(site, values):
    """1 to the input where clamp returns it (at a bound too), 1 to a tensor bound only where the input is past it."""
    point = _point(site, values)
    rows = []
    for f in site.outputs:
        result = value_at(f, point)
        row = []
        for s, (name, _, _) in zip(site.symbols, site.roles):
            if name == "self":
                row.append(sympy.S.One if same(point[s], result) else sympy.S.Zero)
            else:
                past = same(point[s], result) and not same(point[_self(site)], result)
                row.append(sympy.S.One if past else sympy.S.Zero)
        rows.append(tuple(row))
    return [tuple(rows)]


def _self(site):
    return next(s for s, role in zip(site.symbols, site.roles) if role[0] == "self")


def _first_argument(site, values):
    """fmax and fmin: at a tie, all of the gradient to the first argument."""
    point = _point(site, values)
    rows = []
    for f in site.outputs:
        own = [s for s in site.symbols if s in f.free_symbols]
        result = value_at(f, point)
        first = next((s for s in own if site.roles[site.symbols.index(s)][0] == "self" and same(point[s], result)),
                     None)
        winner = first or next((s for s in own if same(point[s], result)), None)
        if winner is None:
            return None
        rows.append(_unit(site, [winner]))
    return [tuple(rows)]


def _forward_tie(site, values):
    """fmax's forward formula, other_t + (self_p > other_p) * (self_t - other_t): at a tie, all of the
    tangent from the second argument; fmin's, with <=, from the first, as its backward."""
    if site.op != "fmax":
        return _first_argument(site, values)
    point = _point(site, values)
    rows = []
    for f in site.outputs:
        own = [s for s in site.symbols if s in f.free_symbols]
        result = value_at(f, point)
        other = next((s for s in own if site.roles[site.symbols.index(s)][0] == "other" and same(point[s], result)),
                     None)
        winner = other or next((s for s in own if same(point[s], result)), None)
        if winner is None:
            return None
        rows.append(_unit(site, [winner]))
    return [tuple(rows)]


def _norm(site, values):
    """A norm at its zero (its minimum): 0; a p-norm (p < 1) at an entry 0, where |x|^p has a cusp: 0 there.
    (The abs of a real number is left to the general rules: rule 2, the same 0.)"""
    if len(site.symbols) == 1:
        return None
    point = _point(site, values)
    rows, decided = [], False
    for f in site.outputs:
        if same(value_at(f, point), 0):
            rows.append(tuple(sympy.S.Zero for _ in site.symbols))
            decided = True
            continue
        row = []
        for s in site.symbols:
            d = derivative_at(f, s, point) if s in f.free_symbols else sympy.S.Zero
            if not finite(d) and same(point[s], 0):
                d, decided = sympy.S.Zero, True
            if not finite(d):
                return None
            row.append(d)
        rows.append(tuple(row))
    return [tuple(rows)] if decided else None  # elsewhere (ties of the inf-norm) the general rules decide


_YAML = "tools/autograd/derivatives.yaml"
_SELECTED = (f"{_YAML}: value_selecting_reduction_backward(grad, dim, indices, ...), the gradient to the index "
             "returned, which of equal entries torch does not document")

TABLE: tuple[Documented, ...] = (
    Documented(("clamp", "clamp_min", "clamp_max"),
               "the gradient passes to the input at its bounds (1 where min <= x <= max), and a tensor bound gets "
               "it only where the input is beyond it",
               f'{_YAML}, clamp: "gradient is not defined at the boundaries ... we return the subgradient 1 for '
               f'these cases", clamp_min: where(self >= min, grad, 0)', _clamp),
    Documented(("max", "min", "median", "nanmedian"),
               "max(), min() and median() without dim share the gradient evenly among the entries equal to the result",
               f"{_YAML}: evenly_distribute_backward(grad, self, result)", _evenly(False),
               general="rule 2 or 3 for max and min (the subgradient of minimum norm); median is neither convex "
                       "nor concave"),
    Documented(("amax", "amin"), "amax and amin share the gradient evenly among the entries equal to the result",
               f"{_YAML}: scale_grad_by_count(grad, result == self, dim)", _evenly(True),
               general="rule 2 or 3 (the subgradient of minimum norm)"),
    Documented(("maximum", "minimum"), "maximum and minimum at a tie give half of the gradient to each argument",
               f"{_YAML}: at::where(self == other, grad / 2, grad)", _evenly(True),
               general="rule 2 or 3 (the subgradient of minimum norm)"),
    Documented(("fmax", "fmin"), "fmax and fmin at a tie give all of the gradient to the first argument",
               f"{_YAML}, fmax: grad.masked_fill((self >= other).logical_or_(other.isnan()).logical_not_(), 0)",
               _first_argument, forward=_forward_tie,
               forward_gives="in forward mode fmax at a tie takes the tangent of the second argument (its formula "
                             "compares with >, its backward with >=), fmin of the first: result: other_t + "
                             "(self_p > other_p).logical_or_(other_p.isnan()) * (self_t - other_t)"),
    Documented(("max.dim", "min.dim"),
               "max(x, dim) and min(x, dim) give the gradient to the index they return, the first of equal entries",
               f"{_YAML}: value_selecting_reduction_backward(grad, dim, indices, ...), and torch.max's docs: "
               '"the indices of the first maximal value are returned"', _indexed(lambda tied: tied[0], False)),
    Documented(("cummax", "cummin"),
               "cummax and cummin give each entry's gradient to the index they return, the last of equal entries",
               f"{_YAML}: cummaxmin_backward(grad, self, indices, dim), the last of equal entries as torch's "
               "kernel compares with >= (torch 2.13, measured)", _indexed(lambda tied: tied[-1], True)),
    Documented(("kthvalue", "median.dim", "nanmedian.dim", "mode"),
               "kthvalue, median(x, dim) and mode give the gradient to the index they return: any of equal entries",
               _SELECTED + ", torch.median's docs: \"indices is not necessarily the first occurrence\"",
               _indexed(None, False)),
    Documented(("max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
                "adaptive_max_pool2d", "adaptive_max_pool3d", "fractional_max_pool2d", "fractional_max_pool3d",
                "_embedding_bag"),
               "max pooling gives each window's gradient to the index it returns: any of the window's equal entries",
               f"{_YAML}: max_pool2d_with_indices_backward(grad, self, ..., indices)", _indexed(None, True)),
    Documented(("sort", "topk"),
               "sort and topk give each entry's gradient to the index they return: ties in any order",
               _SELECTED + ", and sort is stable only with stable=True", _orders),
    Documented(("linalg_vector_norm", "norm", "_cdist_forward", "_pdist_forward", "_euclidean_dist", "dist", "abs"),
               "a norm's gradient is 0 at the zero vector (and a p-norm's, p < 1, at an entry 0, where it has a cusp)",
               f"{_YAML}: linalg_vector_norm_backward, norm_backward, _cdist_backward and _pdist_backward mask "
               "those entries to 0, and abs: grad * self.sgn(), sgn(0) = 0", _norm,
               general="rule 2 at the zero vector (0 is the norm's minimum, so its subgradient of least norm)"),
    Documented(("_linalg_eigh",), spectral.EIGH, spectral.EIGH_SOURCE, spectral.partials,
               general="rules 2 and 3 for the extreme copies of a repeated eigenvalue, 4 for the others",
               second=spectral.second),
    Documented(("_linalg_svd",), spectral.SVD, spectral.SVD_SOURCE, spectral.partials,
               general="rules 2 and 3 for the extreme copies of a repeated singular value, 2 at 0",
               second=spectral.second),
    Documented(("linalg_eig",), spectral.EIG, spectral.EIG_SOURCE, spectral.partials, second=spectral.second),
)
"""The documented exceptions, in the order the README lists them."""

_BY_OP = {op: d for d in TABLE for op in d.ops}


def documented(site) -> Documented | None:
    """The table's entry for a site's op (`max.dim` for max with a dim: its overload decides), if any."""
    overload = site.overload.split(".")[-1] if "." in site.overload else ""
    return _BY_OP.get(f"{site.op}.{overload}") or _BY_OP.get(site.op)
