"""Check a function from Python, as `torch.autograd.gradcheck` is called in a test.

    import compare

    result = compare.check(f, {"x": x})       # the CaseResult the reports are made of
    compare.assert_agrees(f, (x,))            # AssertionError with both values on a mismatch

`inputs` is a dict (input name -> example tensor: exactly the inputs to
differentiate, each a floating tensor) or, as for gradcheck, one argument
or a tuple of arguments given to `fn` in order. There, as gradcheck does
with inputs that do not require grad, only floating-point tensors are
differentiated (only those with `requires_grad`, when some have it); the
other arguments (integer or bool tensors, numbers, None, anything else)
are constants, passed unchanged at every point. The inputs are named by
`fn`'s parameters; a builtin such as `torch.where` or an
`autograd.Function`'s `apply` names none, and its arguments are then named
x, y, z, u, v, w by position. A function declared with `@case` can be
passed alone: its own inputs and claim are used.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .case import Case, compile_backend, make_case
from .errors import CannotCheck
from .modules import is_module, module_function, module_location
from .records import AGREE, DISAGREE, ERROR, CaseResult, PointResult

__all__ = ["check", "assert_agrees", "as_case", "mismatch_message"]


_INVENTED = ("x", "y", "z", "u", "v", "w")


def _positional_names(fn: Callable, count: int) -> tuple[list[str], int]:
    """Names for `fn`'s first `count` positional arguments, and how many of them are `fn`'s own.

    Its own parameters' names where it has them. A builtin such as
    `torch.sin` has no signature to read, and `*args` (an
    `autograd.Function`'s `apply`) names none: those positions are named
    x, y, z, u, v, w (then arg7, arg8, ...), as f(x, y, ...) is called.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params, star = [], True
    else:
        star = any(p.kind == p.VAR_POSITIONAL for p in params)
    named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if count > len(named) and not star:
        raise TypeError(f"{count} inputs for {len(named)} parameters of {getattr(fn, '__name__', 'fn')}()")
    spare = [n for n in _INVENTED if n not in named]
    extra = [spare[i] if i < len(spare) else f"arg{len(named) + i + 1}" for i in range(count - len(named))]
    return (named + extra)[:count], min(count, len(named))


def _differentiated(values: tuple) -> list[bool]:
    """Which positional inputs are differentiated: floating and complex tensors, as gradcheck takes them.

    Anything else (an integer or bool tensor, a number, None) is a constant.
    As for gradcheck, when some floating tensors require grad, only those
    are differentiated; when none does, all are.
    """
    import torch

    floating = [isinstance(v, torch.Tensor) and (v.dtype.is_floating_point or v.dtype.is_complex) for v in values]
    if any(f and v.requires_grad for f, v in zip(floating, values)):
        floating = [f and v.requires_grad for f, v in zip(floating, values)]
    return floating


def _bind(fn: Callable, inputs: Any) -> tuple[Callable, dict[str, Any], tuple[str, int] | None]:
    """(function of keyword inputs, inputs by name, location of `fn` or None) for positional `inputs`.

    The inputs are the floating tensors, named by `fn`'s parameters (or by
    position, x, y, ..., where it names none); the other arguments are bound
    into the call unchanged. `fn` itself is returned when it can be called
    with the inputs by name as they are.
    """
    if inputs is None:  # no inputs: the case says it needs some, under fn's own name and place
        return _wrapper(fn, [], 0, (), []), None, _location(fn)
    values = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if is_module(fn):  # a function of its inputs and of its trainable parameters
        names, _ = _positional_names(fn.forward, len(values))
        call, named = module_function(fn, dict(zip(names, values)), tuple(_differentiated(values)))
        return call, named, module_location(fn)
    names, own = _positional_names(fn, len(values))
    taken = _differentiated(values)
    if own == len(values) and all(taken):
        return fn, dict(zip(names, values)), None
    call = _wrapper(fn, names, own, values, taken)
    return call, {n: v for n, v, t in zip(names, values, taken) if t}, _location(fn)


def _wrapper(fn: Callable, names: list[str], own: int, values: tuple, taken: list[bool]) -> Callable:
    """`fn` called as `call(**inputs)`: the inputs where `taken`, the given constants elsewhere.

    The first `own` names are `fn`'s parameters' own; the others are invented.
    """

    def call(**inputs):
        return fn(*(inputs[n] if t else v for n, v, t in zip(names, values, taken)))

    call.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n, t in zip(names, taken) if t])
    owner = getattr(fn, "__self__", None)  # Cube.apply is named by Cube
    call.__name__ = call.__qualname__ = getattr(owner, "__name__", None) or getattr(fn, "__name__", "f")
    call.__wrapped__ = fn  # its source is fn's
    # invented names (x, y, ... for torch.where or Cube.apply) are explained by position in messages,
    # where there is more than one argument to tell apart
    call.__compare_positions__ = {n: i + 1 for i, (n, t) in enumerate(zip(names, taken))
                                  if t and i >= own and len(names) > 1}
    return call


def _location(fn: Callable) -> tuple[str, int]:
    """(file, line) where `fn` is defined; `Cube.apply` is located at the class `Cube`."""
    owner = getattr(fn, "__self__", None)
    try:
        return inspect.getsourcefile(owner or fn) or "<unknown>", inspect.getsourcelines(owner or fn)[1]
    except (TypeError, OSError):
        # a class defined in a notebook cell has no source file to find; its forward's code knows where it is
        forward = getattr(getattr(owner, "forward", None), "__code__", None)
        if forward is not None:
            return forward.co_filename, forward.co_firstlineno
        return "<builtin>", 0


NOTHING_TO_DIFFERENTIATE = ("no floating-point tensor among the inputs, so nothing to differentiate "
                            "(integer and bool tensors, numbers and None are held constant)")


def as_case(fn: Callable | Case, inputs: Any = None, *, expect: Callable | None = None,
            name: str | None = None, loop_bound: int | None = None, samples: int | None = None,
            order: int | None = None, compile: bool | str | None = None) -> Case:
    """The `Case` for `fn` and `inputs` (or the one `@case` declared on `fn`).

    `expect`, `samples`, `loop_bound`, `order` and `compile` left as None keep what
    `@case` declared (or the run's defaults); given, they replace it.
    """
    declared = fn if isinstance(fn, Case) else getattr(fn, "__compare_case__", None)
    if isinstance(declared, Case) and (inputs is None or isinstance(fn, Case)):
        given = dict(expect=expect, samples=samples, loop_bound=loop_bound, order=order,
                     compile=None if compile is None else compile_backend(compile) or "")
        if all(v is None for v in given.values()):
            return declared
        kept = {k: getattr(declared, k) if v is None else v for k, v in given.items()}
        kept["compile"] = kept["compile"] or None  # compile=False: eager, whatever @case said
        return make_case(declared.fn, inputs=declared.inputs, name=declared.name,
                         location=(declared.file, declared.line), **kept, **declared.options)
    location = None
    if not isinstance(inputs, Mapping):  # positional, as for gradcheck: a wrapper where needed
        fn, inputs, location = _bind(fn, inputs)
    made = make_case(fn, inputs=inputs, expect=expect, name=name, loop_bound=loop_bound,
                     samples=samples, order=2 if order is None else order, location=location, compile=compile)
    if inputs == {}:
        return dataclasses.replace(made, problem=NOTHING_TO_DIFFERENTIATE)
    return made


def check(fn: Callable | Case, inputs: Mapping[str, Any] | Sequence[Any] | Any = None, *,
          expect: Callable | None = None, order: int | None = None, samples: int | None = None,
          seed: int = 0, loop_bound: int | None = None, epsilon: float = 1e-9,
          timeout: float | None = 60.0, name: str | None = None,
          compile: bool | str | None = None) -> CaseResult:
    """Check `fn`'s autograd gradient against SymPy's exact one; the same record the CLI reports.

    `inputs`: a dict (name -> floating tensor), or positional arguments as
    for gradcheck, of which only the floating tensors are differentiated
    and the rest held constant (see the module's docstring). `fn` must
    return a tensor; the gradient checked is that of
    `out.sum()`, at the given inputs, `samples` points drawn with `seed`
    (default 4, from a standard normal of the inputs' shape and dtype),
    and a point inside every piece of the code's control flow.

    `order=2` (the default) also compares a scalar output's Hessian with
    `torch.autograd.functional.hessian`; `order=1` checks the gradient only,
    for a custom `autograd.Function` whose backward is not itself
    differentiable (`@once_differentiable`, or computed through `.detach()`
    or numpy). `samples`, `loop_bound` and `order` left as None keep what
    `@case` declared on `fn`, else the defaults 4, 64 and 2.

    `compile=True` has autograd run `torch.compile(fn)` (inductor; or give a
    backend's name, `compile="aot_eager"`): the compiled forward and backward are
    checked against the same exact derivative. Forward mode, finite differences
    and the Hessian stay eager. The first compile takes seconds; later checks of
    the same function reuse it.
    """
    return _checked(as_case(fn, inputs, expect=expect, name=name, loop_bound=loop_bound, samples=samples,
                            order=order, compile=compile), seed=seed, epsilon=epsilon, timeout=timeout)


def _checked(case: Case, **options) -> CaseResult:
    from .engine import check_case

    return check_case(case, samples=4, loop_bound=64, **options)  # the defaults, where the case has none


def assert_agrees(fn: Callable | Case, inputs: Mapping[str, Any] | Sequence[Any] | Any = None, *,
                  expect: Callable | None = None, order: int | None = None, samples: int | None = None,
                  seed: int = 0, loop_bound: int | None = None, epsilon: float = 1e-9,
                  timeout: float | None = 60.0, name: str | None = None,
                  compile: bool | str | None = None) -> CaseResult:
    """`check`, raising `AssertionError` unless autograd agrees with the exact derivative everywhere.

    `CannotCheck` (an error, not a failed assertion) when it cannot check: an op the symbolic
    side does not support, a function that raises or returns no tensor.
    The arguments are `check`'s; `order=1` is the way out for a backward
    that is right but not twice differentiable. The message names the case, the first
    point where they differ and the input, and shows SymPy's and autograd's
    values on aligned, labelled lines. When only second derivatives differ,
    it says so and shows the Hessians: pass `order=1` if the backward is not
    meant to be differentiated again.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this module's
    case = as_case(fn, inputs, expect=expect, name=name, loop_bound=loop_bound, samples=samples, order=order,
                   compile=compile)
    result = _checked(case, seed=seed, epsilon=epsilon, timeout=timeout)
    if result.status in (DISAGREE, ERROR):
        message = mismatch_message(result, positions=getattr(case.fn, "__compare_positions__", None))
        if _cannot_check(result):
            raise CannotCheck(message) from result.cause
        raise AssertionError(message)
    return result


def _cannot_check(result: CaseResult) -> bool:
    """An error with nothing found to disagree: an unsupported op, a broken function."""
    return result.status == ERROR and not any(p.status == DISAGREE for p in result.points)


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

    from .judge.verdict import measure

    def outside(name: str) -> tuple:
        e = measure(point.autograd[name], point.symbolic[name], getattr(torch, dtype, torch.float32))
        return (not e.agree, math.inf if math.isnan(e.max_rel) else e.max_rel)  # NaN: a NaN met a number

    return max(point.symbolic, key=outside)


def mismatch_message(result: CaseResult, positions: Mapping[str, int] | None = None) -> str:
    """Why `assert_agrees` failed: the case, the point, the input and both values, aligned.

    `positions` gives, for inputs whose names were invented (`torch.sin` or
    `Cube.apply` name no parameters: x, y, ... by position), which
    positional argument each is, so that the message says so.
    """
    from .errors import display_path

    where = f"{display_path(result.file)}:{result.line}"
    head = f"compare: {result.name} ({where})"
    if result.compiled:
        head += f" through torch.compile (backend {result.compiled})"
    bad = [p for p in result.points if p.status != AGREE]
    if _cannot_check(result):
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
    if point.errors.agree and point.errors64.agree and point.jacobian_differs:
        head += (": the gradient of out.sum() agrees, but the Jacobian does not (as for a backward that "
                 "ignores its incoming gradient, which out.sum() sets to ones)")
        lines = [head, f"  at the {point.origin} point (piece {point.piece + 1} of {len(result.pieces)}):"]
        lines += _lines([(f"input {n}", _values(v)) for n, v in point.inputs.items()])
        lines += jacobian_lines(point.jacobian_differs)
        if others:
            lines.append(f"  and {others} more of {len(result.points)} points differ")
        return "\n".join(lines)
    lines = [f"{head}: autograd disagrees with the exact derivative",
             f"  at the {point.origin} point (piece {point.piece + 1} of {len(result.pieces)}), "
             f"gradient of out.sum() with respect to "
             f"{f'parameter {name!r}' if name in result.parameters else f'input {_input(name, positions)}'}:"]
    pairs = [(f"{'parameter' if n in result.parameters else 'input'} {n}", _values(v))
             for n, v in point.inputs.items()]
    pairs += [("exact (SymPy)", _values(point.symbolic[name])),
              (f"autograd {dtype}", _values(point.autograd[name]))]
    if dtype != "float64":
        pairs.append(("autograd float64", _values(point.autograd64[name])))
    ulp = f", {point.errors.max_ulp} ULP" if point.errors.max_ulp is not None else ""
    pairs.append(("largest error", f"abs {point.errors.max_abs:.3g}, rel {point.errors.max_rel:.3g}{ulp} "
                                   f"({dtype}); abs {point.errors64.max_abs:.3g} (float64)"))
    lines += _lines(pairs)
    if point.jacobian_differs:
        lines += jacobian_lines(point.jacobian_differs)
    if point.note:
        lines.append(f"  {point.note}")
    if others:
        lines.append(f"  and {others} more of {len(result.points)} points differ")
    return "\n".join(lines)


JACOBIAN_SHOWN = 8
"""How many differing Jacobian entries a message lists."""


def jacobian_lines(entries: Sequence, limit: int = JACOBIAN_SHOWN) -> list[str]:
    """The differing Jacobian entries, one a line, in aligned labelled columns."""
    rows = [("output", "input", "exact (SymPy)", "autograd float64")]
    rows += [(f"out{list(e.output)}", f"{e.input}{list(e.index)}", f"{e.exact:.10g}", f"{e.autograd:.10g}")
             for e in entries[:limit]]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    lines = [f"  Jacobian entries d out[i] / d input[j] that differ ({len(entries)}):"]
    lines += ["    " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    if len(entries) > limit:
        lines.append(f"    and {len(entries) - limit} more")
    return lines


def _input(name: str, positions: Mapping[str, int] | None) -> str:
    """`'x'`, or `'y' (positional argument 2)` where the name was invented by position."""
    where = (positions or {}).get(name)
    return f"{name!r} (positional argument {where})" if where else repr(name)


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
