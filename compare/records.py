"""The records the engine hands to the report: what was checked and what was found."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy

from .options import Options
from .statuses import AGREE, CONVENTION, DISAGREE, ERROR, STATUSES, worst  # noqa: F401  (re-exported)
from .wirtinger import ComplexNote

__all__ = ["Errors", "MeasuredGradients", "Reference", "Meta",
           "PieceResult", "PointResult", "JacobianEntry", "OracleResult", "HessianCheck", "ModeCheck",
           "TorchFailure", "CustomFunctions",
           "UncoveredRegion", "OutsideRegion", "CaseResult", "AGREE", "CONVENTION", "DISAGREE", "ERROR", "STATUSES",
           "worst"]

def fails_run(result: "CaseResult") -> bool:
    """Does this result make a run fail (exit 1)? A `disagree`, unless the case is declared
    `known_wrong`; and a known-wrong case that does not disagree (the bug was not caught)."""
    if result.status == ERROR:
        return False  # errors have their own exit code
    return (result.status == DISAGREE) != bool(result.known_wrong)


@dataclass(frozen=True)
class Errors:
    """How far one array of values is from the exact one."""

    max_abs: float
    """Largest |got - want| over finite pairs (0.0 when there are none); NaN or inf when a
    non-finite pair disagrees."""
    max_rel: float
    """Largest |got - want| / |want| over finite pairs with want != 0; NaN or inf like max_abs."""
    max_ulp: int | None
    """Largest distance in ULPs of the dtype; None where the dtype has no such measure."""
    agree: bool
    """Every entry within the dtype's tolerance, under the NaN/inf rules above."""
    worst: tuple[int, ...] | None
    """Index of the entry with the largest violation (or error), None for an empty array."""


@dataclass(frozen=True)
class MeasuredGradients:
    """Gradients torch computed, input by input, with their errors against the exact ones."""

    grads: dict
    """Input name -> the gradient torch gave."""
    errors: dict
    """Input name -> its `Errors`."""


@dataclass(frozen=True)
class PieceResult:
    """One path of the case: where it holds, what it computes, its exact derivative."""

    index: int
    condition: sympy.Basic
    """Where this path is taken (a readable equivalent of the path condition)."""
    sites: tuple[tuple[int, bool], ...]
    """(line, side taken) for each branch on the path."""
    output: np.ndarray
    """The output on this path: an object array of SymPy expressions."""
    gradient: dict[str, np.ndarray]
    """d out.sum() / d input, per input: object arrays of SymPy expressions."""
    jacobian: dict[str, np.ndarray] | None
    """d out[i] / d input[j] for a non-scalar output small enough to show; None otherwise."""
    claim: str | None
    """The `expect` claim on this piece: "proven", "disproven", "unproven"; None without one."""
    claim_note: str = ""
    """What the proof found (a counterexample for "disproven")."""
    hessian: np.ndarray | None = None
    """The exact Hessian of a scalar output over all input entries (flattened, in input order),
    when checked in full; None otherwise."""
    hessian_mode: str | None = None
    """How second derivatives are checked: "full" (`hessian`), "directional" (H v along the case's
    seeded direction, evaluated from the gradient at each point: the Hessian is too large to show),
    "local" (at each point, from the expression that holds around it); None when not checked."""
    weighted: dict[str, np.ndarray] | None = None
    """The gradient of wᵀ out for the case's seeded w (`CaseRun.w`), for a non-scalar output where a
    mode needs it (the second-order modes differentiate it: `hessian` is then wᵀ out's); None else."""
    float64: "PieceResult | None" = None
    """The same piece as the float64 run computes it, where that is another function: constants
    the code makes in the input's dtype (`linspace(..., dtype=a.dtype)`, `full_like(a, 0.1)`)
    are float32 numbers in the case's run and float64 numbers there. None where the two agree."""
    graph: "object | None" = field(default=None, compare=False, repr=False)
    """Where the case ran on the traced graph (`compare.exact.graph.piece.GraphPiece`): the graph that gives the
    exact values at any point; `output`, `gradient` and `jacobian` then hold markers, not expressions."""


@dataclass(frozen=True)
class Reference:
    """The exact values one point's modes are held to (float64, over the flat input entries)."""

    output: np.ndarray
    """The exact output (m,), rounded to float64."""
    gradient: np.ndarray
    """The gradient of out.sum() (n,)."""
    weighted: np.ndarray | None
    """The gradient of wᵀ out (n,): the gradient itself for a scalar output; None where it is not derived
    (a non-scalar output on the traced graph)."""
    jacobian: np.ndarray | None
    """The Jacobian (m, n) where the piece has one (a scalar output's: its gradient as one row)."""
    second: tuple[str, np.ndarray] | None
    """("full", the Hessian of wᵀ out (n, n)) or ("directional", H u (n,)); None where not compared."""
    second_note: str = ""
    """Why second derivatives are not compared, where they are not."""
    kink: object = None
    """The point's kink (`judge.point_status.find_kink`: its rule and the rule's gradient), or None."""
    forward: "Reference | None" = None
    """Forward mode's own values where the output holds results made under `no_grad`, which forward-mode
    AD differentiates through (`pieces.derivatives.ForwardPiece`); None where they are these."""
    mixed: tuple[str, np.ndarray] | None = None
    """Forward over reverse's second derivatives there (the reverse gradient, released the same way,
    differentiated); None where they are `second`."""


@dataclass(frozen=True)
class OracleResult:
    """One oracle's gradient of out.sum() at a point, and its distance from the exact one."""

    values: dict[str, np.ndarray] | None
    """Per input; in directional mode {"u": derivative along u}; None when the oracle failed."""
    errors: Errors | None
    """Against SymPy's value (float64 tolerances); None for the exact oracle itself or a failure."""
    errors_by_input: dict[str, Errors] = field(default_factory=dict)
    """`errors` for each input alone (or for "u"); `errors` is the worst of them."""
    mode: str = "full"
    """"full" (every entry) or "directional" (along one seeded random direction u)."""
    estimate: float | None = None
    """Finite differences: their own error estimate (Richardson)."""
    step: float | None = None
    """Finite differences: the largest step used."""
    note: str = ""
    """Why this oracle differs from the exact value, when it is known (detach), or why it failed."""


@dataclass(frozen=True)
class HessianCheck:
    """Second derivatives of a scalar output at one point: SymPy's against autograd's."""

    mode: str
    """"full" (every entry, flattened inputs), "directional" (H v) or "skipped"."""
    exact: np.ndarray | None
    """The exact Hessian (or H v) at the point, rounded to float64."""
    autograd: np.ndarray | None
    """`torch.autograd.functional.hessian` (or `hvp`) in float64."""
    errors: Errors | None
    """Autograd against exact; None when not compared."""
    note: str = ""
    """Why it was not compared (a kink, a failure)."""


@dataclass(frozen=True)
class ModeCheck:
    """One mode (`compare.modes`) at one point: autograd's answer in it against the exact one."""

    mode: str
    """The mode's keyword (`check_forward_ad`, ...)."""
    status: str
    """"agree", "convention" (at a kink, the rule's value), "disagree", or "error" (torch cannot run the
    mode here: a custom Function without `jvp`, or without `vmap` for a batched mode), which is
    "not run" (`compare.modes.NOT_RUN`: shown, deciding nothing) where the mode was not asked for by name."""
    what: str = ""
    """What was compared, in a few words ("Jacobian, 6 columns in one vmap", "∇·u along u")."""
    exact: np.ndarray | None = None
    """The exact values compared (float64), flattened as `autograd` is."""
    autograd: np.ndarray | None = None
    """Autograd's values in this mode (float64)."""
    errors: Errors | None = None
    """Autograd against exact; None where nothing was compared (a failure, a kink at second order)."""
    note: str = ""
    """Why the status is not "agree", or what was done instead of the full check, in a sentence."""


@dataclass(frozen=True)
class TorchFailure:
    """A run torch could not do at a point: the mode's number is the exception (`judge.failures` judges it)."""

    error: BaseException
    """What torch raised."""


@dataclass(frozen=True)
class CustomFunctions:
    """The custom `autograd.Function`s a case's float64 run applies (by class name, in the order its graph
    reaches them from the output): what a mode torch cannot run is blamed on."""

    names: tuple[str, ...] = ()
    """Every one of them."""
    once_differentiable: tuple[str, ...] = ()
    """Those whose backward is marked `@once_differentiable`."""
    without_jvp: tuple[str, ...] = ()
    """Those without a `jvp` staticmethod (forward-mode AD cannot run them)."""
    without_vmap: tuple[str, ...] = ()
    """Those torch.func transforms cannot run: no `setup_context`, or neither a `vmap` nor a generated rule."""
    own_vmap: tuple[str, ...] = ()
    """Those with a `vmap` staticmethod of their own (not a generated rule), which a batched run calls."""


@dataclass(frozen=True)
class JacobianEntry:
    """One entry d out[output] / d input[index] where autograd's Jacobian differs from SymPy's."""

    output: tuple[int, ...]
    """The output entry's index."""
    input: str
    """The input's name."""
    index: tuple[int, ...]
    """The input entry's index."""
    exact: float
    """SymPy's value, rounded to float64."""
    autograd: float
    """Autograd's, in float64 (one backward pass per output entry)."""


@dataclass(frozen=True)
class PointResult:
    """Every oracle's answer at one point, and how far each is from the exact one."""

    origin: str
    """"example" (the case's own point), "sample k", or "piece k" (a point inside piece k)."""
    piece: int
    """The index of the piece the point lies in."""
    inputs: dict[str, np.ndarray]
    """The point, in the case's dtype (as float64 arrays, exactly)."""
    symbolic: dict[str, np.ndarray]
    """SymPy's exact gradient of out.sum() there, rounded to float64."""
    autograd: dict[str, np.ndarray]
    """Autograd's gradient computed in the case's dtype."""
    autograd64: dict[str, np.ndarray]
    """Autograd's gradient computed in float64."""
    errors: Errors
    """Case-dtype autograd against the exact value."""
    errors64: Errors
    """Float64 autograd against the exact value."""
    jacobian_errors: Errors | None
    """Float64 autograd Jacobian against SymPy's, for a non-scalar output."""
    claim_exact: bool | None
    """The notes' own `grad == expect(...)` in the case's dtype; None without a claim."""
    status: str
    """"agree", "convention" (a kink, where autograd follows PyTorch's documented rule), "disagree"
    or "error" (autograd took another path than the piece)."""
    note: str = ""
    """Why the status is not "agree", in a sentence."""
    oracles: dict[str, OracleResult] | None = None
    """"symbolic", "reverse" (float64), "forward", "finite_difference": every oracle's answer."""
    jacobian_forward_errors: Errors | None = None
    """Forward mode's Jacobian against SymPy's, for a non-scalar output."""
    hessian: HessianCheck | None = None
    """Second derivatives, for a scalar output (unless the case says order=1)."""
    rule: str | None = None
    """At a kink: the rule that gives autograd's value, naming the op."""
    torch: str | None = None
    """At a kink: the torch version whose rule it is (the rules change between releases)."""
    errors_by_input: dict[str, Errors] = field(default_factory=dict)
    """`errors` for each input alone; `errors` is the worst of them."""
    errors64_by_input: dict[str, Errors] = field(default_factory=dict)
    """`errors64` for each input alone."""
    symbolic64: dict[str, np.ndarray] | None = None
    """The exact gradient of the function the float64 run computes, where it is another one (its
    constants made in float64: `PieceResult.float64`); the float64 run is compared with it."""
    by_continuity: str = ""
    """Where some exact values are limits (their formula is 0/0 or 0·∞ at the point, or an `==`
    branch of measure zero holds there), what was taken by continuity; "" elsewhere."""
    within: str = ""
    """Where an exact value is known only to within a ball's radius (the traced graph's balls straddled a
    rounding boundary at their highest precision), what and how closely; "" elsewhere."""
    jacobian_differs: tuple[JacobianEntry, ...] = ()
    """The Jacobian entries outside the tolerance (all of them; a message shows the first few)."""
    modes: tuple[ModeCheck, ...] = ()
    """Each mode checked at the point, in the order of `compare.modes.KEYWORDS`; `status` is the worst
    of theirs (reverse mode's is the status of the comparisons above)."""
    allowed: tuple[dict[str, np.ndarray], ...] = ()
    """At a kink: every gradient of out.sum() PyTorch's rules allow there (float64, NaN where they
    allow any value); empty elsewhere."""


@dataclass(frozen=True)
class UncoveredRegion:
    """Inputs whose path was not explored, and how likely a sample is to land there."""

    condition: sympy.Basic
    reason: str
    probability: float
    how: str
    paths: int = 1
    """How many paths not explored it joins (where exploration stopped at its budget): `condition` is
    their union, `probability` the sum of theirs."""


@dataclass(frozen=True)
class OutsideRegion:
    """Inputs where the case's code raises (a library's check of its arguments): outside the
    function's domain, so no piece of it; torch's own run raises there too."""

    condition: sympy.Basic
    error: str
    """What it raises: `ValueError: var has negative entry/entries`."""
    where: str
    """The line of the case's code through which it raised: `line 17 of losses.py`."""
    probability: float
    how: str
    """How the probability was obtained (exact, or a Monte Carlo estimate)."""
    unchecked: tuple[str, ...] = ()
    """The drawn points that lie there, not checked (`sample 2`)."""


@dataclass(frozen=True)
class CaseResult:
    """Everything found for one case."""

    name: str
    file: str
    line: int
    doc: str
    source: str
    """The case function's code."""
    status: str
    """"agree", "convention", "disagree" or "error"."""
    error: str | None = None
    """`file:line: cause` for an error; None otherwise."""
    dtype: str = ""
    shapes: dict[str, tuple[int, ...]] | None = None
    """Input name -> shape."""
    symbols: dict[str, np.ndarray] | None = None
    """Input name -> its SymPy symbols."""
    pieces: tuple[PieceResult, ...] = ()
    points: tuple[PointResult, ...] = ()
    uncovered: tuple[UncoveredRegion, ...] = ()
    backward_error: str | None = None
    """What plain `out.backward()` raises for a non-scalar output."""
    output_shape: tuple[int, ...] = ()
    seed: int = Options.seed
    """The run's seed, that drew this case's samples (through `sampling.case_seed`)."""
    hessian_note: str = ""
    """Why second derivatives were not checked, when they were not (order=1, a non-scalar output)."""
    known_wrong: str | None = None
    """Why the case is wrong on purpose (`@case(known_wrong=...)`): its `disagree` is expected."""
    shown: tuple[PointResult, ...] = ()
    """Points of `@case(show_at=...)`: checked and shown, outside the verdict (where a float
    limit such as overflow is the lesson, not a fault of autograd)."""
    traceback: str | None = None
    """The full traceback of an error, for `--verbose`; never rendered in reports."""
    cause: BaseException | None = field(default=None, compare=False, repr=False)
    """The exception behind an error, for `assert_agrees` to chain; never rendered, and
    dropped before a result crosses processes (a user's exception may not pickle)."""
    compiled: str | None = None
    """The `torch.compile` backend autograd's reverse mode ran through; None: eager."""
    parameters: tuple[str, ...] = ()
    """The inputs that are an `nn.Module`'s parameters, named as `named_parameters()` names them."""
    complex: ComplexNote | None = None
    """For complex inputs (`compare.wirtinger.ComplexNote`): the convention, the gradient in complex form,
    whether the function is holomorphic; None for a case with real inputs."""
    modes: tuple[str, ...] = ()
    """The keywords of the modes checked (`compare.modes.Modes.on`), in `compare.modes.KEYWORDS` order."""
    comparison_notes: tuple[str, ...] = ()
    """How the comparison follows the computation (`compare.basis`), a sentence each: an input an op reads
    as a structured matrix, compared along that structure; an input whose values the function rounds to
    a coarser dtype, its derivatives held to that dtype's tolerance."""
    outside: tuple[OutsideRegion, ...] = ()
    """The regions where the case raises: outside its domain."""
    draws: tuple[str, ...] = ()
    """For a case that draws random numbers: how torch's generator was set before each run, then each
    draw the symbolic run took as a constant (`compare.symbolic.draws`); empty for one that draws none."""

    # How a result shows itself comes from compare/render/display.py (records never import their
    # renderers): one line at a prompt (`__repr__`), a few printed (`__str__`, `summary()`), every
    # field with `record()`, and in Jupyter its verdict, derivative and points (`_repr_markdown_`).


@dataclass(frozen=True)
class Meta:
    """What the run was: versions (autograd's conventions change between releases) and settings."""

    python: str
    torch: str
    sympy: str
    seed: int
    samples: int
    matplotlib: str | None = None
    """The version that drew the pictures (their bytes depend on it); None without pictures."""

    def header(self, pictured: bool = True) -> str:
        """One line for the top of a page; matplotlib is named only where `pictured`."""
        drawn = f" · matplotlib {self.matplotlib}" if self.matplotlib and pictured else ""
        return (f"Python {self.python} · torch {self.torch} · SymPy {self.sympy}{drawn} · "
                f"seed {self.seed} · {self.samples} samples per case")
