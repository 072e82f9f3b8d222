import torch
from compare import case


@case(inputs={"x": torch.ones(3)})
def spinning(x):
    while True:
        x = x + 0
