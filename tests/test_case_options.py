"""`@case`'s keywords: a misspelled or out-of-range one is the case's error, never silently ignored."""
import pytest
import torch

from compare import case
from compare.case import make_case
from compare.engine import check_case

X = {"x": torch.arange(3.0)}


def _declared(**keywords):
    def tripled(x):
        return (x * x).sum()

    returned = case(**keywords)(tripled)
    assert returned is tripled  # the decorator returns the function and never raises
    return tripled.__compare_case__


@pytest.mark.parametrize("keywords, problem", [
    (dict(inputs=X, expcet=lambda x: 3 * x), "unknown option 'expcet' (did you mean 'expect'?)"),
    (dict(inputs=X, sample=3), "unknown option 'sample' (did you mean 'samples'?)"),
    (dict(inputs=X, loopbound=3), "unknown option 'loopbound' (did you mean 'loop_bound'?)"),
    (dict(inputs=X, show=X), "unknown option 'show' (did you mean 'show_at'?)"),
    # a misspelled `inputs` is named as such, not reported as a case without inputs
    (dict(input=X), "unknown option 'input' (did you mean 'inputs'?)"),
])
def test_a_misspelled_keyword_is_the_cases_error_with_a_suggestion(keywords, problem):
    record = _declared(**keywords)
    assert record.problem == problem
    result = check_case(record, samples=0)
    assert result.status == "error"
    assert result.error.endswith(f": {problem}")


def test_a_keyword_like_no_other_lists_the_keywords():
    record = _declared(inputs=X, colour="red")
    assert record.problem == ("unknown option 'colour'; @case takes inputs, expect, samples, loop_bound, "
                              "order, compile, name, show_at, known_wrong, check_backward_ad, check_forward_ad, "
                              "check_rev_over_rev, check_fwd_over_rev, check_fwd_over_fwd, check_batched_grad, "
                              "check_batched_forward_grad, check_undefined_grad")


def test_the_wrong_claim_behind_a_misspelled_expect_is_not_reported_as_agree():
    # before, `expcet` was dropped: the claim 3x was never checked and the case agreed
    assert check_case(_declared(inputs=X, expcet=lambda x: 3 * x), samples=0).status == "error"
    assert check_case(_declared(inputs=X, expect=lambda x: 3 * x), samples=0).status == "disagree"


@pytest.mark.parametrize("keywords, start", [
    (dict(order=3), "order must be 1 or 2"),
    (dict(order=0), "order must be 1 or 2"),
    (dict(order=True), "order must be 1 or 2"),
    (dict(order=2.0), "order must be 1 or 2"),
    (dict(loop_bound=-1), "loop_bound must be a positive int"),
    (dict(loop_bound=0), "loop_bound must be a positive int"),
    (dict(loop_bound=2.5), "loop_bound must be a positive int"),
    (dict(samples=-1), "samples must be a non-negative int"),
    (dict(samples=1.5), "samples must be a non-negative int"),
])
def test_out_of_range_values_are_the_cases_error(keywords, start):
    record = _declared(inputs=X, **keywords)
    assert record.problem is not None and record.problem.startswith(start), record.problem


@pytest.mark.parametrize("keywords", [
    dict(), dict(order=1), dict(order=2), dict(loop_bound=None), dict(loop_bound=1), dict(samples=0),
    dict(samples=7), dict(show_at={"x": torch.ones(3)}),
])
def test_valid_keywords_are_accepted(keywords):
    record = _declared(inputs=X, **keywords)
    assert record.problem is None
    if "show_at" in keywords:
        assert "show_at" in record.options


def test_make_case_takes_what_compare_check_passes():
    def f(x):
        return x.sum()

    record = make_case(f, inputs=X, expect=None, name="named", loop_bound=None, location=("where.py", 3),
                       order=1, samples=2)
    assert record.problem is None
    assert (record.name, record.file, record.line, record.order, record.samples) == ("named", "where.py", 3, 1, 2)
    assert make_case(f, inputs=X, order=5).problem.startswith("order must be 1 or 2")
