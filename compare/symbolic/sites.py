"""Where in the user's code a symbolic run is: the innermost frame outside compare and torch."""
from __future__ import annotations

import os
import sys

import torch

__all__ = ["user_site", "user_site_of", "enclosing_torch_function"]

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TORCH = os.path.dirname(os.path.abspath(torch.__file__))
_OUTSIDE: dict[str, str | None] = {}
_HANDLER = torch.overrides.handle_torch_function.__code__


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


def enclosing_torch_function() -> str | None:
    """The name of the torch function whose Python code runs between here and the user's frame
    (`F.gaussian_nll_loss` checking `torch.any(var < 0)`), or None.

    Such a function reaches its code through `torch.overrides.handle_torch_function`, which
    takes a `TorchFunctionMode` off the stack while it runs: a branch in there is not a Python
    branch that autograd's run can record.
    """
    frame = sys._getframe(1)
    while frame is not None and _user_file(frame.f_code.co_filename) is None:
        if frame.f_code is _HANDLER:
            api = frame.f_locals.get("public_api")
            return getattr(api, "__name__", "torch function")
        frame = frame.f_back
    return None


def user_site_of(tb) -> tuple[str, int]:
    """(file, line) of the innermost frame of a traceback outside compare and torch."""
    found = ("<unknown>", 0)
    while tb is not None:
        path = _user_file(tb.tb_frame.f_code.co_filename)
        if path is not None:
            found = (path, tb.tb_lineno)
        tb = tb.tb_next
    return found
