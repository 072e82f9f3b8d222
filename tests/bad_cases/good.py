"""A good case beside the broken ones: it must still be checked."""
import torch
from compare import case


@case(inputs={"x": torch.arange(4.0)}, expect=lambda x: 2 * x)
def square(x):
    return (x * x).sum()
