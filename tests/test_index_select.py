"""index_select of a 0-d tensor is 0-d, as torch's, and its gradient is autograd's."""
import pytest
import torch

import compare
from compare.exact.sym import input_symbols
from compare.symbolic import SymTensor, exprs_of


@pytest.mark.parametrize("index", [torch.tensor(0), torch.tensor([0])], ids=["0-d", "1-d"])
def test_zero_dim_input_gives_zero_dim_output(index):
    x = SymTensor(input_symbols("x", ()), torch.float64)
    assert exprs_of(torch.index_select(x, 0, index)).shape == torch.index_select(torch.tensor(2.0), 0, index).shape == ()


def test_gradient_agrees_with_autograd():
    compare.assert_agrees(lambda x: 3 * torch.index_select(x, 0, torch.tensor([0])) ** 2,
                          (torch.tensor(1.5, dtype=torch.float64),), samples=2)
