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
- `graph/`: the same derivatives on the traced graph, where trees swell (an LSTM, attention): each op
  autograd runs a node, its local derivatives from its SymPy meaning, the chain rule in balls.
"""
