"""Complex inputs and outputs, checked as real functions of real and imaginary parts.

A complex input `z` (complex64 or complex128) enters the rest of compare as its
real view (`torch.view_as_real`: a last axis of two, holding x = Re z and
y = Im z, real symbols `z_re` and `z_im`); the case's function is called with
`torch.view_as_complex` of it, so its own code sees `z` and autograd runs its
own backward formulas (and a custom Function's backward) on complex tensors.
A complex output leaves as its real view, (u, v) = (Re w, Im w).

Why this is PyTorch's convention, exactly (autograd notes, "Autograd for
Complex Numbers"): for a real-valued L, `z.grad` is dL/dx + i dL/dy, which is
2 dL/d(conj z), twice the conjugate Wirtinger derivative. Its real view is
(dL/dx, dL/dy): the gradient of L with respect to the real view. So the exact
gradient with respect to the real symbols is the convention itself, with
nothing converted, and `view_as_complex`'s backward (which is `view_as_real`
of the incoming gradient) only relabels autograd's answer.

A complex output w = u + i v is two real functions, as gradcheck checks it: a
row of the real view's Jacobian is a vector-Jacobian product with a cotangent
1 on one u (a real cotangent, grad_output = 1) or on one v (an imaginary one,
grad_output = i). For a holomorphic f (Cauchy-Riemann: u_x = v_y, u_y = -v_x)
the vector-Jacobian product is conj(f'(z)) times the incoming gradient, which
is what a hand-written backward must return; `f'(z)` without the conjugate is
the classic mistake, and only the imaginary parts show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np
import sympy
import torch

__all__ = ["PARTS", "ComplexNote", "complex_function", "complex_inputs", "complex_symbols", "as_complex",
           "backward_error", "describe", "HOLOMORPHIC_LIMIT"]

PARTS: Mapping[torch.dtype, torch.dtype] = MappingProxyType({torch.complex64: torch.float32,
                                                             torch.complex128: torch.float64})
"""A complex dtype -> the real dtype of its parts: the dtype its real view computes in."""

HOLOMORPHIC_LIMIT = 400
"""Largest number of (output entry, input entry) pairs for which Cauchy-Riemann is decided."""


@dataclass(frozen=True)
class ComplexNote:
    """What a case with complex inputs or output computes, as its page explains it."""

    inputs: Mapping[str, str]
    """Complex input name -> its dtype ("complex64")."""
    output: str
    """The output's dtype ("complex64", "float32")."""
    gradient: Mapping[str, np.ndarray]
    """Per complex input, the exact gradient of out.sum() (of the output's real view for a complex
    output) in PyTorch's convention, dL/dx + i dL/dy, as complex expressions (first piece)."""
    holomorphic: bool | None
    """A complex output that satisfies Cauchy-Riemann in every complex input (exactly, first piece);
    None where that is not decided (a real output, or too many entries)."""
    derivative: np.ndarray | None = None
    """For a holomorphic function of one complex input of one entry: f'(z) = u_x + i v_x per output entry."""


def complex_inputs(fn: Callable) -> Mapping[str, torch.dtype]:
    """The complex inputs of a function made by `complex_function` (name -> complex dtype), else {}."""
    return getattr(fn, "__compare_complex__", MappingProxyType({}))


def complex_function(fn: Callable, inputs: Mapping[str, Any]) -> tuple[Callable, dict[str, Any]]:
    """(function of the real views, inputs by name with each complex tensor as its real view).

    `fn` and `inputs` come back unchanged when no input is a complex tensor.
    """
    kinds = {n: v.dtype for n, v in inputs.items() if isinstance(v, torch.Tensor) and v.dtype in PARTS}
    if not kinds:
        return fn, dict(inputs)

    def call(**given):
        args = {n: torch.view_as_complex(v) if n in kinds else v for n, v in given.items()}
        out = fn(**args)
        return torch.view_as_real(out) if isinstance(out, torch.Tensor) and out.dtype.is_complex else out

    call.__name__ = call.__qualname__ = getattr(fn, "__name__", "f")
    call.__wrapped__ = fn  # its source and its signature are fn's
    for attribute in ("__compare_parameters__", "__compare_positions__"):
        if hasattr(fn, attribute):
            setattr(call, attribute, getattr(fn, attribute))
    call.__compare_complex__ = MappingProxyType(kinds)
    call.__compare_original__ = fn
    real = {n: torch.view_as_real(v.detach().resolve_conj()).clone() if n in kinds else v for n, v in inputs.items()}
    return call, real


def complex_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Real symbols for a complex input's real view: `z_re, z_im`, or `z_0_re, z_0_im, ...`."""
    out = np.empty(tuple(shape) + (2,), dtype=object)
    for index in np.ndindex(*shape):
        stem = name + "".join("_" + str(i) for i in index)
        out[index + (0,)] = sympy.Symbol(stem + "_re", real=True)
        out[index + (1,)] = sympy.Symbol(stem + "_im", real=True)
    return out


def as_complex(values: np.ndarray) -> np.ndarray:
    """An array whose last axis is (real part, imaginary part) as complex SymPy expressions."""
    out = np.frompyfunc(lambda a, b: a + sympy.I * b, 2, 1)(values[..., 0], values[..., 1])
    return out if isinstance(out, np.ndarray) else np.array(out, dtype=object)


def _complex_point(fn: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype) -> dict:
    kinds = complex_inputs(fn)
    return {n: torch.view_as_complex(v.detach().to(dtype).contiguous()).requires_grad_() if n in kinds
            else v.detach().to(dtype).requires_grad_() for n, v in point.items()}


def backward_error(fn: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype) -> str | None:
    """What plain `out.backward()` raises on the complex output itself (not its real view), or None."""
    original = getattr(fn, "__compare_original__", fn)
    out = original(**_complex_point(fn, point, dtype))
    try:
        out.backward()
    except RuntimeError as e:
        return str(e).strip().splitlines()[0]
    return None


def output_dtype(fn: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype) -> torch.dtype:
    """The dtype of the function's own output at a point (one forward run, without grad)."""
    original = getattr(fn, "__compare_original__", fn)
    with torch.no_grad():
        return original(**{n: v.detach() for n, v in _complex_point(fn, point, dtype).items()}).dtype


def describe(fn: Callable, point: Mapping[str, torch.Tensor], dtype: torch.dtype, output: np.ndarray,
             gradient: Mapping[str, np.ndarray], symbols: Mapping[str, np.ndarray]) -> ComplexNote | None:
    """The page's account of a case with complex inputs (None for a case without): its output's dtype,
    its gradient in complex form, and whether it is holomorphic, from the first piece's `output`
    (the real view's entries) and `gradient` (with respect to the real views)."""
    kinds = complex_inputs(fn)
    if not kinds:
        return None
    out_dtype = output_dtype(fn, point, dtype)
    grads = {n: as_complex(gradient[n]) for n in kinds}
    holomorphic = derivative = None
    if out_dtype.is_complex:
        holomorphic, derivative = _cauchy_riemann(as_complex(output), {n: symbols[n] for n in kinds},
                                                  real_rest=len(kinds) < len(symbols))
    return ComplexNote(inputs={n: str(d).replace("torch.", "") for n, d in kinds.items()},
                       output=str(out_dtype).replace("torch.", ""), gradient=grads,
                       holomorphic=holomorphic, derivative=derivative)


def _cauchy_riemann(output: np.ndarray, symbols: Mapping[str, np.ndarray],
                    real_rest: bool) -> tuple[bool | None, np.ndarray | None]:
    """(holomorphic in every complex input, f'(z) for one single-entry input or None).

    f = u + i v is holomorphic in z = x + i y where u_x = v_y and u_y = -v_x:
    equivalently df/dy = i df/dx, checked exactly, entry by entry.
    """
    pairs = [(s[..., 0].flat, s[..., 1].flat) for s in symbols.values()]
    if output.size * sum(s.size // 2 for s in symbols.values()) > HOLOMORPHIC_LIMIT:
        return None, None
    for w in output.flat:
        for xs, ys in pairs:
            for x, y in zip(xs, ys):
                if not _zero(sympy.diff(w, y) - sympy.I * sympy.diff(w, x)):
                    return False, None
    derivative = None
    if len(symbols) == 1 and not real_rest and next(iter(symbols.values())).size == 2:
        x = next(iter(symbols.values()))[..., 0].flat[0]
        derivative = np.vectorize(lambda w: sympy.simplify(sympy.diff(w, x)), otypes=[object])(output)
    return True, derivative


def _zero(expr: sympy.Expr) -> bool:
    """Is `expr` exactly 0? (SymPy's simplification; undecided counts as not 0.)

    A value other than 0 at one point settles it first: `simplify` cannot make such an
    expression 0, and spends seconds failing to (exp(z) * conj(z) + |z|, one entry).
    """
    expr = sympy.expand_complex(expr)
    if expr == 0:
        return True
    if _nonzero_at_a_point(expr):
        return False
    return sympy.simplify(expr) == 0


def _nonzero_at_a_point(expr: sympy.Expr) -> bool:
    """Is `expr` certainly not 0 at a fixed rational point (its k-th symbol at 1/2 + k/7)?

    Evaluated with `strict`: SymPy raises rather than give a value without its 30 digits, so a
    value it gives that is not 0 is not 0. At a pole, or where SymPy cannot evaluate, this
    decides nothing (False).
    """
    symbols = sorted(expr.free_symbols, key=sympy.default_sort_key)
    point = {s: sympy.Rational(1, 2) + sympy.Rational(k, 7) for k, s in enumerate(symbols)}
    try:
        value = expr.xreplace(point).evalf(30, strict=True)
    except Exception:  # PrecisionExhausted, or an expression evalf does not take
        return False
    if not value.is_number or value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return False
    re, im = value.as_real_imag()
    return any(isinstance(part, sympy.Float) and part != 0 for part in (re, im))
