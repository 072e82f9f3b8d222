"""TorchScript helpers, as timm and Megatron write them (a helper module: no cases here)."""
import torch


@torch.jit.script
def bias_gelu(bias, y):
    x = bias + y
    return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))


@torch.jit.script
def clipped_square(x):
    y = x * x
    if bool((y > 4.0).any()):
        y = torch.clamp(y, max=4.0)
    return y
