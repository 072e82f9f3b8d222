import torch
from compare import case


@case(inputs={"x": torch.arange(3.0), "y": torch.ones(3)}, expect=lambda x, y: {"x": y, "z": x})
def wrong_keys(x, y):
    return (x * y).sum()
