"""The case library: at least 25 cases in folders, each saying in one line what it teaches."""
import os

from compare.load import declared_cases
from compare.load import discover

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_at_least_25_cases_each_with_a_one_line_lesson():
    cases = [(path, name, doc) for path in discover([os.path.join(ROOT, "cases")])
             for name, _, doc in declared_cases(path)]
    assert len(cases) >= 25
    assert {os.path.basename(os.path.dirname(p)) for p, _, _ in cases} >= {"notes", "d2l", "blocks"}
    assert [n for _, n, doc in cases if not doc] == []
