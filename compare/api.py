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
from typing import Any, Callable, Mapping, Sequence

from .case import Case, compile_backend, make_case
from .errors import CannotCheck, without_own_frames
from .locate import source_location
from .modes import KEYWORDS
from .modules import is_module, module_function, module_location
from .options import Options
from .records import DISAGREE, ERROR, CaseResult
from .render import display  # noqa: F401  (a CaseResult shows itself in Jupyter)
from .render.message import cannot_check, mismatch_message

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
        return source_location(owner or fn)
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
            order: int | None = None, compile: bool | str | None = None, **modes: bool) -> Case:
    """The `Case` for `fn` and `inputs` (or the one `@case` declared on `fn`).

    `expect`, `samples`, `loop_bound`, `order` and `compile` left as None keep what
    `@case` declared (or the run's, `compare.options.Options`); given, they replace it. `modes`
    (gradcheck's keywords, `check_forward_ad=True`, ...) replace the declared ones they name.
    """
    _known_modes(modes)
    declared = fn if isinstance(fn, Case) else getattr(fn, "__compare_case__", None)
    if isinstance(declared, Case) and (inputs is None or isinstance(fn, Case)):
        given = dict(expect=expect, samples=samples, loop_bound=loop_bound, order=order,
                     compile=None if compile is None else compile_backend(compile) or "")
        if all(v is None for v in given.values()) and not modes:
            return declared
        kept = {k: getattr(declared, k) if v is None else v for k, v in given.items()}
        kept["compile"] = kept["compile"] or None  # compile=False: eager, whatever @case said
        return make_case(declared.fn, inputs=declared.inputs, name=declared.name,
                         location=(declared.file, declared.line), **kept, **declared.options,
                         **{**declared.modes, **modes})
    location = None
    if not isinstance(inputs, Mapping):  # positional, as for gradcheck: a wrapper where needed
        fn, inputs, location = _bind(fn, inputs)
    made = make_case(fn, inputs=inputs, expect=expect, name=name, loop_bound=loop_bound,
                     samples=samples, order=order, location=location, compile=compile, **modes)
    if inputs == {}:
        return dataclasses.replace(made, problem=NOTHING_TO_DIFFERENTIATE)
    return made


def _known_modes(modes: Mapping[str, Any]) -> None:
    """TypeError, as Python gives for a keyword a function does not take, with the nearest mode's name."""
    import difflib

    for key in modes:
        if key not in KEYWORDS:
            close = difflib.get_close_matches(key, KEYWORDS + ("expect", "order", "samples", "seed", "loop_bound",
                                                               "epsilon", "timeout", "name", "compile"), n=1)
            raise TypeError(f"got an unexpected keyword argument {key!r}"
                            + (f" (did you mean {close[0]!r}?)" if close else ""))


def check(fn: Callable | Case, inputs: Mapping[str, Any] | Sequence[Any] | Any = None, *,
          expect: Callable | None = None, order: int | None = None, samples: int | None = None,
          seed: int = Options.seed, loop_bound: int | None = None, epsilon: float = Options.epsilon,
          timeout: float | None = Options.timeout, name: str | None = None,
          compile: bool | str | None = None, **modes: bool) -> CaseResult:
    """Check `fn`'s autograd gradient against SymPy's exact one; the same record the CLI reports.

    At a prompt the record shows one line (verdict, points, pieces, largest error); `print(result)`
    or `result.summary()` adds the derivative, the rule at a kink and the first disagreement;
    `result.record()` writes every field, and each is an attribute (`result.points[0].autograd`).
    In Jupyter it displays as markdown.

    `inputs`: a dict (name -> floating tensor), or positional arguments as
    for gradcheck, of which only the floating tensors are differentiated
    and the rest held constant (see the module's docstring). `fn` must
    return a tensor; the gradient checked is that of
    `out.sum()`, at the given inputs, `samples` points drawn with `seed`
    (`Options.samples` by default, from a standard normal of the inputs' shape and dtype),
    and a point inside every piece of the code's control flow.

    The modes, under gradcheck's and gradgradcheck's keywords and with their
    defaults (`compare.modes.Modes`): `check_backward_ad=True` (reverse mode),
    `check_undefined_grad=True`, `check_rev_over_rev=True` (the Hessian of a
    scalar output, of wᵀ out for a seeded w otherwise), and, off unless asked
    for, `check_forward_ad`, `check_fwd_over_rev`, `check_fwd_over_fwd`,
    `check_batched_grad` and `check_batched_forward_grad`. Each is compared
    with the exact values and has its own status; the result's is the worst.

    `order=1` is `check_rev_over_rev=False, check_fwd_over_rev=False,
    check_fwd_over_fwd=False` (gradient only), for a custom `autograd.Function`
    whose backward is not itself differentiable (`@once_differentiable`, or
    computed through `.detach()` or numpy); `order=2`, the default, leaves the
    second-order modes as their keywords say. `samples`, `loop_bound` and
    `order` left as None keep what `@case` declared on `fn`, else the run's
    (`compare.options.Options`: 4, 64 and 2). `seed`, `epsilon` (the probability
    budget of bounded loops) and `timeout` (seconds, None for no limit) are the run's.

    `compile=True` has autograd run `torch.compile(fn)` (inductor; or give a
    backend's name, `compile="aot_eager"`): the compiled forward and backward are
    checked against the same exact derivative. Forward mode, finite differences
    and the Hessian stay eager. The first compile takes seconds; later checks of
    the same function reuse it.
    """
    case = as_case(fn, inputs, expect=expect, name=name, loop_bound=loop_bound, samples=samples, order=order,
                   compile=compile, **modes)
    return _checked(case, Options(seed=seed, epsilon=epsilon, timeout=timeout))


def _checked(case: Case, options: Options) -> CaseResult:
    from .engine import check_case
    from .progress import one_check

    with one_check(case.name):  # a line with the stage and the time, on a terminal only
        return check_case(case, options)  # what the case declares wins over `options`


def assert_agrees(fn: Callable | Case, inputs: Mapping[str, Any] | Sequence[Any] | Any = None, *,
                  expect: Callable | None = None, order: int | None = None, samples: int | None = None,
                  seed: int = Options.seed, loop_bound: int | None = None, epsilon: float = Options.epsilon,
                  timeout: float | None = Options.timeout, name: str | None = None,
                  compile: bool | str | None = None, **modes: bool) -> CaseResult:
    """`check`, raising `AssertionError` unless autograd agrees with the exact derivative everywhere.

    `CannotCheck` (an error, not a failed assertion) when it cannot check: an op the symbolic
    side does not support, a function that raises or returns no tensor.
    The arguments are `check`'s, the modes with gradcheck's defaults, so that
    `gradcheck(f, x, check_forward_ad=True)` becomes `assert_agrees(f, x,
    check_forward_ad=True)`; `order=1` is the way out for a backward
    that is right but not twice differentiable. The message names the case, the mode,
    the first point where they differ and the input, and shows SymPy's and autograd's
    values on aligned, labelled lines. When only second derivatives differ,
    it says so and shows them: pass `order=1` if the backward is not
    meant to be differentiated again. Forward mode and finite differences, which decide no
    status and which the message does not show, are not run (`check` runs them).
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this module's
    case = as_case(fn, inputs, expect=expect, name=name, loop_bound=loop_bound, samples=samples, order=order,
                   compile=compile, **modes)
    # forward mode and finite differences decide no status, and the message never shows them
    result = _checked(case, Options(seed=seed, epsilon=epsilon, timeout=timeout, oracles=False))
    if result.status in (DISAGREE, ERROR):
        message = mismatch_message(result, positions=getattr(case.fn, "__compare_positions__", None))
        if cannot_check(result):  # chained to its cause, whose traceback shows the user's frames, not ours
            raise CannotCheck(message, result) from without_own_frames(result.cause)
        raise AssertionError(message)
    return result
