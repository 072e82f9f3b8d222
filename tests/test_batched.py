"""addbmm against autograd, with its beta = 0 rule; a wrong derivative is caught."""
import numpy as np
import pytest
import torch

import compare
from compare.exact.evaluate import evaluate
from compare.exact.sym import exact, input_symbols
from compare.symbolic import SymTensor, exprs_of

g = torch.Generator().manual_seed(0)
M = torch.randn(2, 4, dtype=torch.float64, generator=g)
B1 = torch.randn(3, 2, 3, dtype=torch.float64, generator=g)
B2 = torch.randn(3, 3, 4, dtype=torch.float64, generator=g)


@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.6, 0.2), (0, 1.5)])
def test_addbmm_agrees_with_autograd(beta, alpha):
    compare.assert_agrees(lambda m, b1, b2: torch.addbmm(m, b1, b2, beta=beta, alpha=alpha), (M, B1, B2),
                          samples=1)


def test_beta_zero_ignores_nan_in_the_input():
    b1 = input_symbols("b", tuple(B1.shape))
    out = torch.addbmm(torch.full((2, 4), float("nan"), dtype=torch.float64), SymTensor(b1.copy(), torch.float64),
                       B2, beta=0)
    got = evaluate(exprs_of(out), {s: exact(v) for s, v in zip(b1.flat, B1.reshape(-1).tolist())})
    np.testing.assert_allclose(got, torch.addbmm(torch.zeros(2, 4, dtype=torch.float64), B1, B2).numpy(),
                               rtol=1e-13)


def test_a_wrong_derivative_is_caught():
    class Wrong(torch.autograd.Function):  # forgets the batch sum in the gradient: only batch 0's term
        @staticmethod
        def forward(ctx, b1):
            return torch.addbmm(M, b1, B2)

        @staticmethod
        def backward(ctx, grad):
            out = torch.zeros_like(B1)
            out[0] = grad @ B2[0].T
            return out

    with pytest.raises(AssertionError):
        compare.assert_agrees(Wrong.apply, (B1,), samples=1)
