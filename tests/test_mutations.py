"""The checker fails on wrong gradients: every mutation in tests/mutations/ is reported `disagree`.

Each file there holds a hand-written `autograd.Function` with a realistic
bug in its backward (case `NAME`) and the same Function with the bug fixed
(case `NAME_fixed`). The bug must be caught, and the fix must agree: so the
test proves the checker tells them apart, not that it rejects everything.
"""
import os

import pytest

from compare.engine import check_case
from compare.load import discover, load_file

HERE = os.path.join(os.path.dirname(__file__), "mutations")
FILES = discover([HERE])

# The points that must show each bug: the example point for most; for the
# piecewise function, the point the explorer found inside the other piece;
# for the Function that ignores its incoming gradient, only the Jacobian.
ONLY_PIECE_POINT = {"one_piece"}
ONLY_JACOBIAN = {"ignores_grad_output"}


def test_at_least_ten_mutations():
    assert len(FILES) >= 10


def _pair(path):
    loaded = load_file(path)
    assert loaded.error is None, loaded.error
    cases = {c.name: c for c in loaded.cases}
    name = os.path.splitext(os.path.basename(path))[0]
    assert set(cases) == {name, name + "_fixed"}, f"{path}: expected cases {name} and {name}_fixed"
    return name, cases[name], cases[name + "_fixed"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.splitext(os.path.basename(p))[0])
def test_mutation_disagrees_and_its_fix_agrees(path):
    name, wrong, fixed = _pair(path)
    bad = check_case(wrong, seed=0, samples=4)
    good = check_case(fixed, seed=0, samples=4)
    assert good.status == "agree", f"{name}_fixed: {good.status} {good.error or ''}"
    assert bad.status == "disagree", f"{name}: {bad.status} {bad.error or ''} (the bug slipped through)"
    # A mismatch is a result, never an error: every point was compared.
    assert all(p.status in ("agree", "disagree") for p in bad.points)
    # The same points were checked on both sides.
    assert [p.origin for p in bad.points] == [p.origin for p in good.points]

    caught = {p.origin for p in bad.points if p.status == "disagree"}
    example = next(p for p in bad.points if p.origin == "example")
    if name in ONLY_PIECE_POINT:
        assert example.status == "agree" and caught and all(o.startswith("piece") for o in caught)
    else:
        assert "example" in caught
    if name in ONLY_JACOBIAN:
        assert example.errors.agree and example.errors64.agree
        assert not example.jacobian_errors.agree
