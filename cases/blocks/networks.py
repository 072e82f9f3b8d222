"""Layers and a small network: affine maps, layer normalisation, a one-hidden-layer MLP."""
import torch
import torch.nn.functional as F

from compare import case

X = torch.tensor([[1.0, -0.5, 2.0], [0.25, 1.5, -1.0]])


@case(inputs={"W": torch.tensor([[0.5, -0.25, 1.0], [0.75, 0.5, -0.5]]), "b": torch.tensor([0.1, -0.2])},
      expect=lambda W, b: {"W": torch.ones(2, 2).T @ X, "b": torch.full((2,), 2.0)})
def linear(W, b):
    """F.linear(X, W, b) = X W^T + b summed over the batch: dW is each output's sum of inputs."""
    return F.linear(X, W, b)


@case(inputs={"W": torch.tensor([[0.5, -0.25], [1.0, 0.75], [0.5, -0.5]]), "c": torch.tensor([0.1, -0.2])},
      expect=lambda W, c: {"W": X.T @ torch.ones(2, 2), "c": torch.full((2,), 2.0)})
def addmm(W, c):
    """torch.addmm(c, X, W) = c + X W: the same affine map, written as one fused call."""
    return torch.addmm(c, X, W)


g = torch.tensor([1.0, -2.0, 0.5, 3.0])


def _layer_norm_grad(x):
    n = x.shape[-1]
    mu = x.mean()
    sigma = ((x - mu) ** 2 / n + 1e-5 / n).sum() ** 0.5
    y = (x - mu) / sigma
    return (g - g.mean() - y * (g * y).mean()) / sigma


@case(inputs={"x": torch.tensor([0.5, -1.0, 2.0, 0.25])}, expect=_layer_norm_grad, order=1)
def layer_norm(x):
    """Layer normalisation: the gradient removes its own mean and its part along the output."""
    return F.layer_norm(x, (4,)) @ g


W1 = torch.tensor([[0.5, -0.25, 1.0], [0.75, 0.5, -0.5], [-1.0, 0.25, 0.5], [0.2, -0.6, 0.3]])
t = torch.tensor([1.0, -1.0])


def _mlp_grad(W1, b1, w2, b2):
    h = torch.tanh(X @ W1.T + b1)
    r = (h @ w2 + b2 - t) / len(t)            # d loss / d prediction
    dh = torch.outer(r, w2) * (1 - h**2)      # back through tanh
    return {"W1": dh.T @ X, "b1": dh.sum(0), "w2": h.T @ r, "b2": r.sum()}


@case(inputs={"W1": W1, "b1": torch.tensor([0.1, -0.1, 0.2, 0.0]),
              "w2": torch.tensor([1.0, -0.5, 0.25, 0.75]), "b2": torch.tensor(0.05)},
      expect=_mlp_grad, order=1)
def mlp(W1, b1, w2, b2):
    """A one-hidden-layer tanh MLP with squared loss: backpropagation written by hand is the claim."""
    h = torch.tanh(F.linear(X, W1, b1))
    return ((h @ w2 + b2 - t) ** 2).sum() / (2 * len(t))
