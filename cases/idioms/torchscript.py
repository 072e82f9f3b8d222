"""Cases that call @torch.jit.script helpers: the symbolic run executes the scripted graph on
symbolic tensors (every op reaches the same ATen meanings); autograd runs it as written."""
import torch

from compare import case
from _scripted import bias_gelu, clipped_square


# torch 2.13's forward over reverse through a scripted function gives zero second derivatives (gradgradcheck's
# check_fwd_over_rev fails the same way): turned off in both cases. And once a vmapped jvp has run through a
# scripted function, a jvp with an input that requires grad but has no tangent drops every tangent (None):
# the undefined-gradient check, which passes such an input, is turned off here. tests/test_modes.py pins both.
@case(inputs={"bias": torch.tensor([0.1, -0.2, 0.3]), "y": torch.tensor([0.5, 1.0, -1.5])}, check_fwd_over_rev=False,
      check_undefined_grad=False)
def fused_bias_gelu(bias, y):
    """Megatron's fused bias + tanh-GELU, scripted."""
    return bias_gelu(bias, y).sum()


@case(inputs={"x": torch.tensor([0.5, -1.0, 1.5])}, check_fwd_over_rev=False)
def scripted_branch(x):
    """A scripted helper whose `if` depends on the input: explored as pieces."""
    return clipped_square(x).sum()
