"""Limits: a case that runs too long becomes an error naming its limit, not a hang; an exploration
whose paths multiply stops at a budget and reports what it left."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["CaseTimeout", "time_limit", "SECOND_ORDER_ADVICE", "ExplorationBudget", "EXPLORATION_BUDGET"]


@dataclass(frozen=True)
class ExplorationBudget:
    """What one check's exploration of the control flow may spend. Where the paths multiply (each
    point of a sampling grid picks its cell: thousands of pieces), it stops there; every path not
    explored is reported uncovered, with its probability, and every explored piece is checked."""

    pieces: int = 128
    """Paths run to their end (pieces, and regions where the code raises). Sorting 5 entries makes
    120 pieces, the notes' control flow 82."""
    seconds: float = 5.0
    """CPU seconds (`time.process_time`) of exploring. A backstop: where it is what stops, what was
    explored depends on the machine's speed, and the uncovered regions say so."""


EXPLORATION_BUDGET = ExplorationBudget()
"""The budget of every check."""

SECOND_ORDER_ADVICE = ("if second derivatives are the slow part (Hessians through max or abs can be), "
                       "@case(..., order=1) skips them")
"""Ends the time-limit message of a case checked to second order."""


class CaseTimeout(BaseException):
    """The case ran longer than its time limit.

    A BaseException, as KeyboardInterrupt is: an `except Exception` that
    tolerates a failing oracle (or that a case writes) must not swallow it
    and run on without a limit.
    """


@contextmanager
def time_limit(seconds: float | None, what: str = "the case", advice: str = ""):
    """Raise CaseTimeout inside the code after `seconds` (main thread only; else no limit).

    `advice`, if any, ends the message: what else than a longer limit may help.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise CaseTimeout(f"{what} ran longer than its time limit of {seconds:g} s (see --timeout)"
                          + (f"; {advice}" if advice else ""))

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)  # and again every 0.5 s, should a bare except eat it
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
