"""Every mode PyTorch differentiates in is a verdict: each catches a wrong answer, and agrees with a right one.

The mutations in tests/mode_mutations/ are custom Functions with a realistic bug
in one mode (a jvp 0.1% off, a wrong vmap rule, a @once_differentiable backward,
...), each beside the same Function fixed. PyTorch's own wrong derivatives (the
issue's examples, each value worked out by hand) are caught in their mode and
agree with that mode off.
"""
import os

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

import compare
from compare.api import as_case
from compare.engine import check_case
from compare.load import discover, load_file
from compare.modes import EVERY, KEYWORDS, LABELS, NOT_RUN, Modes, problem, resolve

HERE = os.path.join(os.path.dirname(__file__), "mode_mutations")
FILES = discover([HERE])
F64 = torch.float64


def _pair(path):
    loaded = load_file(path)
    assert loaded.error is None, loaded.error
    cases = {c.name: c for c in loaded.cases}
    name = os.path.splitext(os.path.basename(path))[0]
    module = {k: v for k, v in vars(__import__("sys").modules[cases[name].fn.__module__]).items()}
    return cases[name], cases[name + "_fixed"], module["MODE"], module.get("STATUS", "disagree")


def _failing(result) -> set:
    return {c.mode for p in result.points for c in p.modes if c.status == result.status}


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.splitext(os.path.basename(p))[0])
def test_each_mode_catches_its_mutation_and_its_fix_agrees(path):
    wrong, fixed, mode, status = _pair(path)
    bad, good = check_case(wrong, samples=2), check_case(fixed, samples=2)
    assert good.status == "agree", (good.status, good.error)
    assert bad.status == status, (bad.status, bad.error)
    assert mode in _failing(bad), _failing(bad)
    assert "check_backward_ad" not in _failing(bad)  # reverse mode is right in every mutation: only the mode is
    if status == "error":  # torch cannot run the mode asked for: the case's error names the mode
        assert LABELS[mode] in bad.error


def test_at_least_seven_mode_mutations():
    assert len(FILES) >= 7


def test_gradcheck_passes_the_jvp_that_is_one_in_a_thousand_off():
    wrong, _, mode, _ = _pair(os.path.join(HERE, "jvp_relative_error.py"))
    x = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=F64, requires_grad=True)
    assert gradcheck(wrong.fn, (x,), check_forward_ad=True)  # its rtol is 1e-3
    with pytest.raises(AssertionError, match="autograd's forward mode disagrees"):
        compare.assert_agrees(wrong.fn, (x,), check_forward_ad=True)


# -- the record and its keywords -----------------------------------------------------------------
def test_the_defaults_are_gradchecks_and_gradgradchecks():
    assert Modes().on() == ("check_backward_ad", "check_rev_over_rev", "check_undefined_grad")
    assert EVERY.on() == KEYWORDS


def test_order_one_turns_every_second_order_mode_off():
    assert resolve(EVERY, {}, order=1).on() == ("check_backward_ad", "check_forward_ad", "check_batched_grad",
                                                 "check_batched_forward_grad", "check_undefined_grad")
    assert resolve(Modes(), {"check_fwd_over_fwd": True}, order=2).check_fwd_over_fwd
    assert problem({"check_fwd_over_rev": True}, 1).startswith("order=1 checks no second derivatives")
    assert problem({"check_forward_ad": "yes"}, 2) == "check_forward_ad must be True or False, not 'yes'"


def test_a_misspelled_mode_is_a_type_error_with_the_nearest_name():
    with pytest.raises(TypeError, match="'check_forwad_ad' .did you mean 'check_forward_ad'"):
        compare.check(torch.sin, (torch.ones(2),), check_forwad_ad=True)


def test_a_case_declares_its_modes_and_a_keyword_replaces_them():
    @compare.case(inputs={"x": torch.tensor([0.5, 2.0])}, check_forward_ad=True, order=1)
    def cube(x):
        return x**3

    assert cube.__compare_case__.modes == {"check_forward_ad": True}
    assert compare.check(cube).modes == ("check_backward_ad", "check_forward_ad", "check_undefined_grad")
    assert "check_forward_ad" not in compare.check(cube, check_forward_ad=False).modes


# -- a Function without jvp, asked for or not ------------------------------------------------------
class _NoJvp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


def test_a_function_without_jvp_is_an_error_naming_it_where_forward_mode_is_asked_for():
    x = torch.tensor([0.5, 2.0], dtype=F64, requires_grad=True)
    with pytest.raises(NotImplementedError):
        gradcheck(_NoJvp.apply, (x,), check_forward_ad=True)  # what gradcheck says
    with pytest.raises(compare.CannotCheck, match="forward: _NoJvp has no jvp"):
        compare.assert_agrees(_NoJvp.apply, (x,), check_forward_ad=True)


def test_a_mode_no_one_asked_for_that_torch_cannot_run_is_shown_and_decides_nothing():
    x = torch.tensor([0.5, 2.0], dtype=F64)
    result = check_case(as_case(_NoJvp.apply, (x,)), samples=0, modes=EVERY)
    assert result.status == "agree"
    forward = next(c for c in result.points[0].modes if c.mode == "check_forward_ad")
    assert forward.status == NOT_RUN and "_NoJvp has no jvp" in forward.note


class _OnceNoVmap(torch.autograd.Function):
    """A backward marked @once_differentiable, and no setup_context: no jvp, and vmap cannot run it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


def test_a_mode_torch_cannot_run_reaches_the_judge_as_a_failure_with_the_functions_to_blame():
    from compare.numeric.mode_numbers import mode_numbers
    from compare.records import TorchFailure

    point = {"x": torch.tensor([0.5, 2.0], dtype=F64)}
    numbers = mode_numbers(lambda x: _OnceNoVmap.apply(x) + _NoJvp.apply(x), point)
    found = numbers.functions()
    assert set(found.names) == {"_OnceNoVmap", "_NoJvp"}
    assert found.once_differentiable == ("_OnceNoVmap",)
    assert set(found.without_jvp) == {"_OnceNoVmap", "_NoJvp"} and set(found.without_vmap) == set(found.names)
    assert found.own_vmap == ()
    assert isinstance(numbers.columns(), TorchFailure)  # vmap cannot run either Function
    failure = numbers.attempt(lambda: numbers.forward_one(torch.ones(2, dtype=F64)))
    assert isinstance(failure, TorchFailure) and isinstance(failure.error, NotImplementedError)  # no jvp


# -- PyTorch's own wrong derivatives, caught in their mode --------------------------------------------
A = torch.tensor([[1.5, -0.5], [0.25, 2.0]], dtype=F64)
B = torch.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=F64)


def _in_mode(fn, inputs, mode, samples=1):
    """(status with `mode` on, status with it off, the first non-agreeing check in `mode`)."""
    on = compare.check(fn, inputs, samples=samples, **{mode: True})
    off = compare.check(fn, inputs, samples=samples)
    check = next((c for p in on.points for c in p.modes if c.mode == mode and c.status != "agree"), None)
    return on.status, off.status, check


@pytest.mark.parametrize("fn", [torch.linalg.det, torch.logdet, lambda A: torch.linalg.slogdet(A)[1],
                                lambda A: torch.linalg.solve(A, B), lambda A: torch.linalg.solve_ex(A, B)[0]],
                         ids=["det", "logdet", "slogdet", "solve", "solve_ex"])
def test_forward_over_forward_of_determinants_and_solves(fn):
    assert _in_mode(fn, (A,), "check_fwd_over_fwd")[:2] == ("disagree", "agree")


X4 = torch.tensor([0.5, -1.0, 2.0, 0.25], dtype=F64)
V = torch.tensor([[1.0, 0.0], [0.5, 1.0], [-0.3, 0.8]], dtype=F64)
NORMS = {"layer_norm": lambda x: torch.nn.functional.layer_norm(x, (4,)),
         "native_layer_norm": lambda x: torch.native_layer_norm(x, (4,), None, None, 1e-5)[0],
         "instance_norm": lambda x: torch.nn.functional.instance_norm(x.reshape(1, 1, 4)).reshape(4),
         "householder_product": lambda v: torch.linalg.householder_product(v, torch.tensor([1.2, 0.7], dtype=F64))}


@pytest.mark.parametrize("name", list(NORMS))
def test_forward_over_forward_of_norms_and_householder_product(name):
    """torch's two second derivatives differ (nested jvps against reverse over reverse, both torch's own);
    the exact one says which is wrong: forward over forward."""
    fn, x = NORMS[name], (V if name == "householder_product" else X4)
    total = lambda y: (fn(y) * torch.arange(1.0, fn(y).numel() + 1, dtype=F64).reshape(fn(y).shape)).sum()  # noqa: E731
    nested = torch.func.jacfwd(torch.func.jacfwd(total))(x)
    assert not torch.allclose(nested, torch.func.jacrev(torch.func.jacrev(total))(x))
    assert _in_mode(fn, (x,), "check_fwd_over_fwd", samples=0)[:2] == ("disagree", "agree")


def test_the_second_derivative_of_det_in_a00_is_zero_and_torchs_nested_jvp_says_1_28():
    E = torch.zeros(2, 2, dtype=F64)
    E[0, 0] = 1  # det = a00 a11 - a01 a10 is linear in a00
    nested = torch.func.jvp(lambda X: torch.func.jvp(torch.linalg.det, (X,), (E,))[1], (A,), (E,))[1]
    assert nested.item() == pytest.approx(1.28)
    _, _, check = _in_mode(torch.linalg.det, (A,), "check_fwd_over_fwd", samples=0)
    assert check.exact.reshape(4, 4)[0, 0] == 0.0 and check.autograd.reshape(4, 4)[0, 0] == pytest.approx(1.28)


def test_forward_mode_of_cholesky_inverse_logcumsumexp_and_scatter_prod():
    L = torch.tensor([[1.0, 0, 0], [0.5, 1, 0], [0.3, -0.7, 1]], dtype=F64)
    # (at the example alone: at a random sample with a small diagonal, reverse mode's zero entries come out 3e-12,
    # over float64's absolute tolerance though the entries reach 1e4, which is another matter)
    status, off, check = _in_mode(lambda L: torch.cholesky_inverse(L.tril()), (L,), "check_forward_ad", samples=0)
    assert (status, off) == ("disagree", "agree") and check.errors.max_abs > 1.0  # O(1) off: see torch_bugs/
    x = torch.tensor([0.0, 17.0], dtype=F64)
    status, off, check = _in_mode(lambda x: torch.logcumsumexp(x, 0), (x,), "check_forward_ad", samples=0)
    assert (status, off) == ("disagree", "agree") and check.errors.max_rel == pytest.approx(2.4e-6, rel=0.01)
    src, index = torch.tensor([1.5, -2.0, 0.5, 3.0], dtype=F64), torch.tensor([0, 1, 0, 1])
    prod = lambda s: torch.zeros(2, dtype=F64).scatter_reduce(0, index, s, "prod", include_self=False)  # noqa: E731
    status, off, check = _in_mode(prod, (src,), "check_forward_ad", samples=0)
    assert (status, off) == ("disagree", "agree") and not check.autograd.any()  # a zero tangent


def test_forward_over_reverse_of_triangular_solve():
    At = torch.tensor([[2.0, 0, 0], [0.5, 1.5, 0], [-1.0, 0.25, 3.0]], dtype=F64)
    Bt = torch.tensor([[1.0, -2.0], [0.5, 1.0], [2.0, 0.25]], dtype=F64)
    solve = lambda A: torch.triangular_solve(Bt, A.tril(), upper=False).solution  # noqa: E731
    assert _in_mode(solve, (At,), "check_fwd_over_rev")[:2] == ("disagree", "agree")


# -- a custom Function's jvp, right and wrong ----------------------------------------------------------
def test_a_function_with_a_right_jvp_agrees_in_every_mode_torch_gets_right():
    _, fixed, _, _ = _pair(os.path.join(HERE, "jvp_relative_error.py"))
    x = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=F64)
    every = {k: True for k in KEYWORDS}
    assert compare.check(fixed.fn, (x,), **{**every, "check_fwd_over_fwd": False}).status == "agree"
    # nested jvps through any custom Function give zero second derivatives in torch 2.13 (pytorch/pytorch#197867,
    # compare/conformance/torch_bugs/nested_function_jvp.py): the exact Hessian of wᵀ exp(x), diag(w exp(x)), is not zero
    nested = compare.check(fixed.fn, (x,), **every, samples=0)
    check = next(c for c in nested.points[0].modes if c.mode == "check_fwd_over_fwd")
    assert check.status == "disagree" and not check.autograd.any()
    assert np.count_nonzero(np.diag(check.exact)) == 4 and np.count_nonzero(check.exact) == 4


# -- no_grad: forward mode sees through it, reverse mode does not ---------------------------------------
def test_a_write_under_no_grad_is_seen_by_forward_mode_and_not_by_reverse_mode():
    def written_under_no_grad(x):
        y = x * 1.0
        with torch.no_grad():
            y.clamp_(-1.0, 1.0)
        return y

    x = torch.tensor([0.5, -1.5, 2.0, 0.25], dtype=F64)
    result = compare.check(written_under_no_grad, (x,), samples=0, **{k: True for k in KEYWORDS})
    assert result.status == "agree"
    forward = next(c for c in result.points[0].modes if c.mode == "check_forward_ad")
    # clamp's derivative in forward mode (0 where clamped), the identity in reverse mode: two references
    assert np.diag(forward.exact).tolist() == [1.0, 0.0, 0.0, 1.0]
    assert result.points[0].symbolic["x"].tolist() == [1.0, 1.0, 1.0, 1.0]


# -- where modes are named ---------------------------------------------------------------------------
def test_the_message_the_page_and_the_record_name_the_mode():
    from compare.records import Meta
    from compare.render.report import render_case, render_index
    from compare.render.results_json import case_entry

    wrong, _, _, _ = _pair(os.path.join(HERE, "jvp_relative_error.py"))
    result = check_case(wrong, samples=0)
    meta = Meta(python="-", torch="-", sympy="-", seed=0, samples=0)
    assert "| disagree (forward) |" in render_index([result], meta)
    page = render_case(result, meta)
    assert "## Modes" in page and "| forward " in page and "disagree (" in page
    entry = case_entry(result)
    assert entry["points"][0]["modes"]["check_forward_ad"]["status"] == "disagree"
    with pytest.raises(AssertionError, match=r"forward mode disagrees .* \(reverse mode agrees\)"):
        compare.assert_agrees(wrong)
