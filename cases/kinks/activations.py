"""Piecewise activations at their switch: each judged by its own mathematics, as the op autograd runs.

PyTorch's rules (autograd notes, "Gradients for non-differentiable
functions"), op by op: 1. differentiable: the derivative; 2. locally convex:
the subgradient of least norm; 3. locally concave: the supergradient of
least norm; 4. defined: the derivative by continuity, any one where several;
5. undefined: any value. Each case's example point is on the kink; its
samples lie off it. The page names the rule and the values it allows.
"""
import torch
import torch.nn.functional as F

from compare import case

F64 = torch.float64


@case(inputs={"x": torch.tensor([0.0, 1.5, -2.0])})
def relu_at_zero(x):
    """relu at 0: slopes 0 | 1, convex, so rule 2 gives the least-norm subgradient, 0.

    SymPy's Heaviside(0) is 1/2, and finite differences give 1/2 too."""
    return torch.relu(x).sum()


@case(inputs={"x": torch.tensor([-3.0, 3.0], dtype=F64)}, samples=0, order=1)
def hardsigmoid_at_its_bounds(x):
    """hardsigmoid at -3 (convex) and 3 (concave): rules 2 and 3 give 0 at both, and so does autograd.

    hardsigmoid = clamp((x + 3) / 6, 0, 1) has slopes 0 | 1/6 at -3 and 1/6 | 0 at 3. autograd runs its own
    hardsigmoid_backward, not the pass-through of the clamp its decomposition calls. No samples: between
    the bounds torch's float64 backward multiplies by 1/6 rounded to float32; no second derivatives:
    torch's hardsigmoid_backward has none."""
    return F.hardsigmoid(x).sum()


@case(inputs={"x": torch.tensor([-3.0, 3.0], dtype=F64)}, samples=1)
def hardswish_at_its_bounds(x):
    """hardswish at -3 and 3: neither convex nor concave, so rule 4 allows either one-sided slope at each.

    hardswish = x (x + 3) / 6 between -3 and 3: at -3 the slopes fall from 0 to -1/2 while the right piece is
    convex, at 3 from 3/2 to 1 while the left one is. So {0, -1/2} and {3/2, 1}; autograd gives 0 and 1."""
    return F.hardswish(x).sum()


@case(inputs={"x": torch.tensor([0.0, 6.0], dtype=F64)}, samples=1)
def relu6_at_its_bounds(x):
    """relu6 is hardtanh(x, 0, 6): convex at 0, concave at 6, rules 2 and 3 give 0 at both."""
    return F.relu6(x).sum()


@case(inputs={"x": torch.tensor([0.0], dtype=F64)}, samples=1)
def leaky_relu_at_zero(x):
    """leaky_relu at 0: slopes 0.01 | 1, convex, so rule 2 gives the least-norm subgradient, 0.01."""
    return F.leaky_relu(x).sum()


@case(inputs={"x": torch.tensor([0.0], dtype=F64)}, samples=1,
      known_wrong="leaky_relu(x, -0.5) at 0 is convex (slopes -1/2 | 1): rule 2 gives 0, autograd -1/2")
def leaky_relu_negative_slope(x):
    """leaky_relu(x, -0.5) at 0: convex, rule 2 asks for 0, but autograd gives -1/2 (torch breaks its rule).

    The slopes are -1/2 | 1: the subgradients are [-1/2, 1], the one of least norm 0; autograd takes the
    left slope."""
    return F.leaky_relu(x, -0.5).sum()


@case(inputs={"x": torch.tensor([0.0], dtype=F64)}, samples=1,
      known_wrong="leaky_relu(x, 2) at 0 is concave (slopes 2 | 1): rule 3 gives 1, autograd 2")
def leaky_relu_steep_slope(x):
    """leaky_relu(x, 2) at 0: concave, rule 3 asks for 1, but autograd gives 2 (torch breaks its rule).

    The slopes are 2 | 1: the supergradients are [1, 2], the one of least norm 1; autograd takes the left
    slope."""
    return F.leaky_relu(x, 2.0).sum()


@case(inputs={"x": torch.tensor([0.0], dtype=F64)}, samples=1)
def elu_at_zero(x):
    """elu at 0: slope 1 from both sides, but its second derivative is 1 or 0 (rule 4, one order up).

    Its derivative min(e^x, 1) has slopes 1 | 0 there with a convex left piece: neither convex nor concave,
    so either one-sided value; autograd's Hessian is 0."""
    return F.elu(x).sum()


@case(inputs={"x": torch.tensor([0.0], dtype=F64)}, samples=1)
def selu_at_zero(x):
    """selu at 0: slopes scale alpha | scale with a convex left piece: rule 4, either (autograd: the left).

    selu is composite: autograd records elu(x, alpha, scale), and compare judges that op."""
    return F.selu(x).sum()


@case(inputs={"x": torch.tensor([0.0], dtype=F64)}, samples=1)
def celu_at_zero(x):
    """celu (alpha 2) at 0: slope 1 from both sides; second derivatives 1/2 | 0, rule 4 allows either."""
    return F.celu(x, 2.0).sum()


@case(inputs={"x": torch.tensor([0.0], dtype=F64), "w": torch.tensor([0.25], dtype=F64)}, samples=1)
def prelu_at_zero(x, w):
    """prelu(x, w) at x = 0: its pieces x and w x meet there, not convex in (x, w): rule 4, either gradient.

    The gradients are (1, 0) and (w, x) = (1/4, 0); autograd gives (1/4, 0)."""
    return F.prelu(x, w).sum()


@case(inputs={"x": torch.tensor([20.0], dtype=F64)}, samples=1)
def softplus_at_its_threshold(x):
    """softplus at its threshold 20: a tiny jump, so rule 4 allows either one-sided slope.

    softplus is log(1 + e^x) up to 20 and x beyond: it jumps by log(1 + e^-20) at 20. The slopes are
    sigmoid(20) and 1, the second derivatives sigmoid'(20) and 0; autograd gives the first slope and 0."""
    return F.softplus(x).sum()


@case(inputs={"x": torch.tensor([0.5, -0.5], dtype=F64)}, samples=1)
def hardshrink_at_lambda(x):
    """hardshrink jumps at +-1/2 (from 0 to +-1/2): rule 4, slope 0 or 1 at each (autograd: 0)."""
    return F.hardshrink(x).sum()


@case(inputs={"x": torch.tensor([0.5, -0.5], dtype=F64)}, samples=1)
def softshrink_at_lambda(x):
    """softshrink is continuous: convex at 1/2 (slopes 0 | 1), concave at -1/2 (1 | 0): 0 at both."""
    return F.softshrink(x).sum()


@case(inputs={"x": torch.tensor([1.0], dtype=F64)}, samples=1)
def threshold_at_its_threshold(x):
    """threshold(x, 1, 0) is 0 up to 1 and x beyond: a jump at 1, rule 4, slope 0 or 1 (autograd: 0)."""
    return F.threshold(x, 1.0, 0.0).sum()
