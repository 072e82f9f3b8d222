"""The exact side on the traced graph, where expression trees swell: the chain rule on small nodes.

`tape.py` records a symbolic run as a graph (each op autograd runs, a node per output entry) and
decides, in one place, when a case needs it; `compiled.py` gives each node its exact local derivatives
from its SymPy meaning; `sweep.py` combines them by the chain rule at the points, in Arb's ball
arithmetic; `values.py` turns that into the exact values the checks compare with; `kinked.py` finds
points on a node's kink; `piece.py` is what a page shows of such a piece.
"""
