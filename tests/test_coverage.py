"""docs/ops.md is what the meaning table says."""
import os
import re
from collections import defaultdict

import pytest
import torch

from compare.conformance.coverage import MissingDescription, render_ops
from compare.symbolic import MEANINGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_docs_ops_md_is_current():
    with open(os.path.join(ROOT, "docs", "ops.md"), encoding="utf-8") as f:
        committed = f.read()
    assert committed == render_ops(), "docs/ops.md is stale: run `python -m compare.conformance.coverage > docs/ops.md`"


def test_every_meaning_is_listed():
    text = render_ops()
    for op in MEANINGS:
        assert f"`{op}`" in text


def test_each_torch_error_named_is_still_a_disagreement_in_the_record():
    """An entry put down to torch's own gradient must still disagree: a fix in torch, or a
    change here, that makes it run must take it off the list rather than leave a stale excuse."""
    from compare.conformance.record import TORCH_ERRORS, load

    recorded = {r.name: r.status for r in load()}
    assert recorded, "docs/opdb.json is missing"
    for name in TORCH_ERRORS:
        assert recorded.get(name) == "disagrees", (name, recorded.get(name))


def _descriptions(text: str) -> dict[str, str]:
    """First op of each row of the core-set table -> its "computes" cell."""
    rows = [line for line in text.split("## ")[0].splitlines() if line.startswith("| `")]
    return {row[3:].split("`")[0]: row.rsplit(" | ", 1)[1][:-2] for row in rows}


def test_no_row_shows_a_function_name_for_what_it_computes():
    """A bare word (`<lambda>`, `impl`, `amax`) says nothing true; a formula (in backquotes) is exempt."""
    from compare.conformance.coverage import meaning_groups

    names = {n.split(".")[1] for group, _ in meaning_groups() for n in group}
    for op, text in _descriptions(render_ops()).items():
        assert text.startswith("`") or not re.fullmatch(r"<?[\w.]+>?", text), (op, text)
        assert text.replace(" ", "_") not in names, (op, text)


def test_meanings_sharing_a_description_are_one_op_in_other_dimensions():
    """Two meanings made by one factory and described alike (amin's once read "amax") must be the
    same op for 2-d and 3-d inputs, or both refusals."""
    from compare.conformance.coverage import description, meaning_groups

    alike = defaultdict(list)
    for group, impl in meaning_groups():
        text = description(group, impl)
        if not text.startswith("`") and not text.startswith(("not modelled", "refused")):
            alike[text].append(group[0])
    for text, ops in alike.items():
        assert len({re.sub(r"\d", "", op) for op in ops}) == 1, (text, ops)


def _factory(name: str, doc: str | None = None):
    """A meaning made by a factory, named after the op it was first written for."""
    def amax(x, dim=(), keepdim=False):
        raise AssertionError("never run")

    amax.__name__ = name
    amax.__doc__ = doc
    return amax


@pytest.mark.parametrize("impl", [_factory("amax"), _factory("impl"), lambda x: x, _factory("amax", "amax")],
                         ids=["named-after-another-op", "impl", "lambda", "docstring-a-bare-name"])
def test_a_meaning_without_a_description_is_refused(monkeypatch, impl):
    monkeypatch.setitem(MEANINGS, torch.ops.aten.amin, impl)
    with pytest.raises(MissingDescription, match=r"aten\.amin: the meaning at .*test_coverage\.py:\d+ .* has no"):
        render_ops()


def test_a_described_meaning_is_shown_by_its_description(monkeypatch):
    monkeypatch.setitem(MEANINGS, torch.ops.aten.amin, _factory("amax", "the smallest entry, said here"))
    assert "| `aten.amin` | the smallest entry, said here |" in render_ops()


def test_an_op_registered_twice_is_refused():
    """The second `@meaning` for an op would silently replace the first."""
    from compare.symbolic.registry import DuplicateMeaning, meaning

    before = dict(MEANINGS)
    try:
        with pytest.raises(DuplicateMeaning, match=r"aten\.amin has two meanings: .*reductions\.py:\d+ .* and "
                                                   r".*test_coverage\.py:\d+"):
            meaning(torch.ops.aten.amin, doc="the smallest entry")(lambda x, dim=(), keepdim=False: x)
    finally:
        replaced = MEANINGS != before
        MEANINGS.clear()
        MEANINGS.update(before)  # the other tests see the table as it was, whatever happened
    assert not replaced
