"""Check a function from Python, as `torch.autograd.gradcheck` is called in a test.

    import compare

    result = compare.check(f, {"x": x})       # the CaseResult the reports are made of
    compare.assert_agrees(f, (x,))            # AssertionError with both values on a mismatch

`inputs` is a dict (input name -> example tensor) or, as for gradcheck, a
tensor or a tuple of tensors given to `fn`'s parameters in order. A
function declared with `@case` can be passed alone: its own inputs and
claim are used.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .case import Case, make_case
from .records import AGREE, DISAGREE, ERROR, CaseResult, PointResult

__all__ = ["check", "assert_agrees", "as_case", "mismatch_message"]


def _with_signature(fn: Callable, count: int) -> Callable:
    """`fn` with named parameters to call it by.

    A builtin such as `torch.sin` has no signature to read, and a function
    taking `*args` (an `autograd.Function`'s `apply`) names none: both are
    called positionally as f(x, y, ...).
    """
    try:
        params = inspect.signature(fn).parameters.values()
        if not any(p.kind == p.VAR_POSITIONAL for p in params):
            return fn
    except (TypeError, ValueError):
        pass
    names = ["x", "y", "z", "u", "v", "w"][:max(count, 1)]

    def call(**inputs):
        return fn(*(inputs[n] for n in names))

    call.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
    owner = getattr(fn, "__self__", None)  # Cube.apply is named by Cube
    call.__name__ = call.__qualname__ = getattr(owner, "__name__", None) or getattr(fn, "__name__", "f")
    return call


def _location(fn: Callable) -> tuple[str, int]:
    """(file, line) where `fn` is defined; `Cube.apply` is located at the class `Cube`."""
    owner = getattr(fn, "__self__", None)
    try:
        return inspect.getsourcefile(owner or fn) or "<unknown>", inspect.getsourcelines(owner or fn)[1]
    except (TypeError, OSError):
        return "<builtin>", 0


def _named(fn: Callable, inputs: Any) -> Any:
    """`inputs` as a dict keyed by `fn`'s parameter names (a dict passes through)."""
    import torch

    if isinstance(inputs, Mapping) or inputs is None:
        return inputs
    values = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    params = [p.name for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(values) > len(params):
        raise TypeError(f"{len(values)} inputs for {len(params)} parameters of {fn.__name__}()")
    return dict(zip(params, values))


def as_case(fn: Callable | Case, inputs: Any = None, *, expect: Callable | None = None,
            name: str | None = None, loop_bound: int | None = None, samples: int | None = None,
            order: int | None = None) -> Case:
    """The `Case` for `fn` and `inputs` (or the one `@case` declared on `fn`).

    `expect`, `samples`, `loop_bound` and `order` left as None keep what `@case`
    declared (or the run's defaults); given, they replace it.
    """
    declared = fn if isinstance(fn, Case) else getattr(fn, "__compare_case__", None)
    if isinstance(declared, Case) and (inputs is None or isinstance(fn, Case)):
        given = dict(expect=expect, samples=samples, loop_bound=loop_bound, order=order)
        if all(v is None for v in given.values()):
            return declared
        kept = {k: getattr(declared, k) if v is None else v for k, v in given.items()}
        return make_case(declared.fn, inputs=declared.inputs, name=declared.name,
                         location=(declared.file, declared.line), **kept, **declared.options)
    location = None
    if not isinstance(inputs, Mapping):
        called = _with_signature(fn, 1 if inputs is None or hasattr(inputs, "shape") else len(inputs))
        if called is not fn:  # a wrapper: the case is where the wrapped function is
            fn, location = called, _location(fn)
    return make_case(fn, inputs=_named(fn, inputs), expect=expect, name=name, loop_bound=loop_bound,
                     samples=samples, order=2 if order is None else order, location=location)


def check(fn: Callable | Case, inputs: Mapping[str, Any] | Sequence[Any] | Any = None, *,
          expect: Callable | None = None, order: int | None = None, samples: int | None = None,
          seed: int = 0, loop_bound: int | None = None, epsilon: float = 1e-9,
          timeout: float | None = 60.0, name: str | None = None) -> CaseResult:
    """Check `fn`'s autograd gradient against SymPy's exact one; the same record the CLI reports.

    `fn(**inputs)` must return a tensor; the gradient checked is that of
    `out.sum()`, at the given inputs, `samples` points drawn with `seed`
    (default 4, from a standard normal of the inputs' shape and dtype),
    and a point inside every piece of the code's control flow.

    `order=2` (the default) also compares a scalar output's Hessian with
    `torch.autograd.functional.hessian`; `order=1` checks the gradient only,
    for a custom `autograd.Function` whose backward is not itself
    differentiable (`@once_differentiable`, or computed through `.detach()`
    or numpy). `samples`, `loop_bound` and `order` left as None keep what
    `@case` declared on `fn`, else the defaults 4, 64 and 2.
    """
    from .engine import check_case

    case = as_case(fn, inputs, expect=expect, name=name, loop_bound=loop_bound, samples=samples, order=order)
    return check_case(case, seed=seed, samples=4, loop_bound=64, epsilon=epsilon, timeout=timeout)


def assert_agrees(fn: Callable | Case, inputs: Mapping[str, Any] | Sequence[Any] | Any = None, *,
                  expect: Callable | None = None, order: int | None = None, samples: int | None = None,
                  seed: int = 0, loop_bound: int | None = None, epsilon: float = 1e-9,
                  timeout: float | None = 60.0, name: str | None = None) -> CaseResult:
    """`check`, raising `AssertionError` unless autograd agrees with the exact derivative everywhere.

    The arguments are `check`'s; `order=1` is the way out for a backward
    that is right but not twice differentiable. The message names the case, the first
    point where they differ and the input, and shows SymPy's and autograd's
    values on aligned, labelled lines. When only second derivatives differ,
    it says so and shows the Hessians: pass `order=1` if the backward is not
    meant to be differentiated again.
    """
    result = check(fn, inputs, expect=expect, order=order, samples=samples, seed=seed, loop_bound=loop_bound,
                   epsilon=epsilon, timeout=timeout, name=name)
    if result.status in (DISAGREE, ERROR):
        raise AssertionError(mismatch_message(result))
    return result


# -- the message -------------------------------------------------------------------------
def _values(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a, dtype=np.float64), precision=10, separator=", ",
                           max_line_width=10_000, threshold=64, floatmode="maxprec")


def _lines(pairs: list[tuple[str, str]]) -> list[str]:
    """`label: value` lines with the labels right-aligned, so the values line up."""
    width = max(len(label) for label, _ in pairs)
    indent = "\n" + " " * (width + 6)  # a matrix's further rows start under its first
    return [f"    {label.rjust(width)}: {value.replace(chr(10), indent)}" for label, value in pairs]


def _worst_input(point: PointResult, dtype: str) -> str:
    """The input whose gradient is furthest outside the tolerance (the first, if all are inside)."""
    import torch

    from .verdict import measure

    def outside(name: str) -> tuple:
        e = measure(point.autograd[name], point.symbolic[name], getattr(torch, dtype, torch.float32))
        return (not e.agree, math.inf if math.isnan(e.max_rel) else e.max_rel)  # NaN: a NaN met a number

    return max(point.symbolic, key=outside)


def mismatch_message(result: CaseResult) -> str:
    """Why `assert_agrees` failed: the case, the point, the input and both values, aligned."""
    from .errors import display_path

    where = f"{display_path(result.file)}:{result.line}"
    head = f"compare: {result.name} ({where})"
    bad = [p for p in result.points if p.status != AGREE]
    if result.status == ERROR and not any(p.status == DISAGREE for p in bad):
        return f"{head} could not be checked:\n    {result.error}"
    if not bad:  # only a claim was disproven
        notes = [f"piece {p.index + 1}: {p.claim_note}" for p in result.pieces if p.claim == "disproven"]
        return "\n".join([f"{head}: the claim `expect` is not the exact gradient"] + [f"    {n}" for n in notes])
    disagree = [p for p in bad if p.status == DISAGREE]
    # a wrong gradient says more than a wrong Hessian: show one where there is one
    point = next((p for p in disagree if _gradient_differs(p)), disagree[0])
    others = len(bad) - 1
    if not _gradient_differs(point) and _hessian_differs(point):
        return _hessian_message(result, head, point, others)
    dtype = result.dtype or "float32"
    name = _worst_input(point, dtype)
    lines = [f"{head}: autograd disagrees with the exact derivative",
             f"  at the {point.origin} point (piece {point.piece + 1} of {len(result.pieces)}), "
             f"gradient of out.sum() with respect to input {name!r}:"]
    pairs = [(f"input {n}", _values(v)) for n, v in point.inputs.items()]
    pairs += [("exact (SymPy)", _values(point.symbolic[name])),
              (f"autograd {dtype}", _values(point.autograd[name]))]
    if dtype != "float64":
        pairs.append(("autograd float64", _values(point.autograd64[name])))
    ulp = f", {point.errors.max_ulp} ULP" if point.errors.max_ulp is not None else ""
    pairs.append(("largest error", f"abs {point.errors.max_abs:.3g}, rel {point.errors.max_rel:.3g}{ulp} "
                                   f"({dtype}); abs {point.errors64.max_abs:.3g} (float64)"))
    lines += _lines(pairs)
    if point.note:
        lines.append(f"  {point.note}")
    if others:
        lines.append(f"  and {others} more of {len(result.points)} points differ")
    return "\n".join(lines)


def _gradient_differs(point: PointResult) -> bool:
    """Whether autograd's first derivatives (gradient, or Jacobian) are outside the tolerance."""
    return not (point.errors.agree and point.errors64.agree
                and (point.jacobian_errors is None or point.jacobian_errors.agree))


def _hessian_differs(point: PointResult) -> bool:
    h = point.hessian
    return h is not None and h.errors is not None and not h.errors.agree


ONLY_SECOND_ORDER = ("  A backward that is not itself differentiable (@once_differentiable, or computed "
                     "through .detach()\n  or numpy) gives this; if so, "
                     "check the gradient alone with order=1:\n  assert_agrees(..., order=1), or @case(..., order=1).")


def _hessian_message(result: CaseResult, head: str, point: PointResult, others: int) -> str:
    """The gradient is right and only the second derivatives differ: say so, and how to check first order only."""
    h = point.hessian
    what = ("Hessian of out.sum() over all input entries (flattened, in input order)" if h.mode == "full"
            else "Hessian-vector product H v of out.sum() along a seeded direction v")
    lines = [f"{head}: autograd's gradient agrees with the exact derivative, but its second derivatives do not",
             f"  at the {point.origin} point (piece {point.piece + 1} of {len(result.pieces)}), {what}:"]
    pairs = [(f"input {n}", _values(v)) for n, v in point.inputs.items()]
    pairs += [("exact (SymPy)", _values(h.exact)), ("autograd float64", _values(h.autograd)),
              ("largest error", f"abs {h.errors.max_abs:.3g}, rel {h.errors.max_rel:.3g} (float64)")]
    lines += _lines(pairs)
    lines.append(ONLY_SECOND_ORDER)
    if others:
        lines.append(f"  and {others} more of {len(result.points)} points differ")
    return "\n".join(lines)
