"""Runs that share their torch calls' answers: a re-run must see exactly what a fresh run sees."""
import sympy
import torch

from compare.explore import explore, run_symbolic
from compare.explore.feasible import Feasibility
from compare.explore.paths import _explore
from compare.exact.sym import input_symbols
from compare.symbolic import SymTensor, shared_runs
from compare.symbolic import shared


def _inputs(shape=()):
    syms = input_symbols("a", shape)
    return syms, {"a": SymTensor(syms)}


def _twice(fn, inputs, decide=lambda c, site: True):
    with shared_runs():
        first = run_symbolic(fn, inputs, decide)
        second = run_symbolic(fn, inputs, decide)
        answers = len(shared._MEMO.get().answers)
    return first, second, answers


def test_a_write_into_an_answer_does_not_reach_the_next_run():
    def fn(a):
        b = a * 2
        b.add_(1)
        b.mul_(3)
        return b

    syms, inputs = _inputs()
    first, second, answers = _twice(fn, inputs)
    assert answers >= 1  # `a * 2` was shared
    assert first[()] == second[()] == 6 * syms[()] + 3


def test_a_write_through_a_view_is_made_in_every_run():
    def fn(a):
        b = a * 1
        b[0].mul_(3)
        return b + 0

    syms, inputs = _inputs((2,))
    first, second, _ = _twice(fn, inputs)
    assert list(first) == list(second) == [3 * syms[0], syms[1]]


def test_an_assignment_into_a_tensor_is_made_in_every_run():
    def fn(a):
        b = a * 1
        b[0] = a.sum() * 5  # __setitem__ answers None: its effect is the write, which must not be skipped
        return b

    syms, inputs = _inputs((2,))
    first, second, _ = _twice(fn, inputs)
    assert list(first) == list(second) == [5 * syms[0] + 5 * syms[1], syms[1]]


def test_a_real_tensor_written_between_runs_is_read_anew():
    w = torch.tensor(2.0)

    def fn(a):
        return a * w

    syms, inputs = _inputs()
    with shared_runs():
        before = run_symbolic(fn, inputs, lambda c, site: True)
        w.add_(1)
        after = run_symbolic(fn, inputs, lambda c, site: True)
    assert before[()] == 2 * syms[()] and after[()] == 3 * syms[()]


def test_a_choice_inside_an_op_is_decided_in_every_run():
    def fn(a):
        return torch.sort(a * 2).values

    syms, inputs = _inputs((2,))
    seen = []

    def decide(condition, site):
        seen.append(condition)
        return len(seen) % 2 == 1  # the two runs take opposite sides of the sort's comparison

    first, second, _ = _twice(fn, inputs, decide)
    assert len(seen) == 2
    assert list(first) != list(second) and sorted(map(str, first)) == sorted(map(str, second))


def doubling_then_sign(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        return b
    return 100 * b


def test_the_notes_loop_explores_alike_with_and_without_sharing():
    found = []
    for share in (True, False):
        syms, inputs = _inputs((2,))
        feasibility = Feasibility(list(syms.flat))
        args = (doubling_then_sign, inputs, feasibility, [{s: sympy.Rational(1, 3) for s in syms.flat}], 6, 1e-9,
                lambda p: p)
        found.append(explore(*args[:2], feasibility=feasibility, points=args[3], loop_bound=6)
                     if share else _explore(*args))
    shared_found, fresh = found
    assert len(shared_found.pieces) == 13  # six loop counts, two signs, and the point beyond the bound
    assert [(p.decisions, list(p.output.flat), p.witness) for p in shared_found.pieces] == \
        [(p.decisions, list(p.output.flat), p.witness) for p in fresh.pieces]
    assert shared_found.uncovered == fresh.uncovered and shared_found.point_pieces == fresh.point_pieces


def test_grad_mode_is_part_of_what_is_shared():
    def fn(a):
        with torch.no_grad():
            b = a * 2  # under no_grad: a stop-gradient
        return b + a * 2

    def plain(a):
        return a * 2 + a * 2

    syms, inputs = _inputs()
    with shared_runs():
        stopped = run_symbolic(fn, inputs, lambda c, site: True)
        free = run_symbolic(plain, inputs, lambda c, site: True)
    assert free[()] == 4 * syms[()]
    assert stopped[()] != free[()] and "detach" in str(stopped[()])


def test_numbers_of_different_kinds_are_different_arguments():
    syms, inputs = _inputs()
    x = inputs["a"]
    keys = [shared._key((x, k), []) for k in (1, True, 1.0, -0.0, 0.0, (1,), [1], torch.Size([1]))]
    assert len(set(keys)) == len(keys)  # equal as numbers (1 == True == 1.0, -0.0 == 0.0), not as arguments
    again = SymTensor(x.exprs.copy())
    assert shared._key((again, 1.0), []) == keys[2]  # the same entries, layout and dtype: the same argument
