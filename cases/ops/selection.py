"""Selection: sort, topk, kthvalue and median move entries, so the derivative is a permutation
that depends on the point. Each comparison is decided per point (a piece per ordering)."""
import torch

from compare import case

g = torch.Generator().manual_seed(0)
x3 = torch.randn(3, generator=g, dtype=torch.float64)
w3 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
# Three entries: six orderings, six pieces. Four would give 24, five 120 (see the README).


@case(inputs={"x": x3}, order=1)
def sort_weighted(x):
    """sort, weighted by position: the i-th smallest entry gets gradient i + 1."""
    return torch.sort(x).values * w3


@case(inputs={"x": x3}, order=1)
def topk(x):
    """The two largest entries, largest first: each gets its weight, the smallest nothing."""
    return torch.topk(x, 2).values * w3[:2]


@case(inputs={"x": x3})
def kthvalue(x):
    """The second smallest of three: all of the gradient to it."""
    return torch.kthvalue(x, 2).values


@case(inputs={"x": x3})
def median(x):
    """The median of three: all of the gradient to the middle entry."""
    return torch.median(x)
