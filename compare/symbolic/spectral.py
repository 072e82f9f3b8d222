"""Eigenvalues, eigenvectors and singular values as SymPy nodes: exact values, exact derivatives.

An eigenvalue of a rational matrix is a root of p(x, A) = det(x I - A),
and no formula in radicals gives it past degree 4. So, as `inverse.py`
does for A^-1, each entry is one node of the matrix's entries: its value
at a point is the exact algebraic number, enclosed in Arb's balls
(`eigen.py`), and its partial derivatives are the implicit ones.

For a simple eigenvalue lambda_k, implicit differentiation of
p(lambda_k(A), A) = 0 gives d lambda_k / d A_ab = -(dp/dA_ab) / (dp/dx),
and dp/dA_ab = -adj(x I - A)_ba, dp/dx = tr adj(x I - A); at x = lambda_k,
adj(x I - A) = p'(lambda_k) v_k w_k^T (v_k right, w_k left eigenvector,
w_k^T v_k = 1), so

    d lambda_k / d A_ab = w_k[a] v_k[b].

Differentiating (A - lambda_k) v_k = 0 the same way, with each v_k of unit
length, gives for the right eigenvectors

    d v_k / d A_ab = sum_{j != k} v_j w_j[a] v_k[b] / (lambda_k - lambda_j) + c v_k,
    c = -Re(v_k^H sum_{j != k} ...),

and W = V^-1 gives d W = -W dV W for the left ones. Each partial is an
expression in nodes of the same matrix, so second derivatives follow by
differentiating again. For a symmetric A (`eigh_entry`), W = V^T and the
sum is orthogonal to v_k (c = 0); `tests/test_spectral.py` checks these
partials against SymPy's own implicit derivative of the characteristic
polynomial and against high-precision differences.

A complex eigenvector is unique only up to its phase: its derivative is
taken in the gauge where the phase does not turn (Im(v_k^H dv_k) = 0),
while its value is in LAPACK's gauge. The two agree for every function of
the vectors that does not depend on their phases, which is the only kind
whose gradient PyTorch defines (torch.linalg.eig's documentation; its
backward raises for any other).

A singular value sigma_k of A (m >= n; a wide A is its transpose) is the
square root of an eigenvalue of G = A^T A, with v_k G's eigenvector and
u_k = A v_k / sigma_k:

    d sigma_k / d A_ab = u_k[a] v_k[b],
    d v_k / d A_ab = sum_{j != k} v_j (sigma_k u_k[a] v_j[b] + (A v_j)[a] v_k[b]) / (sigma_k^2 - sigma_j^2),
    d u_k = (dA v_k + A dv_k - u_k d sigma_k) / sigma_k.
"""
from __future__ import annotations

import functools
import math

import flint
import mpmath
import numpy as np
import sympy

from . import eigen

__all__ = ["eigh_entry", "VALUE", "VECTOR", "U", "add", "square"]

VALUE, VECTOR = 0, 1
"""`eigh_entry`'s and `svd_entry`'s parts: eigenvalue k (sigma_k), or entry i of eigenvector k (v_k[i])."""
U = 2
"""`svd_entry`'s third part: u_k[i], entry i of U's column k."""

_ZERO = sympy.Integer(0)


def _number(value, prec: int):
    """A SymPy number as an exact fmpq, or as an arb of `prec` bits; None where it is not a real number."""
    if isinstance(value, sympy.Rational):
        return flint.fmpq(int(value.p), int(value.q))
    v = value.evalf(prec)
    if not (v.is_number and v.is_real and v.is_finite):
        return None
    mantissa, exponent = v._to_mpmath(prec).man_exp
    return flint.arb(mantissa) * flint.arb(2) ** int(exponent)


def _float(x: flint.arb, prec: int):
    """An arb's midpoint as a SymPy Float (NaN for a ball that is not finite)."""
    if not x.is_finite():
        return sympy.nan
    mantissa, exponent = x.mid().man_exp()
    return sympy.Float(mpmath.mpf((int(mantissa), int(exponent))), prec)


def _fraction(x: float) -> flint.fmpq:
    return flint.fmpq(*float(x).as_integer_ratio())


class _Node(sympy.Function):
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
        values = tuple(_number(a, prec + 20) for a in self.entries)
        if any(v is None for v in values):
            return None
        return _float(self.value_at(self.head, values, prec + 10), prec)

    def _eval_ball(self, args: list):
        """The node on Arb's balls (`compare.ball`): `args` are its arguments' balls, arrays over points."""
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


def _at(d: eigen.Decomposition | None, pick) -> flint.arb:
    return flint.arb.nan() if d is None else pick(d)


class eigh_entry(_Node):
    """lambda_k (ascending, as torch.linalg.eigh) or v_k[i] of the real symmetric n x n matrix given by
    its entries, row by row: `eigh_entry(part, k, i, n, upper, a_00, a_01, ...)`; `upper` (0 or 1) is the
    triangle LAPACK reads, on which the signs it gives the vectors depend."""

    dims = 2

    @classmethod
    def value_at(cls, head, entries, prec):
        part, k, i, n, upper = head
        d = eigen.symmetric(entries, (n, n), prec, "U" if upper else "L")
        return _at(d, lambda d: (d.values[k] if part == VALUE else d.right[k][i]).real)

    def fdiff(self, argindex: int = 1):
        a, b = self._entry_index(argindex)
        part, k, i = self.head[:3]
        vec = lambda r, c: self.node(VECTOR, c, r)  # noqa: E731  v_c[r]
        if part == VALUE:
            return vec(a, k) * vec(b, k)
        val = lambda c: self.node(VALUE, c, 0)  # noqa: E731
        return sympy.Add(*(vec(i, j) * vec(a, j) * vec(b, k) / (val(k) - val(j))
                           for j in range(self.shape[0]) if j != k))

    def _latex(self, printer, exp=None):
        part, k, i = self.head[:3]
        base = rf"\lambda_{{{k + 1}}}" if part == VALUE else rf"\left(v_{{{k + 1}}}\right)_{{{i + 1}}}"
        return base if exp is None else rf"\left({base}\right)^{{{exp}}}"


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


class _Partial(_Node):
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
