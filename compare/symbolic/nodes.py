"""One SymPy node per entry of a matrix function: its value from Arb's balls, its partials exact.

A function of a matrix that has no closed form in its entries (an
eigenvalue, a singular value, exp(A), A^-1 past 4 x 4) is written as one
node per output entry, whose arguments are the matrix's entries: SymPy
differentiates through it by the chain rule (`fdiff`, the node's own
partials), and `compare.exact.ball` evaluates it through `_eval_ball`, so that
its value at a point is a ball that contains the exact value. `MatrixNode` is
that shape for the nodes of `spectral.py`, `singular.py`, `general_eig.py`
and `expm.py`; `PartialNode` a node for one partial derivative of another,
where writing it out would repeat long sums in every entry of a gradient.
"""
from __future__ import annotations

import functools
import math

import flint
import mpmath
import numpy as np
import sympy

from . import eigen
from .switches import OwnBoundary

__all__ = ["ChainRule", "MatrixNode", "PartialNode", "Repeating", "add", "square", "number"]

_ZERO = sympy.Integer(0)


class ChainRule:
    """SymPy's chain rule through a node, over the arguments that hold the variable only.

    `Function._eval_derivative` differentiates every argument (a 12 x 12
    inverse's 144 entries, for each of 144 variables: three million calls
    of `diff`); an argument without the variable contributes nothing.
    """

    def _eval_derivative(self, s):
        terms = []
        for i in self._holding(s):
            a = self.args[i - 1]
            da = sympy.S.One if a is s else a.diff(s)  # an entry that is the variable itself: no `diff`
            if da.is_zero:
                continue
            terms.append(self.fdiff(i) * da)
        return sympy.Add(*terms)

    def _holding(self, s) -> list[int]:
        """The (1-based) positions of the arguments whose free symbols hold `s`, found once per node."""
        where = self.__dict__.get("_where")
        if where is None:
            where = {}
            for i, a in enumerate(self.args, start=1):
                for symbol in a.free_symbols:
                    where.setdefault(symbol, []).append(i)
            self.__dict__["_where"] = where
        return where.get(s, [])


def number(value, prec: int):
    """A SymPy number as an exact fmpq, or as an arb of `prec` bits; None where it is not a real number."""
    if isinstance(value, sympy.Rational):
        return flint.fmpq(int(value.p), int(value.q))
    v = value.evalf(prec)
    if not (v.is_number and v.is_real and v.is_finite):
        return None
    mantissa, exponent = v._to_mpmath(prec).man_exp
    return flint.arb(mantissa) * flint.arb(2) ** int(exponent)


def _float(x: flint.arb, prec: int):
    """An arb's midpoint as a SymPy Float of `prec` bits (NaN for a ball that is not finite)."""
    if not x.is_finite():
        return sympy.nan
    mantissa, exponent = x.mid().man_exp()
    with mpmath.workprec(max(prec, int(mantissa).bit_length() + 1)):  # mpf rounds to the working precision
        return sympy.Float(mpmath.mpf((int(mantissa), int(exponent))), prec)


def _fraction(x: float) -> flint.fmpq:
    return flint.fmpq(*float(x).as_integer_ratio())


class MatrixNode(ChainRule, sympy.Function):
    """A node of one matrix's decomposition: `args` are (part, k, i, *shape, *entries)."""

    dims = 1
    """How many of the arguments after (part, k, i) give the shape: n, or m and n."""
    is_real = True

    @classmethod
    def value_at(cls, head: tuple, entries: tuple, prec: int) -> flint.arb:
        """The node's value as a ball: `head` is (part, k, i, *shape) as ints, `entries` numbers or balls."""
        raise NotImplementedError

    @property
    def head(self) -> tuple:
        return tuple(int(v) for v in self.args[:3 + self.dims])

    @property
    def shape(self) -> tuple:
        return self.shape_of(self.head)

    @classmethod
    def shape_of(cls, head: tuple) -> tuple:
        """The matrix's shape, from the node's (part, k, i, *shape)."""
        return (head[3], head[3])

    @property
    def entries(self) -> tuple:
        return self.args[3 + self.dims:]

    def node(self, part: int, k: int, i: int):
        """Another node of the same matrix."""
        return type(self)(sympy.Integer(part), sympy.Integer(k), sympy.Integer(i), *self.args[3:])

    def entry(self, a: int, b: int):
        """The matrix's entry (a, b)."""
        return self.entries[a * self.shape[1] + b]

    def _entry_index(self, argindex: int) -> tuple[int, int]:
        """(a, b) of the matrix entry that argument `argindex` (1-based) is."""
        first = 4 + self.dims
        if argindex < first:
            raise sympy.ArgumentIndexError(self, argindex)
        return divmod(argindex - first, self.shape[1])

    def _eval_evalf(self, prec):
        values = tuple(number(a, prec + 20) for a in self.entries)
        if any(v is None for v in values):
            return None
        return _float(self.value_at(self.head, values, prec + 10), prec)

    def _eval_ball(self, args: list):
        """The node on Arb's balls (`compare.exact.ball`): `args` are its arguments' balls, arrays over points."""
        entries = args[3 + self.dims:]
        shape = np.broadcast_shapes(*(np.shape(a) for a in entries))
        columns = [np.broadcast_to(np.asarray(a, dtype=object), shape) for a in entries]
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            out[idx] = self.value_at(self.head, tuple(c[idx] for c in columns), flint.ctx.prec)
        return out if shape else out[()]

    @classmethod
    def _imp_(cls, *args):
        """Float64 values at many points (NumPy arrays), for `lambdify` (the explorer's sampled search)."""
        head = tuple(int(a) for a in args[:3 + cls.dims])
        columns = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args[3 + cls.dims:]))
        out = np.empty(columns[0].shape)
        for idx in np.ndindex(*out.shape):
            value = cls.value_at(head, tuple(_fraction(c[idx]) for c in columns), 53)
            out[idx] = float(value.mid()) if value.is_finite() else math.nan
        return out if out.shape else float(out[()])


class Repeating(OwnBoundary):
    """A node of eigenvalue (or singular value) k of a matrix, or of its vectors: a switch whose boundary
    is where value k is not a simple root (it repeats; or, a singular value, it is 0 and the matrix is
    rank-deficient), as `compare.kinks.spectral` judges it."""

    @classmethod
    def decomposition(cls, head: tuple, entries: tuple, prec: int) -> eigen.Decomposition | None:
        """The matrix's decomposition (`eigen.py`) from the node's (part, k, i, *shape) and its entries."""
        raise NotImplementedError

    def on_boundary(self, values: list) -> bool:
        head = tuple(int(v) for v in values[:3 + self.dims])
        entries = tuple(number(sympy.sympify(v), 128) for v in values[3 + self.dims:])
        if any(e is None for e in entries):
            return False
        d = self.decomposition(head, entries, 128)
        return d is not None and head[1] < len(d.simple) and not d.simple[head[1]]


def add(values: list):
    """A sum of SymPy expressions (one `Add`) or of balls."""
    if not values:
        return _ZERO
    if isinstance(values[0], sympy.Basic):
        return sympy.Add(*values)
    return sum(values[1:], values[0])


def square(x):
    """x**2; on a ball, x*x (Arb's power of a ball around 0 is NaN)."""
    return x ** 2 if isinstance(x, sympy.Basic) else x * x


class PartialNode(MatrixNode):
    """The partial derivative of one node of `owner` by the matrix entry A_ab: `args` are the owner's
    (part, k, i, *shape), then a and b, then the entries. Its value is `owner.formula` on Arb's balls;
    its own partials differentiate that formula written out (in generic entries, once per position)."""

    owner: type

    @property
    def dims(self) -> int:
        return self.owner.dims + 2

    @property
    def shape(self) -> tuple:
        return self.owner.shape_of(self.head[:3 + self.owner.dims])

    @classmethod
    def value_at(cls, head, entries, prec):
        base, (a, b) = head[:-2], head[-2:]
        # the formula's sums cancel where eigenvalues are close (terms of 1 / gap): guard bits for them
        with flint.ctx.workprec(prec + eigen.GUARD_BITS):
            return cls.owner.partial_on_balls(base, a, b, entries, prec)

    @classmethod
    def _imp_(cls, *args):
        raise TypeError("a partial derivative node is never compared by the explorer")

    def fdiff(self, argindex: int = 1):
        c, e = self._entry_index(argindex)
        base, (a, b) = self.head[:-2], self.head[-2:]
        generic = _second(self.owner, base, a, b, c * self.shape[1] + e)
        return generic.xreplace(dict(zip(_generic(len(self.entries)), self.entries)))


@functools.lru_cache(maxsize=None)
def _generic(count: int) -> tuple:
    """Real symbols standing for a matrix's entries, for the written-out second derivatives."""
    return tuple(sympy.Dummy(f"a{e}", real=True) for e in range(count))


@functools.lru_cache(maxsize=4096)
def _second(owner: type, base: tuple, a: int, b: int, e: int):
    """d/d A_e of d (owner's node `base`) / d A_ab, written out, in the entries `_generic`."""
    rows, cols = owner.shape_of(base)
    entries = _generic(rows * cols)
    node = owner(*map(sympy.Integer, base), *entries)
    return node.formula(base, a, b).diff(entries[e])
