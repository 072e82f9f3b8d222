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
