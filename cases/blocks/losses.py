"""Losses and their gradients: linear regression, weight decay, softmax and cross-entropy."""
import torch
import torch.nn.functional as F

from compare import case

X = torch.tensor([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.25]])
y = torch.tensor([1.0, -0.5, 2.0])


def residual(X, w, b):
    return X @ w + b - y


@case(inputs={"X": X, "w": torch.tensor([0.5, -0.25]), "b": torch.tensor(0.1)},
      expect=lambda X, w, b: {"X": torch.outer(residual(X, w, b), w) / 3,
                              "w": X.T @ residual(X, w, b) / 3,
                              "b": residual(X, w, b).sum() / 3}, order=1)
def linear_regression(X, w, b):
    """Squared loss of Xw + b: the gradient in w is X^T r / n, in b the mean residual r."""
    return ((X @ w + b - y) ** 2).sum() / (2 * len(y))


@case(inputs={"w": torch.tensor([0.5, -0.25])},
      expect=lambda w: 2 * X.T @ (X @ w - y) / 3 + 0.1 * w)
def weight_decay(w):
    """L2 weight decay adds lambda/2 |w|^2 to the loss, and lambda w to its gradient."""
    return F.mse_loss(X @ w, y) + 0.1 / 2 * (w**2).sum()


@case(inputs={"p": torch.tensor([0.5, -1.0, 2.5])}, expect=lambda p: 2 * (p - y) / 3)
def mse(p):
    """Mean squared error: the gradient is 2 (p - y) / n, the residual scaled."""
    return F.mse_loss(p, y)


v = torch.tensor([1.0, -2.0, 0.5, 3.0])


@case(inputs={"x": torch.tensor([0.5, -1.0, 2.0, 0.0])},
      expect=lambda x: torch.softmax(x, 0) * (v - torch.softmax(x, 0) @ v))
def softmax(x):
    """Softmax's vector-Jacobian product: the gradient of s.v is s * (v - s.v)."""
    return torch.softmax(x, dim=0) @ v


@case(inputs={"x": torch.tensor([0.5, -1.0, 2.0, 0.0])}, expect=lambda x: 1 - 4 * torch.softmax(x, 0))
def log_softmax(x):
    """log_softmax is x - logsumexp(x): its Jacobian is I - 1 s^T, so out.sum() gives 1 - n s."""
    return F.log_softmax(x, dim=0)


targets = torch.tensor([2, 0])


@case(inputs={"z": torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]])},
      expect=lambda z: (torch.softmax(z, 1) - torch.eye(3)[targets]) / 2, order=1)
def cross_entropy(z):
    """Cross-entropy with integer targets: the gradient in the logits is (softmax - one-hot) / batch."""
    return F.cross_entropy(z, targets)


big = {"x": torch.tensor([100.0, 101.0, 102.0])}


@case(inputs={"x": torch.tensor([0.5, -1.0, 2.0])}, expect=lambda x: torch.softmax(x, 0), show_at=big)
def logsumexp_naive(x):
    """log(sum(exp(x))) written out: softmax is its gradient, but exp overflows for large x."""
    return torch.log(torch.exp(x).sum())


@case(inputs={"x": torch.tensor([0.5, -1.0, 2.0])}, expect=lambda x: torch.softmax(x, 0), show_at=big)
def logsumexp_stable(x):
    """torch.logsumexp subtracts the max first: the same derivative, and no overflow for large x."""
    return torch.logsumexp(x, dim=0)
