"""`@case`: mark a plain PyTorch function as a case, and the `Case` record it makes.

    @case(inputs={"x": torch.arange(4.0)}, expect=lambda x: 4 * x)
    def two_dot(x):
        return 2 * torch.dot(x, x)

The decorator returns the function unchanged and never raises: a problem
with its arguments (an input that is not a floating tensor, say) is kept
on the record and reported as that case's error, so the other cases of
the file still run.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import sys
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import modes as _modes

if TYPE_CHECKING:  # for the annotation: the functions below import torch where they use it
    import torch

__all__ = ["case", "Case", "collecting", "make_case", "compile_backend", "nan_entry", "COMPILE_DEFAULT"]

_collector: list | None = None

OPTIONS = ("show_at", "known_wrong")
"""The keywords of `@case` kept in `Case.options` for later stages; any other is a mistake."""

KEYWORDS = ("inputs", "expect", "samples", "loop_bound", "order", "compile", "name") + OPTIONS + _modes.KEYWORDS
"""Every keyword `@case` takes: what a misspelled one is matched against."""


@dataclass(frozen=True)
class Case:
    """One function to check, with the points and the claim that come with it."""

    name: str
    """The function's name."""
    fn: Callable
    """The function itself: plain PyTorch, called with keyword arguments named as `inputs`."""
    inputs: Mapping[str, Any]
    """Input name -> example tensor: the first point checked; fixes shape and dtype."""
    file: str
    """The file that defines it."""
    line: int
    """The line of its `def`."""
    expect: Callable | None = None
    """The claim: the expected gradient of `out.sum()` as a function of the inputs (and `out`)."""
    samples: int | None = None
    """How many more points to draw (None: the run's default)."""
    loop_bound: int | None = None
    """How many times one branch site may be met on a path (None: the run's default)."""
    order: int | None = None
    """Highest derivative order to check (1 skips second-order checks; None: the run's, `Options.order`)."""
    doc: str = ""
    """The first line of the docstring: what the case teaches."""
    problem: str | None = None
    """Why the case cannot run, found when it was declared; None if it can."""
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Further keyword arguments given to `@case`, kept for later stages."""
    compile: str | None = None
    """The `torch.compile` backend autograd runs the function through ("inductor" for
    `compile=True`); None: the run's choice (eager unless `--compile`)."""
    modes: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    """The modes the case declares (`check_forward_ad=False`, ...; `compare.modes`): they replace the
    run's; a mode not named here is the run's choice."""

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of its inputs, one for all of them (`make_case` refuses a mix)."""
        return next(iter(self.inputs.values())).dtype


COMPILE_DEFAULT = "inductor"
"""The backend of `compile=True`: torch.compile's own default, on CPU as elsewhere."""


def compile_backend(value: Any) -> str | None:
    """The backend `compile=` names: True -> inductor, a backend's name as given, False/None -> None."""
    if value is True:
        return COMPILE_DEFAULT
    if value is False or value is None:
        return None
    return value


def _unknown(options: Mapping[str, Any]) -> str | None:
    """The first keyword of `@case` that it does not take, with the one it was probably meant to be."""
    for key in options:
        if key not in OPTIONS and key not in _modes.KEYWORDS:
            close = difflib.get_close_matches(key, KEYWORDS, n=1)
            return f"unknown option {key!r}" + (f" (did you mean {close[0]!r}?)" if close else
                                                  f"; @case takes {', '.join(KEYWORDS)}")
    return None


def nan_entry(name: str, value) -> str | None:
    """Why an input with a NaN entry cannot be checked, naming the first such entry; None without one.

    NaN is not a number: nothing is differentiated there, so there is no derivative to compare."""
    import torch

    found = torch.isnan(value.detach()).nonzero()
    if not len(found):
        return None
    where = f" at {found[0].tolist()}" if value.dim() else ""
    return f"input {name!r} has NaN{where}: NaN has no derivative to compare"


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(record: Case, inputs: Any) -> str | None:
    """Why `record` cannot be checked, or None: its `inputs` as given, then what else it declares."""
    import torch

    fn, expect, samples, loop_bound, order = record.fn, record.expect, record.samples, record.loop_bound, record.order
    if not isinstance(inputs, Mapping) or not inputs:
        return "inputs must be a non-empty dict: input name -> example tensor"
    params = inspect.signature(fn).parameters
    for name, value in inputs.items():
        if not isinstance(value, torch.Tensor):
            return f"input {name!r} is a {type(value).__name__}, not a torch.Tensor"
        if not value.dtype.is_floating_point:
            return (f"input {name!r} has dtype {value.dtype}; gradients need a floating or complex dtype "
                    f"(write torch.arange(4.0), not torch.arange(4))")
        if name not in params and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return f"input {name!r} is not a parameter of {fn.__name__}()"
        if nan_entry(name, value):
            return nan_entry(name, value)
    dtypes = {v.dtype for v in inputs.values()}
    if len(dtypes) > 1:
        return f"inputs mix dtypes {sorted(map(str, dtypes))}; use one dtype per case"
    if expect is not None and not callable(expect):
        return "expect must be a function of the inputs"
    if samples is not None and (not _whole(samples) or samples < 0):
        return "samples must be a non-negative int"
    if loop_bound is not None and (not _whole(loop_bound) or loop_bound < 1):
        return f"loop_bound must be a positive int (or None for the run's default), not {loop_bound!r}"
    if order is not None and (not _whole(order) or order not in (1, 2)):
        return f"order must be 1 or 2 (the highest derivative order checked), not {order!r}"
    if record.compile is not None and not (isinstance(record.compile, str) and record.compile):
        return f"compile must be True, False or the name of a torch.compile backend, not {record.compile!r}"
    return _modes.problem(record.modes, order)


def make_case(fn: Callable, *, inputs: Mapping[str, Any] | None, expect: Callable | None = None,
              samples: int | None = None, loop_bound: int | None = None, order: int | None = None,
              name: str | None = None, location: tuple[str, int] | None = None, compile: bool | str | None = None,
              **options: Any) -> Case:
    """The `Case` record for `fn`, without declaring it: what `@case` and `compare.check` share.

    `location` is (file, line) of the case when `fn` is a wrapper whose own code is elsewhere.
    A keyword in `options` other than those of `OPTIONS`, or an `order`, `samples` or
    `loop_bound` out of range, is the case's `problem`, not an exception. Those left as None are
    the run's (`compare.options.Options`).
    `compile`: True (inductor) or a `torch.compile` backend's name runs autograd on the compiled function.
    The modes' keywords (`check_forward_ad=True`, ...: `compare.modes.KEYWORDS`) among `options` are
    kept apart, in `Case.modes`.
    """
    backend = compile_backend(compile)
    declared = {k: options.pop(k) for k in _modes.KEYWORDS if k in options}
    from .modules import is_module, module_function, module_location

    if is_module(fn) and isinstance(inputs, Mapping):  # its inputs by name; its parameters are added
        location = location or module_location(fn)
        name = name or type(fn).__name__
        fn, inputs = module_function(fn, inputs)
    code = getattr(fn, "__code__", None)
    file, line = location or ((code.co_filename, code.co_firstlineno) if code else ("<unknown>", 0))
    doc = inspect.getdoc(fn) or ""
    if isinstance(inputs, Mapping):  # complex tensors enter as their real views (see compare.wirtinger)
        from .wirtinger import complex_function

        name = name or getattr(fn, "__name__", None)
        fn, inputs = complex_function(fn, inputs)
    # A misspelled keyword first: `input=` for `inputs=` would otherwise read as no inputs at all.
    problem = _unknown(options) or (None if inputs is not None else
                                    "use @case(inputs={...}): a case needs example inputs")
    record = Case(
        name=name or getattr(fn, "__name__", "case"),
        fn=fn,
        inputs=MappingProxyType(dict(inputs or {})),
        file=file,
        line=line,
        expect=expect,
        samples=samples,
        loop_bound=loop_bound,
        order=order,
        doc=doc.strip().splitlines()[0] if doc.strip() else "",
        options=MappingProxyType(dict(options)),
        compile=backend,
        modes=MappingProxyType(declared),
    )
    return dataclasses.replace(record, problem=problem or _problem(record, inputs))


def case(fn: Callable | None = None, *, inputs: Mapping[str, Any] | None = None,
         expect: Callable | None = None, samples: int | None = None, loop_bound: int | None = None,
         order: int | None = None, compile: bool | str | None = None, name: str | None = None, **options: Any):
    """Declare a case. Use as `@case(inputs={...}, expect=...)` above a function.

    `case(inputs={"input": x}, name="mlp")(module)` declares an `nn.Module`: a function of
    its inputs and of its parameters that require grad, named `0.weight`, `0.bias`, ...
    (the module's class name, unless `name` is given).

    `compile=True` has autograd run `torch.compile(fn)` (inductor; or name another
    backend, `compile="aot_eager"`), checked against the same exact derivative.

    The modes, by gradcheck's keywords (`check_forward_ad=False`, `check_fwd_over_fwd=False`, ...;
    see `compare.modes.Modes`): `compare all` checks every mode, and a case turns off those it
    cannot support (a custom Function without a `jvp`, say). `order=1` turns off every second-order
    mode.

    `show_at={...}` (or a list of such dicts) adds points that the case page
    shows outside the verdict: where floats overflow, say, and the lesson is
    that they do.

    `known_wrong="why"` declares a case whose backward is wrong on purpose, to
    show the bug being caught (as pytest's strict xfail): it must `disagree`,
    and then does not fail the run; if it agrees, the run fails.

    Any other keyword is a mistake, most often a misspelling (`expcet=`): the
    case is then an error saying which keyword and what it was probably meant
    to be, instead of a case whose claim silently goes unchecked.
    """

    def declare(f: Callable) -> Callable:
        where = None
        if hasattr(f, "named_parameters") and hasattr(f, "forward"):  # an nn.Module: where it is declared
            caller = sys._getframe(1)
            where = (caller.f_code.co_filename, caller.f_lineno)
        record = make_case(f, inputs=inputs, expect=expect, samples=samples, loop_bound=loop_bound,
                           order=order, compile=compile, name=name, location=where, **options)
        if _collector is not None:
            _collector.append(record)
        f.__compare_case__ = record
        return f

    if fn is not None:  # bare @case
        return declare(fn)
    return declare


class collecting:
    """Context manager: the cases declared inside it, in order (`with collecting() as found`)."""

    def __enter__(self) -> list:
        global _collector
        self._saved = _collector
        _collector = []
        return _collector

    def __exit__(self, *exc) -> None:
        global _collector
        _collector = self._saved

