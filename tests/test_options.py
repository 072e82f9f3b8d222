"""One options record: the front doors build it, the engine applies a case's own declarations to it once."""
import torch

from compare.case import make_case
from compare.modes import EVERY, SECOND_ORDER, Modes
from compare.options import Options, for_case

X = {"x": torch.tensor([1.0, 2.0])}


def square(x):
    return x * x


def test_what_a_case_declares_wins_over_the_run():
    declared = make_case(square, inputs=X, samples=1, loop_bound=5, order=1, compile="aot_eager",
                         check_forward_ad=False)
    got = for_case(Options(samples=3, loop_bound=9, order=2, modes=EVERY), declared)
    assert (got.samples, got.loop_bound, got.order, got.compile) == (1, 5, 1, "aot_eager")
    assert not got.modes.check_forward_ad and got.modes.check_batched_grad  # the others are the run's
    assert not any(getattr(got.modes, k) for k in SECOND_ORDER)  # order=1: no second derivatives


def test_what_a_case_does_not_declare_is_the_run_s():
    run = Options(seed=7, samples=0, loop_bound=9, order=1, compile="inductor", timeout=None, modes=EVERY)
    got = for_case(run, make_case(square, inputs=X))
    assert got == Options(seed=7, samples=0, loop_bound=9, order=1, compile="inductor", timeout=None,
                          modes=Modes(**{k: k not in SECOND_ORDER for k in Modes.__dataclass_fields__}))
    assert for_case(Options(), make_case(square, inputs=X)) == Options()


def test_a_declared_zero_is_declared():
    assert for_case(Options(samples=4), make_case(square, inputs=X, samples=0)).samples == 0


def test_a_broken_case_keeps_the_run_s_modes():
    broken = make_case(square, inputs=X, order="two")
    assert broken.problem
    assert for_case(Options(modes=EVERY), broken).modes == EVERY


def test_the_engine_checks_with_the_options_it_is_given():
    from compare.engine import check_case

    case = make_case(square, inputs=X)
    result = check_case(case, Options(seed=3, samples=2, modes=Modes(check_rev_over_rev=False)))
    assert result.seed == 3
    assert [p.origin for p in result.points] == ["example", "sample 1", "sample 2"]
    assert "check_rev_over_rev" not in result.modes
    assert len(check_case(case, Options(samples=2), samples=0).points) == 1  # a keyword replaces the record's


def test_check_hands_its_run_keywords_to_the_engine():
    from compare import check

    result = check(square, (torch.tensor([1.0, 2.0]),), seed=5, samples=1)
    assert result.seed == 5 and len(result.points) == 2


def test_the_command_line_asks_every_mode_and_no_limit_for_timeout_0():
    from compare.cli import _options, _parser

    args = _parser().parse_args(["all", "--seed", "2", "--samples", "1", "--loop-bound", "3", "--timeout", "0",
                                 "--compile"])
    assert _options(args) == Options(seed=2, samples=1, loop_bound=3, timeout=None, compile="inductor", modes=EVERY)


def test_the_plugin_asks_every_mode():
    from compare.pytest_plugin import _options

    class Config:
        @staticmethod
        def getoption(name):
            return {"compare_seed": 4, "compare_samples": 2}[name]

    assert _options(Config()) == Options(seed=4, samples=2, modes=EVERY)
