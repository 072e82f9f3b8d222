"""Where a function or class is defined, for messages and reports: (file, line)."""
from __future__ import annotations

import functools
import inspect
import os

__all__ = ["source_location"]


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
