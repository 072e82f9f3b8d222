"""The checker can fail: a wrong backward, a wrong claim, in a user's own folder."""
import subprocess
import sys

import torch

from compare import case
from compare.case import collecting
from compare.engine import check_case
from compare.load import load_file


def _one(fn_maker):
    with collecting() as found:
        fn_maker()
    return found[0]


def test_wrong_backward_is_disagree():
    r = [check_case(c) for c in load_file("tests/user_cases/wrong_backward.py").cases]
    assert [x.status for x in r] == ["disagree"]
    assert all(p.status == "disagree" for p in r[0].points)


def test_user_folder_gets_the_right_verdicts():
    r = {c.name: check_case(c) for c in load_file("tests/user_cases/my_cases.py").cases}
    assert {n: x.status for n, x in r.items()} == {"cube": "agree", "two_inputs": "agree",
                                                   "fixed_loop": "agree"}
    assert len(r["fixed_loop"].pieces) == 1
    assert r["two_inputs"].pieces[0].claim == "proven"


def test_wrong_claim_is_disproven():
    def declare():
        @case(inputs={"x": torch.tensor([1.0, 2.0])}, expect=lambda x: 3 * x)
        def square_sum(x):
            return (x * x).sum()

    r = check_case(_one(declare))
    assert r.status == "disagree"
    assert r.pieces[0].claim == "disproven"
    assert all(p.claim_exact is False for p in r.points)


def test_run_on_a_user_folder_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "compare", "run", "tests/user_cases", "--out",
                           str(tmp_path / "out"), "--samples", "1"], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "DISAGREE  bad_cube" in proc.stderr
    assert (tmp_path / "out" / "index.md").exists()


X3 = torch.tensor([1.0, 2.0, -3.0])


def _checked(fn, **options):
    with collecting() as found:
        case(inputs={"x": X3}, **options)(fn)
    return check_case(found[0], samples=1)


@torch.no_grad()
def _scale(x):
    return x.abs().max()


def test_no_grad_makes_a_constant_as_it_does_for_autograd():
    def block(x):
        with torch.no_grad():
            u = x * x
        return u * x

    r = _checked(block, expect=lambda x: x * x)
    assert r.status == "agree" and r.pieces[0].claim == "proven", r.error
    forward = r.points[0].oracles["forward"]  # forward-mode AD does not stop at no_grad: said, not failed
    assert not forward.errors.agree and "torch.no_grad() does not stop forward-mode AD" in forward.note
    assert _checked(lambda x: x / _scale(x)).status == "agree"

    def switched(x):
        with torch.set_grad_enabled(False):
            m = x.sum()
        return x * m

    assert _checked(switched, expect=lambda x: torch.ones_like(x) * x.sum()).status == "agree"


def test_a_run_the_symbolic_side_cannot_follow_is_an_error_not_a_verdict():
    def random_weights(x):
        return (torch.randn(3) * x).sum()

    r = _checked(random_weights)
    assert r.status == "error" and "compute different outputs" in r.error, (r.status, r.error)
    # Rounding is not another function: an output that is 0 up to rounding, or lost to cancellation.
    assert _checked(lambda x: torch.sin(x) ** 2 + torch.cos(x) ** 2 - 1).status == "agree"
    assert _checked(lambda x: (x.double() + 1e12) - 1e12).status == "agree"


def test_a_write_through_a_view_reaches_its_base():
    def view_written_in_place(x):
        y = x * 1
        v = y[0:2]
        v *= 3
        return y

    r = _checked(view_written_in_place)
    assert r.status == "agree", (r.status, r.error)
    assert [str(g) for g in r.pieces[0].gradient["x"]] == ["3", "3", "1"]


def test_a_floor_division_is_a_step_with_derivative_zero():
    r = _checked(lambda x: torch.div(x, 2, rounding_mode="floor") * x)
    assert str(r.pieces[0].gradient["x"][0]) == "floor(x_0/2)"
    # x = 2 lies on a jump of floor(x / 2): rule 4 gives the step's derivative 0 there, so the gradient is
    # floor(x / 2) = 1, as off the jump (the sample)
    assert r.status == "convention", (r.status, r.error)
    assert r.points[0].rule.startswith("div(2") and "rule 4" in r.points[0].rule
    assert r.points[0].allowed[0]["x"].tolist() == [0.0, 1.0, -2.0]
    assert [p.status for p in r.points[1:]] == ["agree"]


B32 = torch.tensor([[1.0, -0.5], [0.25, 2.0], [0.5, 0.5]])  # float32, as a module constant is


class ConstantMatmul(torch.autograd.Function):
    """a @ b.T with a right backward that reads b back from ctx."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b.T

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g @ b, g.T @ a


def test_a_float32_constant_saved_by_a_custom_function_meets_the_float64_run():
    with collecting() as found:
        case(inputs={"a": torch.tensor([[1.0, 2.0], [-1.0, 0.5]])})(lambda a: (ConstantMatmul.apply(a, B32) ** 2).sum())
    r = check_case(found[0], samples=1)
    assert r.status == "agree", r.error
    assert all(p.hessian.errors.agree for p in r.points)


def test_a_claim_off_only_by_float_rounding_is_unproven_and_a_wrong_one_disproven():
    near = _checked(lambda x: 0.1 * x**3, expect=lambda x: 0.3 * x**2)
    assert near.status == "agree" and near.pieces[0].claim == "unproven"
    assert "rounding of float constants" in near.pieces[0].claim_note
    wrong = _checked(lambda x: 0.1 * x**3, expect=lambda x: 0.30001 * x**2)
    assert wrong.status == "disagree" and wrong.pieces[0].claim == "disproven"


def test_samples_are_drawn_again_outside_the_functions_domain():
    with collecting() as found:
        case(inputs={"x": torch.tensor([0.5, 1.5, 2.5])})(lambda x: torch.sqrt(x).sum())
    r = check_case(found[0], samples=4)
    assert r.status == "agree", r.error
    assert all((p.inputs["x"] > 0).all() for p in r.points)


SWALLOWS = """
import torch
from compare import case


@case(inputs={"x": torch.tensor([1.0, 2.0])})
def swallows_everything(x):
    try:
        while True:
            x = x * 1.0
    except Exception:
        return x
"""


def test_a_case_that_catches_every_exception_still_meets_its_time_limit(tmp_path):
    (tmp_path / "swallow.py").write_text(SWALLOWS)
    proc = subprocess.run([sys.executable, "-m", "compare", "run", str(tmp_path / "swallow.py"), "--timeout", "1",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "CaseTimeout" in proc.stderr, proc.stderr[-2000:]


class DoubleWrong(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g  # should be 2 x g


def test_a_float64_case_names_its_one_run_once():
    with collecting() as found:
        case(inputs={"x": torch.tensor([1.0, 2.0], dtype=torch.float64)}, order=1)(lambda x: DoubleWrong.apply(x).sum())
    r = check_case(found[0], samples=0)
    assert r.points[0].note == "autograd differs from the exact derivative: float64", r.points[0].note


def test_saved_tensors_are_cast_up_only_when_a_float64_backward_needs_it(monkeypatch):
    """The saved-tensor hooks keep every run's graph alive (a cycle through C++ that gc cannot
    see): a run that does not need them must not have them on."""
    from compare.numeric import runs as numeric

    def refuse(dtype):
        raise AssertionError("saved_cast_up used without need")

    monkeypatch.setattr(numeric, "saved_cast_up", refuse)
    r = check_case(next(c for c in load_file("cases/notes/autograd.py").cases if c.name == "dot"), samples=1)
    assert r.status == "agree", r.error


class BatchedConstant(torch.autograd.Function):
    """x (as a batch of one) times a saved float32 constant by bmm: its error speaks of scalar types."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(w)
        return torch.bmm(x.reshape(1, 1, -1), w.reshape(1, -1, 1)).reshape(())

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return torch.bmm(g.reshape(1, 1, 1), w.reshape(1, 1, -1)).reshape(-1), None


W32 = torch.tensor([0.5, -1.0, 2.0])


def test_any_failure_of_a_float64_backward_is_retried_with_saved_tensors_cast_up():
    r = _checked(lambda x: BatchedConstant.apply(x, W32), order=1)
    assert r.status == "agree", r.error


def test_samples_outside_the_domain_are_left_out_not_judged():
    with collecting() as found:
        case(inputs={"x": torch.tensor([1.5, 2.0, 3.0, 1.25, 4.0, 2.5])})(lambda x: torch.acosh(x).sum())
    r = check_case(found[0], samples=4)
    assert r.status == "agree", r.error
    assert all(p.origin == "example" or (p.inputs["x"] >= 1).all() for p in r.points)


def test_harmless_keywords_and_operands_by_name_are_accepted():
    assert _checked(lambda x: torch.div(x, 2, rounding_mode=None)).status == "agree"
    assert _checked(lambda x: torch.pow(x, exponent=2)).status == "agree"


def test_a_large_smooth_gradient_keeps_its_symbolic_hessian():
    with collecting() as found:
        case(inputs={"x": torch.arange(1.0, 11.0)})(lambda x: (x / torch.sqrt((x * x).sum() + 1)).sum())
    r = check_case(found[0], samples=0)
    assert r.status == "agree" and r.pieces[0].hessian is not None, r.hessian_note
