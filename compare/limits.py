"""Time limits: a case that runs too long becomes an error naming its limit, not a hang."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["CaseTimeout", "time_limit", "SECOND_ORDER_ADVICE"]

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
