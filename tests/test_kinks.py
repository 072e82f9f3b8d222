"""Kinks: autograd following PyTorch's documented rule is `convention`; anything else still fails."""
import json

import numpy as np
import pytest
import sympy
import torch

from compare import case
from compare.case import collecting
from compare.engine import check_case
from compare.judge.kinks import RULES, TORCH
from compare.load import load_file
from compare.records import Meta
from compare.render.report import render_index
from compare.render.results_json import render_json


def _one(declare):
    with collecting() as found:
        declare()
    return found[0]


@pytest.fixture(scope="module")
def kinks():
    loaded = load_file("cases/kinks/nondifferentiable.py")
    assert loaded.error is None
    return {c.name: check_case(c, samples=1) for c in loaded.cases}


def test_relu_at_zero_is_convention_with_the_rule_named(kinks):
    r = kinks["relu_at_zero"]
    assert r.status == "convention"
    example = r.points[0]
    assert example.status == "convention"
    assert example.rule.startswith("relu: relu'(0) = 0")
    assert example.torch == TORCH == torch.__version__
    np.testing.assert_array_equal(example.symbolic["x"], [0.5, 1, 0])  # SymPy's Heaviside(0) = 1/2
    np.testing.assert_array_equal(example.autograd["x"], [0, 1, 0])
    np.testing.assert_allclose(example.oracles["finite_difference"].values["x"], [0.5, 1, 0], atol=1e-9)
    assert [p.status for p in r.points[1:]] == ["agree"]  # off the kink, an ordinary point
    assert r.points[1].rule is None


@pytest.mark.parametrize("name, op, autograd", [
    ("abs_at_zero", "abs", [0, 1, -1]),
    ("norm_at_zero", "linalg.vector_norm", [0, 0, 0]),
    ("sqrt_at_zero", "sqrt", [np.inf, 1, 0.25]),
    ("clamp_at_bounds", "clamp", [1, 1, 1, 0]),
    ("max_with_ties", "max", [0, 0.5, 0.5, 0]),
    ("amax_with_ties", "amax", [[0.5, 0.5, 0], [0, 0.5, 0.5]]),
    ("max_dim_with_ties", "max(dim)", [[1, 0, 0], [0, 1, 0]]),
])
def test_each_kink_follows_its_rule(kinks, name, op, autograd):
    example = kinks[name].points[0]
    assert example.status == "convention", example.note
    assert example.rule.startswith(op + ": ")
    np.testing.assert_array_equal(example.autograd64["x"], autograd)


def test_a_wrong_backward_at_the_kink_is_still_disagree():
    r = check_case(load_file("tests/user_cases/wrong_kink.py").cases[0], samples=2)
    assert r.status == "disagree"
    example = r.points[0]
    assert example.status == "disagree"
    assert example.rule is None
    assert "relu" in example.note and "not what PyTorch's rule gives" in example.note
    assert all(p.status == "agree" for p in r.points[1:])  # right everywhere but at 0


def test_the_rule_follows_the_chain_rule_through_the_op():
    def declare():
        @case(inputs={"x": torch.tensor([0.0, 1.0])})
        def scaled(x):
            return (3 * torch.relu(2 * x) + torch.abs(x - 1)).sum()

    r = check_case(_one(declare), samples=0)
    assert r.status == "convention"
    rules = r.points[0].rule.split("; ")
    assert [rule.split(":")[0] for rule in rules] == ["relu", "abs"]
    np.testing.assert_array_equal(r.points[0].autograd64["x"], [-1, 6])


def test_a_piece_boundary_names_control_flow():
    def declare():
        @case(inputs={"x": torch.tensor(0.0)}, samples=0)
        def branch(x):
            if x > 0:
                return 2 * x
            return -x

    r = check_case(_one(declare))
    example = r.points[0]
    assert example.status == "convention"
    assert example.rule.startswith("control flow")


def test_an_undefined_derivative_without_a_rule_is_disagree():
    def declare():
        @case(inputs={"x": torch.tensor([0.0, 0.0])}, samples=0, order=1)
        def hand_norm(x):
            # sqrt of a sum of squares, written out: sqrt's rule gives inf * 0 = nan, as autograd does
            return torch.sqrt((x * x).sum())

    r = check_case(_one(declare))
    assert r.points[0].status == "convention"
    assert np.isnan(r.points[0].autograd64["x"]).all()


def test_convention_counts_in_the_index_and_json(kinks):
    meta = Meta(python="3", torch=torch.__version__, sympy="1", seed=0, samples=1)
    results = [kinks["relu_at_zero"], kinks["abs_at_zero"]]
    assert "2 cases: 0 agree, 2 convention, 0 disagree, 0 errors." in render_index(results, meta)
    doc = json.loads(render_json(results, meta))
    point = doc["cases"][0]["points"][0]
    assert point["status"] == "convention" and point["rule"].startswith("relu") and point["torch"]
    assert set(point["oracles"]) == {"symbolic", "reverse", "forward", "finite_difference"}
    assert point["oracles"]["reverse"] == {"x": [0.0, 1.0, 0.0]}


def test_the_rules_are_data():
    assert {"relu", "abs", "sqrt", "linalg.vector_norm", "clamp", "max", "amax", "max(dim)"} <= set(RULES)
    for rule in RULES.values():
        assert rule.text and ";" not in rule.text


def test_conventions_exit_0(tmp_path, capsys):
    from compare.cli import main

    assert main(["run", "cases/kinks", "--samples", "0", "--out", str(tmp_path / "r")]) == 0
    assert "8 convention, 0 disagree" in capsys.readouterr().out


@pytest.mark.parametrize("value, sign", [
    (sympy.Rational(-3, 7), -1), (sympy.S.Zero, 0), (sympy.Rational(1, 10**60), 1),
    (sympy.sqrt(2) - sympy.Rational(141421, 100000), 1), (sympy.tanh(sympy.Rational(1, 3)) - 1, -1),
    (sympy.exp(-200), 1),  # below the fast path's threshold: SymPy's exact queries decide
    (-sympy.exp(-200), -1),
    (sympy.sin(sympy.pi / 7) ** 2 + sympy.cos(sympy.pi / 7) ** 2 - 1, 0),  # 0, though not by evaluation
])
def test_the_sign_of_an_exact_number(value, sign):
    from compare.judge.kinks import _sign

    assert _sign(value) == sign
