"""Stage 4, the verdict: tolerances and statuses, PyTorch's rules at kinks, and claims.

`verdict.py` holds every tolerance and decides agreement; `kinks/` the
rules PyTorch documents at nondifferentiable points, from each op's mathematics; `claims.py` proves or
refutes a case's `expect` by algebra.
"""
