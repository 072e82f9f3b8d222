"""The exact mathematics: what a derivative is, exactly, and its value at a point, correctly rounded.

Nothing here knows tensors, cases or verdicts; every stage above reads it.

- `sym`: the vocabulary (exact constants, input symbols, `detach`, relations as operators);
- `differentiate`: gradient, Jacobian, Hessian and H v of expressions, term by term, once per
  `shapes` (an expression's tree with its own symbols marked, so `4*x_0`, ..., `4*x_999` are one);
- `evaluate`: exact values at points, correctly rounded to float64, on Arb's balls (`ball`) where
  they decide, else `arithmetic` (exact Fractions, two mpmath precisions), with `zero`'s test of an
  expression being 0 as a function;
- `localize`: an expression as it reads near a point (Max, Abs, sign off their kinks);
- `jets`: second derivatives along directions by dual numbers of balls; `continuity`: exact values
  as limits where a formula is 0/0; `extended`: points with an infinite coordinate;
- the traced graph, where trees swell: `tape.py` records a symbolic run as a graph (each op autograd
  runs, a node per output entry) and decides, in one place, when a case needs it; `compiled.py`
  gives each node its exact local derivatives from its SymPy meaning; `sweep.py` combines them by
  the chain rule at the points, in Arb's ball arithmetic; `values.py` turns that into the exact
  values the checks compare with; `kinked.py` points on a node's kink; `piece.py` what a page shows.
"""
