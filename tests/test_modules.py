"""nn.Modules: checked as functions of their inputs and of their parameters that require grad."""
import json

import pytest
import torch
from torch import nn

import compare
from compare.engine import check_case
from compare.load import load_file
from compare.records import Meta
from compare.render.report import render_case
from compare.render.results_json import case_entry

from module_cases.layers import X, HalvedWeightGrad, MyLinear, RightGrad

META = Meta(python="3", torch="2", sympy="1", seed=0, samples=4)


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()


def test_a_sequential_agrees_and_its_points_name_the_parameters():
    mlp = _mlp()
    before = {n: p.detach().clone() for n, p in mlp.named_parameters()}
    result = compare.check(mlp, (X,))
    assert result.status == "agree", result.error
    names = ["input", "0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(list(p.symbolic) == names for p in result.points)
    assert result.parameters == ("0.weight", "0.bias", "2.weight", "2.bias")
    assert list(case_entry(result)["points"][0]["symbolic"]) == names
    assert case_entry(result)["parameters"] == names[1:]
    assert "`0.weight`, `0.bias`, `2.weight`, `2.bias`" in render_case(result, META)
    assert all(torch.equal(p, before[n]) for n, p in mlp.named_parameters())  # the module is left as it was


def test_a_layer_whose_weight_gradient_is_halved_fails_naming_the_parameter():
    with pytest.raises(AssertionError) as failure:
        compare.assert_agrees(MyLinear(HalvedWeightGrad), (X,), order=1)
    text = str(failure.value)
    assert "gradient of out.sum() with respect to parameter 'weight':" in text
    assert "exact (SymPy): [[ 2.  , -0.75,  1.25]," in text
    assert "autograd float64: [[ 1.   , -0.375,  0.625]," in text
    compare.assert_agrees(MyLinear(RightGrad), (X,), order=1)  # its fix agrees


def test_buffers_and_frozen_parameters_are_constants():
    torch.manual_seed(0)  # the same weights whichever tests ran before in this process
    model = nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2)).double()
    model.register_buffer("offset", torch.ones(2, dtype=torch.float64))
    model[0].weight.requires_grad_(False)
    result = compare.check(model, (X,), order=1, samples=1)
    assert result.status == "agree", result.error
    assert list(result.points[0].symbolic) == ["input", "0.bias", "1.weight", "1.bias"]


def test_modules_declared_in_a_case_file():
    loaded = load_file("tests/module_cases/layers.py")
    assert loaded.error is None
    results = {c.name: check_case(c, samples=1) for c in loaded.cases}
    assert {n: r.status for n, r in results.items()} == {
        "halved_weight_grad": "disagree", "right_weight_grad": "agree", "mlp": "agree", "layer_norm": "agree",
        "conv2d": "agree"}
    assert results["conv2d"].parameters == ("weight", "bias")
    assert results["mlp"].parameters == ("0.weight", "0.bias", "2.weight", "2.bias")
    assert results["mlp"].file.endswith("layers.py")  # where it is declared, not torch's Sequential
    entry = json.loads(json.dumps(case_entry(results["halved_weight_grad"])))
    assert entry["parameters"] == ["weight", "bias"]


def test_an_error_inside_a_torch_module_is_located_at_the_users_line():
    import inspect

    net = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5))  # in training: dropout draws random numbers
    line = inspect.currentframe().f_lineno + 1
    result = compare.check(net, (torch.ones(2, 3),))
    assert result.status == "error"
    assert result.error.startswith(f"tests/test_modules.py:{line}: UnsupportedOp: op aten.bernoulli_"), result.error
    assert (result.file, result.line) == (__file__, line)
