"""`SymTensor`: a tensor of SymPy expressions that answers PyTorch's API.

It is not a `torch.Tensor` subclass. It holds an object array of SymPy
expressions and takes part in PyTorch's `__torch_function__` protocol, so
`torch.dot(x, x)`, `x.sum()` and `2 * x` reach one dispatch table, `OPS`,
keyed by the torch callable (`torch.add`, `torch.Tensor.add`,
`torch.Tensor.__add__`, ...). `compare.ops` fills the table.

A branch on a symbolic condition (`if b.sum() > 0:`) calls `bool()` on a
SymTensor of relations; the answer comes from `BRANCH`, the decider that the
path explorer installs for the run.
"""
from __future__ import annotations

import contextvars
import os
from typing import Any, Callable

import numpy as np
import sympy
import torch

from .sym import as_expr, detach, exact

__all__ = ["SymTensor", "OPS", "op", "as_sym", "UnsupportedOp", "BRANCH", "NeedsValue", "user_site"]

OPS: dict[Callable, Callable] = {}
"""torch callable -> implementation taking the same arguments."""

_DETACH = np.frompyfunc(detach, 1, 1)

BRANCH: contextvars.ContextVar = contextvars.ContextVar("compare_branch")
"""The decider of the current symbolic run: `decide(condition, site) -> bool`."""

_HERE = os.path.dirname(os.path.abspath(__file__))
_TORCH = os.path.dirname(os.path.abspath(torch.__file__))


class UnsupportedOp(TypeError):
    """An op that the symbolic side does not implement."""

    def __init__(self, name: str):
        super().__init__(f"op {name} is not supported on symbolic tensors")
        self.op = name


def _grad_mode(out):
    """What an op returns, as torch's grad mode makes it.

    Under `torch.no_grad()` (or `set_grad_enabled(False)`, or a function
    decorated with either) torch records nothing: the result is a constant
    to autograd. Symbolically that is `detach` on every entry, which keeps
    the value and has derivative 0. The exception is the forward of a custom
    `autograd.Function`, which torch always runs without grad: its backward
    gives the derivative there, and the exact one is that of the forward.
    """
    if torch.is_grad_enabled() or _in_function_forward():
        return out
    if isinstance(out, SymTensor) and out.dtype.is_floating_point:
        return SymTensor(_DETACH(out.data), out.dtype)
    if isinstance(out, tuple):
        items = [_grad_mode(o) for o in out]
        return type(out)(items) if not hasattr(out, "_fields") else type(out)(*items)
    return out


_APPLY = torch.autograd.Function.apply.__func__.__code__


def _in_function_forward() -> bool:
    """Is an `autograd.Function.apply` on the stack (so grad is off for its forward, not by the case)?"""
    import sys

    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is _APPLY:
            return True
        frame = frame.f_back
    return False


class NeedsValue(TypeError):
    """A SymTensor was asked for a concrete Python number."""


def op(*torch_callables: Callable) -> Callable:
    """Register an implementation under every torch callable that means it."""

    def register(impl: Callable) -> Callable:
        for f in torch_callables:
            OPS[f] = impl
        return impl

    return register


def op_name(func: Callable) -> str:
    try:
        return torch.overrides.resolve_name(func) or getattr(func, "__name__", repr(func))
    except Exception:  # resolve_name inspects torch internals; never let naming fail
        return getattr(func, "__name__", repr(func))


_OUTSIDE: dict[str, str | None] = {}


def _user_file(filename: str) -> str | None:
    """The absolute path of a code object's file, or None for compare's, torch's and contextlib's."""
    if filename not in _OUTSIDE:
        path = os.path.abspath(filename)
        ours = path.startswith(_HERE) or path.startswith(_TORCH) or "contextlib" in path
        _OUTSIDE[filename] = None if ours else path
    return _OUTSIDE[filename]


def user_site() -> tuple[str, int]:
    """(file, line) of the innermost frame outside compare and torch: where a case branches."""
    import sys

    frame = sys._getframe(1)
    while frame is not None:
        path = _user_file(frame.f_code.co_filename)
        if path is not None:
            return path, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


class SymTensor:
    """A tensor whose entries are SymPy expressions (`data`, a NumPy object array)."""

    __slots__ = ("data", "dtype")

    def __init__(self, data, dtype: torch.dtype = torch.float32):
        self.data = np.asarray(data, dtype=object) if not isinstance(data, np.ndarray) else data
        if self.data.dtype != object:
            self.data = self.data.astype(object)
        self.dtype = dtype

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        impl = OPS.get(func)
        if impl is None:
            raise UnsupportedOp(op_name(func))
        return _grad_mode(impl(*args, **(kwargs or {})))

    # -- torch.Tensor's methods: looked up in the same table ---------------------------
    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        func = getattr(torch.Tensor, name, None)
        impl = OPS.get(func) if func is not None else None
        if impl is None:
            raise UnsupportedOp(f"torch.Tensor.{name}")
        return lambda *args, **kwargs: _grad_mode(impl(self, *args, **kwargs))

    def _call(self, func, *args):
        return _grad_mode(OPS[func](self, *args))

    # -- operators -----------------------------------------------------------------------
    def __add__(self, o): return self._call(torch.Tensor.__add__, o)
    def __radd__(self, o): return self._call(torch.Tensor.__radd__, o)
    def __sub__(self, o): return self._call(torch.Tensor.__sub__, o)
    def __rsub__(self, o): return self._call(torch.Tensor.__rsub__, o)
    def __mul__(self, o): return self._call(torch.Tensor.__mul__, o)
    def __rmul__(self, o): return self._call(torch.Tensor.__rmul__, o)
    def __truediv__(self, o): return self._call(torch.Tensor.__truediv__, o)
    def __rtruediv__(self, o): return self._call(torch.Tensor.__rtruediv__, o)
    def __pow__(self, o): return self._call(torch.Tensor.__pow__, o)
    def __rpow__(self, o): return self._call(torch.Tensor.__rpow__, o)
    def __matmul__(self, o): return self._call(torch.Tensor.__matmul__, o)
    def __rmatmul__(self, o): return self._call(torch.Tensor.__rmatmul__, o)
    def __neg__(self): return self._call(torch.Tensor.__neg__)
    def __pos__(self): return self
    def __abs__(self): return self._call(torch.Tensor.__abs__)
    def __lt__(self, o): return self._call(torch.Tensor.__lt__, o)
    def __le__(self, o): return self._call(torch.Tensor.__le__, o)
    def __gt__(self, o): return self._call(torch.Tensor.__gt__, o)
    def __ge__(self, o): return self._call(torch.Tensor.__ge__, o)
    def __eq__(self, o): return self._call(torch.Tensor.__eq__, o)
    def __ne__(self, o): return self._call(torch.Tensor.__ne__, o)
    def __and__(self, o): return self._call(torch.Tensor.__and__, o)
    def __or__(self, o): return self._call(torch.Tensor.__or__, o)
    def __invert__(self): return self._call(torch.Tensor.__invert__)
    def __getitem__(self, index): return self._call(torch.Tensor.__getitem__, index)
    def __setitem__(self, index, value): self._call(torch.Tensor.__setitem__, index, _grad_mode(value))

    __hash__ = object.__hash__

    # -- shape -------------------------------------------------------------------------
    @property
    def shape(self) -> torch.Size:
        return torch.Size(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def T(self):
        return SymTensor(self.data.T, self.dtype)

    @property
    def mT(self):
        return SymTensor(np.swapaxes(self.data, -1, -2), self.dtype)

    @property
    def requires_grad(self) -> bool:
        return True

    @property
    def is_floating_point(self):
        return lambda: self.dtype.is_floating_point

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (SymTensor(row, self.dtype) for row in self.data)

    # -- branching and concrete values ---------------------------------------------------
    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        condition = as_expr(self.data.reshape(()).item())
        if condition is sympy.true or condition is sympy.false:
            return condition is sympy.true
        if isinstance(condition, sympy.Expr):  # `if x:` means `if x != 0:`
            if condition.is_number:
                return bool(condition != 0)
            condition = sympy.Ne(condition, 0)
        decide = BRANCH.get(None)
        if decide is None:
            raise NeedsValue("a branch on a symbolic value outside a symbolic run")
        return decide(condition, user_site())

    def _concrete(self, what: str):
        value = self.data.reshape(-1)[0] if self.data.size == 1 else None
        if value is not None and getattr(value, "is_number", False):
            return value
        raise NeedsValue(f"{what} needs a concrete number; a symbolic tensor has none")

    def __float__(self): return float(self._concrete("float()"))
    def __int__(self): return int(self._concrete("int()"))
    def __index__(self): return int(self._concrete("an index"))

    def __repr__(self) -> str:
        return f"SymTensor({self.data.tolist()!r})"


def as_sym(value: Any, dtype: torch.dtype | None = None) -> SymTensor:
    """A SymTensor for a SymTensor, a torch tensor, a NumPy array or a Python number."""
    if isinstance(value, SymTensor):
        return value
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        data = np.empty(tuple(t.shape), dtype=object)
        flat = t.reshape(-1).tolist()
        data.reshape(-1)[:] = [exact(v) for v in flat] if flat else []
        return SymTensor(data, t.dtype if t.dtype.is_floating_point else (dtype or torch.float32))
    if isinstance(value, np.ndarray) and value.dtype == object:
        return SymTensor(value, dtype or torch.float32)
    if isinstance(value, (list, tuple)):
        return SymTensor(np.array([as_sym(v).data for v in value], dtype=object), dtype or torch.float32)
    return SymTensor(np.asarray(exact(value) if not isinstance(value, sympy.Basic) else value, dtype=object),
                     dtype or torch.float32)


from . import ops as _ops  # noqa: E402,F401  (fills OPS)
