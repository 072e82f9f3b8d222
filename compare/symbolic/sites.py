"""Where in the user's code a symbolic run is: the innermost frame outside compare and torch."""
from __future__ import annotations

import os
import sys

import torch

__all__ = ["user_site"]

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TORCH = os.path.dirname(os.path.abspath(torch.__file__))
_OUTSIDE: dict[str, str | None] = {}


def _user_file(filename: str) -> str | None:
    """The absolute path of a code object's file, or None for compare's, torch's and contextlib's."""
    if filename not in _OUTSIDE:
        path = os.path.abspath(filename)
        ours = path.startswith(_HERE) or path.startswith(_TORCH) or "contextlib" in path
        _OUTSIDE[filename] = None if ours else path
    return _OUTSIDE[filename]


def user_site() -> tuple[str, int]:
    """(file, line) of the innermost frame outside compare and torch: where a case branches."""
    frame = sys._getframe(1)
    while frame is not None:
        path = _user_file(frame.f_code.co_filename)
        if path is not None:
            return path, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0
