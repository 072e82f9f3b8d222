"""Paths on which the case raises: the edge of the function's domain.

Library code checks its arguments (`F.gaussian_nll_loss` raises `ValueError` where `var < 0`).
The explorer forks at such a check as at any branch; the side that raises is no piece of the
function but a region outside its domain, reported with its condition and probability, while
every other path is checked. Only an exception the case's code (or a library it calls) raises
to refuse its inputs counts: `ValueError`, `AssertionError`, `ArithmeticError` and
`RuntimeError` (what `torch._check` raises), raised outside compare's own code and SymPy's.
Anything else, and a raise on a path that made no decision, stays the case's error, as does a
raise at the case's own example point.
"""
from __future__ import annotations

import os

import sympy

from ..symbolic.sites import user_site_of

__all__ = ["outside_domain", "raise_site", "describe"]

_REFUSALS = (ValueError, AssertionError, ArithmeticError, RuntimeError)
_COMPARE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SYMPY = os.path.dirname(os.path.abspath(sympy.__file__))


def outside_domain(exc: BaseException) -> bool:
    """Is `exc` the case's code refusing its inputs (not compare failing on them)?"""
    if not isinstance(exc, _REFUSALS) or exc.__traceback__ is None:
        return False
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    where = os.path.abspath(tb.tb_frame.f_code.co_filename)
    return not (where.startswith(_COMPARE) or where.startswith(_SYMPY))


def raise_site(exc: BaseException) -> tuple[str, int]:
    """(file, line) of the innermost frame of the case's own code (outside compare and torch) that `exc`
    passed through: the line whose call raised."""
    return user_site_of(exc.__traceback__)


def describe(exc: BaseException) -> str:
    """`Type: first line of the message`."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
