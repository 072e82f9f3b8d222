"""Library code compiled inside the case (torchvision wraps its Python `roi_align` in
`torch.compile(dynamic=True)`): the exact side runs it eagerly on symbolic tensors, autograd's
runs call it compiled, as the case's own code does.

The backend here records the graphs it is given and runs them as they are: no C++ to build.
"""
import torch

import compare

F64 = torch.float64
X = torch.tensor([0.5, -1.5, 2.0], dtype=F64)
W = torch.tensor([1.0, 2.0, 3.0], dtype=F64)


def recording_backend(graphs: list):
    def backend(gm, example_inputs):
        graphs.append([type(t).__name__ for t in example_inputs if isinstance(t, torch.Tensor)])
        return gm.forward

    return backend


class _HalvedBackward(torch.autograd.Function):
    """tanh whose backward is half the right one."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y) / 2


def test_compiled_library_code_runs_eagerly_on_symbolic_tensors():
    graphs: list = []
    calls: list = []

    @torch.compile(dynamic=True, backend=recording_backend(graphs))
    def library(x, w):
        calls.append((type(x).__name__, torch.compiler.is_compiling()))  # True while dynamo traces it
        return torch.tanh(x) * w + x.sum()

    result = compare.check(lambda x: library(x, W) * 2, (X,), order=1)
    assert result.status == "agree", result.error
    assert ("SymTensor", False) in calls and ("SymTensor", True) not in calls
    assert graphs, "autograd's runs did not go through the compiled function"
    # d/dx_j sum_i 2 (tanh(x_i) w_i + sum x) = 2 w_j (1 - tanh(x_j)^2) + 2 * 3
    expected = 2 * W * (1 - torch.tanh(X) ** 2) + 6
    assert torch.allclose(torch.as_tensor(result.points[0].symbolic["x"]), expected, rtol=1e-15)


def test_a_wrong_backward_inside_compiled_library_code_disagrees():
    graphs: list = []

    @torch.compile(dynamic=True, backend=recording_backend(graphs))
    def library(x):
        return _HalvedBackward.apply(x) * 3

    result = compare.check(lambda x: library(x).sum(), (X,), order=1)
    assert result.status == "disagree"
    assert graphs
