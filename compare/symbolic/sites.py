"""Where in the user's code a symbolic run is: the innermost frame outside compare and torch.

`compare.locate` decides which code is the user's; a branch is recorded at `user_site()`.
"""
from __future__ import annotations

import sys

import torch

from ..locate import user_file, user_site

__all__ = ["user_site", "user_site_of", "enclosing_torch_function"]

_HANDLER = torch.overrides.handle_torch_function.__code__


def enclosing_torch_function() -> str | None:
    """The name of the torch function whose Python code runs between here and the user's frame
    (`F.gaussian_nll_loss` checking `torch.any(var < 0)`), or None.

    Such a function reaches its code through `torch.overrides.handle_torch_function`, which
    takes a `TorchFunctionMode` off the stack while it runs: a branch in there is not a Python
    branch that autograd's run can record.
    """
    frame = sys._getframe(1)
    while frame is not None and user_file(frame.f_code.co_filename) is None:
        if frame.f_code is _HANDLER:
            api = frame.f_locals.get("public_api")
            return getattr(api, "__name__", "torch function")
        frame = frame.f_back
    return None


def user_site_of(tb) -> tuple[str, int]:
    """(file, line) of the innermost frame of a traceback in the user's code."""
    found = ("<unknown>", 0)
    while tb is not None:
        path = user_file(tb.tb_frame.f_code.co_filename)
        if path is not None:
            found = (path, tb.tb_lineno)
        tb = tb.tb_next
    return found
