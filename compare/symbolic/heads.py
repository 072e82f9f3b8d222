"""Kink sites: the ops autograd runs whose outputs may have kinks, each output entry an opaque head.

While `recording()` is on, every op answered at depth 0 (not inside a
decomposition: exactly the ops autograd records, composite ones having
decomposed above it) is looked at after it ran. Where its output holds a
switch the op made itself (`compare.symbolic.switches`: a Max, an Abs, a
step, a Piecewise on its arguments, a root), or the op decided a branch
inside itself (a sort's comparison), the op runs once more on fresh symbols
in place of its floating-point tensor arguments: that is its local
function, whatever its meaning or decomposition does inside. Its output
entries split into blocks that share no argument entry (each entry of an
elementwise op, each row of a reduction); each block with a switch of its
own arguments is a `Site`, and its output entries become heads,
`Head(site, entry, 0, *arguments)`: opaque SymPy functions of the
real argument entries. Differentiating through a head gives a head with the
argument's index added to its orders, so the chain rule never has to find
an op's node by its structure in the output (SymPy merges nodes into larger
sums and products). What the heads are worth at a point, and which partial
derivatives PyTorch's rules allow there, is the judge's to say
(`compare.kinks`); `Recording.release` gives the plain expressions back.
"""
from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import sympy
import torch
from sympy.core.relational import Relational
from torch.utils._pytree import tree_flatten, tree_map

from ..exact.sym import as_expr
from .registry import BRANCH, RECORDING, exprs
from .switches import switches

__all__ = ["Head", "RealHead", "Site", "Recording", "recording", "recorded", "local_symbol"]


class Head(sympy.Function):
    """One output entry of a recorded op: Head(site, entry, n, o_1, ..., o_n, *arguments).

    `site` and `entry` (Integers) name the site and the entry of its block;
    the n indices o_k (Integers, sorted) say which partial derivative of the
    entry this is (n = 0: the entry itself).
    """

    @classmethod
    def eval(cls, *args):
        return None

    def fdiff(self, argindex=1):
        k = argindex - 4 - int(self.args[2])
        if k < 0:
            return sympy.S.Zero
        orders = sorted(self.orders + (k,))
        return type(self)(self.args[0], self.args[1], sympy.Integer(len(orders)),
                          *(sympy.Integer(o) for o in orders), *self.arguments)

    @property
    def site(self) -> int:
        return int(self.args[0])

    @property
    def entry(self) -> int:
        return int(self.args[1])

    @property
    def orders(self) -> tuple[int, ...]:
        return tuple(int(k) for k in self.args[3:3 + int(self.args[2])])

    @property
    def arguments(self) -> tuple:
        return self.args[3 + int(self.args[2]):]


class RealHead(Head):
    """A head of a real-valued output entry."""

    is_extended_real = True


_LOCAL: list = []


def local_symbol(k: int) -> sympy.Symbol:
    """The k-th variable of a site's local function (one set for every site: equal blocks compare equal)."""
    while len(_LOCAL) <= k:
        _LOCAL.append(sympy.Symbol(f"b{len(_LOCAL)}", real=True))
    return _LOCAL[k]


@dataclass(frozen=True)
class Site:
    """One block of one recorded op: its local function and where its variables came from."""

    op: str
    """The ATen op autograd records, by name (`hardswish`, `clamp`, `max`)."""
    overload: str
    """Its overload (`aten.clamp.Tensor`): which arguments are tensors."""
    outputs: tuple
    """The block's output entries as functions of `symbols`: the op's local function."""
    symbols: tuple
    """The variables: `local_symbol(0)`, ... one per real part of an argument entry."""
    roles: tuple
    """For each variable: (the argument's name, the entry's flat index, "re", "im" or "")."""
    decisions: tuple = ()
    """The branches the op decided inside itself: (condition of `symbols`, whether it held)."""
    pieces: Callable | None = field(default=None, compare=False)
    """`pieces(decide)`: the block's outputs when the op decides its branches by `decide(condition)`
    instead; None for an op that decides none."""
    params: str = ""
    """The op's other arguments, as text (`negative_slope=-0.5`)."""


@dataclass
class Recording:
    """The sites one symbolic run recorded, and the decisions it made (in order)."""

    sites: dict = field(default_factory=dict)
    """site id -> Site."""
    made: list = field(default_factory=list)
    """(condition, taken) for each branch the run's explorer decided, in order."""
    owner: dict = field(default_factory=dict)
    """decision index -> the site whose op decided it inside itself (a switch of that site)."""
    inside: int = 0
    """> 0 while a recorded op runs: the ops it runs are part of it."""
    noting: bool = True
    """False while an op runs on fresh symbols: its branches are not the run's."""
    _released: dict = field(default_factory=dict)

    def note(self, condition, taken: bool) -> None:
        if self.noting:
            self.made.append((condition, taken))

    def release(self, expr):
        """`expr` with each head replaced by what it stands for (its op's expression, or its derivative)."""
        expr = as_expr(expr)
        if not expr.has(Head):
            return expr
        found = self._released.get(expr)
        if found is None:
            found = self._released[expr] = self._rebuild(expr)
        return found

    def _rebuild(self, e):
        if isinstance(e, Head):
            args = [self.release(a) for a in e.arguments]
            site = self.sites[e.site]
            f = site.outputs[e.entry]
            for k in e.orders:
                f = f.diff(site.symbols[k])
            return f.xreplace(dict(zip(site.symbols, args)))
        if not e.args:
            return e
        args = [self.release(a) for a in e.args]
        if isinstance(e, Relational):  # as `relation` builds it: decided by the explorer, not by SymPy
            return e.func(*args, evaluate=False)
        return e.func(*args)


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Record the kink sites of the symbolic run inside (its outputs hold heads)."""
    rec = Recording()
    token = RECORDING.set(rec)
    try:
        yield rec
    finally:
        RECORDING.reset(token)


def recorded(func, args, kwargs, compute: Callable):
    """`compute(func, args, kwargs)`, and while recording, its output entries as heads where the op has kinks."""
    rec = RECORDING.get()
    if rec is None or rec.inside:
        return compute(func, args, kwargs)
    first = len(rec.made)
    rec.inside += 1
    try:
        out = compute(func, args, kwargs)
    finally:
        rec.inside -= 1
    outputs = [t for t in tree_flatten(out)[0] if _floating(t) and hasattr(t, "exprs")]
    decided = rec.made[first:]
    if outputs and (decided or _new_switches((args, kwargs), outputs)):
        _make_heads(rec, _Call(func, args, kwargs, compute), outputs, first)
    return out


def _floating(t) -> bool:
    return isinstance(t, torch.Tensor) and (t.dtype.is_floating_point or t.dtype.is_complex)


def _entries(tensors) -> Iterator:
    for t in tensors:
        yield from (e for e in t.exprs.flat if isinstance(e, sympy.Basic))


def _new_switches(inputs, outputs) -> bool:
    """Does the output hold a switch that no input entry holds (one the op made)?"""
    made = {s for e in _entries(outputs) for s in switches(e)}
    if not made:
        return False
    given = [t for t in tree_flatten(inputs)[0] if hasattr(t, "exprs")]
    return bool(made - {s for e in _entries(given) for s in switches(e)})


@dataclass(frozen=True)
class _Call:
    func: object
    args: tuple
    kwargs: dict
    compute: Callable


@dataclass
class _Fresh:
    """The call on fresh symbols: its arguments and, for each fresh symbol, what it stands for."""

    args: tuple
    kwargs: dict
    real: dict = field(default_factory=dict)
    """fresh symbol -> the real argument's entry (or its real or imaginary part)."""
    roles: dict = field(default_factory=dict)
    """fresh symbol -> (argument name, flat index, part)."""
    order: list = field(default_factory=list)


def _fresh_call(call: _Call) -> _Fresh:
    """The call with each floating-point tensor argument replaced by one of fresh symbols."""
    names = [a.name for a in call.func._schema.arguments]
    fresh = _Fresh((), {})
    counter = itertools.count()
    template = next(t for t in tree_flatten((call.args, call.kwargs))[0] if hasattr(t, "exprs"))

    def renew(name):
        def one(v):
            if not _floating(v):
                return v
            values = exprs(v)
            out = np.empty(values.shape, dtype=object)
            for i, e in enumerate(values.flat):
                out.flat[i] = _fresh_entry(fresh, e, (name, i), v.dtype.is_complex, counter)
            return type(template)(out, v.dtype, strides=v.stride(), offset=v.storage_offset())
        return one

    fresh.args = tuple(tree_map(renew(names[k] if k < len(names) else str(k)), a) for k, a in enumerate(call.args))
    fresh.kwargs = {k: tree_map(renew(k), v) for k, v in call.kwargs.items()}
    return fresh


def _fresh_entry(fresh: _Fresh, real, where: tuple, complex_: bool, counter) -> sympy.Expr:
    parts = (("re", sympy.re(real)), ("im", sympy.im(real))) if complex_ else (("", real),)
    made = []
    for part, value in parts:
        s = sympy.Symbol(f"_fresh{next(counter)}", real=True)
        fresh.real[s], fresh.roles[s] = value, where + (part,)
        fresh.order.append(s)
        made.append(s)
    return made[0] + sympy.I * made[1] if complex_ else made[0]


class _Replayer:
    """Decides the fresh run's branches as the real run did: by the real condition where it decides
    itself (its entries are numbers), else by the next decision the real run made inside the op."""

    def __init__(self, real: dict, decided: list, decide: Callable | None = None):
        self.real, self.decided, self.decide = real, list(decided), decide
        self.made: list = []
        """(condition, taken, index of the real run's decision it replays or None) for each branch."""
        self.used = 0

    def __call__(self, condition, site) -> bool:
        index = None
        if self.decide is not None:
            taken = bool(self.decide(condition))
        else:
            real = condition.xreplace(self.real)
            if real is sympy.true or real is sympy.false:
                taken = real is sympy.true
            elif self.used < len(self.decided):
                taken, index = self.decided[self.used][1], self.used
                self.used += 1
            else:
                raise _Desynced()
        self.made.append((condition, taken, index))
        return taken


class _Desynced(Exception):
    """The op on fresh symbols asked for more branches than it decided on the real ones."""


def _run_fresh(rec: Recording, call: _Call, fresh: _Fresh, decider: _Replayer) -> list:
    """The floating outputs of the call on fresh symbols, with branches decided by `decider`."""
    token = BRANCH.set(decider)
    rec.inside += 1
    rec.noting = False
    try:
        out = call.compute(call.func, fresh.args, fresh.kwargs)
    finally:
        rec.noting = True
        rec.inside -= 1
        BRANCH.reset(token)
    return [t for t in tree_flatten(out)[0] if _floating(t) and hasattr(t, "exprs")]


def _make_heads(rec: Recording, call: _Call, outputs: list, first: int) -> None:
    """Replace the entries of each block of the op that has a switch of its own arguments by heads."""
    fresh = _fresh_call(call)
    replayer = _Replayer(fresh.real, rec.made[first:])
    try:
        local = _run_fresh(rec, call, fresh, replayer)
    except _Desynced:
        return
    if [tuple(t.shape) for t in local] != [tuple(t.shape) for t in outputs]:
        return
    for t in outputs:  # the op's own arrays, which a meaning may share with its input (`real` of a real)
        t.exprs = t.exprs.copy()
    for block, own in _blocks(local, replayer.made, set(fresh.real)):
        _block_site(rec, call, fresh, (outputs, local), (block, own), replayer.made, first)


def _blocks(local: list, decisions: list, fresh: set) -> list[tuple]:
    """Groups of output entries (tensor k, flat index i), with their fresh symbols, joined by sharing a
    fresh symbol or a decision of the op's."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(items):
        items = list(items)
        for other in items[1:]:
            parent[find(other)] = find(items[0])

    entries = []
    for k, t in enumerate(local):
        for i, e in enumerate(t.exprs.flat):
            own = as_expr(e).free_symbols & fresh
            if own:
                entries.append((k, i))
                join([("e", k, i)] + [("s", s) for s in own])
    for condition, _, _ in decisions:
        join([("s", s) for s in condition.free_symbols & fresh])
    groups: dict = {}
    for k, i in entries:
        groups.setdefault(find(("e", k, i)), ([], set()))[0].append((k, i))
    for s in fresh:
        if ("s", s) in parent and find(("s", s)) in groups:
            groups[find(("s", s))][1].add(s)
    return list(groups.values())


def _block_site(rec: Recording, call: _Call, fresh: _Fresh, tensors: tuple, block: tuple, decisions: list,
                first: int) -> None:
    """Make one block a site, its entries heads, if it has a switch of its own arguments."""
    outputs, local = tensors
    block, own = block
    entries = [as_expr(local[k].exprs.flat[i]) for k, i in block]
    inner = [(c, t, n) for c, t, n in decisions if c.free_symbols & own]
    if not any(switches(e, own) for e in entries) and not inner:
        return
    ordered = [s for s in fresh.order if s in own]
    if not any(as_expr(fresh.real[s]).free_symbols for s in ordered):
        return  # constants: nothing flows through this block
    rename = {s: local_symbol(j) for j, s in enumerate(ordered)}
    site_id = len(rec.sites)
    rec.sites[site_id] = Site(
        op=call.func.overloadpacket.__name__.rstrip("_"), overload=str(call.func),
        outputs=tuple(e.xreplace(rename) for e in entries), symbols=tuple(rename[s] for s in ordered),
        roles=tuple(fresh.roles[s] for s in ordered),
        decisions=tuple((c.xreplace(rename), t) for c, t, _ in inner),
        pieces=_pieces(rec, call, fresh, block, rename, decisions) if inner else None, params=_params(call))
    for _, _, n in inner:
        if n is not None:
            rec.owner[first + n] = site_id
    arguments = [fresh.real[s] for s in ordered]
    for j, (k, i) in enumerate(block):
        head = RealHead if not outputs[k].dtype.is_complex else Head
        outputs[k].exprs.flat[i] = head(sympy.Integer(site_id), sympy.Integer(j), sympy.S.Zero, *arguments)


def _pieces(rec: Recording, call: _Call, fresh: _Fresh, block: list, rename: dict, decisions: list) -> Callable:
    """The block's outputs when the op decides the branches of this block's arguments by `decide`
    (a condition of the local symbols -> bool); other blocks' branches go as they went."""
    went = {c: t for c, t, _ in decisions}

    def choose(condition) -> bool:
        if condition.free_symbols & rename.keys():
            return decide_here[0](condition.xreplace(rename))
        return went.get(condition, True)

    decide_here: list = [None]

    def pieces(decide: Callable) -> tuple:
        decide_here[0] = decide
        local = _run_fresh(rec, call, fresh, _Replayer(fresh.real, [], choose))
        return tuple(as_expr(local[k].exprs.flat[i]).xreplace(rename) for k, i in block)

    return pieces


def _params(call: _Call) -> str:
    names = [a.name for a in call.func._schema.arguments]
    shown = []
    for k, v in list(enumerate(call.args)) + list(call.kwargs.items()):
        if isinstance(v, (bool, int, float)) and not isinstance(v, torch.Tensor):
            name = names[k] if isinstance(k, int) and k < len(names) else k
            shown.append(f"{name}={v!r}")
    return ", ".join(shown)
