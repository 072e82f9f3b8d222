"""The discrete Fourier transforms: `_fft_r2c`, `_fft_c2c`, `_fft_c2r`, as exact linear maps.

Every `torch.fft` function (fft, ifft, rfft, irfft, hfft, ihfft and their
2-d and n-d forms, and `stft`) reaches one of these three ATen ops. Along
one dimension of length n the transform is

    X[k] = sum_j x[j] w**(j k),   w = exp(-2 pi i / n) forward, exp(+2 pi i / n) backward,

and over several dimensions (`dim`) the product of theirs (it is separable),
scaled by `normalization` as ATen's `fft_norm_mode` numbers it: 0 none,
1 by 1/sqrt(N), 2 by 1/N, with N the product of the signal's lengths over
`dim` (the output's lengths for c2r). The product w_1**(j_1 k_1) w_2**(j_2 k_2) ...
is one root of unity exp(2 pi i m / L), L = lcm(n_1, n_2, ..), taken from a
table of cos(2 pi m / L) and sin(2 pi m / L), which SymPy writes exactly
(rationals and square roots for L = 1, 2, 3, 4, 5, 6, 8, 10, 12; cos(2 pi / 7)
stays a closed symbol). So every output entry is one sum over the input's
entries, not a transform of transforms.

An entry is kept as u + i v with u and v real expressions, computed from
the parts of the input's entries, so that the real and imaginary parts of
an output are read off without expanding products of complex sums.

- r2c (real input, always forward): `onesided` keeps k = 0 .. n//2 of the
  last dimension in `dim` (the rest are conjugates of those).
- c2c: `forward` chooses the sign.
- c2r (always backward): the input's last dimension in `dim` holds
  X[0 .. N//2] (or all N entries, of which those are read) of a Hermitian
  spectrum of length N = `last_dim_size`, the other half being conj(X[N - k]).
  Along it the real output is x[t] = sum_{k=0}^{N//2} c_k Re(X[k] w**(k t)),
  c_k = 1 for k = 0 and for k = N/2 (N even), 2 otherwise: the imaginary parts
  of X[0] and X[N/2] do not reach it, as in pocketfft and MKL. The other
  dimensions in `dim` are transformed c2c backward (torch does them first; Re
  is real-linear, so they enter the same one sum).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy
import torch

from .complexes import from_parts, imaginary_part, real_part
from .registry import exprs, meaning, ufunc

aten = torch.ops.aten

__all__ = ["roots_of_unity"]


@lru_cache(maxsize=None)
def roots_of_unity(n: int) -> tuple[tuple[sympy.Expr, ...], tuple[sympy.Expr, ...]]:
    """(cos(2 pi m / n), sin(2 pi m / n)) for m = 0 .. n-1, exactly, in the cosines' canonical form."""
    angles = [2 * sympy.pi * sympy.Rational(m, n) for m in range(n)]
    cos = [sympy.cos(a) for a in angles]
    for q in sorted((q for q in range(7, n + 1, 2) if n % q == 0), reverse=True):
        cos = [c.xreplace(_cosine_relation(q)) for c in cos]
    return tuple(cos), tuple(sympy.sin(a) for a in angles)


@lru_cache(maxsize=None)
def _cosine_relation(q: int) -> dict:
    """{cos(pi/q): 1/2 + sum_{k=2}^{M} (-1)**k cos(k pi/q)} for an odd q = 2M + 1 (else {}).

    SymPy writes cos(2 pi m / q) as +-cos(k pi / q) with 1 <= k <= M, and these
    M numbers satisfy one rational relation, sum_{k=1}^{M} (-1)**(k+1) cos(k pi/q)
    = 1/2 (the q-th roots of unity sum to 0). Left implicit, a sum that is 0
    by it (the gradient of a full period of the transform) is a sum of cosines
    that evaluates to a tiny number of no digits, which costs `to_float` its
    deepest precision. Written out for cos(pi/q), such sums cancel in SymPy's
    own arithmetic. For a prime q no other relation holds (the cosines
    left are independent over the rationals), so the cancellation is complete.
    Only where SymPy leaves cos(pi/q) a closed symbol (q = 7, 9, 11, 13, 17, ...).
    """
    atom = sympy.cos(sympy.pi / q)
    if q % 2 == 0 or atom.func is not sympy.cos:
        return {}
    rest = sympy.Add(*[(-1)**k * sympy.cos(k * sympy.pi / q) for k in range(2, (q - 1) // 2 + 1)])
    return {atom: sympy.Rational(1, 2) + rest}


def _split(x) -> tuple[np.ndarray, np.ndarray]:
    """(Re, Im) of a tensor's entries: real expressions (zeros for a real tensor)."""
    values = exprs(x)
    if not (isinstance(x, torch.Tensor) and x.dtype.is_complex):
        return values, np.full(values.shape, sympy.S.Zero, dtype=object)
    return ufunc(real_part, 1)(values), ufunc(imaginary_part, 1)(values)


def _exponents(sizes: list[int], outs: list[int]) -> tuple[int, np.ndarray]:
    """(L, M): M[k, j] = sum_d j_d k_d L / n_d mod L, over the flat output index k (lengths `outs`) and
    input index j (lengths `sizes`), for L = lcm of the lengths: w_1**(j_1 k_1) w_2**(j_2 k_2) ... is
    the one root of unity exp(2 pi i M[k, j] / L)."""
    period = math.lcm(*sizes) if sizes else 1
    steps = np.array([period // n for n in sizes], dtype=np.int64)
    ins = np.array(list(np.ndindex(*sizes)), dtype=np.int64).reshape(-1, len(sizes))
    found = np.array(list(np.ndindex(*outs)), dtype=np.int64).reshape(-1, len(outs))
    return period, (found * steps) @ ins.T % period


def _lines(re: np.ndarray, im: np.ndarray, dims: list[int]):
    """The parts moved so that `dims` come last (in their order), and how to move an answer back."""
    rest = [d for d in range(re.ndim) if d not in dims]
    order = rest + dims
    back = list(np.argsort(order))
    return np.transpose(re, order), np.transpose(im, order), len(rest), back


def _transform(re: np.ndarray, im: np.ndarray, dims: list[int], sign: int, keep: int | None = None):
    """The DFT over `dims` with w = exp(sign 2 pi i / n) per dimension, of the parts (re, im); along
    dims[-1] only k < keep. All of `dims` at once: each output entry is one sum over the input's entries
    with one root of unity each, not a transform of transforms (nested sums cost the derivative)."""
    re, im, lead, back = _lines(re, im, dims)
    sizes = list(re.shape[lead:])
    outs = sizes[:-1] + [sizes[-1] if keep is None else keep]
    period, exponent = _exponents(sizes, outs)
    cos, sin = roots_of_unity(period)
    out_re = np.empty(re.shape[:lead] + tuple(outs), dtype=object)
    out_im = np.empty(out_re.shape, dtype=object)
    for idx in np.ndindex(*re.shape[:lead]):
        xr, xi = re[idx].reshape(-1), im[idx].reshape(-1)
        real_out, imaginary_out = out_re[idx].reshape(-1), out_im[idx].reshape(-1)
        for k, row in enumerate(exponent):
            real_terms, imaginary_terms = [], []
            for j, m in enumerate(row.tolist()):
                c, s = cos[m], sign * sin[m]
                # (xr + i xi)(c + i s) = (xr c - xi s) + i (xi c + xr s)
                real_terms += [xr[j] * c, -xi[j] * s]
                imaginary_terms += [xi[j] * c, xr[j] * s]
            real_out[k], imaginary_out[k] = sympy.Add(*real_terms), sympy.Add(*imaginary_terms)
        out_re[idx], out_im[idx] = real_out.reshape(outs), imaginary_out.reshape(outs)
    return np.transpose(out_re, back), np.transpose(out_im, back)


def _hermitian_to_real(re: np.ndarray, im: np.ndarray, dims: list[int], n: int) -> np.ndarray:
    """x[t] = sum_k c_{k_last} Re(X[k] exp(2 pi i sum_d k_d t_d / n_d)) over dims, k_last <= n//2
    (see the module's docstring): the c2c transforms of the other dims and the last one's c2r in one sum."""
    re, im, lead, back = _lines(re, im, dims)
    half = n // 2 + 1
    if re.shape[-1] not in (half, n):  # torch's own kernel accepts these two (and reads the first half)
        raise ValueError(f"_fft_c2r of length {n} needs {half} or {n} entries along its last dimension, "
                         f"the input has {re.shape[-1]}")
    re, im = re[..., :half], im[..., :half]
    outs = list(re.shape[lead:-1]) + [n]
    period, exponent = _exponents(outs, list(re.shape[lead:]))  # M[k, t]: the same sum, read the other way
    cos, sin = roots_of_unity(period)
    weight = [1 if k == 0 or 2 * k == n else 2 for k in range(half)] * (exponent.shape[0] // half)
    out = np.empty(re.shape[:lead] + tuple(outs), dtype=object)
    for idx in np.ndindex(*re.shape[:lead]):
        xr, xi = re[idx].reshape(-1), im[idx].reshape(-1)
        flat = out[idx].reshape(-1)
        for t, column in enumerate(exponent.T):
            # Re((xr + i xi)(c + i s)) = xr c - xi s
            flat[t] = sympy.Add(*[weight[k] * (xr[k] * cos[m] - xi[k] * sin[m])
                                  for k, m in enumerate(column.tolist())])
        out[idx] = flat.reshape(outs)
    return np.transpose(out, back)


def _scale(normalization: int, sizes: list[int]):
    """The factor of ATen's fft_norm_mode: 0 none, 1 by_root_n, 2 by_n."""
    count = int(np.prod(sizes, dtype=int))
    if normalization == 0 or count == 0:
        return sympy.S.One
    if normalization == 1:
        return 1 / sympy.sqrt(count)
    if normalization == 2:
        return sympy.Rational(1, count)
    raise ValueError(f"fft normalization {normalization} is none of ATen's 0, 1, 2")


def _dims(dim, ndim: int) -> list[int]:
    return [d % ndim for d in dim]


def _complex(re: np.ndarray, im: np.ndarray, factor) -> np.ndarray:
    return ufunc(lambda u, v: from_parts(factor * u, factor * v), 2)(re, im)


@meaning(aten._fft_r2c)
def fft_r2c(x, dim, normalization, onesided):
    """the forward DFT over dim of a real tensor (onesided: k <= n//2 along dim[-1])"""
    re, im = _split(x)
    dims = _dims(dim, re.ndim)
    sizes = [re.shape[d] for d in dims]
    re, im = _transform(re, im, dims, -1, sizes[-1] // 2 + 1 if onesided else None)
    return _complex(re, im, _scale(normalization, sizes))


@meaning(aten._fft_c2c)
def fft_c2c(x, dim, normalization, forward):
    """the DFT over dim, w = exp(-2 pi i / n) forward, exp(2 pi i / n) backward"""
    re, im = _split(x)
    dims = _dims(dim, re.ndim)
    if dims:
        re, im = _transform(re, im, dims, -1 if forward else 1)
    return _complex(re, im, _scale(normalization, [re.shape[d] for d in dims]))


@meaning(aten._fft_c2r)
def fft_c2r(x, dim, normalization, last_dim_size):
    """the backward DFT over dim of a Hermitian spectrum, real, of length last_dim_size along dim[-1]"""
    re, im = _split(x)
    dims = _dims(dim, re.ndim)
    out = _hermitian_to_real(re, im, dims, int(last_dim_size))
    factor = _scale(normalization, [out.shape[d] for d in dims])
    return ufunc(lambda u: factor * u, 1)(out)
