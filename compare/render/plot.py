"""Pictures of one-dimensional cases: the function, SymPy's derivative as a curve, autograd as points.

A case gets a picture when it has one input that is a scalar, or a vector
used elementwise (entry i of the output depends on entry i of the input
only, by one formula). For piecewise cases the pieces are shaded, and the
region no piece covers is hatched: uncovered, never hidden. Pieces that
span many orders of magnitude (the notes' control flow) are drawn on a
logarithmic scale in |x|.

matplotlib is an optional extra (`pip install compare[plots]`): without it
`available()` is False and no picture is made. Rendering returns PNG
bytes, identical from run to run (fixed style and fonts, no metadata that
varies); the CLI writes them.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import sympy

from ..records import ERROR, CaseResult
from ..exact.sym import as_expr, detach, release

__all__ = ["available", "Curve", "curve", "render_plot"]

_STYLE = {
    "svg.hashsalt": "compare",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "path.simplify": True,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
_PIECE_COLOURS = ("#dbe9f6", "#f6eedb")
TITLE_WIDTH = 95
"""Longest line of a title, in characters: a longer one would be cut at the picture's edges."""


def available() -> bool:
    """Is matplotlib installed?"""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


@dataclass(frozen=True)
class Curve:
    """What a picture shows: one variable, the pieces' formulas, and autograd's values."""

    name: str
    """The input's name, the picture's x."""
    pieces: tuple[tuple[sympy.Basic, sympy.Expr, sympy.Expr], ...]
    """(where, function, derivative) per piece, in the one variable `name`."""
    uncovered: tuple[sympy.Basic, ...]
    """Conditions on `name` where no piece was explored."""
    points: tuple[tuple[float, float], ...]
    """(input, autograd's derivative) for every entry of every point checked."""
    dtype: str
    held: tuple[str, ...] = ()
    """What `detach()` holds constant in the function (`x**2`): the derivative drawn is then not the
    slope of the function drawn."""
    slope: sympy.Expr | None = None
    """Where something is held constant, the slope of the function's values (the derivative without
    `detach`), to name beside the derivative drawn."""


def curve(result: CaseResult) -> Curve | None:
    """The curve of a case with one scalar input, or one vector input used elementwise; else None."""
    from ..exact.shapes import template

    if result.status == ERROR or not result.pieces or not result.shapes or len(result.shapes) != 1 or \
            any(p.graph is not None for p in result.pieces):  # kept on the graph: no formula to draw
        return None
    (name, shape), = result.shapes.items()
    var = sympy.Symbol(name, real=True)
    pieces, held = [], set()
    for piece in result.pieces:
        grad = piece.gradient[name]
        if shape == ():
            if piece.output.size != 1:
                return None
            f, d = as_expr(piece.output.reshape(-1)[0]), as_expr(grad[()])
            where = piece.condition
        elif len(shape) == 1 and piece.output.shape == shape and not piece.sites:
            f, d = template(piece.output, result.symbols), template(grad, result.symbols)
            where = sympy.true
        else:
            return None
        if f is None or d is None or (f.free_symbols | d.free_symbols) - {var}:
            return None
        held |= {release(h.args[0]) for h in f.atoms(detach)}
        pieces.append((where, release(f), release(d)))
    points = []
    for p in result.points:
        for x, g in zip(np.ravel(p.inputs[name]), np.ravel(p.autograd[name])):
            points.append((float(x), float(g)))
    slope = sympy.diff(pieces[0][1], var) if held and len(pieces) == 1 else None
    return Curve(name, tuple(pieces), tuple(u.condition for u in result.uncovered), tuple(points),
                 result.dtype, tuple(sorted(map(str, held))), slope)


_MATH_ONLY = {name: np.vectorize(getattr(math, name), otypes=[float]) for name in ("erf", "erfc")}
"""Functions NumPy lacks, taken from `math` entry by entry."""


def _numeric(expr, var):
    """`expr` as a NumPy function of `var` (erf and erfc through `math`, as NumPy has none)."""
    f = sympy.lambdify([var], expr, modules=[_MATH_ONLY, "numpy"])
    return lambda x: np.broadcast_to(np.asarray(f(x), dtype=float), x.shape)


def _grid(c: Curve) -> tuple[np.ndarray, float | None]:
    """The x values to draw, and the linear threshold of a symmetric log axis (None: linear axis)."""
    xs = np.array([x for x, _ in c.points]) if c.points else np.array([-1.0, 1.0])
    magnitudes = np.abs(xs[xs != 0])
    wide = len(c.pieces) > 4 and magnitudes.size and magnitudes.max() / magnitudes.min() > 1e3
    if wide:
        lo, hi = magnitudes.min() / 4, magnitudes.max() * 2
        side = np.geomspace(lo, hi, 600)
        return np.concatenate([-side[::-1], np.linspace(-lo, lo, 41)[1:-1], side]), lo
    lo, hi = float(xs.min()), float(xs.max())
    pad = max(0.1 * (hi - lo), 0.5)
    return np.linspace(lo - pad, hi + pad, 401), None


def _spans(mask: np.ndarray, x: np.ndarray):
    """(start, end) of each run of True in `mask`, in x."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):
        yield x[a], x[b - 1]


def _scale(ax, values: np.ndarray) -> None:
    """A log y axis (symmetric if signs mix) when the largest value dwarfs the typical one."""
    finite = np.abs(values[np.isfinite(values)])
    if not finite.size or np.median(finite) == 0 or finite.max() / np.median(finite) < 1e3:
        return
    if (values[np.isfinite(values)] > 0).all():
        ax.set_yscale("log")
    else:
        ax.set_yscale("symlog", linthresh=float(np.median(finite)))


def render_plot(result: CaseResult) -> bytes | None:
    """The PNG of a case's picture, or None when it has none (or matplotlib is missing)."""
    c = curve(result)
    if c is None or not available():
        return None
    with _style():
        fig = _draw(result, c)
        out = io.BytesIO()
        fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _style():
    import contextlib

    import matplotlib
    import matplotlib.style

    stack = contextlib.ExitStack()
    stack.enter_context(matplotlib.style.context("default"))
    stack.enter_context(matplotlib.rc_context(_STYLE))
    return stack


def _draw(result: CaseResult, c: Curve):
    """Both panels drawn, titled and labelled, with a legend above them that hides no point."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x, linthresh = _grid(c)
    f, d, owner, uncovered = _sampled(c, x)
    kinks = _kinks(c, x)
    fig = Figure(figsize=(7.0, 5.0))
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    _shade(c, x, owner, uncovered, (top, bottom))
    top.plot(x, f, color="#1f4e79", lw=1.4)  # named by its axis
    xs, ds = _broken(x, d, kinks)  # no line drawn across a jump of the derivative
    bottom.plot(xs, ds, color="#1f4e79", lw=1.4, label="exact derivative (SymPy)")
    for k in kinks:
        for ax in (top, bottom):
            ax.axvline(k, color="#7f7f7f", ls=":", lw=1.2, label="kink" if ax is bottom and k == kinks[0] else None)
    px = np.array([p[0] for p in c.points])
    py = np.array([p[1] for p in c.points])
    bottom.plot(px, py, "o", ms=4, color="#e67e22", label=f"autograd ({c.dtype})")
    _scale(top, f)
    _scale(bottom, np.concatenate([d, py]))
    if linthresh is not None:
        bottom.set_xscale("symlog", linthresh=linthresh)
        bottom.set_xlabel(f"{c.name} (logarithmic in |{c.name}|, linear within ±{linthresh:.2g})")
    else:
        bottom.set_xlabel(c.name)
    top.set_ylabel(f"f({c.name})")
    bottom.set_ylabel(f"d f / d {c.name}" + _held(c))
    lines = _title(result, c, kinks)
    fig.suptitle("\n".join(lines), y=0.985)
    top_edge = 0.93 - 0.045 * len(lines)
    _legend(fig, (top, bottom), top_edge + 0.005)
    fig.subplots_adjust(left=0.14, right=0.97, top=top_edge, bottom=0.1, hspace=0.12)
    _thin_ticks(fig)
    return fig


def _shade(c: Curve, x: np.ndarray, owner: np.ndarray, uncovered: np.ndarray, axes) -> None:
    """Neighbouring pieces in alternating colours; what no piece covers hatched."""
    for ax in axes:
        if len(c.pieces) > 1:
            spans = sorted(s for k in range(len(c.pieces)) for s in _spans(owner == k, x))
            for i, (a, b) in enumerate(spans):
                ax.axvspan(a, b, color=_PIECE_COLOURS[i % 2], lw=0)
        for a, b in _spans(uncovered, x):
            ax.axvspan(a, b, facecolor="none", edgecolor="#c0392b", hatch="////", lw=0,
                       label="uncovered" if ax is axes[0] else None)


def _legend(fig, axes, y: float) -> None:
    """One legend for both panels, in a row above them: outside the axes, it covers no point."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.555, y), ncols=len(labels), fontsize=8,
               frameon=False, handlelength=1.6, columnspacing=1.2)


def _title(result: CaseResult, c: Curve, kinks: tuple[float, ...]) -> list[str]:
    """The title's lines: what is drawn, and what `detach` or a kink makes of it."""
    pieces = f", {len(c.pieces)} pieces shaded" if len(c.pieces) > 1 else ""
    lines = [f"{result.name}: the function and its derivative{pieces}"]
    if c.held:
        said = (f"{', '.join(c.held)} is held constant (detach or no_grad): the derivative is "
                f"{sympy.sstr(c.pieces[0][2])}, not the slope {sympy.sstr(c.slope)} of f")
        lines.append(said if c.slope is not None and len(said) <= TITLE_WIDTH else
                     "a term is held constant (detach or no_grad): the derivative drawn is not the slope of f")
    if kinks:
        where = f" at {c.name} = {', '.join(_short(k) for k in kinks)}"
        ruled = any(p.rule for p in result.points)  # a point at the kink: autograd's value there is a rule's
        said = (f"kink{'s' if len(kinks) > 1 else ''}{where} (dotted): the derivative jumps"
                + ("; autograd there follows PyTorch's rule" if ruled else ", and has no value there"))
        lines.append(said if len(said) <= TITLE_WIDTH else said.replace(where, "", 1))
    return lines


def _held(c: Curve) -> str:
    """What the derivative's axis adds when something is held constant: `, x**2 held constant`."""
    if not c.held:
        return ""
    said = f", {', '.join(c.held)} held constant"
    return said if len(said) <= 30 else ", a term held constant"


def _short(x: float) -> str:
    return f"{x:.4g}".replace("-", "−")


def _switches(expr: sympy.Basic) -> set:
    """The expressions whose sign change switches a branch of `expr`: Heaviside(g), |g|, Max(a, b) -> a - b."""
    found = set()
    for node in sympy.preorder_traversal(expr):
        name = type(node).__name__
        if name in ("Heaviside", "sign", "Abs"):
            found.add(node.args[0])
        elif name in ("Max", "Min"):
            found |= {node.args[0] - other for other in node.args[1:]}
        elif isinstance(node, sympy.Piecewise):
            found |= {c.lhs - c.rhs for _, c in node.args if isinstance(c, sympy.core.relational.Relational)}
    return found


def _kinks(c: Curve, x: np.ndarray) -> tuple[float, ...]:
    """Where the derivative of a one-piece curve jumps inside the drawn range (relu at 0): its kinks.

    Each branch switch of the function or its derivative is a candidate, found where its sign
    changes on the grid and then by bisection; it is a kink where the derivative's two sides differ."""
    if len(c.pieces) != 1:
        return ()  # piece boundaries are shaded instead
    var = sympy.Symbol(c.name, real=True)
    _, f, d = c.pieces[0]
    derivative = _numeric(d, var)
    scale = float(x[-1] - x[0])
    found: list[float] = []
    for g in sorted(_switches(f) | _switches(d), key=sympy.default_sort_key):
        if g.free_symbols != {var}:
            continue
        for root in _roots(_numeric(g, var), x):
            root = 0.0 if abs(root) < 1e-9 * scale else root
            if _jumps(derivative, root, scale) and not any(abs(root - k) < 1e-6 * scale for k in found):
                found.append(root)
    return tuple(sorted(found))


def _jumps(derivative, root: float, scale: float) -> bool:
    """Whether the derivative's two sides differ at `root`: by as much at 1e-9 of the range from it as at
    1e-6 (a continuous derivative's difference shrinks with the distance; a jump's does not)."""
    with np.errstate(all="ignore"):
        far = derivative(root + scale * np.array([-1e-6, 1e-6]))
        near = derivative(root + scale * np.array([-1e-9, 1e-9]))
    gap, close = abs(far[1] - far[0]), abs(near[1] - near[0])
    return bool(close > 1e-6 * max(1.0, abs(near[0]), abs(near[1])) and close > gap / 2)


def _roots(g, x: np.ndarray) -> list[float]:
    """Where `g` changes sign on the grid `x`, each found by bisection to float precision."""
    with np.errstate(all="ignore"):
        values = np.sign(g(x))
    signed = np.flatnonzero(np.isfinite(values) & (values != 0))
    roots = [float(x[i]) for i in np.flatnonzero(values == 0)]
    for i, j in zip(signed[:-1], signed[1:]):
        if values[i] == values[j]:
            continue
        a, b = float(x[i]), float(x[j])
        for _ in range(80):
            m = (a + b) / 2
            with np.errstate(all="ignore"):
                side = np.sign(g(np.array([m])))[0]
            if side == 0 or m in (a, b):
                break
            a, b = (m, b) if side == values[i] else (a, m)
        roots.append(m)
    return roots


def _broken(x: np.ndarray, d: np.ndarray, kinks: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The grid and the derivative with a gap (NaN) at each kink, so no line joins its two sides."""
    at = np.searchsorted(x, kinks)
    return np.insert(x, at, kinks), np.insert(d, at, np.nan)


def _thin_ticks(fig) -> None:
    """Drop every other tick label (then two of three, ...) on each axis whose labels overlap, until none
    do, keeping the tick nearest 0. One layout per round, for every axis at once."""
    from matplotlib.ticker import FixedLocator

    axes = [axis for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)]
    ticks = {id(axis): np.asarray(axis.get_majorticklocs()) for axis in axes}
    step = {id(axis): 1 for axis in axes}
    while True:
        fig.draw_without_rendering()
        crowded = [axis for axis in axes if step[id(axis)] < len(ticks[id(axis)]) and _overlapping(fig, axis)]
        if not crowded:
            return
        for axis in crowded:
            locs, step[id(axis)] = ticks[id(axis)], step[id(axis)] + 1
            centre = int(np.argmin(np.abs(locs)))
            axis.set_major_locator(FixedLocator(locs[(np.arange(len(locs)) - centre) % step[id(axis)] == 0]))


def _overlapping(fig, axis) -> bool:
    """Whether two of the axis's visible tick labels overlap, as last laid out."""
    renderer = fig.canvas.get_renderer()
    low, high = sorted(axis.get_view_interval())
    boxes = [label.get_window_extent(renderer) for loc, label in zip(axis.get_majorticklocs(), axis.get_ticklabels())
             if low <= loc <= high and label.get_visible() and label.get_text()]
    spans = sorted((b.x0, b.x1) if axis.axis_name == "x" else (b.y0, b.y1) for b in boxes)
    return any(next_start < end + 2 for (_, end), (next_start, _) in zip(spans, spans[1:]))


def _sampled(c: "Curve", x: np.ndarray) -> tuple:
    """(f, its exact derivative, the piece owning each x or -1, uncovered) on the grid `x`."""
    var = sympy.Symbol(c.name, real=True)
    f = np.full(x.shape, np.nan)
    d = np.full(x.shape, np.nan)
    owner = np.full(x.shape, -1)
    with np.errstate(all="ignore"):
        for k, (where, fk, dk) in enumerate(c.pieces):
            inside = np.ones(x.shape, bool) if where is sympy.true else \
                np.broadcast_to(np.asarray(_condition(where, var)(x), dtype=bool), x.shape)
            inside = inside & (owner < 0)
            owner[inside] = k
            f[inside] = _numeric(fk, var)(x)[inside]
            d[inside] = _numeric(dk, var)(x)[inside]
        uncovered = np.zeros(x.shape, bool)
        for cond in c.uncovered:
            uncovered |= np.broadcast_to(np.asarray(_condition(cond, var)(x), dtype=bool), x.shape)
    uncovered |= owner < 0
    return f, d, owner, uncovered


def _condition(cond: sympy.Basic, var: sympy.Symbol):
    if cond is sympy.true or cond is sympy.false:
        value = cond is sympy.true
        return lambda x: np.full(x.shape, value)
    return sympy.lambdify([var], cond, modules="numpy")
