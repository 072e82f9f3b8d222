"""A one-line progress display for long runs: cases done, the cases being checked, time elapsed.

    progress = Progress(names=[...])   # drawn only on a terminal, never in CI
    progress.started(i); progress.done(i, "      ok  dot  (5 points, ...)"); progress.close()

The line is redrawn in place (carriage return, erase to the end of the
line) on standard error, and twice a second so that the clock moves while
a slow case runs. Each finished case's own line is printed above it, as
without a terminal. Without a terminal (a pipe, a file, Jupyter, pytest's
capture) or with `CI` set, nothing but those per-case lines is written:
logs stay free of control characters.

One check from Python (`compare.check`, `assert_agrees`) shows the same
line for itself, with the stage the engine is at, through one hook: the
engine calls `stage("deriving")` as it goes, and `one_check` listens.

    with one_check("<lambda>"):    # 12.3 s · checking <lambda>: exact values at every point
        check_case(case)
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import sys
import threading
import time
from typing import Callable, Iterator, Sequence, TextIO

__all__ = ["Progress", "wanted", "stage", "one_check"]

TICK = 0.5
"""Seconds between redraws of the clock; one check that ends sooner draws nothing at all."""

ERASE = "\r\033[K"
"""Back to the start of the line, then erase it."""


def wanted(stream: TextIO) -> bool:
    """Whether to draw progress on `stream`: a terminal, outside CI (`CI` unset or empty)."""
    if os.environ.get("CI"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


class Progress:
    """The progress line of one run over `names` (one per case, by index).

    `delay`: seconds before the line is first drawn; a run that ends sooner
    leaves no trace on the terminal.
    """

    def __init__(self, names: Sequence[str], stream: TextIO | None = None, enabled: bool | None = None,
                 delay: float = 0.0):
        self.names = list(names)
        self.stream = stream or sys.stderr
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self.start = time.monotonic()
        self.running: list[int] = []
        self.finished = 0
        self.current = ""
        """What the one case being checked is doing now (`stage`), where it says."""
        self._shown = delay <= 0
        self._delay = delay
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = None
        if self.enabled:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def started(self, i: int) -> None:
        with self._lock:
            if i not in self.running:
                self.running.append(i)
            self._draw()

    def stage(self, text: str) -> None:
        """The case being checked is now at `text` (`deriving`, `autograd at point 2 of 5`)."""
        with self._lock:
            self.current = text
            self._draw()

    def done(self, i: int, line: str) -> None:
        """Case `i` is finished: print its `line` (always), then the progress line again."""
        with self._lock:
            if i in self.running:
                self.running.remove(i)
            self.finished += 1
            self.current = ""
            if self.enabled and self._shown:
                self.stream.write(ERASE)
            self.stream.write(line + "\n")
            self._draw()

    def close(self) -> None:
        """Stop the clock and erase the progress line."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self.enabled and self._shown:
                self.stream.write(ERASE)
                self.stream.flush()

    def text(self) -> str:
        """The progress line itself: `[12/35] 4.1 s · checking control_flow, dot`.

        With one case in all, the count says nothing and is left out; with
        one case running, its stage follows its name (`checking dot: deriving`).
        """
        elapsed = time.monotonic() - self.start
        now = ", ".join(self.names[i] for i in self.running)
        if now and self.current and len(self.running) == 1:
            now += f": {self.current}"
        count = f"[{self.finished}/{len(self.names)}] " if len(self.names) > 1 else ""
        return f"{count}{elapsed:.1f} s" + (f" · checking {now}" if now else "")

    def _draw(self) -> None:
        if not (self.enabled and self._shown):
            return
        width = shutil.get_terminal_size((80, 24)).columns
        self.stream.write(ERASE + self.text()[:max(width - 1, 10)])
        self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            with self._lock:
                self._shown = self._shown or time.monotonic() - self.start >= self._delay
                self._draw()


_LISTENER: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "compare_progress_listener", default=None)
"""Where `stage` reports: the progress line of the check under way in this thread, if one is shown."""


def stage(text: str) -> None:
    """Say what the check under way is doing now; shown on a terminal by `one_check`, else nothing."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(text)


def _quiet(text: str) -> None:
    """The listener of a check inside a check: the outer one's line goes on saying what runs."""


@contextlib.contextmanager
def one_check(name: str, stream: TextIO | None = None) -> Iterator[None]:
    """Show the progress of one check named `name` while the block runs: its stage and the time.

    Drawn only where `wanted` (a terminal, outside CI), from `TICK` seconds
    on, and erased at the end, however the block ends. A check made inside
    another (a case that calls `assert_agrees`) draws no line of its own.
    """
    stream = stream or sys.stderr
    outer = _LISTENER.get()
    if outer is not None or not wanted(stream):
        token = _LISTENER.set(_quiet if outer is not None else None)
        try:
            yield
        finally:
            _LISTENER.reset(token)
        return
    progress = Progress([name], stream, enabled=True, delay=TICK)
    progress.started(0)
    token = _LISTENER.set(progress.stage)
    try:
        yield
    finally:
        _LISTENER.reset(token)
        progress.close()
