"""A one-line progress display for long runs: cases done, the cases being checked, time elapsed.

    progress = Progress(total=35, names=[...])   # drawn only on a terminal, never in CI
    progress.started(i); progress.done(i, "      ok  dot  (5 points, ...)"); progress.close()

The line is redrawn in place (carriage return, erase to the end of the
line) on standard error, and twice a second so that the clock moves while
a slow case runs. Each finished case's own line is printed above it, as
without a terminal. Without a terminal (a pipe, a file) or with `CI` set,
nothing but those per-case lines is written: logs stay free of control
characters.
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from typing import Sequence, TextIO

__all__ = ["Progress", "wanted"]

TICK = 0.5
"""Seconds between redraws of the clock."""

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
    """The progress line of one run over `names` (one per case, by index)."""

    def __init__(self, names: Sequence[str], stream: TextIO | None = None, enabled: bool | None = None):
        self.names = list(names)
        self.stream = stream or sys.stderr
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self.start = time.monotonic()
        self.running: list[int] = []
        self.finished = 0
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

    def done(self, i: int, line: str) -> None:
        """Case `i` is finished: print its `line` (always), then the progress line again."""
        with self._lock:
            if i in self.running:
                self.running.remove(i)
            self.finished += 1
            if self.enabled:
                self.stream.write(ERASE)
            self.stream.write(line + "\n")
            self._draw()

    def close(self) -> None:
        """Stop the clock and erase the progress line."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self.enabled:
                self.stream.write(ERASE)
                self.stream.flush()

    def text(self) -> str:
        """The progress line itself: `[12/35] 4.1 s · checking control_flow, dot`."""
        elapsed = time.monotonic() - self.start
        now = ", ".join(self.names[i] for i in self.running)
        return f"[{self.finished}/{len(self.names)}] {elapsed:.1f} s" + (f" · checking {now}" if now else "")

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        self.stream.write(ERASE + self.text()[:max(width - 1, 10)])
        self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            with self._lock:
                self._draw()
