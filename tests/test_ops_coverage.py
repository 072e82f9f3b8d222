"""Every op of the dispatch table: SymPy's forward value against torch's, and docs/ops.md kept current."""
import os

import numpy as np
import pytest
import torch

from compare.coverage import qualified_names, render_ops
from compare.derive import evaluate
from compare.sym import exact, input_symbols
from compare.symtensor import OPS, SymTensor, op_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Arguments per op, by the last part of its name. Each builder gets the same named tensors,
# real or symbolic, so one line serves both sides.
UNARY = lambda t: (t["A"],)
SIGNED = lambda t: (t["A"] - 1,)
BINARY = lambda t: (t["A"], t["B"])
BOOLS = lambda t: (t["A"] > 1, t["B"] > 1)
SPECS = {
    **{n: BINARY for n in ("add", "__add__", "__iadd__", "__radd__", "sub", "subtract", "__sub__", "__isub__",
                           "mul", "multiply", "__mul__", "__rmul__", "__imul__", "div", "divide", "true_divide",
                           "__truediv__", "__itruediv__", "__div__", "pow", "__pow__", "__ipow__", "lt", "less",
                           "__lt__", "le", "less_equal", "__le__", "gt", "greater", "__gt__", "ge", "greater_equal",
                           "__ge__", "eq", "__eq__", "ne", "not_equal", "__ne__", "__rsub__", "rsub",
                           "__rtruediv__", "__rdiv__", "__rpow__", "dot", "inner", "matmul", "__matmul__",
                           "__rmatmul__", "outer", "ger", "mse_loss", "type_as")},
    **{n: BOOLS for n in ("logical_and", "__and__", "logical_or", "__or__")},
    **{n: lambda t: (t["A"] > 1,) for n in ("logical_not", "__invert__", "all", "any")},
    **{n: UNARY for n in ("erfc", "log10", "exp2", "sinh", "cosh", "asinh", "arcsinh", "atan", "arctan", "silu",
                          "logsigmoid", "softsign")},
    **{n: lambda t: (t["A"] + 1,) for n in ("acosh", "arccosh")},
    **{n: lambda t: (t["A"] / 4,) for n in ("atanh", "arctanh", "asin", "arcsin", "acos", "arccos")},
    **{n: UNARY for n in ("exp", "log", "log2", "log1p", "expm1", "sin", "cos", "tan", "tanh", "sqrt", "rsqrt",
                          "square", "reciprocal", "erf", "detach", "clone", "contiguous", "half", "float",
                          "double", "requires_grad_", "dim", "numel", "size", "norm", "vector_norm",
                          "zeros_like", "ones_like")},
    **{n: SIGNED for n in ("abs", "absolute", "__abs__", "sign", "neg", "negative", "__neg__", "sigmoid", "relu",
                           "softplus", "gelu")},
    "mm": lambda t: (t["M"], t["N"]), "spmm": lambda t: (t["M"], t["N"]), "mv": lambda t: (t["M"], t["A"]),
    "bmm": lambda t: (t["M"].unsqueeze(0), t["N"].unsqueeze(0)),
    "addmm": lambda t: (t["P"], t["M"], t["N"]),
    "linear": lambda t: (t["A"], t["M"], t["B"][:2]),
    "__getitem__": lambda t: (t["M"], (0, slice(1, None))),
    "__setitem__": lambda t: (t["M"], (0, 1), t["A"][0]),
    "clamp": lambda t: (t["A"], 0.75, 1.5), "clip": lambda t: (t["A"], 0.75, 1.5),
    "to": lambda t: (t["A"], torch.float64),
    "expand": lambda t: (t["A"].unsqueeze(0), 2, 3), "expand_as": lambda t: (t["A"].unsqueeze(0), t["M"]),
    "flatten": lambda t: (t["M"],), "t": lambda t: (t["M"],),
    **{n: lambda t: (t["M"], 1) for n in ("softmax", "log_softmax", "logsumexp", "sum", "mean", "prod")},
    "permute": lambda t: (t["M"], (1, 0)), "reshape": lambda t: (t["M"], (3, 2)), "view": lambda t: (t["M"], (3, 2)),
    "squeeze": lambda t: (t["A"].unsqueeze(0),), "unsqueeze": lambda t: (t["A"], 0),
    **{n: lambda t: (t["M"], 0, 1) for n in ("transpose", "swapaxes", "swapdims")},
    "where": lambda t: (t["A"] > 1, t["A"], t["B"]),
    "torch.Tensor.where": lambda t: (t["A"], t["A"] > 1, t["B"]),
    **{n: lambda t: ([t["A"], t["B"]],) for n in ("cat", "concat", "concatenate", "stack")},
    "full_like": lambda t: (t["A"], 2.5),
    **{n: UNARY for n in ("max", "min")},
    **{n: BINARY for n in ("maximum", "minimum")},
    **{n: lambda t: (t["M"], 1) for n in ("amax", "amin")},
    **{n: lambda t: (t["A"], 1.0) for n in ("clamp_min", "clamp_max")},
    "cross_entropy": lambda t: (t["M"], torch.tensor([2, 0])),
    "layer_norm": lambda t: (t["M"], (3,)),
    "grad": lambda t: ((t["A"] * t["A"] * t["B"]).sum(), t["A"]),
}

VALUES = {"A": [0.5, 1.25, 2.0], "B": [1.5, 0.75, 0.25], "M": [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]],
          "N": [[1.0, 0.5], [-0.5, 2.0], [0.25, 1.5]], "P": [[0.5, 1.0], [-1.0, 0.25]]}


NAMES = qualified_names()


def _full(func) -> str:
    return NAMES.get(id(func)) or op_name(func)


def _spec(func):
    return SPECS.get(_full(func)) or SPECS.get(_full(func).split(".")[-1])


def _real(grad: bool = False):
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=grad and k == "A") for k, v in VALUES.items()}


def _symbolic():
    tensors, point = {}, {}
    for k, v in VALUES.items():
        syms = input_symbols(k, np.shape(v))
        tensors[k] = SymTensor(syms, torch.float64)
        point.update({s: exact(x) for s, x in zip(syms.flat, np.ravel(v))})
    return tensors, point


def _value(result, point):
    if isinstance(result, SymTensor):
        return evaluate(result.data, point)
    if isinstance(result, torch.Tensor):
        return result.detach().to(torch.float64).numpy()
    if isinstance(result, (tuple, list)) and not isinstance(result, torch.Size):
        return [_value(r, point) for r in result]
    return result


KEYS = sorted(OPS, key=_full)


@pytest.mark.parametrize("func", KEYS, ids=[_full(f) for f in KEYS])
def test_sympy_forward_value_matches_torch(func):
    spec, name = _spec(func), _full(func).split(".")[-1]
    assert spec is not None, f"add sample arguments for {_full(func)} to SPECS"
    real = _real(grad=name == "grad")
    real_args = spec(real)
    sym, point = _symbolic()
    sym_args = spec(sym)
    if name == "grad":
        got, want = OPS[func](*sym_args, create_graph=True), func(*real_args, create_graph=True)
    else:
        got, want = OPS[func](*sym_args), func(*real_args)
    if name == "__setitem__":  # the write is the result
        got, want = sym_args[0], real_args[0]
    got, want = _value(got, point), _value(want, point)
    if isinstance(want, list):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    elif isinstance(want, np.ndarray):
        np.testing.assert_allclose(got, want, rtol=1e-12 if name != "half" else 1e-3, atol=1e-12)
    else:
        assert got == want


def test_docs_ops_md_is_current():
    with open(os.path.join(ROOT, "docs", "ops.md"), encoding="utf-8") as f:
        committed = f.read()
    assert committed == render_ops(), "docs/ops.md is stale: run `python -m compare.coverage > docs/ops.md`"


def test_every_op_is_listed():
    text = render_ops()
    for func in OPS:
        assert f"`{_full(func)}`" in text
