"""The losses of torch.nn.functional, on a few entries each."""
import torch
import torch.nn.functional as F

from compare import case

g = torch.Generator().manual_seed(0)


def _r(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


target = torch.tensor([0, 2])
labels = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
zeros = torch.zeros(3, dtype=torch.float64)


@case(inputs={"x": _r(2, 3)})
def nll_loss(x):
    """nll_loss of log-probabilities: minus the mean of the target entries."""
    return F.nll_loss(F.log_softmax(x, dim=1), target)


@case(inputs={"x": _r(3)})
def binary_cross_entropy(x):
    """binary_cross_entropy of probabilities (a sigmoid of x)."""
    return F.binary_cross_entropy(torch.sigmoid(x), labels)


@case(inputs={"x": _r(3)})
def binary_cross_entropy_with_logits(x):
    """The same loss from logits: its gradient is sigmoid(x) - label, over the batch."""
    return F.binary_cross_entropy_with_logits(x, labels)


@case(inputs={"x": _r(3)})
def huber_loss(x):
    """huber_loss: quadratic within delta = 1 of the target, linear outside."""
    return F.huber_loss(x, zeros)


@case(inputs={"x": _r(3)})
def smooth_l1_loss(x):
    """smooth_l1_loss with beta = 0.5."""
    return F.smooth_l1_loss(x, zeros, beta=0.5)


@case(inputs={"x": _r(3)})
def kl_div(x):
    """kl_div of log-probabilities against a fixed distribution."""
    return F.kl_div(F.log_softmax(x, dim=0), torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64),
                    reduction="batchmean")


@case(inputs={"x": _r(2, 3)})
def cross_entropy_label_smoothing(x):
    """cross_entropy with label smoothing 0.1: the target takes 0.9 + 0.1/3, each class 0.1/3."""
    return F.cross_entropy(x, target, label_smoothing=0.1)
