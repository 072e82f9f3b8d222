"""Stage 1, the paths: a case's control flow as pieces, each with its condition and a point inside.

`paths.py` re-runs the case on symbolic tensors, one forced prefix of
branch decisions at a time, within `limits.EXPLORATION_BUDGET`;
`feasible.py` asks z3 (through `translate.py`), `intervals.py` and
`boxes.py` whether a path condition can hold and where; the probabilities
of what is left uncovered come from there too. `domain.py` tells a path
on which the code refuses its inputs (outside the function's domain) from
a failure.
"""
from .paths import (ByValue, Decision, Exploration, Piece, Raises, Uncovered, explore, is_branch, path_key,
                    run_symbolic)

__all__ = ["Decision", "Piece", "Uncovered", "Raises", "Exploration", "ByValue", "explore", "run_symbolic",
           "path_key", "is_branch"]
