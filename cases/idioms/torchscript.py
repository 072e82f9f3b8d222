"""Cases that call @torch.jit.script helpers: the symbolic run executes the scripted graph on
symbolic tensors (every op reaches the same ATen meanings); autograd runs it as written."""
import torch

from compare import case
from _scripted import bias_gelu, clipped_square


@case(inputs={"bias": torch.tensor([0.1, -0.2, 0.3]), "y": torch.tensor([0.5, 1.0, -1.5])})
def fused_bias_gelu(bias, y):
    """Megatron's fused bias + tanh-GELU, scripted."""
    return bias_gelu(bias, y).sum()


@case(inputs={"x": torch.tensor([0.5, -1.0, 1.5])})
def scripted_branch(x):
    """A scripted helper whose `if` depends on the input: explored as pieces."""
    return clipped_square(x).sum()
