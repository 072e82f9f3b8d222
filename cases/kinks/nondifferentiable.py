"""Kinks: points where the derivative does not exist, and what autograd gives there.

SymPy's derivative, autograd and finite differences each give a defensible
answer at a kink; autograd follows the rule PyTorch documents for the op
("Gradients for non-differentiable functions" in its autograd notes). Each
case puts its example point on the kink; its samples lie off it.
"""
import torch

from compare import case


@case(inputs={"x": torch.tensor([0.0, 1.5, -2.0])})
def relu_at_zero(x):
    """relu at 0: SymPy's Heaviside(0) is 1/2, finite differences give 1/2, autograd gives 0."""
    return torch.relu(x).sum()


@case(inputs={"x": torch.tensor([0.0, 1.5, -2.0])})
def abs_at_zero(x):
    """abs at 0: the subgradients are [-1, 1]; autograd takes the one of least norm, 0."""
    return x.abs().sum()


@case(inputs={"x": torch.zeros(3)})
def norm_at_zero(x):
    """The norm at the zero vector: the exact derivative x/|x| is 0/0; autograd gives 0."""
    return torch.linalg.vector_norm(x)


# Forward mode at x = 0 multiplies sqrt's inf by every tangent: a tangent that leaves x_0 still gives
# inf * 0 = NaN where the derivative along it exists; the forward modes are turned off here
@case(inputs={"x": torch.tensor([0.0, 0.25, 4.0])}, samples=0, check_forward_ad=False, check_batched_forward_grad=False)
def sqrt_at_zero(x):
    """sqrt at 0: the derivative grows without bound; autograd gives inf, by continuity."""
    return torch.sqrt(x).sum()


@case(inputs={"x": torch.tensor([0.0, 1.0, 0.5, 2.0])})
def clamp_at_bounds(x):
    """clamp at its bounds: autograd passes the gradient (1) at x = min and at x = max."""
    return torch.clamp(x, min=0.0, max=1.0).sum()


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
