"""The symbolic side: each op's SymPy value equals torch's value; unsupported ops are named."""
import numpy as np
import pytest
import sympy
import torch

from compare.exact.evaluate import evaluate
from compare.exact.sym import detach, exact, input_symbols
from compare.symbolic import SymTensor, UnsupportedOp, exprs_of


def symbolic(name, t):
    return SymTensor(input_symbols(name, tuple(t.shape)), t.dtype)


def point(name, t):
    return {s: exact(v) for s, v in zip(input_symbols(name, tuple(t.shape)).flat, t.reshape(-1).tolist())}


X = torch.tensor([0.5, -1.25, 2.0, 3.0], dtype=torch.float64)
M = torch.tensor([[1.0, 2.0], [-3.0, 0.5]], dtype=torch.float64)

FUNCTIONS = {
    "arith": lambda x: (x + 1) * (x - 2) / 3 - x ** 2 + 2 ** x,
    "reflected": lambda x: 1 - x + 2 / (x + 5),
    "neg_pow": lambda x: -x + torch.pow(x, 3),
    "dot": lambda x: 2 * torch.dot(x, x),
    "matmul": lambda x: x @ x,
    "mv": lambda x: torch.mv(x.reshape(2, 2), x[:2]),
    "mm": lambda x: torch.mm(x.reshape(2, 2), x.reshape(2, 2).T),
    "sum_dim": lambda x: x.reshape(2, 2).sum(dim=1, keepdim=True),
    "mean": lambda x: x.reshape(2, 2).mean(0),
    "norm": lambda x: x.norm(),
    "vector_norm": lambda x: torch.linalg.vector_norm(x, ord=1),
    "unary": lambda x: torch.exp(x) + torch.sin(x) * torch.cos(x) + torch.tanh(x) + torch.sigmoid(x),
    "log_sqrt": lambda x: torch.log(x.abs() + 1) + torch.sqrt(x * x + 1),
    "relu": lambda x: torch.relu(x) + torch.nn.functional.relu(-x) * 2,
    "where": lambda x: torch.where(x > 0, x, x * 3),
    "index": lambda x: x[1] * x[1:3].sum() + x[None, 2:].sum() + x[-1],
    "shape": lambda x: x.reshape(2, 2).T.unsqueeze(0).squeeze(0).clone().reshape(4).view(2, 2),
    "detach": lambda x: (x * x).detach() * x,
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_forward_value_equals_torch(name):
    f = FUNCTIONS[name]
    want = f(X).detach().numpy()
    got = evaluate(np.asarray(exprs_of(f(symbolic("x", X)))), point("x", X))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_constants_enter_exactly():
    s = symbolic("x", X)
    out = exprs_of(s * 0.1)[0]
    assert out == sympy.Rational(3602879701896397, 36028797018963968) * input_symbols("x", (4,))[0]
    assert exact(torch.tensor(0.1, dtype=torch.float32)) == sympy.Rational(13421773, 134217728)


def test_detach_is_a_stop_gradient():
    x = sympy.Symbol("x", real=True)
    e = detach(x**2) * x
    assert sympy.diff(e, x) == detach(x**2)
    assert detach(sympy.Integer(3)) == 3


def test_unsupported_op_names_the_op():
    s = symbolic("x", X)
    with pytest.raises(UnsupportedOp, match=r"aten\.histc\.default"):
        torch.histc(s)
    with pytest.raises(UnsupportedOp, match=r"aten\.histc\.default"):
        s.histc()


def test_mixed_real_and_symbolic_operands():
    s = symbolic("x", X)
    out = torch.tensor([1.0, 2.0, 3.0, 4.0]) * s
    assert [str(e) for e in exprs_of(out)] == ["x_0", "2*x_1", "3*x_2", "4*x_3"]
    assert str(exprs_of(torch.tensor(2.0) - s)[0]) == "2 - x_0"


def test_autograd_function_apply_runs_forward_symbolically():
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    out = Square.apply(symbolic("x", X))
    assert [str(e) for e in exprs_of(out)] == ["x_0**2", "x_1**2", "x_2**2", "x_3**2"]


def test_in_place_view_ops_change_the_tensors_own_shape():
    """matmul of a vector and a matrix ends in `mm(...).squeeze_(0)`, which returns the tensor itself."""
    v = symbolic("x", X)
    m = torch.arange(8.0, dtype=torch.float64).reshape(4, 2)
    out = v @ m
    assert tuple(out.shape) == (2,) and exprs_of(out).shape == (2,)
    np.testing.assert_allclose(evaluate(exprs_of(out), point("x", X)), (X @ m).numpy(), rtol=1e-12)
    y = v.clone()
    assert y.unsqueeze_(0) is y and tuple(y.shape) == (1, 4) and exprs_of(y).shape == (1, 4)


def test_a_cast_to_an_integer_dtype_truncates_toward_zero():
    s = symbolic("x", X)
    got = evaluate(exprs_of((s * 3).to(torch.int64).to(torch.float64) * s), point("x", X))
    np.testing.assert_allclose(got, ((X * 3).to(torch.int64).to(torch.float64) * X).numpy(), rtol=1e-12)
    import compare

    assert compare.check(lambda x: x * (x * 3).long(), {"x": X}).status == "agree"
