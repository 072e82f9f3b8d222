"""Exact results as a page shows them: LaTeX in the names the text uses, and a long one by its shape.

No renderer shows a formula of 47,907 characters, and no reader takes one in. A formula longer
than `LONGEST_SHOWN` characters is shown by its shape instead (its size, its operation count and
its first entries), with every entry, in SymPy's text (which `sympify` reads back), in a folded
`<details>` block below it.

The LaTeX names functions as SymPy's text does, so that a page and the index say the same:
`\\operatorname{Heaviside}(x)` where SymPy would write `\\theta(x)`, and
`\\operatorname{DiracDelta}(x)` for its `\\delta(x)`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
from sympy.printing.latex import LatexPrinter

from ..exact.sym import as_expr
from .words import counted

__all__ = ["LONGEST_SHOWN", "SHOWN_ENTRIES", "Formula", "formula_lines", "latex"]

LONGEST_SHOWN = 3000
"""Longest formula a page writes out, in characters of its LaTeX (or text); a longer one is shown
by its shape."""

SHOWN_ENTRIES = 3
"""Entries a formula shown by its shape writes out (its first ones that are not 0)."""

SHORT_ENTRY = 160
"""Longest entry written out beside a shape; a longer one is cut there, and its length given."""


class _Printer(LatexPrinter):
    """SymPy's LaTeX with the text's names for the step and delta functions."""

    def _print_Heaviside(self, expr, exp=None):
        return _power(r"\operatorname{Heaviside}\left(%s\right)" % ", ".join(self._print(a) for a in expr.pargs), exp)

    def _print_DiracDelta(self, expr, exp=None):
        return _power(r"\operatorname{DiracDelta}\left(%s\right)" % ", ".join(self._print(a) for a in expr.args), exp)


def _power(tex: str, exp) -> str:
    return r"\left(%s\right)^{%s}" % (tex, exp) if exp else tex


def latex(expr) -> str:
    """`expr` in LaTeX, naming functions as SymPy's text does (`Heaviside`, not `\\theta`)."""
    return _Printer().doprint(expr)


@dataclass(frozen=True)
class Formula:
    """An exact result to show on a page."""

    block: str
    """Its display form, as the page would write it: `$$H = ...$$`, or a fenced block of text."""
    what: str
    """What it is, in words: "the Hessian H"."""
    symbol: str
    """How its entries are named: "H" gives `H[0, 1]`."""
    values: np.ndarray
    """Its entries (an object array of SymPy expressions; 0-d for one expression)."""


def formula_lines(formula: Formula) -> list[str]:
    """The formula's lines on a page: its block, or past `LONGEST_SHOWN` its shape, a few entries, and
    every entry folded below."""
    if len(formula.block) <= LONGEST_SHOWN:
        return [formula.block, ""]
    values = np.asarray(formula.values, dtype=object)
    entries = [(idx, as_expr(values[idx])) for idx in np.ndindex(*values.shape)]
    operations = sum(sympy.count_ops(e) for _, e in entries)
    out = [f"Too long to write out here ({len(formula.block):,} characters): {formula.what}, {_size(entries, values)}, "
           f"{operations:,} operations in all (SymPy's `count_ops`). Its first entries:", ""]
    texts = [(_name(formula.symbol, idx), str(e)) for idx, e in entries]
    shown = [(name, text) for name, text in texts if text != "0"][:SHOWN_ENTRIES]
    out += [f"- `{name} = {text}`" if len(text) <= SHORT_ENTRY else
            f"- `{name} = {text[:SHORT_ENTRY]}` … ({len(text):,} characters)" for name, text in shown]
    out += ["", f"<details><summary>{formula.what[0].upper()}{formula.what[1:]}, every entry (SymPy's text, which "
                f"<code>sympify</code> reads back)</summary>", "", "```text"]
    out += [f"{name} = {text}" for name, text in texts]
    return out + ["```", "", "</details>", ""]


def _size(entries: list, values: np.ndarray) -> str:
    """`6×6 (36 entries, 24 of them 0)`, `3 entries`, `one expression`."""
    if values.ndim == 0:
        return "one expression"
    zeros = sum(e == 0 for _, e in entries)
    count = counted(values.size, "entry") + (f", {zeros} of them 0" if zeros else "")
    return count if values.ndim == 1 else f"{'×'.join(map(str, values.shape))} ({count})"


def _name(symbol: str, idx: tuple) -> str:
    return f"{symbol}[{', '.join(map(str, idx))}]" if idx else symbol
