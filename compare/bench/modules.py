"""Real modules and losses for the benchmark: what people check, at small float64 sizes.

Each is paired, in `calls`, with torch's `gradcheck` + `gradgradcheck` at the same
points. timm and kornia are not dependencies of this project (PyPI's torchvision, which timm
needs, does not import beside this torch): `Attention`, `JsdCrossEntropy` and `ssim_loss`
below are this project's own code computing the same mathematics as timm's
`timm.models.vision_transformer.Attention` (unfused path), `timm.loss.JsdCrossEntropy` and
kornia's `kornia.losses.ssim_loss` (Gaussian window, reflect padding, clamped loss map).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Module", "MODULES", "Attention", "SelfAttention", "JsdCrossEntropy", "ssim_loss", "grid_sample", "Outputs",
           "Measured", "measure", "measure_module", "stages", "targets", "section", "MODULE_LIMIT", "TARGET_SECONDS",
           "TARGET_RATIO"]


class Attention(nn.Module):
    """Multi-head self-attention as a vision transformer block computes it: one linear map to
    queries, keys and values, softmax(q k^T / sqrt(d)) v per head, and an output projection."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        weights = (q / math.sqrt(self.head_dim)) @ k.transpose(-2, -1)
        mixed = weights.softmax(dim=-1) @ v
        return self.proj(mixed.transpose(1, 2).reshape(batch, tokens, dim))


class SelfAttention(nn.Module):
    """`nn.MultiheadAttention` with the same sequence as query, key and value; its output alone."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, num_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(x, x, x, need_weights=False)[0]


class JsdCrossEntropy(nn.Module):
    """Jensen-Shannon consistency loss over `splits` augmented copies of a batch (AugMix): a
    label-smoothed cross-entropy on the clean copy, plus `alpha` times the mean KL divergence of
    each copy's softmax from the log of their mixture, clamped to [1e-7, 1]."""

    def __init__(self, splits: int = 3, alpha: float = 12.0, smoothing: float = 0.1):
        super().__init__()
        self.splits, self.alpha, self.smoothing = splits, alpha, smoothing

    def smoothed_cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits, dim=-1)
        nll = -logp.gather(-1, target.unsqueeze(1)).squeeze(1)
        return ((1 - self.smoothing) * nll - self.smoothing * logp.mean(dim=-1)).mean()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        size = logits.shape[0] // self.splits
        parts = torch.split(logits, size)
        loss = self.smoothed_cross_entropy(parts[0], target[:size])
        probs = [F.softmax(p, dim=1) for p in parts]
        log_mixture = torch.clamp(torch.stack(probs).mean(dim=0), 1e-7, 1).log()
        divergence = sum(F.kl_div(log_mixture, p, reduction="batchmean") for p in probs)
        return loss + self.alpha * divergence / len(probs)


def _gaussian_window(size: int, sigma: float, dtype: torch.dtype) -> torch.Tensor:
    """The normalised 2-D Gaussian window, size x size, as an outer product of 1-D ones."""
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return torch.outer(g, g)


def _filtered(img: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Each channel correlated with `window`, reflect-padded to keep its size."""
    pad = window.shape[-1] // 2
    channels = img.shape[1]
    padded = F.pad(img, (pad, pad, pad, pad), mode="reflect")
    return F.conv2d(padded, window.expand(channels, 1, *window.shape), groups=channels)


def ssim_loss(img1: torch.Tensor, img2: torch.Tensor, window_size: int = 5, max_val: float = 1.0,
              eps: float = 1e-12) -> torch.Tensor:
    """The mean of clamp((1 - SSIM) / 2, 0, 1) over the SSIM map of two images (N, C, H, W)."""
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    window = _gaussian_window(window_size, 1.5, img1.dtype)
    mu1, mu2 = _filtered(img1, window), _filtered(img2, window)
    sigma1 = _filtered(img1 * img1, window) - mu1 * mu1
    sigma2 = _filtered(img2 * img2, window) - mu2 * mu2
    sigma12 = _filtered(img1 * img2, window) - mu1 * mu2
    num = (2 * mu1 * mu2 + c1) * (2 * sigma12 + c2)
    den = (mu1 * mu1 + mu2 * mu2 + c1) * (sigma1 + sigma2 + c2)
    return torch.clamp((1 - num / (den + eps)) / 2, min=0, max=1).mean()


def grid_sample(image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear sampling of `image` at `grid` (both differentiated), zeros outside."""
    return F.grid_sample(image, grid, align_corners=False)


@dataclass(frozen=True)
class Module:
    """One module or loss of the table, and how to build its call."""

    label: str
    """How the table names it."""
    build: Callable[[torch.Generator], tuple[Callable, tuple]]
    """(function or module, its positional inputs) from a seeded generator, in float64."""


class Outputs(nn.Module):
    """A recurrent layer's output sequence alone (it also returns its final states)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)[0]


def _seeded_module(make: Callable[[], nn.Module], g: torch.Generator) -> nn.Module:
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=g)))
    return make().double()


def _recurrent(kind) -> Callable:
    def build(g):
        return _seeded_module(lambda: Outputs(kind(3, 2)), g), (torch.randn(3, 3, dtype=torch.float64, generator=g),)
    return build


def _jsd(g):
    logits = torch.randn(3, 4, dtype=torch.float64, generator=g)
    target = torch.tensor([2])
    return JsdCrossEntropy(), (logits, target)


def _transformer(g):
    layer = _seeded_module(lambda: nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0), g).eval()
    return layer, (torch.randn(1, 3, 4, dtype=torch.float64, generator=g),)


def _images(shape):
    def build(g):
        return ssim_loss, tuple(torch.rand(shape, dtype=torch.float64, generator=g) for _ in range(2))
    return build


def _grid(g):
    image = torch.randn(1, 1, 3, 3, dtype=torch.float64, generator=g)
    return grid_sample, (image, torch.rand(1, 2, 2, 2, dtype=torch.float64, generator=g) * 2 - 1)


MODULES = (
    Module("`nn.LSTM(3, 2)`, a sequence of 3", _recurrent(nn.LSTM)),
    Module("`nn.GRU(3, 2)`, a sequence of 3", _recurrent(nn.GRU)),
    Module("`nn.MultiheadAttention(4, 2)`, 3 tokens",
           lambda g: (_seeded_module(lambda: SelfAttention(4, 2), g),
                      (torch.randn(3, 4, dtype=torch.float64, generator=g),))),
    Module("timm-style `Attention(dim=4, num_heads=2)`, 1x3x4",
           lambda g: (_seeded_module(lambda: Attention(4, 2), g),
                      (torch.randn(1, 3, 4, dtype=torch.float64, generator=g),))),
    Module("timm-style `JsdCrossEntropy`, logits 3x4", _jsd),
    Module("`nn.TransformerEncoderLayer(4, 2, 8, dropout=0).eval()`, 1x3x4", _transformer),
    Module("kornia-style `ssim_loss`, two 1x1x8x8 images, window 5", _images((1, 1, 8, 8))),
    Module("`F.grid_sample`, a 1x1x3x3 image at a 2x2 grid", _grid),
)


# -- measuring them -----------------------------------------------------------------------------
MODULE_LIMIT = 60.0
"""Seconds a compare call of one module may take before the benchmark records it as unfinished."""

TARGET_SECONDS, TARGET_RATIO = 10.0, 3.0
"""Issue 26: each module checks in at most 10 s a call and at most 3x torch's checks at the same points."""


@dataclass(frozen=True)
class Measured:
    """One module's paired measurements: CPU seconds per call."""

    compare: tuple[float, ...]
    """`compare.assert_agrees`, per call; empty where it did not finish (see `problem`)."""
    torch: tuple[float, ...]
    """`gradcheck` + `gradgradcheck` at compare's points, per call."""
    inputs: int
    """Input entries differentiated: the module's input and its parameters."""
    points: int
    problem: str = ""
    """Why compare did not finish: its one-line error, a time limit."""


def _torch_checks(case, points: list) -> float:
    """CPU seconds of torch's gradcheck + gradgradcheck at `points`, each a tuple of the case's inputs.

    Scaled dot-product attention runs its math kernel here: the flash kernel's CPU backward is not
    differentiable again, so gradgradcheck could not run through it."""
    from torch.autograd import gradcheck, gradgradcheck
    from torch.nn.attention import SDPBackend, sdpa_kernel

    names = list(case.inputs)

    def fn(*args):
        return case.fn(**dict(zip(names, args)))

    start = time.process_time()
    with sdpa_kernel(SDPBackend.MATH):
        for p in points:
            assert gradcheck(fn, p) and gradgradcheck(fn, p)
    return time.process_time() - start


def _compare_call(fn, inputs: tuple) -> tuple[float, object]:
    """(CPU seconds, the result) of one `assert_agrees`, from a cold SymPy cache."""
    from sympy.core.cache import clear_cache

    from .. import assert_agrees

    clear_cache()
    start = time.process_time()
    result = assert_agrees(fn, inputs, timeout=MODULE_LIMIT)
    return time.process_time() - start, result


def measure_module(module: Module, repeat: int) -> Measured:
    """One module: a warm-up call of each side, then `repeat` paired calls."""
    from ..api import as_case
    from ..errors import CannotCheck

    fn, inputs = module.build(torch.Generator().manual_seed(0))
    case = as_case(fn, inputs)
    try:
        _, result = _compare_call(fn, inputs)
    except (AssertionError, CannotCheck) as exc:  # the cause is the message's last line
        cause = str(exc).strip().splitlines()[-1].strip()
        return Measured((), (), sum(v.numel() for v in case.inputs.values()), 0, cause[:300])
    points = [tuple(result.points[i].inputs[n] for n in case.inputs) for i in range(len(result.points))]
    points = [tuple(torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in p) for p in points]
    _torch_checks(case, points[:1])  # warm-up
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(_compare_call(fn, inputs)[0])
        theirs.append(_torch_checks(case, points))
    return Measured(tuple(ours), tuple(theirs), sum(v.numel() for v in case.inputs.values()), len(points))


def measure(repeat: int, modules=MODULES) -> dict[str, Measured]:
    """label -> its measurements, for every module of the table."""
    return {m.label: measure_module(m, repeat) for m in modules}


def stages(module: Module) -> dict[str, float] | None:
    """CPU seconds per stage of one warm `assert_agrees` of the module (`calls.PHASES`), and "total";
    None where the call does not finish."""
    from .calls import phases
    from ..errors import CannotCheck

    fn, inputs = module.build(torch.Generator().manual_seed(0))
    try:
        return phases(fn, inputs, clock=time.process_time, timeout=MODULE_LIMIT)
    except (AssertionError, CannotCheck):
        return None


def _median(values) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _seconds(v: float) -> str:
    return f"{1000 * v:.0f} ms" if v < 1 else f"{v:.2f} s"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def targets(measured: dict[str, Measured], tanh: tuple, dot: tuple) -> list[str]:
    """The rows of issue 26's targets: the modules, `tanh` (n, seconds of `(tanh(x)**2).sum()` with its
    Hessian, CPU) and `dot` (n, wall and CPU seconds of the whole check of `2 * dot(x, x)`), each within
    3 s of CPU time beyond the import floor (the check alone, in a process that imported everything)."""
    done = {k: m for k, m in measured.items() if m.compare}
    slowest = max(done, key=lambda k: _median(done[k].compare), default=None)
    worst = max(done, key=lambda k: _median(done[k].compare) / _median(done[k].torch), default=None)
    missing = [k for k, m in measured.items() if not m.compare]
    rows = []
    if slowest is not None:
        s = _median(done[slowest].compare)
        rows.append(f"| every module and loss of the table below ≤ {TARGET_SECONDS:g} s a call (CPU) | slowest "
                    f"{_seconds(s)} ({slowest}){'; ' + str(len(missing)) + ' did not finish' if missing else ''} | "
                    f"{_met(s <= TARGET_SECONDS and not missing)} |")
        r = _median(done[worst].compare) / _median(done[worst].torch)
        rows.append(f"| ... and ≤ {TARGET_RATIO:g}x torch's `gradcheck` + `gradgradcheck` at the same points | "
                    f"largest {r:.2f}x ({worst}) | {_met(r <= TARGET_RATIO and not missing)} |")
    (n, seconds), (big, wall, cpu) = tanh, dot
    return rows + [
        f"| `(tanh(x)**2).sum()` with its Hessian at n = {n} ≤ 3 s beyond the import floor | "
        f"{_seconds(seconds)} CPU (the call alone) | {_met(seconds <= 3)} |",
        f"| n = {big}: whole check of `2 * torch.dot(x, x)` ≤ 3 s beyond the import floor (CPU: the machines are "
        f"shared) | {cpu:.2f} s CPU ({wall:.2f} s wall) | {_met(cpu <= 3)} |"]


def section(measured: dict[str, Measured], spent: dict[str, dict | None]) -> list[str]:
    """The page's section on real modules: the paired table, then where each call's time goes."""
    from .calls import STAGES

    lines = ["", "## Real modules and losses (issue 26)", "",
             "Each module is checked as `compare.assert_agrees(module, (x,))` checks it: as a function of its "
             "floating inputs and of every parameter (the columns \"inputs\" count the entries), at the example "
             "and four seeded samples, from a cold SymPy cache. Torch's side runs `gradcheck` and "
             "`gradgradcheck` at compare's points, over the same inputs (the module through "
             "`torch.func.functional_call`), with scaled dot-product attention on its math kernel: the flash "
             "kernel's CPU backward cannot be differentiated again. Both sides in CPU seconds of this process, "
             "so that other work on the machine weighs less; one warm-up call of each first. "
             "`Attention`, `JsdCrossEntropy` and `ssim_loss` are this project's own code "
             "(`compare/bench/modules.py`) computing the mathematics of timm's `Attention` (unfused), timm's "
             "`JsdCrossEntropy` and kornia's `ssim_loss`: neither library is a dependency (timm needs "
             "torchvision, whose PyPI build does not import beside this torch).", "",
             "| module | inputs | compare (CPU) | spread | torch's checks (CPU) | spread | ratio | ≤ 10 s and ≤ 3x |",
             "|---|---|---|---|---|---|---|---|"]
    for label, m in measured.items():
        if not m.compare:
            lines.append(f"| {label} | {m.inputs} | did not finish: {m.problem} | | | | | **not met** |")
            continue
        ours, theirs = _median(m.compare), _median(m.torch)
        ok = ours <= TARGET_SECONDS and ours / theirs <= TARGET_RATIO
        lines.append(f"| {label} | {m.inputs} | {_seconds(ours)} | {min(m.compare):.3f}–{max(m.compare):.3f} | "
                     f"{_seconds(theirs)} | {min(m.torch):.3f}–{max(m.torch):.3f} | {ours / theirs:.2f}x | "
                     f"{_met(ok)} |")
    labels = list(STAGES)
    lines += ["", "Where one more call of each spends its CPU time, stage by stage (as in \"Where the time goes\"):", "",
              "| module | total | " + " | ".join(labels) + " | other |", "|---" * (len(labels) + 3) + "|"]
    for label, found in spent.items():
        if found is None:
            lines.append(f"| {label} | did not finish |" + " |" * (len(labels) + 1))
            continue
        other = found["total"] - sum(found[k] for k in labels)
        lines.append(f"| {label} | {_seconds(found['total'])} | " + " | ".join(
            f"{100 * found[k] / found['total']:.0f}%" for k in labels) + f" | {100 * other / found['total']:.0f}% |")
    return lines + [""]
