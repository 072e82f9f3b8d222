"""Random ops under a shared draw: torch's generator is seeded before every run of a case, so dropout's
mask, rrelu's slopes and the normal samples are the same in each; the exact side takes them as constants
and checks the derivative of the function they make (compare/symbolic/draws.py). Each page names the draw."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from compare import case

g = torch.Generator().manual_seed(0)
x = torch.randn(3, generator=g, dtype=torch.float64)
q = torch.randn(1, 2, 2, generator=g, dtype=torch.float64)

torch.manual_seed(0)  # the module's initial weights
case(inputs={"input": x}, name="dropout_mlp")(nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Tanh()).double().train())


@case(inputs={"x": x})
def rrelu_training(x):
    """rrelu in training: x above 0, a slope drawn from U(0.1, 0.3) times x at or below it."""
    return F.rrelu(x, 0.1, 0.3, training=True)


@case(inputs={"q": q}, order=1)
def attention_dropout(q):
    """Self-attention with dropout on the attention weights (PyTorch's math path on the CPU)."""
    return F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)


class UnscaledDropout(torch.autograd.Function):
    """Dropout whose backward forgets the 1 / (1 - p) its forward multiplies by."""

    @staticmethod
    def forward(ctx, x):
        keep = (torch.rand_like(x) > 0.5).to(x.dtype)
        ctx.save_for_backward(keep)
        return x * keep / 0.5

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        return grad * keep


@case(inputs={"x": x}, order=1, known_wrong="the backward forgets dropout's scale 1 / (1 - p)")
def dropout_forgotten_scale(x):
    """A hand-written dropout whose backward keeps the mask but forgets the scale."""
    return UnscaledDropout.apply(x)


@case(inputs={"mean": x}, order=1,
      known_wrong="torch's gradient of torch.normal is 0, while its sample is mean + std z for the z it drew "
                  "(op_db skips its gradient tests: 'Gradients are incorrect!')")
def normal_sample(mean):
    """A normal sample, mean + 2 z: its derivative in the mean is 1, torch's autograd gives 0."""
    return torch.normal(mean, 2.0)
