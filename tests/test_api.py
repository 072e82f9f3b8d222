"""compare.check and compare.assert_agrees: the records of the CLI, and a gradcheck-like failure."""
import subprocess
import sys

import pytest
import torch
from torch.autograd.function import once_differentiable

import compare


class WrongSin(torch.autograd.Function):
    """sin with a backward that forgot sin' = cos."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * torch.sin(x)


def test_check_returns_the_cli_record():
    result = compare.check(lambda x: 2 * torch.dot(x, x), {"x": torch.arange(4.0)}, expect=lambda x: 4 * x)
    assert result.status == "agree"
    assert result.pieces[0].claim == "proven"
    assert len(result.points) == 5


def test_inputs_as_a_tuple_follow_the_parameters():
    def f(x, w):
        return torch.tanh(x @ w)

    result = compare.check(f, (torch.tensor([[1.0, 2.0]]), torch.tensor([0.5, -0.25])), samples=1)
    assert result.status == "agree" and set(result.shapes) == {"x", "w"}


def test_assert_agrees_passes_and_returns_the_result():
    assert compare.assert_agrees(torch.sin, (torch.tensor([0.5, 1.0]),), samples=1).status == "agree"


def test_assert_agrees_fails_on_a_wrong_backward_with_aligned_values():
    def wrong_sin(x):
        return WrongSin.apply(x)

    with pytest.raises(AssertionError) as info:
        compare.assert_agrees(wrong_sin, (torch.tensor([0.5, 1.0]),))
    text = str(info.value)
    assert "wrong_sin" in text and "test_api.py" in text and "example point" in text
    lines = {l.split(":")[0].strip(): l for l in text.splitlines() if ": [" in l}
    assert {"input x", "exact (SymPy)", "autograd float32", "autograd float64"} <= set(lines)
    assert len({l.index(": [") for l in lines.values()}) == 1  # the values line up
    assert "0.8775825619" in lines["exact (SymPy)"]  # cos(0.5)
    assert "0.4794255" in lines["autograd float32"]  # sin(0.5)


def test_assert_agrees_names_the_cause_of_an_error():
    with pytest.raises(compare.CannotCheck, match=r"(?s)could not be checked.*aten\.histc") as info:
        compare.assert_agrees(lambda x: torch.histc(x, bins=2), torch.tensor([1.0, 2.0]))
    assert not isinstance(info.value, AssertionError)  # nothing was found wrong: an error, not a failure
    assert type(info.value.__cause__).__name__ == "UnsupportedOp"


def test_a_broken_function_cannot_be_checked():
    def broken(x):
        raise RuntimeError("the function itself fails")

    with pytest.raises(compare.CannotCheck, match="RuntimeError: the function itself fails"):
        compare.assert_agrees(broken, torch.tensor([1.0, 2.0]))


def test_a_declared_case_can_be_passed_alone():
    @compare.case(inputs={"x": torch.tensor([1.0, 2.0])}, expect=lambda x: 2 * x)
    def square(x):
        return x * x

    assert compare.check(square, samples=0).status == "agree"


def test_import_compare_stays_light():
    code = "import sys, compare; print('torch' in sys.modules, 'sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


class _Cube(torch.autograd.Function):
    """x**3; each subclass brings its own backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3


class _HalfCube(_Cube):
    """x**3 with the backward of 2 x**2: wrong by a third."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x**2


def test_a_function_apply_is_checked_as_gradcheck_would_take_it():
    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(_HalfCube.apply, (torch.tensor([1.0, -2.0, 0.5]),))
    message = str(failure.value)
    assert message.startswith("compare: _HalfCube (tests/test_api.py:")  # the Function, not a wrapper
    assert "exact (SymPy): [ 3.  , 12.  ,  0.75]" in message


class _OnceCube(_Cube):
    """x**3 with a right backward that cannot itself be differentiated."""

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x**2


class _DetachedCube(_Cube):
    """x**3 with a right backward computed on detached values: its own derivative is lost."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * torch.from_numpy(3 * x.detach().numpy() ** 2)


@pytest.mark.parametrize("function", [_OnceCube, _DetachedCube])
def test_a_backward_that_is_not_twice_differentiable_passes_at_order_1(function):
    def cube_sum(x):
        return function.apply(x).sum()

    x = torch.tensor([0.5, 1.5, -2.0], dtype=torch.float64)
    result = compare.assert_agrees(cube_sum, (x,), order=1, samples=1)
    assert result.status == "agree" and all(p.hessian is None for p in result.points)
    assert "order=1" in result.hessian_note


def test_a_failure_of_the_hessian_alone_says_so_and_suggests_order_1():
    def cube_sum(x):
        return _OnceCube.apply(x).sum()

    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(cube_sum, (torch.tensor([0.5, 1.5, -2.0], dtype=torch.float64),), samples=1)
    message = str(failure.value)
    assert "gradient agrees with the exact derivative, but its second derivatives do not" in message
    assert "Hessian of out.sum()" in message and "order=1" in message
    lines = {l.split(":")[0].strip(): l for l in message.splitlines() if ": [" in l}
    assert "[[  3.,   0.,   0.]," in lines["exact (SymPy)"]  # d2/dx2 x**3 = 6x at 0.5
    assert "[[0., 0., 0.]," in lines["autograd float64"]


def test_a_wrong_gradient_is_shown_before_a_wrong_hessian():
    with pytest.raises(AssertionError) as failure:  # _HalfCube's Hessian is wrong too
        compare.assert_agrees(lambda x: _HalfCube.apply(x).sum(), (torch.tensor([1.0, -2.0]),), samples=0)
    message = str(failure.value)
    assert "autograd disagrees with the exact derivative" in message and "order=1" not in message


def test_order_samples_and_expect_override_a_declared_case():
    @compare.case(inputs={"x": torch.tensor([1.0, 2.0])}, expect=lambda x: 3 * x, order=2)
    def once_cube(x):
        return _OnceCube.apply(x).sum()

    assert compare.check(once_cube, samples=0).status == "disagree"  # the Hessian, and the claim
    result = compare.check(once_cube, order=1, samples=2, expect=lambda x: 3 * x * x)
    assert result.status == "agree" and len(result.points) == 3
    assert "order must be 1 or 2" in compare.check(once_cube, order=3).error


# -- arguments that are not differentiated, as gradcheck takes them ---------------------------
class _Pick(torch.autograd.Function):
    """x[index], index first: the backward adds the gradient back at each index, repeats included."""

    @staticmethod
    def forward(ctx, index, x):
        ctx.save_for_backward(index)
        ctx.size = x.shape[0]
        return x[index]

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        return None, torch.zeros(ctx.size, dtype=g.dtype).index_add_(0, index, g)


class _PickOnce(_Pick):
    """The same with a backward that writes, so a repeated index counts once."""

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        out = torch.zeros(ctx.size, dtype=g.dtype)
        out[index] = g
        return None, out


X64 = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
INDEX = torch.tensor([0, 2, 2])


def test_integer_and_other_non_float_arguments_are_constants_as_for_gradcheck():
    import torch.nn.functional as F

    logits = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]], dtype=torch.float64, requires_grad=True)
    result = compare.assert_agrees(F.cross_entropy, (logits, torch.tensor([2, 0])), samples=1)
    assert result.shapes == {"input": (2, 3)}  # the real parameter's name; the target is a constant
    assert compare.assert_agrees(_Pick.apply, (INDEX, X64), samples=1).shapes == {"y": (3,)}
    assert compare.assert_agrees(lambda x, k: x**k, (X64, 3), samples=1).shapes == {"x": (3,)}
    assert compare.assert_agrees(lambda x, k, scale: x**k if scale is None else x, (X64, 2, None),
                                 expect=lambda x: 2 * x, samples=1).pieces[0].claim == "proven"


def test_a_float_tensor_without_requires_grad_is_a_constant_beside_one_with_it():
    import torch.nn.functional as F

    x = X64.clone().requires_grad_()
    result = compare.check(F.mse_loss, (x, torch.tensor([1.0, 0.0, 1.0])), samples=1)  # float32 target
    assert result.status == "agree" and result.shapes == {"input": (3,)}


def test_a_failure_names_the_real_parameter_or_the_position_never_a_constant():
    def pick(index, weights):
        return _PickOnce.apply(index, weights)

    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(pick, (INDEX, X64), samples=0)
    message = str(failure.value)
    assert "with respect to input 'weights':" in message and "input index" not in message
    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(_PickOnce.apply, (INDEX, X64), samples=0)
    message = str(failure.value)
    assert message.startswith("compare: _PickOnce (tests/test_api.py:")
    assert "with respect to input 'y' (positional argument 2):" in message
    assert "input x" not in message and "'x'" not in message
    assert "exact (SymPy): [1., 0., 2.]" in message


def test_only_constants_is_nothing_to_differentiate_and_dicts_stay_strict():
    with pytest.raises(compare.CannotCheck, match="no floating-point tensor among the inputs"):
        compare.assert_agrees(lambda k: k * 2.0, (INDEX,))
    with pytest.raises(compare.CannotCheck, match="input 'k' has dtype torch.int64"):
        compare.assert_agrees(lambda x, k: x * k, {"x": X64, "k": INDEX})


def test_a_jacobian_mismatch_shows_the_entries_that_differ():
    """A backward that ignores grad_output passes out.sum() and fails on the Jacobian: which entries?"""
    from compare.load import load_file
    from compare.records import Meta
    from compare.render.report import render_case

    wrong, fixed = load_file("tests/mutations/ignores_grad_output.py").cases
    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(wrong)
    message = str(failure.value)
    assert "the gradient of out.sum() agrees, but the Jacobian does not" in message
    rows = [line for line in message.splitlines() if line.lstrip().startswith(("output", "out["))]
    assert rows[0].split() == ["output", "input", "exact", "(SymPy)", "autograd", "float64"]
    assert rows[1].split() == ["out[0]", "x[1]", "0", "2"]  # d out[0] / d x[1] is 0; this backward says 2 x_1
    assert len({len(r) for r in rows}) == 1  # aligned columns
    result = compare.check(wrong)
    page = render_case(result, Meta(python="3", torch="2", sympy="1", seed=0, samples=4))
    assert "| example  | out[0]   | x[1]    |" in page
    assert compare.assert_agrees(fixed).status == "agree"


# -- a result at a prompt ----------------------------------------------------------------------
def test_a_result_at_a_prompt_is_one_line_and_printed_a_few():
    from torch import nn

    result = compare.check(lambda x: 2 * torch.dot(x, x), {"x": torch.arange(4.0)})
    line = repr(result)
    assert line == "<CaseResult '<lambda>': agree, 5 points, 1 piece, largest error 0 (0 ULP, float32)>"
    printed = str(result)
    assert printed == result.summary() and len(printed.splitlines()) <= 4, printed
    assert "\n  d out.sum() / d x = 4*x\n" in printed
    assert "symbols={'x': array([x_0, x_1, x_2, x_3]" in result.record()  # the full record, where asked for
    assert repr(result.points[0]).startswith("<PointResult example, piece 1: agree")
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    found = compare.check(mlp, (torch.ones(2, 3, dtype=torch.float64),), samples=1, order=1)
    assert len(repr(found)) < 120 and "\n" not in repr(found), repr(found)
    assert len(str(found)) < 1000 and "(result.pieces[0].gradient['0.weight'])" in str(found), str(found)


def test_a_printed_result_says_the_rule_at_a_kink_and_the_first_disagreement():
    kink = compare.check(torch.relu, (torch.tensor([0.0, 1.0]),), samples=0)
    assert kink.status == "convention"
    # relu at 0 has one-sided slopes 0 and 1: convex, so rule 2 allows only the subgradient of least norm, 0
    assert "at a kink of relu" in str(kink) and "rule 2" in str(kink) and "{0}" in str(kink), str(kink)
    wrong = compare.check(_HalfCube.apply, (torch.tensor([1.0, -2.0, 0.5]),), samples=0, order=1)
    assert "<CaseResult '_HalfCube': disagree, 1 point, 1 piece, largest error 4 (4194304 ULP, float32)>" == repr(wrong)
    assert "autograd disagrees with the exact derivative" in str(wrong)
    assert "exact (SymPy): [ 3.  , 12.  ,  0.75]" in str(wrong)


# -- an output autograd does not differentiate -------------------------------------------------
@pytest.mark.parametrize("fn", [lambda x: (x > 0).long(), lambda x: torch.argmax(x), lambda x: x > 0],
                         ids=["long", "argmax", "bool"])
def test_an_integer_output_says_what_torch_does(fn):
    x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    with pytest.raises(RuntimeError) as torch_says:  # what torch does with it: no gradient at all
        fn(x).sum().backward()
    result = compare.check(fn, (x.detach(),))
    assert result.status == "error", result  # not agree: autograd computes no gradient to agree with
    assert f'out.sum().backward() raises "RuntimeError: {torch_says.value}"' in result.error
    assert result.error.startswith("tests/test_api.py:") and "which autograd does not differentiate" in result.error
    with pytest.raises(compare.CannotCheck, match="autograd does not differentiate"):
        compare.assert_agrees(fn, (x.detach(),))
