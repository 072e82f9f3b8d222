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
from ..sym import as_expr, release

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


def curve(result: CaseResult) -> Curve | None:
    """The curve of a case with one scalar input, or one vector input used elementwise; else None."""
    from ..derive import template

    if result.status == ERROR or not result.pieces or not result.shapes or len(result.shapes) != 1 or \
            any(p.graph is not None for p in result.pieces):  # kept on the graph: no formula to draw
        return None
    (name, shape), = result.shapes.items()
    var = sympy.Symbol(name, real=True)
    pieces = []
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
        pieces.append((where, release(f), release(d)))
    points = []
    for p in result.points:
        for x, g in zip(np.ravel(p.inputs[name]), np.ravel(p.autograd[name])):
            points.append((float(x), float(g)))
    return Curve(name, tuple(pieces), tuple(u.condition for u in result.uncovered), tuple(points),
                 result.dtype)


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
    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x, linthresh = _grid(c)
    f, d, owner, uncovered = _sampled(c, x)

    with matplotlib.style.context("default"), matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(7.0, 5.0))
        FigureCanvasAgg(fig)
        top, bottom = fig.subplots(2, 1, sharex=True)
        for ax in (top, bottom):
            if len(c.pieces) > 1:  # neighbouring pieces in alternating colours
                spans = sorted(s for k in range(len(c.pieces)) for s in _spans(owner == k, x))
                for i, (a, b) in enumerate(spans):
                    ax.axvspan(a, b, color=_PIECE_COLOURS[i % 2], lw=0)
            for a, b in _spans(uncovered, x):
                ax.axvspan(a, b, facecolor="none", edgecolor="#c0392b", hatch="////", lw=0,
                           label="uncovered" if ax is top else None)
        top.plot(x, f, color="#1f4e79", lw=1.4, label=f"f({c.name})")
        bottom.plot(x, d, color="#1f4e79", lw=1.4, label="exact derivative (SymPy)")
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
        bottom.set_ylabel(f"d f / d {c.name}")
        pieces = f", {len(c.pieces)} pieces shaded" if len(c.pieces) > 1 else ""
        top.set_title(f"{result.name}: the function and its derivative{pieces}")
        top.legend(loc="upper left", fontsize=8)
        bottom.legend(loc="upper left", fontsize=8)
        fig.subplots_adjust(left=0.14, right=0.97, top=0.93, bottom=0.1, hspace=0.12)
        out = io.BytesIO()
        fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


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
