"""Stage 2: each piece derived exactly, and its exact values at every point checked.

- `derivatives.py`: a piece's gradient, Jacobian, Hessian (full, along u, or local, as the case's plan
  says), its kink sites, on the expression tree or on the traced graph (`compare.exact`);
- `claims.py`: a case's `expect` proved or refuted on the piece, by algebra;
- `values.py`: the exact values at every point of a piece in one evaluation, and the references
  each mode is held to.

What PyTorch's rules allow where a piece has a kink is `compare.kinks`'s.
"""
