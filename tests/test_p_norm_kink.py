"""The p-norm rule (p other than 1, 2, inf): autograd's 0 at the zero vector and at an entry 0 for p < 1
is `convention`; a wrong gradient there is still `disagree`."""
import numpy as np
import pytest
import torch

from compare import case
from compare.case import collecting
from compare.engine import check_case


def _one(declare):
    with collecting() as found:
        declare()
    return found[0]


@pytest.mark.parametrize("p, x, autograd", [
    (0.5, [0.0, 0.0, 0.0], [0, 0, 0]),
    (0.5, [0.0, 1.0, -4.0], [0, 3, -1.5]),  # (1 + 2)^2: d/da = 3 |a|^(-1/2) sgn(a), and 0 at a = 0
    (3.0, [0.0, 0.0], [0, 0]),
])
def test_autograd_follows_the_rule(p, x, autograd):
    def declare():
        @case(inputs={"x": torch.tensor(x, dtype=torch.float64)}, samples=0, order=1)
        def p_norm(x):
            return torch.linalg.vector_norm(x, p)

    r = check_case(_one(declare))
    example = r.points[0]
    assert example.status == "convention", example.note
    assert example.rule.startswith("linalg_vector_norm(") and "as torch documents" in example.rule
    np.testing.assert_allclose(example.autograd64["x"], autograd)


class _OnesAtZero(torch.autograd.Function):
    """The 1/2-norm with a backward that gives 1 to an entry at 0 instead of 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.linalg.vector_norm(x, 0.5)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        right = torch.func.grad(lambda v: torch.linalg.vector_norm(v, 0.5))(x)
        return grad * torch.where(x == 0, torch.ones_like(x), right)


def test_a_wrong_value_at_the_kink_is_still_disagree():
    def declare():
        @case(inputs={"x": torch.tensor([0.0, 1.0, -4.0], dtype=torch.float64)}, samples=0, order=1)
        def wrong_norm(x):
            return _OnesAtZero.apply(x)

    r = check_case(_one(declare))
    assert r.points[0].status == "disagree", r.points[0].note
