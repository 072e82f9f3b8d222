"""Branches that do not depend on the inputs are decided by value on both sides.

Library code checks its constants (kornia's `gaussian_blur2d` asks `bool((sigma > 0).all())`
of a sigma it was given): such a branch is no piece of the function. Autograd's run records
only the branches on tensors made from the inputs (through `detach()` and `no_grad` too), as
the exact side decides only those; and a branch inside a torch function's own code (`F.*`),
which autograd's run cannot see, is a selection inside that op, not a Python branch.
"""
import torch
import torch.nn.functional as F

import compare
from compare.numeric import PathRecorder

F64 = torch.float64
X = torch.tensor([0.5, -1.5, 2.0], dtype=F64)
S = torch.tensor([1.5], dtype=F64)
SIGMA = torch.tensor([0.8, 1.2], dtype=F64)


def checked(fn, **options):
    result = compare.check(fn, (X,), **options)
    assert result.status == "agree", result.error
    return result


def test_a_branch_on_a_constant_is_decided_by_its_value():
    result = checked(lambda x: x * 2 if S > 0 else x)
    assert len(result.pieces) == 1 and not result.uncovered
    assert [p.symbolic["x"].tolist() for p in result.points] == [[2.0] * 3] * len(result.points)


def test_a_library_check_of_its_own_argument_is_no_piece():
    def blur_like(x):  # gaussian_blur2d's check, then the work
        if not bool((SIGMA > 0).all()):
            raise ValueError("sigma must be positive")
        return (x[:, None] * SIGMA).exp().sum()

    result = checked(blur_like)
    assert len(result.pieces) == 1


def test_branches_through_detach_and_no_grad_still_depend_on_the_inputs():
    """The condition's tensor has no grad_fn, but it is made from the inputs: each is a piece."""
    def f(x):
        with torch.no_grad():
            total = x.sum() * 2
        if total > 0:  # recorded through no_grad
            x = x * 3
        if x.detach()[0] < 0:  # and through detach
            x = x - 1
        return (x * x).sum()

    result = checked(f)
    assert len(result.pieces) == 4
    assert all(p.status == "agree" for p in result.points)


def test_a_branch_on_a_frozen_parameter_is_a_constant():
    """A parameter the check holds constant requires grad, but no op of the run made it."""
    scale = torch.nn.Parameter(torch.tensor(2.0, dtype=F64))
    result = checked(lambda x: x * scale if scale > 1 else x, order=1)
    assert len(result.pieces) == 1
    assert result.points[0].symbolic["x"].tolist() == [2.0] * 3


def test_a_branch_inside_a_torch_function_is_a_selection_inside_it():
    """gaussian_nll_loss checks `torch.any(var < 0)` in its own code, where autograd's run
    records nothing; the variance here is never negative, so no side raises."""
    target = torch.zeros(3, dtype=F64)
    result = checked(lambda x: F.gaussian_nll_loss(x, target, x * x + 1))
    assert len(result.pieces) == 1


def test_the_recorder_knows_what_depends_on_the_inputs():
    x = X.clone().requires_grad_()
    frozen = torch.nn.Parameter(torch.ones(3, dtype=F64))
    recorder = PathRecorder(F64, inputs=(x,))
    with recorder:
        y = x * frozen
        with torch.no_grad():
            z = y.sum()
        view = torch.zeros(3, dtype=F64)[:2]
        kept = torch.zeros(3, dtype=F64)
        kept[1:] = x[:2].detach()  # a write of the inputs into a constant: it depends now
        made = {"y": y, "z": z, "y>0": y > 0, "frozen*2": frozen * 2, "S>0": S > 0, "view": view,
                "kept": kept, "kept[0]": kept[0]}
        bool(S > 0), bool(z > 0), bool(frozen.sum() > 0), bool(kept[0] == 0)
    assert {k: recorder.depends(t) for k, t in made.items()} == {
        "y": True, "z": True, "y>0": True, "frozen*2": False, "S>0": False, "view": False, "kept": True,
        "kept[0]": True}
    assert [taken for _, taken in recorder.path] == [True, True]  # z > 0 and kept[0] == 0 only


def test_without_inputs_or_through_compiled_code_every_branch_is_recorded():
    for recorder in (PathRecorder(F64), PathRecorder(F64, inputs=(), opaque=True)):
        with recorder:
            bool(S > 0)
        assert len(recorder.path) == 1
