import torch
from compare import case


@case(inputs={"x": torch.ones(3)})
def raising(x):
    y = x * 2
    raise ValueError("this case is broken on purpose")
