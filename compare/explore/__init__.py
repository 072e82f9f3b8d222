"""Stage 1, the paths: a case's control flow as pieces, each with its condition and a point inside.

`paths.py` re-runs the case on symbolic tensors, one forced prefix of
branch decisions at a time; `feasible.py` asks z3 (and `intervals.py`)
whether a path condition can hold and where; the probabilities of what
is left uncovered come from there too.
"""
from .paths import (ByValue, Decision, Exploration, Piece, Uncovered, explore, is_branch, path_key,
                    run_symbolic)

__all__ = ["Decision", "Piece", "Uncovered", "Exploration", "ByValue", "explore", "run_symbolic", "path_key",
           "is_branch"]
