import torch
from compare import case


@case(inputs={"x": torch.arange(3.0)}, expcet=lambda x: 3 * x)
def tripled(x):
    return (x * x).sum()
