"""Connectionist temporal classification (`F.ctc_loss`): the loss as a sum over alignments.

CTC's negative log-likelihood of a target is -log of the sum, over every alignment of the target
with the input's time steps, of the product of that alignment's probabilities
y_t(c) = exp(log_probs[t, b, c]). The forward (alpha) recursion of Graves et al. (2006) gives the
sum without listing the alignments. Over the target with a blank around and between its labels,
l' = (blank, l_1, blank, ..., l_L, blank):

    alpha_0(0) = y_0(blank),  alpha_0(1) = y_0(l_1),
    alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) + [l'_s != blank and l'_s != l'_{s-2}] alpha_{t-1}(s-2)) y_t(l'_s),
    loss = -log(alpha_{T-1}(2L) + alpha_{T-1}(2L-1)),

with T the sample's input length. Here it is written exactly, in probability space (sums of
products of exponentials), where torch runs the same recursion in log space with logsumexp; the
derivative is SymPy's, independent of torch's backward. The expression holds T (2L + 1) nested
sums whose derivative SymPy takes without sharing them: meant for small inputs. Where no
alignment exists (a target too long for its input) the sum is 0 and the loss inf; torch's own
`ctc_loss` then applies `zero_infinity` and the reduction to this op's result.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .registry import exprs, meaning

aten = torch.ops.aten

__all__ = ["alpha"]


def _lengths(value) -> list[int]:
    """Lengths given as a list of ints or as a tensor."""
    return [int(v) for v in exprs(value).reshape(-1)]


def _targets(targets, lengths: list[int]) -> list[list[int]]:
    """Each sample's labels: a row of a (N, S) tensor, or a run of the concatenated (sum of lengths,) tensor."""
    values = exprs(targets)
    if values.ndim == 2:
        return [[int(v) for v in values[b, :n]] for b, n in enumerate(lengths)]
    starts = np.cumsum([0] + lengths[:-1])
    return [[int(v) for v in values[start:start + n]] for start, n in zip(starts, lengths)]


def alpha(y: np.ndarray, labels: list[int], blank: int) -> list[list[sympy.Expr]]:
    """The forward variables alpha_t(s), for t < len(y), over the extended labels (see the module's
    docstring); `y[t][c]` is the probability of class c at step t."""
    extended = [blank]
    for label in labels:
        extended += [label, blank]
    zero = sympy.S.Zero
    first = [y[0][extended[0]]] + ([y[0][extended[1]]] if labels else [])
    rows = [first + [zero] * (len(extended) - len(first))]
    for t in range(1, len(y)):
        before = rows[-1]
        row = []
        for s, c in enumerate(extended):
            total = before[s] + (before[s - 1] if s >= 1 else zero)
            if s >= 2 and c != blank and c != extended[s - 2]:
                total += before[s - 2]
            row.append(total * y[t][c] if total != 0 else zero)
        rows.append(row)
    return rows


@meaning(aten._ctc_loss)
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, zero_infinity: bool = False):
    """-log of the sum over alignments (the alpha recursion, exactly), and log alpha

    log alpha is -inf where no alignment reaches and past each sample's lengths (torch leaves
    those entries unwritten; only its backward reads them)."""
    lp = exprs(log_probs)  # (T, N, C)
    inputs, lengths = _lengths(input_lengths), _lengths(target_lengths)
    labels = _targets(targets, lengths)
    width = 2 * (exprs(targets).shape[1] if exprs(targets).ndim == 2 else max(lengths, default=0)) + 1
    loss = np.empty(lp.shape[1], dtype=object)
    log_alpha = np.full((lp.shape[1], lp.shape[0], width), -sympy.oo, dtype=object)
    for b, (steps, target) in enumerate(zip(inputs, labels)):
        y = [[sympy.exp(lp[t, b, c]) for c in range(lp.shape[2])] for t in range(steps)]
        rows = alpha(y, target, blank)
        last = rows[-1]
        total = last[-1] + (last[-2] if target else sympy.S.Zero)
        loss[b] = -sympy.log(total) if total != 0 else sympy.oo
        for t, row in enumerate(rows):
            log_alpha[b, t, :len(row)] = [sympy.log(a) if a != 0 else -sympy.oo for a in row]
    return loss, log_alpha
