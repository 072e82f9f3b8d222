"""Ties: reductions and selections where several entries hold the extreme, the median or the k-th value.

What autograd gives at a tie is documented op by op: max(), amax and
median() share the gradient evenly among the tied entries; max(x, dim)
gives it to the index it returns, the first; cummax to the last; sort, topk,
kthvalue, median(x, dim), mode and max pooling to the index they return,
which may be any of the tied ones. The page names the rule and lists every
gradient it allows.
"""
import torch
import torch.nn.functional as F

from compare import case

F64 = torch.float64


@case(inputs={"x": torch.tensor([1.0, 3.0, 3.0, 2.0])})
def max_with_ties(x):
    """max over a tie: autograd shares the gradient evenly between the tied entries."""
    return torch.max(x)


@case(inputs={"x": torch.tensor([[3.0, 3.0, 1.0], [0.0, 2.0, 2.0]])})
def amax_with_ties(x):
    """amax along a dim with ties: each row's gradient is shared evenly between its tied entries."""
    return torch.amax(x, dim=1).sum()


@case(inputs={"x": torch.tensor([[3.0, 3.0, 1.0], [0.0, 2.0, 2.0]])})
def max_dim_with_ties(x):
    """max(x, dim) with ties: all of the gradient goes to the index it returns, the first tied one."""
    return torch.max(x, dim=1).values.sum()


@case(inputs={"x": torch.tensor([1.0, 3.0, 3.0, 2.0], dtype=F64)}, samples=1)
def cummax_with_ties(x):
    """cummax of [1, 3, 3, 2]: each running maximum's gradient goes to the last tied entry, [1, 1, 2, 0].

    The running maxima come from entries 0, 1, then 2 (the last of the tied 3s, the index cummax returns),
    then 2 again."""
    return torch.cummax(x, 0).values.sum()


@case(inputs={"x": torch.tensor([1.0, 3.0, 3.0], dtype=F64)}, samples=1)
def topk_with_ties(x):
    """topk(x, 1) of [1, 3, 3]: either 3 may be the one returned, so either gradient is allowed."""
    return torch.topk(x, 1).values.sum()


@case(inputs={"x": torch.tensor([1.0, 3.0, 3.0], dtype=F64)}, samples=1)
def sort_with_ties(x):
    """sort, weighted by position: the tied 3s may come out in either order (sort is not stable by default)."""
    return (torch.sort(x).values * torch.tensor([1.0, 10.0, 100.0], dtype=F64)).sum()


@case(inputs={"x": torch.tensor([1.0, 3.0, 3.0], dtype=F64)}, samples=1)
def median_with_ties(x):
    """median() of [1, 3, 3] is 3, held by two entries: autograd shares the gradient evenly between them."""
    return torch.median(x)


@case(inputs={"x": torch.tensor([1.0, 3.0, 3.0], dtype=F64)}, samples=1)
def median_dim_with_ties(x):
    """median(x, dim) gives the gradient to the index it returns, either of the two 3s."""
    return torch.median(x, 0).values


@case(inputs={"x": torch.tensor([1.0, 3.0, 1.0], dtype=F64)}, samples=1)
def kthvalue_with_ties(x):
    """kthvalue(x, 2) of [1, 3, 1] is 1, held by entries 0 and 2: either."""
    return torch.kthvalue(x, 2).values


@case(inputs={"x": torch.tensor([1.0, 3.0, 1.0], dtype=F64)}, samples=1)
def mode_with_ties(x):
    """mode of [1, 3, 1] is 1, held by entries 0 and 2: either."""
    return torch.mode(x).values


@case(inputs={"x": torch.tensor([[[1.0, 1.0, 0.0, 2.0]]], dtype=F64)}, samples=1)
def max_pool_with_ties(x):
    """max_pool1d(x, 2): the first window ties, and its gradient may go to either of its entries."""
    return F.max_pool1d(x, 2).sum()
