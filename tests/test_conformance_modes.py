"""op_db in every mode: the record explains every disagreement, each recorded bug is still torch's, a wrong
meaning is caught in every mode, and (with --conformance) every op still gives what docs/conformance.json says."""
import json
import os
import runpy

import pytest
import sympy
import torch

pytest.importorskip("expecttest")  # op_db's module needs it (the `test` extra)

from compare.conformance import run as conformance, modes as conformance_modes  # noqa: E402
from compare.conformance.bugs import BUGS, REPROS, recorded  # noqa: E402
from compare.conformance.report import render, unrecorded  # noqa: E402
from compare.conformance.record import MODES_RECORD, load_modes  # noqa: E402
from compare.exact.sym import detach  # noqa: E402
from compare.symbolic import MEANINGS  # noqa: E402
from compare.symbolic.registry import unary  # noqa: E402

DATA = json.load(open(MODES_RECORD, encoding="utf-8")) if os.path.exists(MODES_RECORD) else None
RECORD = {(r.name, r.mode): r for r in load_modes()}
SETTINGS = conformance.Settings(**{k: v for k, v in (DATA or {}).get("settings", {}).items()})
DISAGREEING = sorted(k for k, r in RECORD.items() if r.status == "disagrees")


@pytest.fixture(scope="module")
def ops():
    return {conformance._name(op): op for op in conformance.opinfos()}


def test_the_record_is_there_and_counts_every_mode():
    assert DATA is not None, "docs/conformance.json is missing: run `python -m compare.conformance --write`"
    assert set(DATA["counts"]) == {"check_backward_ad", *conformance.MODES}


def test_every_disagreement_is_a_recorded_bug():
    assert unrecorded(DATA) == []


def test_the_page_is_generated_from_the_record():
    with open(os.path.join(os.path.dirname(MODES_RECORD), "conformance.md"), encoding="utf-8") as f:
        assert f.read() == render(DATA), "docs/conformance.md is stale: run `python -m compare.conformance --write`"


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.key)
def test_each_recorded_bug_is_still_torchs(bug):
    """A torch that fixes one fails here: the repro's assertion no longer holds. Update the record."""
    runpy.run_path(os.path.join(REPROS, f"{bug.key}.py"), run_name="__main__")


@pytest.mark.parametrize("name, mode", DISAGREEING[:6])
def test_a_recorded_disagreement_still_disagrees(ops, name, mode):
    assert recorded(name, mode) is not None
    (found,) = conformance.check_op_modes(ops[name], SETTINGS, (mode,))
    assert found.status == "disagrees", (found.status, found.detail)


@pytest.mark.parametrize("name", ["sin", "mul", "nn.functional.softplus", "linalg.det"])
def test_a_sample_of_ops_gives_what_the_record_says(ops, name):
    for found in conformance.check_op_modes(ops[name], SETTINGS):
        assert found.status == RECORD[(name, found.mode)].status, found


def _key(name: str):
    return next(k for k in MEANINGS if str(k) == name)


def test_a_wrong_derivative_is_caught_in_every_mode(ops, monkeypatch):
    # the right value, no derivative: every mode's exact side says 0 where torch's is cos (and -sin)
    monkeypatch.setitem(MEANINGS, _key("aten.sin"), unary(lambda x: detach(sympy.sin(x))))
    found = conformance.check_op_modes(ops["sin"], conformance.Settings(samples=1, max_entries=16))
    assert {r.mode: r.status for r in found} == {m: "disagrees" for m in conformance.MODES}


@pytest.mark.conformance
@pytest.mark.parametrize("name", sorted({n for n, _ in RECORD}))
def test_every_op_gives_what_the_record_says(ops, name):
    """The full run, one op a test: `pytest --conformance -n auto tests/test_conformance_modes.py`."""
    for found in conformance.check_op_modes(ops[name], SETTINGS):
        assert (found.status, found.detail) == (RECORD[(name, found.mode)].status, RECORD[(name, found.mode)].detail)


def test_a_sample_where_the_function_has_no_real_value_is_rule_5_in_every_mode(ops):
    """op_db's __rpow__ samples raise a negative base to a non-integer power: (-7.58) ** -4.83 has no real
    value, torch gives NaN and so does the loss, so by rule 5 any derivative is allowed, in every mode."""
    op = ops["__rpow__"]
    sample = next(iter(op.sample_inputs("cpu", torch.float64, requires_grad=True)))
    found = conformance_modes.check_sample_modes(op, sample, conformance_modes.MODES)
    assert {m: r.status for m, r in found.items()} == {m: "runs" for m in conformance_modes.MODES}
    assert all("rule 5" in r.detail for r in found.values())


def test_a_view_whose_storage_reaches_past_it_is_not_judged_on_copies(ops):
    """as_strided.partial_views' samples are views into a larger storage, which as_strided reads with its own
    storage_offset; the modes differentiate a function of plain copies, which would read other entries and
    report a difference that is not torch's: they say so instead of disagreeing."""
    op = ops["as_strided.partial_views"]
    for sample in list(op.sample_inputs("cpu", torch.float64, requires_grad=True))[:3]:
        found = conformance_modes.check_sample_modes(op, sample, conformance_modes.MODES)
        assert {r.status for r in found.values()} == {"unsupported"}, found
        assert all("storage reaches past it" in r.detail for r in found.values())
