"""Random ops under a shared draw: every run of a case sees one draw, the exact side takes it as a constant,
and a backward wrong for that draw is caught."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import compare
from compare.records import Meta
from compare.render.report import render_case
from compare.symbolic import draws

X = torch.tensor([0.5, -1.0, 2.0, -0.25], dtype=torch.float64)


def _check(fn, x=X, **options):
    return compare.check(fn, (x,), samples=2, timeout=None, **options)


def test_a_module_with_dropout_in_training_agrees_and_its_page_names_the_draw():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Tanh()).double().train()
    result = compare.check(mlp, (X[:3],), timeout=None)
    assert result.status == "agree", [p.note for p in result.points]
    seeding, mask = result.draws
    assert "seeded with" in seeding and mask.startswith("aten.bernoulli_.float of shape (4,): ")
    assert set(mask.split(": ")[1].split(", ")) <= {"0", "1"}
    assert mask in render_case(result, Meta("3", "2", "1", 0, 2))


def _dropout(scaled_backward: bool):
    class Dropout(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            keep = (torch.rand_like(x) > 0.5).to(x.dtype)
            ctx.save_for_backward(keep)
            return x * keep / 0.5

        @staticmethod
        def backward(ctx, g):
            (keep,) = ctx.saved_tensors
            return g * keep / 0.5 if scaled_backward else g * keep  # the mistake: 1 / (1 - p) forgotten

    return lambda x: Dropout.apply(x * x)


@pytest.mark.parametrize("scaled, status", [(True, "agree"), (False, "disagree")])
def test_a_dropout_whose_backward_forgets_the_scale_is_caught(scaled, status):
    result = _check(_dropout(scaled), order=1)
    assert result.status == status


def test_every_run_sees_the_same_draw():
    # forward mode and finite differences rerun the function: with another draw they would be far off
    result = compare.check(lambda x: F.dropout(torch.tanh(x), 0.5) * torch.randn_like(x), (X,), samples=1, timeout=None)
    assert result.status == "agree"
    for point in result.points:
        assert point.oracles["forward"].errors.agree
        assert point.oracles["finite_difference"].errors.max_abs < 1e-6
    before = torch.random.get_rng_state()
    compare.check(lambda x: torch.randn_like(x) * x, (X,), samples=0, order=1, timeout=None)
    assert torch.equal(before, torch.random.get_rng_state())  # the user's generator is left as it was


def test_a_float32_case_draws_as_each_of_its_runs_does():
    # normal draws differ between float32 and float64: each autograd run is compared with its own draw
    result = _check(lambda x: torch.randn_like(x) * x * x, X.float(), order=1)
    assert result.status == "agree"


def test_rrelu_in_training_agrees_and_a_backward_with_the_mean_slope_is_caught():
    assert _check(lambda x: F.rrelu(x, 0.1, 0.3, training=True)).status == "agree"

    class MeanSlope(torch.autograd.Function):  # evaluation's slope in the backward of training's rrelu
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return F.rrelu(x, 0.1, 0.3, training=True)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return torch.where(x > 0, g, 0.2 * g)

    assert _check(MeanSlope.apply, order=1).status == "disagree"


def test_bernoulli_reads_torchs_uniforms_exactly():
    p = torch.tensor([0.1, 0.5, 0.9, 0.3, 0.7], dtype=torch.float64)
    state = torch.random.get_rng_state()
    u = draws._uniforms(lambda q: torch.bernoulli(q), (5,), torch.float64, None)
    torch.random.set_rng_state(state)
    assert torch.equal(torch.bernoulli(p), (u < p).to(torch.float64))  # the same comparison torch made
    assert _check(lambda x: torch.bernoulli(torch.sigmoid(x)) * x).status == "agree"


def test_torchs_gradient_of_normal_is_zero_where_its_sample_is_mean_plus_std_z():
    # torch only: the sample is m + s z for the z drawn, yet autograd gives 0 (op_db skips these tests)
    m = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    s = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    torch.manual_seed(0)
    torch.normal(m, s).sum().backward()
    torch.manual_seed(0)
    z = torch.normal(torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    torch.manual_seed(0)
    assert torch.allclose(torch.normal(m, s), m + s * z)
    assert torch.equal(m.grad, torch.zeros(2, dtype=torch.float64)) and torch.equal(s.grad, m.grad)
    result = compare.check(lambda m: torch.normal(m, 2.0), (m.detach(),), samples=0, order=1, timeout=None)
    assert result.status == "disagree"
    assert torch.equal(torch.from_numpy(result.points[0].symbolic["m"]), torch.ones(2, dtype=torch.float64))


def test_op_db_dropout_samples_run():
    pytest.importorskip("expecttest")
    from compare.conformance import run as conformance

    ops = {conformance._name(op): op for op in conformance.opinfos()}
    settings = conformance.Settings(samples=3, max_entries=64, fallback_entries=125)
    for name in ("nn.functional.dropout", "nn.functional.alpha_dropout", "nn.functional.rrelu", "bernoulli"):
        assert conformance.check_op(ops[name], settings).status == "runs", name
