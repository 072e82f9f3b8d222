import torch
from compare import case


@case(inputs={"x": torch.arange(4.0)})
def histogram(x):
    y = x * 2
    return torch.histc(y, bins=4).sum()
