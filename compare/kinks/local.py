"""The rule for one site at one point: (the op autograd runs, its local function, its arguments' values) ->
the partial derivatives PyTorch's rules allow.

`analyse` is independent of how the rest of the output is written: it reads
a `Site` (the op's name, its local function of its own variables, the
branches it decides inside itself) and the values of its variables at the
point, and gives a `LocalRule` or None where the op is smooth there at both
orders. The documented exceptions (`table`) win; else one variable is
analysed side by side (`sides`), several by their active pieces (`several`).
"""
from __future__ import annotations

import functools

from ..symbolic.switches import at_boundary, switches
from .numbers import ANYTHING, finite, sign_of, shown, value_at
from .record import LocalRule, set_text
from .several import gradient_of, hessian_of, several_variables
from .sides import one_variable
from .table import documented

__all__ = ["analyse", "on_boundary", "where"]


def on_boundary(site, values: tuple, context: dict | None = None) -> bool:
    """Whether the point lies on a boundary of one of the site's switches (a tie, a zero, a jump, the edge
    of a root's domain) or of a branch its op decided inside itself: only there can it have a kink."""
    point = {**(context or {}), **dict(zip(site.symbols, values))}
    at = lambda e: value_at(e, point)  # noqa: E731
    among = set(site.symbols)
    if any(at_boundary(w, at) for f in site.outputs for w in switches(f, among)):
        return True
    return any(sign_of(at(c.lhs - c.rhs)) == 0 for c, _ in site.decisions if hasattr(c, "lhs"))


def where(site, values: tuple) -> str:
    """The op and its arguments' values, as the page names a site: hardswish(-3), leaky_relu(0, negative_slope=-0.5)."""
    shown_values = [shown(v) for v in values[:6]] + (["…"] if len(values) > 6 else [])
    return f"{site.op}({', '.join(shown_values + ([site.params] if site.params else []))})"


def analyse(site, values: tuple, context: dict | None = None, forward: bool = False) -> LocalRule | None:
    """What PyTorch's rules allow for the site's partials at the point where its variables take `values`
    (`context`: the case's own symbols' values, for a condition an op takes as an argument); None where
    the op is smooth there. `forward`: as forward mode's formulas give them, where those differ
    (`Documented.forward`)."""
    context = context or {}
    key = tuple(sorted((k, v) for k, v in context.items() if any(k in f.free_symbols for f in site.outputs)))
    return _analyse(site, tuple(values), key, forward)


@functools.lru_cache(maxsize=4096)
def _analyse(site, values: tuple, context: tuple, forward: bool = False) -> LocalRule | None:
    if not on_boundary(site, values, dict(context)):
        return None
    named = where(site, values)
    entry = documented(site)
    forward = forward and entry is not None and entry.forward is not None
    allowed = (entry.forward if forward else entry.partials)(site, values) if entry is not None else None
    if entry is not None and entry.second is not None:  # an op whose kinks are its own nodes': the entry decides
        return LocalRule(text=f"{named}: {entry.gives}, as torch documents ({entry.source})", first=tuple(allowed),
                         second=entry.second(site, values), kink_first=True, kink_second=True)
    general = _general(site, values, named, dict(context))
    if allowed is None:
        return general
    point = {**dict(context), **dict(zip(site.symbols, values))}
    if general is None and len(allowed) == 1 and _same(allowed[0], _derivatives(site, point)):
        return None  # smooth here after all: a tie among entries the result does not take (a median's neighbours)
    second = general.second if general is not None else (tuple(hessian_of(f, site.symbols, point)
                                                                for f in site.outputs),)
    sets = set_text([row[0] if len(row) == 1 else row for row in (_flat(a) for a in allowed)])
    text = f"{named}: {entry.forward_gives if forward else entry.gives}, as torch documents ({entry.source}): {sets}"
    return LocalRule(text=text, first=tuple(allowed), second=second, kink_first=True, kink_second=True)


def _derivatives(site, point: dict) -> tuple:
    return tuple(gradient_of(f, site.symbols, point) for f in site.outputs)


def _same(a: tuple, b: tuple) -> bool:
    return all(x is not ANYTHING and y is not ANYTHING and finite(x) and finite(y) and sign_of(x - y) == 0
               for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def _flat(alternative: tuple) -> tuple:
    return alternative[0] if len(alternative) == 1 else tuple(x for row in alternative for x in row)


def _general(site, values: tuple, named: str, context: dict) -> LocalRule | None:
    if len(site.symbols) == 1 and len(site.outputs) == 1 and not site.decisions:
        s = site.symbols[0]
        f = site.outputs[0].xreplace(context) if context else site.outputs[0]
        return one_variable(site.op, f, s, values[0], named)
    return several_variables(site.op, site, values, named, context)

