import torch
from compare import case


@case(inputs={"x": torch.arange(4.0)}, expect=lambda x: torch.ones(3))
def wrong_shape(x):
    return (x * x).sum()
