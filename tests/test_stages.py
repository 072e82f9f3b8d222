"""Stages that do one thing each: the plan of a case is decided once (`compare.plan`) and every stage
reads it; the judge compares numbers it is given, and the shared records sit below the stages."""
import ast
import os

import pytest
import torch

import layout
from compare import engine, plan
from compare.api import check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = layout.modules(ROOT, "compare")
LIMITS = {"FULL_LIMIT", "HESSIAN_LIMIT", "JACOBIAN_LIMIT", "LOCAL_HESSIAN_OPS"}


def _small(x, y):
    return x ** 3 * y + torch.sin(x * y)


def _inputs():
    return (torch.tensor(0.7, dtype=torch.float64), torch.tensor(-1.3, dtype=torch.float64))


def _summary(result) -> dict:
    """What each reader of the plan made of it, on one case's result."""
    example = result.points[0]
    forward = next(m for m in example.modes if m.mode == "check_forward_ad")
    return {"hessian": result.pieces[0].hessian_mode,
            "built": result.pieces[0].hessian is not None,
            "note": result.hessian_note,
            "forward oracle": example.oracles["forward"].mode,
            "fd oracle": example.oracles["finite_difference"].mode,
            "forward mode": forward.what}


def test_a_small_case_is_planned_in_full():
    got = _summary(check(_small, _inputs(), check_forward_ad=True))
    assert got["hessian"] == "full" and got["built"] and "H v" not in got["note"]
    assert got["forward oracle"] == got["fd oracle"] == "full"
    assert "∇·u" not in got["forward mode"]


def test_a_plan_changed_in_its_one_place_changes_every_reader(monkeypatch):
    """Two inputs are far below every limit: only a plan that says otherwise makes the Hessian H v and
    forward mode and finite differences directional, and every stage must follow it."""
    monkeypatch.setattr(engine, "decide", lambda sizes: plan.Plan(inputs=sum(sizes), columns=False,
                                                                  hessian="directional"))
    result = check(_small, _inputs(), check_forward_ad=True)
    got = _summary(result)
    assert got["hessian"] == "directional" and not got["built"]  # pieces
    assert "H v" in got["note"]  # the page's note
    assert got["forward oracle"] == got["fd oracle"] == "directional"  # numeric and judge
    assert "∇·u" in got["forward mode"]  # judge.first_order
    assert result.status == "agree"  # the exact H v and ∇·u are taken along the same u as torch's


def _compares_with_a_limit(node) -> bool:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
        {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    return bool(names & LIMITS)


def test_no_module_but_the_plan_compares_a_size_with_a_limit():
    found = [f"{name}:{node.lineno}" for name, module in PACKAGE.items() if name != "compare.plan"
             for node in ast.walk(module.tree) if isinstance(node, ast.Compare) and _compares_with_a_limit(node)]
    assert found == []


def test_the_limit_check_catches_a_second_decision():
    source = "from compare.plan import FULL_LIMIT\n\ndef full(n):\n    return n <= FULL_LIMIT\n"
    tree = ast.parse(source)
    assert any(isinstance(n, ast.Compare) and _compares_with_a_limit(n) for n in ast.walk(tree))


def _within(target: str, modules) -> bool:
    """Is `target` one of `modules` or inside one of them (a package)?"""
    return any(target == m or target.startswith(m + ".") for m in modules)


def _imports(prefix: str) -> dict[str, set[str]]:
    return {name: layout.imports(module, PACKAGE) for name, module in PACKAGE.items()
            if name == prefix or name.startswith(prefix + ".")}


DERIVING = ("compare.exact.differentiate", "compare.exact.evaluate", "compare.exact.localize")
"""The exact stage's differentiation and evaluation."""

STAGES_BESIDE_THE_JUDGE = ("compare.numeric", "compare.exact", "compare.pieces", "compare.at_point", "compare.engine")
"""What runs torch (stage 3), derives or evaluates the exact values (the exact stage, stage 2), or drives
them: the judge is handed their numbers and imports none of them."""

JUDGES = sorted(name for name in PACKAGE if _within(name, ("compare.judge",)))


def _runs_or_derives(module: str, package: dict) -> list[str]:
    """What `module` of `package` imports from the stages the judge is handed numbers by."""
    return sorted(t for t in layout.imports(package[module], package) if _within(t, STAGES_BESIDE_THE_JUDGE))


def test_every_judge_module_is_checked():
    assert {"compare.judge.modes", "compare.judge.first_order", "compare.judge.second_order",
            "compare.judge.failures", "compare.judge.mode_common"} <= set(JUDGES)


@pytest.mark.parametrize("module", JUDGES)
def test_the_judge_runs_no_oracle_and_takes_no_exact_value(module):
    assert _runs_or_derives(module, PACKAGE) == []


def test_the_check_catches_a_judge_that_runs_or_derives(tmp_path):
    files = {"__init__.py": "", "numeric/__init__.py": "", "numeric/modes.py": "def forward(): pass\n",
             "exact/__init__.py": "", "exact/evaluate.py": "def evaluate(): pass\n", "judge/__init__.py": "",
             "judge/clean.py": "from ..records import ModeCheck\n", "records.py": "ModeCheck = 1\n",
             "judge/runs.py": "from ..numeric import modes as runs\n",
             "judge/late.py": "def check():\n    from ..exact.evaluate import evaluate\n"}
    for name, text in files.items():
        path = tmp_path / "compare" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    planted = layout.modules(str(tmp_path), "compare")
    assert _runs_or_derives("compare.judge.clean", planted) == []
    assert _runs_or_derives("compare.judge.runs", planted) == ["compare.numeric", "compare.numeric.modes"]
    assert _runs_or_derives("compare.judge.late", planted) == ["compare.exact.evaluate"]


def test_at_point_only_sequences():
    """The exact values at a point, limits by continuity included, are taken in stage 2 (`pieces.values`)."""
    assert {t for t in layout.imports(PACKAGE["compare.at_point"], PACKAGE) if _within(t, DERIVING)} == set()


@pytest.mark.parametrize("module", ["compare.judge.forward_and_fd", "compare.agreement",
                                    "compare.judge.point_status", "compare.judge.modes"])
def test_these_judges_neither_derive_nor_evaluate(module):
    assert {t for t in layout.imports(PACKAGE[module], PACKAGE) if _within(t, DERIVING)} == set()


@pytest.mark.parametrize("shared", ["compare.records", "compare.context", "compare.plan", "compare.tolerances",
                                    "compare.basis", "compare.statuses"])
def test_shared_records_import_no_stage_above_them(shared):
    above = ("compare.judge", "compare.numeric", "compare.render", "compare.engine", "compare.at_point")
    assert sorted(t for t in layout.imports(PACKAGE[shared], PACKAGE) if _within(t, above)) == []
