"""Nondifferentiable points, and the rules PyTorch documents for them.

At a kink (relu at 0, abs at 0, a norm at the zero vector, sqrt at 0, clamp
at a bound, ties in a max) the derivative does not exist, and SymPy, autograd
and finite differences each give a defensible, different answer. PyTorch's
autograd notes ("Gradients for non-differentiable functions") say what
autograd gives there: the gradient if the function is differentiable; else,
if it is locally convex (concave), the minimum-norm subgradient
(supergradient); else a value by continuity, possibly inf (sqrt at 0).
Some ops define their own (clamp passes the gradient at its bounds).

`RULES` is that knowledge as data, keyed by op: the rule's text and the
op's partial derivatives under it at a point. The symbolic ops `mark` each
node they make, while `recording()` is on; `locate` finds the marks a point
lies on, and `conventional` builds the gradient the rules give by the chain
rule through those partials. Autograd is a `convention` only when it equals
that value: a hand-written backward that is wrong at the kink is still a
`disagree`. The symbolic side only notes which op made which node
(`compare.symbolic.recording`); `sites` turns those notes into rules.

The rules are those of the torch version named in `TORCH`; they change
between releases, so every verdict that rests on them carries it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import sympy
import torch

from ..sym import as_expr, rational_value, release
from ..symbolic.elementwise import Step
from . import spectral_kinks

__all__ = ["Rule", "RULES", "KINKED_HEADS", "may_kink", "Site", "Kink", "TORCH", "sites", "present", "locate", "conventional",
           "boundaries"]

TORCH = torch.__version__
"""The torch whose documented rules the table states (and whose autograd is checked)."""


@dataclass(frozen=True)
class Rule:
    """What autograd gives where one op is not differentiable."""

    op: str
    """The op, as a case writes it (`relu`, `linalg.vector_norm`)."""
    text: str
    """The rule, in a sentence without semicolons (they join rules): which case applies, what it gives."""
    kinds: tuple[type, ...]
    """The SymPy heads the op's node can have (a node that simplified to another form has no kink)."""
    on_kink: Callable[[Sequence[sympy.Expr], Mapping], bool]
    """(argument values, params) -> whether the point lies on the op's kink."""
    partials: Callable[[Sequence[sympy.Expr], Mapping], tuple]
    """(argument values, params) -> d op / d argument for each argument, under the rule."""
    arbitrary: bool = False
    """The derivative does not exist at the kink and the rule leaves autograd's value arbitrary (an
    eigenvector of a repeated eigenvalue): any value autograd gives there follows it."""


@dataclass(frozen=True)
class Site:
    """One node that a kinked op made in a symbolic run."""

    rule: Rule
    node: sympy.Expr
    """The op's value as an expression."""
    args: tuple
    """The op's differentiable arguments, in the op's own order."""
    params: tuple = ()
    """The op's other parameters, as (name, value) pairs (the norm's order, say)."""


@dataclass(frozen=True)
class Kink:
    """Why a point is not a point of differentiability, and what PyTorch's rules give there."""

    ops: tuple[str, ...]
    """The ops whose kinks the point lies on (or "control flow" for a piece boundary)."""
    rule: str
    """The rules that decide autograd's value, joined into one sentence."""
    value: dict[str, np.ndarray] | None
    """The gradient of out.sum() under those rules (float64); None when no rule covers the kink."""
    arbitrary: bool = False
    """The derivative does not exist there and a rule leaves autograd's value arbitrary (`Rule.arbitrary`)."""


# -- exact comparisons of numbers ----------------------------------------------------------
def _sign(v) -> int:
    """The sign of an exact number: -1, 0, 1 (high precision where SymPy cannot decide)."""
    v = as_expr(v)
    if v.is_Rational:
        return (v.p > 0) - (v.p < 0)
    try:  # 50 correct digits or an error: a value this far from 0 has the sign it shows
        x = v.evalf(50, strict=True)
        if x.is_Float and abs(x) > sympy.Float("1e-40"):
            return 1 if x > 0 else -1
    except Exception:  # PrecisionExhausted, or a value evalf does not take: the exact queries decide
        pass
    if v.is_zero:
        return 0
    if v.is_positive:
        return 1
    if v.is_negative:
        return -1
    x = v.evalf(50)
    if not x.is_real:
        return 0
    return 0 if abs(x) < sympy.Float("1e-45") else (1 if x > 0 else -1)


def _ties(values, best) -> list[int]:
    return [i for i, v in enumerate(values) if _sign(v - best) == 0]


def _largest(values):
    best = values[0]
    for v in values[1:]:
        if _sign(v - best) > 0:
            best = v
    return best


def _smallest(values):
    best = values[0]
    for v in values[1:]:
        if _sign(v - best) < 0:
            best = v
    return best


# -- the rules -------------------------------------------------------------------------------
def _spread(pick):
    """Ties share the gradient evenly (the minimum-norm subgradient of max, supergradient of min)."""

    def partials(v, p):
        ties = _ties(v, pick(v))
        return tuple(sympy.Rational(1, len(ties)) if i in ties else sympy.S.Zero for i in range(len(v)))

    return partials


def _first(pick):
    """All of the gradient to the first extreme entry: the index `torch.max(x, dim)` returns."""

    def partials(v, p):
        first = _ties(v, pick(v))[0]
        return tuple(sympy.S.One if i == first else sympy.S.Zero for i in range(len(v)))

    return partials


def _tied(pick):
    return lambda v, p: len(_ties(v, pick(v))) > 1


def _norm_partials(v, p):
    order = dict(p).get("ord", 2)
    if order == 2:
        n = sympy.sqrt(sympy.Add(*(a**2 for a in v)))
        if _sign(n) == 0:
            return tuple(sympy.S.Zero for _ in v)
        return tuple(a / n for a in v)
    if order == 1:
        return tuple(sympy.Integer(_sign(a)) for a in v)
    # inf-norm: ties among the largest |entries| share the gradient, each with its entry's sign
    mags = [abs(a) for a in v]
    best = _largest(mags)
    if _sign(best) == 0:
        return tuple(sympy.S.Zero for _ in v)
    ties = _ties(mags, best)
    return tuple(sympy.Rational(_sign(a), len(ties)) if i in ties else sympy.S.Zero for i, a in enumerate(v))


def _norm_kink(v, p):
    order = dict(p).get("ord", 2)
    if order == 2:
        return all(_sign(a) == 0 for a in v)
    if order == 1:
        return any(_sign(a) == 0 for a in v)
    mags = [abs(a) for a in v]
    return len(_ties(mags, _largest(mags))) > 1 or _sign(_largest(mags)) == 0


def _p_norm_kink(v, p) -> bool:
    """(sum |a|^p)^(1/p) for another p > 0: not differentiable at 0, nor (for p < 1) where an entry is 0."""
    return all(_sign(a) == 0 for a in v) or (dict(p)["ord"] < 1 and any(_sign(a) == 0 for a in v))


def _p_norm_partials(v, p):
    """sgn(a) |a|^(p-1) / n^(p-1), and 0 for an entry at 0 (all of them at the zero vector)."""
    order = dict(p)["ord"]
    n = sympy.Add(*(abs(a) ** order for a in v)) ** (1 / order)
    if _sign(n) == 0:
        return tuple(sympy.S.Zero for _ in v)
    return tuple(sympy.S.Zero if _sign(a) == 0 else _sign(a) * abs(a) ** (order - 1) * n ** (1 - order) for a in v)


def _at_integer(v, p) -> bool:
    return as_expr(v[0]).is_integer is True


def _at_half_integer(v, p) -> bool:
    return (2 * as_expr(v[0])).is_integer is True and as_expr(v[0]).is_integer is False


_MIN_NORM = "the function is convex there, so autograd takes the minimum-norm subgradient"

RULES: dict[str, Rule] = {r.op: r for r in [
    Rule("relu", f"relu'(0) = 0: {_MIN_NORM} of [0, 1]",
         (sympy.Max,), lambda v, p: _sign(v[0]) == 0,
         lambda v, p: (sympy.S.One if _sign(v[0]) > 0 else sympy.S.Zero,)),
    Rule("abs", f"abs'(0) = 0: {_MIN_NORM} of [-1, 1]",
         (sympy.Abs,), lambda v, p: _sign(v[0]) == 0,
         lambda v, p: (sympy.Integer(_sign(v[0])),)),
    Rule("sqrt", "sqrt'(0) = inf: sqrt is concave but has no finite supergradient at 0, so autograd "
         "extends the derivative by continuity (the limit from the right), and inf times a zero factor "
         "gives nan",
         (sympy.Pow,), lambda v, p: _sign(v[0]) == 0,
         lambda v, p: (sympy.oo if _sign(v[0]) == 0 else 1 / (2 * sympy.sqrt(v[0])),)),
    Rule("linalg.vector_norm", f"the gradient of a norm at the zero vector is 0: {_MIN_NORM} "
         "(the unit ball of the dual norm), and ties of the inf-norm share the gradient evenly",
         (sympy.Pow, sympy.Add, sympy.Abs, sympy.Max), _norm_kink, _norm_partials),
    Rule("linalg.vector_norm(p)", "a p-norm's gradient (p other than 1, 2, inf) is 0 at the zero vector, where "
         "0 is its minimum and so a subgradient of least norm, and for p < 1 an entry at 0 gets 0: |a|^p has a "
         "cusp there whose subgradients are all the reals, and autograd takes the least",
         (sympy.Pow,), _p_norm_kink, _p_norm_partials),
    Rule("clamp", "clamp passes the gradient at its bounds: d clamp(x, lo, hi) / dx = 1 for lo <= x <= hi",
         (sympy.Max, sympy.Min), lambda v, p: _sign(v[0] - v[1]) == 0,
         lambda v, p: ((sympy.S.One, sympy.S.Zero)
                       if _sign(v[0] - v[1]) * (1 if dict(p)["side"] == "min" else -1) >= 0
                       else (sympy.S.Zero, sympy.S.One))),
    Rule("hardtanh", "hardtanh (and relu6) passes the gradient strictly between its bounds and gives 0 at them",
         (sympy.Max, sympy.Min), lambda v, p: _sign(v[0] - v[1]) == 0 or _sign(v[0] - v[2]) == 0,
         lambda v, p: (sympy.S.One if _sign(v[0] - v[1]) > 0 and _sign(v[0] - v[2]) < 0 else sympy.S.Zero,
                       sympy.S.Zero, sympy.S.Zero)),
    Rule("max", "max and amax over ties share the gradient evenly: the minimum-norm subgradient",
         (sympy.Max,), _tied(_largest), _spread(_largest)),
    Rule("min", "min and amin over ties share the gradient evenly: the minimum-norm supergradient",
         (sympy.Min,), _tied(_smallest), _spread(_smallest)),
    Rule("amax", "amax over ties shares the gradient evenly: the minimum-norm subgradient",
         (sympy.Max,), _tied(_largest), _spread(_largest)),
    Rule("amin", "amin over ties shares the gradient evenly: the minimum-norm supergradient",
         (sympy.Min,), _tied(_smallest), _spread(_smallest)),
    Rule("max(dim)", "max(x, dim) gives all of the gradient to the index it returns, the first of the ties",
         (sympy.Max,), _tied(_largest), _first(_largest)),
    Rule("min(dim)", "min(x, dim) gives all of the gradient to the index it returns, the first of the ties",
         (sympy.Min,), _tied(_smallest), _first(_smallest)),
    *(Rule(name, f"{name} is a step function: autograd takes its derivative to be 0 everywhere, also at "
                 "its jumps", (Step,), jumps, lambda v, p: (sympy.S.Zero,))
      for name, jumps in (("floor", _at_integer), ("ceil", _at_integer), ("trunc", _at_integer),
                          ("round", _at_half_integer), ("sign", lambda v, p: _sign(v[0]) == 0))),
    Rule("maximum", "maximum(a, b) at a tie gives half of the gradient to each",
         (sympy.Max,), _tied(_largest), _spread(_largest)),
    Rule("minimum", "minimum(a, b) at a tie gives half of the gradient to each",
         (sympy.Min,), _tied(_smallest), _spread(_smallest)),
    *spectral_kinks.rules(Rule),
]}
"""op -> the rule autograd follows at its kink (torch `TORCH`)."""

KINKED_HEADS = tuple(dict.fromkeys(h for r in RULES.values() for h in r.kinds if h not in (sympy.Add, sympy.Pow)))
"""The SymPy heads a kinked op's node has (Max, Min, Abs, the steps); a root is a non-integer Pow."""


def may_kink(expr) -> bool:
    """Whether an expression holds a node some rule's op may have made: only then are its sites recorded."""
    expr = as_expr(expr)
    return expr.has(*KINKED_HEADS) or any(not p.exp.is_integer for p in expr.atoms(sympy.Pow))

BOUNDARY_RULE = ("control flow: autograd differentiates the branch that ran, so on a piece boundary "
                 "it gives that piece's one-sided derivative")


# -- the nodes a symbolic run made ------------------------------------------------------------
def sites(noted: Mapping) -> dict:
    """node -> Site, for the nodes noted by a symbolic run whose op has a rule here.

    A node that simplified to another form than the op makes (Max(x**2, 0)
    is x**2) has no kink, and neither has an op without a rule.
    """
    found = {}
    for node, (op, _, args, params) in noted.items():
        rule = RULES.get(op)
        if rule is not None and isinstance(node, rule.kinds):
            found[node] = Site(rule, node, args, params)
    return found


# -- at a point --------------------------------------------------------------------------------
def _value(expr, point: Mapping):
    return release(as_expr(expr)).xreplace(point)


def present(sites: Mapping, outputs: np.ndarray) -> list[Site]:
    """The sites whose nodes occur in the output."""
    seen = set()
    for o in outputs.flat:
        seen.update(sympy.preorder_traversal(as_expr(o)))
    return [s for node, s in sites.items() if node in seen]


def locate(sites: Sequence[Site], point: Mapping) -> list[Site]:
    """The sites whose kink the point lies on."""
    return [s for s in sites if s.rule.on_kink([_value(a, point) for a in s.args], dict(s.params))]


def boundaries(decisions, point: Mapping) -> list[int]:
    """Lines of the branches whose relation holds with equality at the point (a piece boundary)."""
    lines = []
    for d in decisions:
        c = d.condition
        if isinstance(c, sympy.core.relational.Relational):
            lhs, rhs = rational_value(c.lhs, point), rational_value(c.rhs, point)
            on = lhs == rhs if lhs is not None and rhs is not None else _sign(_value(c.lhs - c.rhs, point)) == 0
            if on:
                lines.append(d.site[1])
    return lines


def conventional(outputs: np.ndarray, sites: Sequence[Site], symbols: Mapping[str, np.ndarray],
                 point: Mapping) -> dict[str, np.ndarray]:
    """The gradient of out.sum() at `point` by the chain rule through each site's rule.

    Each site's node is replaced by a function of its arguments whose value
    is the node's value at the point and whose partials are the rule's:
    differentiating the result is the chain rule autograd applies, and it
    meets inf and 0 as autograd does (inf * 0 is nan).
    """
    from .. import derive

    heads = {}
    for s in sites:
        values = [_value(a, point) for a in s.args]
        partials = s.rule.partials(values, dict(s.params))
        heads[s.node] = _head(s, _value(s.node, point), partials)
    memo: dict = {}

    def rebuild(e):
        if e in memo:
            return memo[e]
        if e in heads:
            out = heads[e](*(rebuild(a) for a in sites_by_node[e].args))
        elif e.args and not e.is_Atom:
            out = e.func(*(rebuild(a) for a in e.args))
        else:
            out = e
        memo[e] = out
        return out

    sites_by_node = {s.node: s for s in sites}
    rebuilt = np.empty(outputs.shape, dtype=object)
    for idx in np.ndindex(*outputs.shape):
        rebuilt[idx] = rebuild(as_expr(outputs[idx]))
    grad = derive.gradient(rebuilt, symbols)
    return {n: derive.evaluate(g, point) for n, g in grad.items()}


def _head(site: Site, value, partials) -> type:
    """A SymPy function standing for one site at one point: its value and its rule's partials."""

    def eval_(cls, *args):
        if all(getattr(a, "is_number", False) for a in args):
            return cls.value

    def fdiff(self, argindex=1):
        return self.partials[argindex - 1]

    name = site.rule.op.replace(".", "_").replace("(", "_").replace(")", "")
    return type(f"rule_{name}", (sympy.Function,),
                {"nargs": len(site.args), "value": value, "partials": tuple(partials),
                 "eval": classmethod(eval_), "fdiff": fdiff})
