"""One-line error messages that name the case file, the line and the cause."""
from __future__ import annotations

import os
import traceback
from types import TracebackType

__all__ = ["CannotCheck", "CaseOutputError", "display_path", "error_line", "one_line", "show_own_frames",
           "without_own_frames"]

_COMPARE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_OWN_FRAMES = {"shown": False}
"""Whether a `CannotCheck` keeps compare's own frames in the traceback of its cause (`show_own_frames`)."""


def display_path(path: str) -> str:
    """`path` relative to the working directory when it lies below it (stable across machines).

    A Jupyter cell's code lives in a file named by the kernel's process id
    (`/tmp/ipykernel_4242/3081571234.py`): it is shown as `<cell>`, the same
    in every session.
    """
    if os.path.basename(os.path.dirname(path)).startswith("ipykernel_"):
        return "<cell>"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def error_line(exc: BaseException, file: str) -> int | None:
    """The line of `file` where `exc` arose: the innermost traceback frame in that file."""
    target = os.path.abspath(file)
    if isinstance(exc, SyntaxError) and exc.filename and os.path.abspath(exc.filename) == target:
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == target:
            line = frame.lineno
    return line


def one_line(exc: BaseException, file: str, default_line: int | None = None) -> str:
    """`file:line: Type: message`, the message cut to its first line."""
    line = error_line(exc, file) or default_line
    # A SyntaxError's str() repeats the file and line: "... (case.py, line 7)".
    message = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    text = message.strip().splitlines()
    cause = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    where = display_path(file) + (f":{line}" if line else "")
    return f"{where}: {cause}"


class CaseOutputError(TypeError):
    """The case, or its `expect`, returned something the checker cannot compare."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line
        """The line of the case file it applies to, when the traceback cannot tell."""


class CannotCheck(Exception):
    """`assert_agrees` could not check the function: an op the symbolic side does not support,
    or a function that fails or returns no tensor. Not an AssertionError: nothing was found
    wrong with its derivative, so pytest reports an error, not a failed test.

    It is chained to the exception behind it, whose traceback shows the user's frames and
    torch's but not compare's own (`show_own_frames`); `.result.traceback` holds the whole one."""

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result
        """The `CaseResult` of the check: its `error` line and its full `traceback`."""


def show_own_frames(shown: bool) -> None:
    """Keep compare's own frames in the tracebacks `assert_agrees` raises (`pytest -v` does), or not."""
    _OWN_FRAMES["shown"] = bool(shown)


def without_own_frames(exc: BaseException | None) -> BaseException | None:
    """`exc`, and the exceptions it is chained to, with compare's own frames left out of their tracebacks
    (unless `show_own_frames(True)`): what remains is the user's code and torch's."""
    seen, link = set(), exc
    while link is not None and id(link) not in seen and not _OWN_FRAMES["shown"]:
        seen.add(id(link))
        link.with_traceback(_others(link.__traceback__))
        link = link.__cause__ or link.__context__
    return exc


def _others(tb: TracebackType | None) -> TracebackType | None:
    """The traceback `tb` without the entries in compare's own files."""
    kept = []
    while tb is not None:
        if not os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_COMPARE):
            kept.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for entry in reversed(kept):
        rebuilt = TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt
