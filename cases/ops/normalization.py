"""Normalisations: each output depends on every entry of its group through the mean and variance."""
import torch
import torch.nn.functional as F

from compare import case

g = torch.Generator().manual_seed(0)


def _r(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


@case(inputs={"x": _r(2, 2), "w": _r(2), "b": _r(2)}, order=1)
def batch_norm_train(x, w, b):
    """batch_norm in training: statistics of the batch, so every entry of a channel moves every output."""
    return F.batch_norm(x, None, None, w, b, training=True)


@case(inputs={"x": _r(3, 2)})
def batch_norm_eval(x):
    """batch_norm in evaluation: fixed running statistics, an affine map of each entry."""
    mean, var = torch.tensor([0.5, -1.0], dtype=torch.float64), torch.tensor([2.0, 0.25], dtype=torch.float64)
    return F.batch_norm(x, mean, var, training=False)


@case(inputs={"x": _r(1, 4, 1)}, order=1)
def group_norm(x):
    """group_norm with two groups of two channels."""
    return F.group_norm(x, 2)


@case(inputs={"x": _r(2, 3)}, order=1)
def rms_norm(x):
    """rms_norm: x / sqrt(mean(x^2) + eps) over the last dimension."""
    return F.rms_norm(x, (3,))


@case(inputs={"x": _r(2, 2)})
def normalize(x):
    """F.normalize: each row divided by its 2-norm."""
    return F.normalize(x, dim=1)


@case(inputs={"x": _r(3), "y": _r(3)}, order=1)
def cosine_similarity(x, y):
    """The cosine of the angle between x and y."""
    return F.cosine_similarity(x, y, dim=0)
