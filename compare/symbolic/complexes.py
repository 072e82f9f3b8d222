"""Ops on complex tensors: real and imaginary parts, conjugates, phases, and the views between them.

An entry of a complex tensor is a SymPy expression in real symbols, `x + I*y`
for an input entry (`compare.wirtinger`), and arithmetic, `exp`, `log`, `pow`,
matrix products and sums need nothing more than SymPy's complex arithmetic.
What needs a meaning of its own is the boundary between complex and real:
`sympy.re`, `sympy.im` and `sympy.conjugate` of expressions of real symbols
(which SymPy expands: re((x + I*y)**2) is x**2 - y**2).

In torch, `view_as_real`, `view_as_complex`, `real`, `imag` and `conj` are
views (`conj` a lazy one, a bit on the tensor). Here their entries are
computed copies: a write through one of them would not reach its base. No
case writes through them; the dispatcher's write-through for views holds
for the real views it models as NumPy views (`shapes.py`).
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .elementwise import sign
from .registry import exprs, meaning, prim, ufunc

aten = torch.ops.aten

__all__ = ["real_part", "imaginary_part", "conjugate", "from_parts"]

_PARTS: dict = {}
"""u + i v -> (u, v), for entries made by `from_parts`: their parts are known without SymPy's re and im."""
PARTS_LIMIT = 100_000
"""Entries remembered at most (beyond, parts are found by SymPy again)."""


def _complex(x) -> bool:
    return isinstance(x, torch.Tensor) and x.dtype.is_complex


def from_parts(u, v):
    """u + i v for real expressions u and v, its parts remembered.

    SymPy finds the parts of a long sum (an entry of a Fourier transform)
    by asking of every term whether it is real, which costs seconds for a
    few dozen entries; an entry built from its parts needs no such question.
    """
    e = u + sympy.I * v
    if len(_PARTS) < PARTS_LIMIT and isinstance(e, sympy.Basic) and not e.is_Atom:
        _PARTS[e] = (u, v)
    return e


def real_part(e):
    """Re e, expanded (the argument's symbols are real)."""
    known = _PARTS.get(e)
    if known is not None:
        return known[0]
    return _explicit(sympy.re(e)) if not e.is_extended_real else e


def imaginary_part(e):
    """Im e, expanded."""
    known = _PARTS.get(e)
    if known is not None:
        return known[1]
    return _explicit(sympy.im(e)) if not e.is_extended_real else sympy.S.Zero


def _complex_looking(w) -> bool:
    return isinstance(w, sympy.Basic) and w.has(sympy.I)


def _modulus_of(w):
    """|w| = sqrt(Re(w)**2 + Im(w)**2), for a w that holds I."""
    return sympy.sqrt(real_part(w)**2 + imaginary_part(w)**2)


def _explicit(e):
    """`e` with the complex heads SymPy leaves in real and imaginary parts written in real terms.

    re(log(w)) is log(Abs(w)) and im(log(w)) is arg(w) to SymPy; with w = u + i v
    these are log(sqrt(u**2 + v**2)) and atan2(v, u), whose derivatives SymPy
    writes without `sign` of a complex number. SymPy's parts of a power of
    r = x**2 + y**2 (never negative) carry atan2(0, r), which is 0 wherever
    the power is defined (r > 0).
    """
    if not isinstance(e, sympy.Basic):
        return e
    e = e.replace(lambda a: isinstance(a, sympy.Abs) and _complex_looking(a.args[0]),
                  lambda a: _modulus_of(a.args[0]))
    e = e.replace(lambda a: isinstance(a, sympy.arg) and _complex_looking(a.args[0]),
                  lambda a: sympy.atan2(imaginary_part(a.args[0]), real_part(a.args[0])))
    return e.replace(lambda a: isinstance(a, sympy.atan2) and a.args[0] == 0 and a.args[1].is_nonnegative,
                     lambda a: sympy.S.Zero)


def conjugate(e):
    known = _PARTS.get(e)
    if known is not None:
        return from_parts(known[0], -known[1])
    return sympy.conjugate(e) if not e.is_extended_real else e


@meaning(aten.view_as_real)
def view_as_real(x):
    """(Re z, Im z) along a new last axis"""
    values = exprs(x)
    return np.stack([ufunc(real_part, 1)(values), ufunc(imaginary_part, 1)(values)], axis=-1) \
        if values.size else np.empty(values.shape + (2,), dtype=object)


@meaning(aten.view_as_complex)
def view_as_complex(x):
    """x[..., 0] + i x[..., 1]"""
    values = exprs(x)
    return ufunc(lambda a, b: a + sympy.I * b, 2)(values[..., 0], values[..., 1])


@meaning(aten.real, prim("real"))
def real(x):
    """Re z (z itself for a real tensor)"""
    return ufunc(real_part, 1)(exprs(x)) if _complex(x) else exprs(x)


@meaning(aten.imag, prim("imag"))
def imag(x):
    """Im z"""
    return ufunc(imaginary_part, 1)(exprs(x))


@meaning(aten.conj_physical, prim("conj_physical"), aten._conj, aten._conj_physical, aten.resolve_conj,
         aten.conj, prim("conj"))
def conj(x):
    """conj(z): x - i y (z itself for a real tensor)"""
    return ufunc(conjugate, 1)(exprs(x)) if _complex(x) else exprs(x)


def _modulus(e):
    return sympy.Abs(e)


@meaning(aten.angle)
def angle(x):
    """atan2(Im z, Re z); for a real x, 0 where x >= 0 and pi where x < 0 (torch's angle of a real)"""
    if _complex(x):
        return ufunc(lambda e: sympy.atan2(imaginary_part(e), real_part(e)), 1)(exprs(x))
    return ufunc(lambda e: sympy.Piecewise((sympy.pi, e < 0), (0, True)), 1)(exprs(x))


@meaning(aten.sgn)
def sgn(x):
    """z / |z| (0 at z = 0) for a complex z; sign(x) for a real x"""
    if not _complex(x):
        return ufunc(sign, 1)(exprs(x))
    def phase(e):
        if e == 0:
            return sympy.S.Zero
        r = sympy.sqrt(real_part(e)**2 + imaginary_part(e)**2)
        return real_part(e) / r + sympy.I * imaginary_part(e) / r

    return ufunc(phase, 1)(exprs(x))


@meaning(aten.abs, prim("abs"))
def abs_(x):
    """|z| = sqrt(Re(z)**2 + Im(z)**2) for a complex z; Abs(x) for a real x"""
    values = exprs(x)
    if _complex(x):
        return ufunc(lambda e: sympy.sqrt(real_part(e)**2 + imaginary_part(e)**2) if not e.is_number
                     else sympy.Abs(e), 1)(values)
    return ufunc(_modulus, 1)(values)


@meaning(aten.complex)
def complex_(re, im):
    """re + i im"""
    return ufunc(lambda a, b: a + sympy.I * b, 2)(exprs(re), exprs(im))


@meaning(aten.polar)
def polar(r, theta):
    """r (cos theta + i sin theta)"""
    return ufunc(lambda a, t: a * sympy.cos(t) + sympy.I * a * sympy.sin(t), 2)(exprs(r), exprs(theta))
