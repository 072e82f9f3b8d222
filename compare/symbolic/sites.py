"""Where in the user's code a symbolic run is: the innermost frame outside compare and torch.

`compare.locate` decides which code is the user's; a branch is recorded at `user_site()`.
"""
from __future__ import annotations

from ..locate import user_site

__all__ = ["user_site"]
