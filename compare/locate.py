"""Where code is, for messages and reports: a definition's (file, line), and the user's own line.

The user's code is every file that is neither compare's nor torch's (nor `contextlib`'s, the
machinery of a `with` between a user's line and ours): a case file, a test, a notebook cell.
"""
from __future__ import annotations

import functools
import inspect
import os
import sys
from types import FrameType

__all__ = ["source_location", "user_file", "user_site"]

_COMPARE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_USER: dict[str, str | None] = {}


def source_location(obj) -> tuple[str, int]:
    """(file, line) of `obj`'s definition; raises TypeError or OSError where it has no source file.

    A class is found by parsing its whole file (`inspect` reads the file's syntax tree to tell
    nested and same-named classes apart), which costs milliseconds each time; so a class's line is
    kept, keyed by its file's modification time and size as well, so an edited file is read again.
    """
    file = inspect.getsourcefile(obj) or "<unknown>"
    if not inspect.isclass(obj):
        return file, inspect.getsourcelines(obj)[1]
    stat = os.stat(file)
    return file, _class_line(obj, file, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _class_line(cls: type, file: str, mtime_ns: int, size: int) -> int:
    return inspect.getsourcelines(cls)[1]


def _torch_folder() -> str | None:
    # torch is not imported here: a frame can be torch's only once torch is loaded
    torch = sys.modules.get("torch")
    found = getattr(torch, "__file__", None)
    return os.path.dirname(os.path.abspath(found)) + os.sep if found else None


def user_file(filename: str) -> str | None:
    """The absolute path of a code object's file when it is the user's; None for compare's, torch's
    and contextlib's."""
    if filename not in _USER:
        path = os.path.abspath(filename)
        torch = _torch_folder()
        ours = path.startswith(_COMPARE) or (torch is not None and path.startswith(torch)) or "contextlib" in path
        if ours or torch is not None:  # before torch is loaded, a file's answer may still change
            _USER[filename] = None if ours else path
        return None if ours else path
    return _USER[filename]


def user_site(frame: FrameType | None = None) -> tuple[str, int]:
    """(file, line) of the innermost frame in the user's code, from `frame` (default: the caller's) outward."""
    frame = frame or sys._getframe(1)
    while frame is not None:
        path = user_file(frame.f_code.co_filename)
        if path is not None:
            return path, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0
