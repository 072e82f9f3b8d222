"""The PyTorch bugs the conformance run and the issue's examples find, each with a torch-only repro.

Each repro is a script in compare/conformance/torch_bugs/ that uses torch alone: it
computes the right value by hand (or with mpmath) and asserts that torch
2.13 still gives another. tests/test_conformance_modes.py runs every one, so
a torch that fixes a bug fails that test, and the record is updated.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Bug", "BUGS", "REPROS", "recorded"]

REPROS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_bugs")
"""Where the repros are: one script per bug, named by its key."""


@dataclass(frozen=True)
class Bug:
    """One way torch's derivative is wrong, established independently of compare."""

    key: str
    """Its name, and its repro's file name (compare/conformance/torch_bugs/KEY.py)."""
    title: str
    """What is wrong, in a line."""
    modes: tuple[str, ...]
    """The modes it shows in (`compare.modes.KEYWORDS`)."""
    ops: tuple[str, ...]
    """op_db's names of the ops it shows in (with a variant, `max.reduction_with_dim`); the issue's
    examples outside op_db's samples name the op as torch does."""
    established: str
    """How the right value is known: the mathematics, by hand or with mpmath."""

    @property
    def repro(self) -> str:
        """The repro's source."""
        with open(os.path.join(REPROS, f"{self.key}.py"), encoding="utf-8") as f:
            return f.read()


BUGS: tuple[Bug, ...] = (
    Bug("as_strided_scatter_backward", "as_strided_scatter's backward sends the input's gradient to the entries "
        "the source overwrites", ("check_rev_over_rev", "check_fwd_over_rev", "check_batched_grad"),
        ("as_strided_scatter",),
        "as_strided_scatter(x, src, (2,), (1,), 0) is [src0, src1, x2, x3], so its sum's gradient in x is "
        "[0, 0, 1, 1]; torch gives [1, 1, 0, 0] (reverse mode's record, docs/opdb.json, says the same; op_db "
        "expects its gradcheck to fail)."),
    Bug("hardsigmoid_float32_slope", "hardsigmoid's float64 derivative is 1/6 rounded to float32",
        ("check_forward_ad", "check_batched_grad", "check_batched_forward_grad"), ("nn.functional.hardsigmoid",),
        "hardsigmoid(x) = x / 6 + 1 / 2 on (-3, 3); torch's kernels multiply by 1.0f / 6.0f = 0.1666666716, "
        "3e-8 relative off in float64, in reverse and forward mode alike."),
    Bug("normal_zero_gradient", "torch.normal(mean, std)'s gradient in mean is 0, though its sample is mean + std z",
        ("check_rev_over_rev", "check_batched_grad"), ("normal", "normal.number_mean"),
        "with the draw z fixed the sample is m + s z, whose derivative in m is 1; torch gives 0 (op_db skips the "
        "test: 'Gradients are incorrect!'). Reverse over reverse sees it through the backward's Jᵀ1."),
    Bug("nested_jvp_solve", "nested jvps of linalg.solve give half the second derivative", ("check_fwd_over_fwd",),
        ("linalg.solve", "linalg.solve_ex"),
        "x = A⁻¹b: along E, d²x = 2 A⁻¹E A⁻¹E x by hand, computed in the repro with torch.linalg.inv: 0.0752, "
        "where nested jvps give 0.0376."),
    Bug("nested_jvp_batch_norm", "nested jvps of batch norm in training (and instance norm, which runs it) give "
        "wrong second derivatives", ("check_fwd_over_fwd",),
        ("native_batch_norm", "_native_batch_norm_legit", "nn.functional.batch_norm", "nn.functional.instance_norm"),
        "the function is smooth; differentiating torch's own gradient, by a jvp and by central differences, "
        "agrees to 1e-6 (about 0 for the repro's batch norm), and nested jvps give 16.66 (instance norm: the sign "
        "flipped)."),
    Bug("nested_jvp_householder_product", "nested jvps of householder_product give a wrong second derivative",
        ("check_fwd_over_fwd",), ("linalg.householder_product",),
        "the function is smooth; a jvp of torch's gradient and central differences of it agree on 7.5565, nested "
        "jvps give 7.2016."),
    Bug("masked_logaddexp_double_backward", "masked.logaddexp's second derivatives are NaN where an entry is masked "
        "out", ("check_rev_over_rev",), ("masked.logaddexp",),
        "an entry whose other operand is masked out is the kept operand itself, so every second derivative "
        "through it is 0 and every output is finite; torch's Hessian has NaN in the mixed block."),
    Bug("nested_jvp_det", "nested jvps of a determinant are wrong: d²det/dA₀₀² comes out 1.28 where it is 0",
        ("check_fwd_over_fwd",), ("linalg.det", "det"),
        "det A = a00 a11 - a01 a10 is linear in each entry, so every second derivative along one entry is 0; "
        "the repro's A = [[1.5, -0.5], [0.25, 2]] gives 1.28."),
    Bug("nested_jvp_logdet", "nested jvps of logdet are wrong: 0 where d²/da00² log det A = -(a11 / det A)²",
        ("check_fwd_over_fwd",), ("logdet", "linalg.slogdet"),
        "log det A = log(a00 a11 - a01 a10): its second derivative in a00 is -(a11 / det A)² = -0.4096 at the "
        "repro's A, by hand."),
    Bug("cholesky_inverse_jvp", "cholesky_inverse's jvp is O(1) off along the lower triangle it reads",
        ("check_forward_ad", "check_batched_forward_grad"), ("cholesky_inverse",),
        "C = (L Lᵀ)⁻¹, so dC = -C (T Lᵀ + L Tᵀ) C for a lower-triangular tangent T, computed in the repro with "
        "torch.linalg.inv: 1.28 off where the entries reach 1.91 (op_db's near-identity samples show it "
        "below gradcheck's tolerance)."),
    Bug("cholesky_inverse_second_order", "forward over forward and forward over reverse through cholesky_inverse "
        "are O(1) off along the lower triangle it reads", ("check_fwd_over_fwd", "check_fwd_over_rev"),
        ("cholesky_inverse",),
        "d²C = 2 C dA C dA C - 2 C T Tᵀ C for C = (L Lᵀ)⁻¹ and dA = T Lᵀ + L Tᵀ, by hand: nested jvps are 11.8 off; "
        "the vjp is -(C Gᵀ C + C G C) L (torch's, to the bit), whose jvp through linalg.inv is 8.3 away from "
        "torch's forward over reverse (reverse over reverse agrees with it to 3e-15)."),
    Bug("nested_jvp_layer_norm", "nested jvps of layer_norm with a weight give wrong mixed second derivatives, "
        "not even symmetric", ("check_fwd_over_fwd",), ("nn.functional.layer_norm",),
        "a smooth function's mixed partials are equal; mpmath's derivative of Σ wᵢ (xᵢ - m) / sqrt(v + eps) "
        "gives 0.1179 where torch's two orders give 0.1768 and -0.0884 (forward over reverse and reverse over "
        "reverse agree with mpmath)."),
    Bug("logcumsumexp_jvp", "logcumsumexp's jvp carries an epsilon: 2.4e-6 relative off when its inputs differ by 17",
        ("check_forward_ad",), (),
        "logcumsumexp(x)[0] is x[0] itself, so its derivative along e0 is exactly 1."),
    Bug("scatter_reduce_prod_jvp", "scatter_reduce(..., 'prod')'s jvp is a zero tangent instead of the product rule",
        ("check_forward_ad",), (),
        "out = [s0 s2, s1 s3] for the repro's index, so along ones d out = [s0 + s2, s1 + s3] = [2, 1]; torch "
        "gives [0, 0] without raising (its reverse mode is right)."),
    Bug("triangular_solve_fwd_over_rev", "forward mode through triangular_solve's backward is wrong along "
        "lower-triangle tangents", ("check_fwd_over_rev",), ("triangular_solve",),
        "X = A⁻¹B, the backward's A-gradient is -A⁻ᵀ W Xᵀ, and its derivative along E is -A⁻ᵀ Eᵀ G - A⁻ᵀ W dXᵀ "
        "with dX = -A⁻¹ E X, computed in the repro with torch.linalg.inv."),
    Bug("nested_jvp_function", "nested jvps through any custom autograd.Function give zero second derivatives "
        "(pytorch/pytorch#197867)", ("check_fwd_over_fwd",), (),
        "x² has second derivative 2; a Function computing it with a right jvp gives 0 under nested "
        "torch.func.jvp (reverse over forward gives 2)."),
    Bug("script_fwd_over_rev", "forward mode through a TorchScript function's backward loses its tangent once "
        "the profiling runs are over", ("check_fwd_over_rev",), (),
        "d/dx 3x² is 6x; the first call gives it, the third gives no tangent (gradgradcheck's check_fwd_over_rev "
        "fails the same way)."),
    Bug("script_drops_tangent", "after one vmapped jvp through a TorchScript function, a jvp where an input "
        "requiring grad has no tangent drops every tangent", ("check_forward_ad",), (),
        "x tanh(y) has derivative x tanh'(y) along y; the same call gives it before the vmap and None after."),
    Bug("mse_loss_fwd_over_rev", "forward mode through mse_loss's backward raises \"ZeroTensors are "
        "immutable\"", ("check_fwd_over_rev",), (),
        "mse_loss(p, y) has Hessian 2/n I; torch raises instead of giving it (gradgradcheck's check_fwd_over_rev "
        "too)."),
)
"""Every recorded bug: those of op_db's run name its ops; those found on other points (the issue's examples,
the case files) name none, and tests/test_modes.py holds compare to them."""


def recorded(name: str, mode: str) -> Bug | None:
    """The recorded bug that explains op `name` disagreeing in `mode`, or None."""
    return next((b for b in BUGS if name in b.ops and mode in b.modes), None)
