import torch
from compare import case


@case(inputs={"x": torch.ones(3)})
def listing(x):
    return [x.sum(), x.prod()]
