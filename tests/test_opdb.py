"""PyTorch's operator database, run symbolically: what ran stays running, and the harness can fail.

The full run (`python -m compare.conformance --write`, a few minutes) writes
docs/opdb.json. Here every op recorded there as `runs` is checked again on
one small seeded sample, so that a change that breaks an op (a meaning, a
decomposition, the dispatcher) fails a test naming it.
"""
import numpy as np
import pytest
import sympy
import torch

pytest.importorskip("expecttest")  # op_db's module needs it (the `test` extra)

from compare.conformance import run as conformance, samples as opdb_samples  # noqa: E402
from compare.exact.sym import detach  # noqa: E402
from compare.symbolic import MEANINGS, UnsupportedOp  # noqa: E402
from compare.symbolic.registry import unary  # noqa: E402

QUICK = conformance.Settings(samples=1, max_entries=16, fallback_entries=16, seconds=20)
"""One sample per op, tensors of at most 16 entries (no larger fallback): the whole file runs in about a minute."""

RECORD = conformance.load()
RUNS = sorted(r.name for r in RECORD if r.status == "runs")


@pytest.fixture(scope="module")
def ops():
    return {conformance._name(op): op for op in conformance.opinfos()}


def test_the_record_is_there():
    assert RECORD, "docs/opdb.json is missing: run `python -m compare.conformance --write`"
    assert len(RUNS) >= 351


@pytest.mark.parametrize("name", RUNS)
def test_what_ran_still_runs(ops, name):
    result = conformance.check_op(ops[name], QUICK)
    if result.status == "skipped":
        pytest.skip("no sample with at most 16 entries a tensor")
    assert result.status == "runs", f"{name}: {result.status}: {result.detail}"


def test_an_op_with_no_small_sample_takes_its_smallest_larger_ones(ops):
    # op_db's chunk samples are 5 x 5 x 5: none within 64 entries, so the 125-entry ones are run
    settings = conformance.Settings(samples=2)
    samples = opdb_samples.samples(ops["chunk"], settings)
    assert [s.input.numel() for s in samples] == [125, 125]
    assert conformance.check_op(ops["chunk"], settings).status == "runs"
    tight = conformance.Settings(samples=2, fallback_entries=100)
    assert conformance.check_op(ops["chunk"], tight) == conformance.OpResult(
        "chunk", "skipped", "", "no sample with at most 100 entries a tensor", 0)


def test_a_wrong_meaning_on_a_larger_sample_is_caught(ops, monkeypatch):
    # bmm's only sample is 5 x 10 x 10 (500 entries): the fallback sample must still be checked
    right = MEANINGS[_key("aten.bmm")]
    monkeypatch.setitem(MEANINGS, _key("aten.bmm"), lambda a, b: right(a, b) * 2)
    result = conformance.check_op(ops["bmm"], conformance.Settings(samples=1))
    assert result.status == "disagrees" and result.detail.startswith("forward"), result


def test_the_time_bound_is_cpu_time(ops, monkeypatch):
    import time

    def busy(op, sample):  # CPU work past the bound
        end = time.process_time() + 2
        while time.process_time() < end:
            pass

    def waiting(op, sample):  # as long, but waiting (a busy machine): not counted
        time.sleep(1.5)
        return conformance._Sample("runs")

    sample = opdb_samples.samples(ops["sin"], QUICK)[0]
    monkeypatch.setattr(conformance, "check_sample", busy)
    assert conformance._guarded(ops["sin"], sample, 1).detail == "a sample took over 1 s"
    monkeypatch.setattr(conformance, "check_sample", waiting)
    assert conformance._guarded(ops["sin"], sample, 1).status == "runs"


def _key(name: str):
    return next(k for k in MEANINGS if str(k) == name)


def test_a_wrong_value_is_caught(ops, monkeypatch):
    monkeypatch.setitem(MEANINGS, _key("aten.sin"), unary(sympy.cos))
    result = conformance.check_op(ops["sin"], QUICK)
    assert result.status == "disagrees" and result.detail.startswith("forward"), result


def test_a_wrong_derivative_is_caught(ops, monkeypatch):
    # the right value, no derivative: only the gradient can tell
    monkeypatch.setitem(MEANINGS, _key("aten.sin"), unary(lambda x: detach(sympy.sin(x))))
    result = conformance.check_op(ops["sin"], QUICK)
    assert result.status == "disagrees" and result.detail.startswith("gradient"), result


def test_a_wrong_linear_algebra_meaning_is_caught(ops, monkeypatch):
    right = MEANINGS[_key("aten._linalg_det")]

    def doubled(A):
        det, LU, pivots = right(A)
        return np.asarray(det * 2, dtype=object), LU, pivots

    monkeypatch.setitem(MEANINGS, _key("aten._linalg_det"), doubled)
    result = conformance.check_op(ops["linalg.det"], QUICK)
    assert result.status == "disagrees", result


def test_an_unknown_op_is_named(ops, monkeypatch):
    monkeypatch.delitem(MEANINGS, _key("aten._linalg_det"))
    result = conformance.check_op(ops["linalg.det"], QUICK)
    assert (result.status, result.detail) == ("unsupported", "aten._linalg_det.default")


def test_a_matrix_past_the_size_limit_says_so():
    from compare.symbolic import SymTensor
    from compare.exact.sym import input_symbols

    from compare.symbolic import decompositions

    big = SymTensor(input_symbols("B", (decompositions.SIZE + 1,) * 2), torch.float64)
    with pytest.raises(UnsupportedOp, match="stops at"):
        torch.linalg.eigvalsh(big)


def test_the_record_is_rendered():
    from compare.conformance.coverage import render_ops

    text = render_ops()
    for r in RECORD:
        assert f"| `{r.name}` |" in text


@pytest.mark.parametrize("A", [[[0.5, 2.0], [-1.5, 0.25]],   # complex eigenvalues: q < 0
                               [[1.0, 2.0], [0.5, -0.75]]])  # real ones: q > 0
def test_matrix_exp_of_two_by_two_in_closed_form(A):
    import compare

    compare.assert_agrees(torch.linalg.matrix_exp, (torch.tensor(A, dtype=torch.float64, requires_grad=True),),
                          order=1, samples=2)


@pytest.mark.parametrize("f", [torch.linalg.det, torch.linalg.inv, lambda A: torch.linalg.slogdet(A)[1],
                               lambda A: torch.linalg.cholesky(A @ A.mT + torch.eye(3, dtype=A.dtype))],
                         ids=["det", "inv", "logabsdet", "cholesky"])
def test_linear_algebra_agrees_through_the_api(f):
    import compare

    A = torch.tensor([[2.0, -1.0, 0.5], [0.25, 1.5, -0.75], [1.0, 0.5, 3.0]], dtype=torch.float64)
    compare.assert_agrees(f, (A.requires_grad_(),), order=1, samples=2)
