import torch
from compare import case

x = torch.ones(3)
while x.sum() > 0:  # the file's own top level never finishes
    x = x + 1


@case(inputs={"x": torch.ones(3)})
def unreachable(x):
    return x.sum()
