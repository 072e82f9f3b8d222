"""The four statuses of a point and a case, defined once (and importable without torch)."""
from __future__ import annotations

__all__ = ["AGREE", "CONVENTION", "DISAGREE", "ERROR", "STATUSES", "worst"]

AGREE, CONVENTION, DISAGREE, ERROR = "agree", "convention", "disagree", "error"
STATUSES = (AGREE, CONVENTION, DISAGREE, ERROR)
"""From best to worst. `convention`: at a kink, autograd gives the value PyTorch's documented rule gives."""


def worst(statuses) -> str:
    """The worst of some statuses (agree when there are none)."""
    return max(statuses, key=STATUSES.index, default=AGREE)
