"""Activation functions, elementwise on a vector: each derivative is a function of one entry."""
import torch
import torch.nn.functional as F

from compare import case

x = torch.tensor([-2.0, -0.5, 0.25, 1.5, 3.0])


@case(inputs={"x": x}, expect=lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)))
def sigmoid(x):
    """sigmoid' = sigmoid (1 - sigmoid): largest, 1/4, at 0."""
    return torch.sigmoid(x)


@case(inputs={"x": x}, expect=lambda x: 1 - torch.tanh(x) ** 2)
def tanh(x):
    """tanh' = 1 - tanh^2: it saturates on both sides, where the gradient vanishes."""
    return torch.tanh(x)


@case(inputs={"x": x}, expect=lambda x: torch.where(x > 0, 1.0, 0.0))
def relu(x):
    """relu' is 0 left of 0 and 1 right of it (the kink at 0 itself is not sampled here)."""
    return torch.relu(x)


@case(inputs={"x": x}, expect=lambda x: torch.where(x > 20, 1.0, torch.sigmoid(x)))
def softplus(x):
    """softplus = log(1 + e^x) has the sigmoid as derivative, until torch turns it into x above 20."""
    return F.softplus(x)


# No `expect`: the closed form Phi(x) + x phi(x) needs 1/sqrt(2 pi), which no float holds exactly.
@case(inputs={"x": x})
def gelu(x):
    """gelu = x Phi(x): its derivative Phi(x) + x phi(x) dips below 0 left of 0."""
    return F.gelu(x)
