"""`F.ctc_loss` as the sum over alignments (compare/symbolic/ctc.py), checked on small inputs.

Its value is checked against a brute-force enumeration of the alignments; through
`log_softmax`, as CTC is used, autograd agrees. On log-probabilities taken directly as the
inputs, torch's backward is not the derivative of its forward: it adds exp(log_probs), a term
that only `log_softmax`'s backward cancels (pytorch/pytorch issues 52241 and 181534, open).
The exact gradient matches finite differences of torch's own forward there, and the verdict
is `disagree`.
"""
import itertools
import math

import mpmath
import numpy as np
import sympy
import torch
import torch.nn.functional as F

import compare
from compare.exact.sym import input_symbols
from compare.symbolic import SymTensor, exprs_of

F64 = torch.float64
T, C = 3, 3
TARGET = [1, 2]
LOGITS = torch.tensor([[0.3, -1.2, 0.8], [1.1, 0.2, -0.5], [-0.4, 0.9, 0.1]], dtype=F64)


def brute_force_loss(log_probs: list[list[float]], target: list[int], blank: int = 0) -> mpmath.mpf:
    """-log of the sum, over every path of classes whose collapse (merge repeats, drop blanks) is
    the target, of the product of its probabilities; with 40 digits."""
    mpmath.mp.dps = 40
    total = mpmath.mpf(0)
    for path in itertools.product(range(len(log_probs[0])), repeat=len(log_probs)):
        collapsed = [c for i, c in enumerate(path) if (i == 0 or c != path[i - 1]) and c != blank]
        if collapsed == target:
            total += mpmath.exp(mpmath.fsum(mpmath.mpf(log_probs[t][c]) for t, c in enumerate(path)))
    return -mpmath.log(total)


def test_the_loss_is_the_sum_over_alignments():
    lp = SymTensor(input_symbols("lp", (T, 1, C)), F64)
    (loss,) = exprs_of(F.ctc_loss(lp, torch.tensor([TARGET]), [T], [len(TARGET)], reduction="none"))
    values = LOGITS.log_softmax(1)
    at = {s: sympy.Rational(v) for s, v in zip(lp.exprs.flat, values.reshape(-1).tolist())}
    expected = brute_force_loss(values.tolist(), TARGET)
    assert abs(mpmath.mpf(str(sympy.N(loss.subs(at), 40))) - expected) < mpmath.mpf(10) ** -30


def test_through_log_softmax_autograd_agrees():
    targets = torch.tensor([TARGET])

    def loss(logits):
        return F.ctc_loss(logits.log_softmax(2), targets, torch.tensor([T]), torch.tensor([2]))

    result = compare.check(loss, (LOGITS[:, None],))
    assert result.status == "agree", result.error


def test_concatenated_targets_unbatched_inputs_and_zero_infinity_agree():
    x = torch.randn(T, 2, C, dtype=F64, generator=torch.Generator().manual_seed(0))
    cases = {
        "concatenated": lambda x: F.ctc_loss(x.log_softmax(2), torch.tensor([1, 2, 1, 2, 1]), [T, T], [2, 3],
                                             reduction="none"),
        # [1, 1, 1] needs a blank between repeats: 5 steps, more than 3, so its loss is inf, then 0
        "zero_infinity": lambda x: F.ctc_loss(x.log_softmax(2), torch.tensor([[1, 2, 0], [1, 1, 1]]), [T, T],
                                              [2, 3], zero_infinity=True, reduction="none"),
        "unbatched": lambda x: F.ctc_loss(x[:, 0].log_softmax(1), torch.tensor(TARGET), torch.tensor(T),
                                          torch.tensor(2)),
    }
    for name, fn in cases.items():
        result = compare.check(fn, (x,), order=1)
        assert result.status == "agree", (name, result.error)
    impossible = compare.check(cases["zero_infinity"], (x,), order=1).points[0]
    assert (impossible.symbolic["x"][:, 1] == 0).all()  # the sample whose loss was zeroed


def test_on_log_probabilities_directly_torchs_backward_is_not_the_derivative():
    lp = LOGITS.log_softmax(1)[:, None]

    def loss(log_probs):
        return F.ctc_loss(log_probs, torch.tensor([TARGET]), [T], [2], reduction="sum")

    result = compare.check(loss, (lp,), order=1)
    assert result.status == "disagree"
    example = result.points[0]
    exact, autograd = example.symbolic["log_probs"], example.autograd64["log_probs"]
    # The exact gradient is the derivative of torch's own forward: central differences of it.
    h = 1e-6
    numeric = np.zeros_like(exact)
    for i in np.ndindex(*exact.shape):
        step = torch.zeros_like(lp)
        step[i] = h
        numeric[i] = (float(loss(lp + step)) - float(loss(lp - step))) / (2 * h)
    assert np.allclose(exact, numeric, atol=1e-8)
    # torch's backward adds exp(log_probs) to it
    assert np.allclose(autograd - exact, lp.exp().numpy(), atol=1e-12)
    assert not math.isclose(float(np.abs(autograd - exact).max()), 0.0)
