"""The benchmark's real modules: each is the mathematics it stands for, and each checks on the graph.

timm's `Attention`, `JsdCrossEntropy` and kornia's `ssim_loss` are not dependencies; the project's
own equivalents (compare/bench/modules.py) are held here to independent computations of the same
formulas: PyTorch's `nn.MultiheadAttention` with the same weights, the Jensen-Shannon loss written
term by term, SSIM's defining properties.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import compare
from compare.bench.modules import MODULES, Attention, JsdCrossEntropy, ssim_loss

F64 = torch.float64


def test_attention_is_multihead_attention_without_input_biases():
    torch.manual_seed(0)
    ours = Attention(4, 2).double()
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(ours.qkv.weight)
        theirs.in_proj_bias.zero_()
        theirs.out_proj.weight.copy_(ours.proj.weight)
        theirs.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(2, 3, 4, dtype=F64)
    assert torch.allclose(ours(x), theirs(x, x, x, need_weights=False)[0], atol=1e-12)


def test_jsd_cross_entropy_is_its_formula_term_by_term():
    logits = torch.randn(6, 4, dtype=F64, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([2, 0])
    p = [F.softmax(part, dim=1) for part in logits.split(2)]
    mixture = torch.clamp(sum(p) / 3, 1e-7, 1)
    kl = sum((q * (q.log() - mixture.log())).sum() / 2 for q in p) / 3  # batchmean: over the 2 rows
    logp = F.log_softmax(logits[:2], dim=1)
    smoothed = (0.9 * -logp[torch.arange(2), target] - 0.1 * logp.mean(dim=1)).mean()
    assert torch.allclose(JsdCrossEntropy()(logits, target), smoothed + 12 * kl, atol=1e-12)


def test_ssim_loss_is_zero_for_equal_images_and_grows_with_noise():
    g = torch.Generator().manual_seed(2)
    img = torch.rand(1, 1, 8, 8, dtype=F64, generator=g)
    noisy = img + 0.1 * torch.randn(1, 1, 8, 8, dtype=F64, generator=g)
    assert abs(float(ssim_loss(img, img))) < 1e-9  # 1 - 1/(1 + eps/den), eps = 1e-12
    assert 0 < float(ssim_loss(img, noisy)) < float(ssim_loss(img, torch.rand(1, 1, 8, 8, dtype=F64, generator=g)))


def test_ssim_of_a_constant_image_pair_is_its_closed_form():
    """Two constant images a, b: every local mean is the constant and every variance 0, so SSIM is
    (2ab + c1) / (a^2 + b^2 + c1) at every pixel."""
    a, b, c1 = 0.25, 0.75, 0.01 ** 2
    loss = ssim_loss(torch.full((1, 1, 8, 8), a, dtype=F64), torch.full((1, 1, 8, 8), b, dtype=F64))
    assert math.isclose(float(loss), (1 - (2 * a * b + c1) / (a * a + b * b + c1)) / 2, rel_tol=1e-6)


@pytest.mark.parametrize("module", [m for m in MODULES if "grid_sample" not in m.label], ids=lambda m: m.label)
def test_each_module_agrees_on_the_graph(module):
    fn, inputs = module.build(torch.Generator().manual_seed(0))
    result = compare.assert_agrees(fn, inputs)
    assert result.pieces[0].graph is not None
