"""The PyTorch bugs the conformance run and the issue's examples find, each with a torch-only repro.

Each repro is a script in compare/torch_bugs/ that uses torch alone: it
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
    """Its name, and its repro's file name (compare/torch_bugs/KEY.py)."""
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
