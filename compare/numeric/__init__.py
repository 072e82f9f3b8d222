"""Stage 3, the numbers: what PyTorch computes at a point.

`runs.py` runs the case under autograd (reverse mode, its branches
recorded); `modes.py` every other mode's runs, which the judge is handed at a
point as `mode_numbers.ModeNumbers`; `oracles.py` the other numeric answers
beside it: forward mode, finite differences and autograd's Hessians.
"""
from .runs import (AutogradRun, PathRecorder, autograd_run, backward_error, claim_exact, claim_values, compiled,
                   defined, jacobian_run)

__all__ = ["AutogradRun", "PathRecorder", "autograd_run", "compiled", "defined", "jacobian_run", "backward_error",
           "claim_values", "claim_exact"]
