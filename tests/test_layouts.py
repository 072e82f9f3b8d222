"""A conversion to a sparse layout is refused in one line naming the reason."""
import pytest
import torch

from compare.exact.sym import input_symbols
from compare.symbolic import SymTensor, UnsupportedOp


@pytest.mark.parametrize("convert", [lambda x: x.to_sparse(), lambda x: x.to_sparse_csr()], ids=["coo", "csr"])
def test_to_sparse_is_refused(convert):
    x = SymTensor(input_symbols("x", (2, 2)), torch.float64)
    with pytest.raises(UnsupportedOp, match="sparse layout: symbolic tensors are dense"):
        convert(x)
