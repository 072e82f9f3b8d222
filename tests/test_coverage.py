"""docs/ops.md is what the meaning table says."""
import os

from compare.coverage import render_ops
from compare.symbolic import MEANINGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_docs_ops_md_is_current():
    with open(os.path.join(ROOT, "docs", "ops.md"), encoding="utf-8") as f:
        committed = f.read()
    assert committed == render_ops(), "docs/ops.md is stale: run `python -m compare.coverage > docs/ops.md`"


def test_every_meaning_is_listed():
    text = render_ops()
    for op in MEANINGS:
        assert f"`{op}`" in text


def test_each_torch_error_named_is_still_a_disagreement_in_the_record():
    """An entry put down to torch's own gradient must still disagree: a fix in torch, or a
    change here, that makes it run must take it off the list rather than leave a stale excuse."""
    from compare.opdb_record import TORCH_ERRORS, load

    recorded = {r.name: r.status for r in load()}
    assert recorded, "docs/opdb.json is missing"
    for name in TORCH_ERRORS:
        assert recorded.get(name) == "disagrees", (name, recorded.get(name))
