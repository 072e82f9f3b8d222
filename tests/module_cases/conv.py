"""nn.Conv2d, as far as the symbolic side's ops reach: aten.convolution has no SymPy meaning yet."""
import torch
from torch import nn

from compare import case

torch.manual_seed(0)
IMAGE = torch.arange(18, dtype=torch.float64).reshape(1, 2, 3, 3) / 10 - 0.8
conv2d = case(inputs={"input": IMAGE}, name="conv2d")(nn.Conv2d(2, 2, kernel_size=2).double())
