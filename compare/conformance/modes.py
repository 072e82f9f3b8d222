"""op_db in every mode: each sample's loss, in each of autograd's modes, against its exact derivatives.

A sample's loss is the one `compare.conformance` differentiates in reverse
mode (every floating output summed, a complex one weighted part by part). Here
it is the output of a function of the sample's leaves, and every other mode is
judged as a case's is (`compare.judge.modes`), at the sample's own values:
forward mode, reverse over reverse, forward over reverse, forward over forward,
and the batched modes, against the loss's exact gradient and Hessian (H u
along a seeded u above `plan.HESSIAN_LIMIT` entries).

A mode op_db says the op does not support (`supports_forward_ad`,
`supports_fwgrad_bwgrad`, `supports_gradgrad`, `check_batched_grad`,
`check_batched_forward_grad`) is `unsupported` and not run; so is one torch
raises NotImplementedError for. Per op and mode, one sample that disagrees
makes the op disagree, as in reverse mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils._pytree import tree_map

from ..exact import differentiate, jets
from ..exact.evaluate import evaluate
from ..exact.ball import Unsupported
from ..case import make_case
from ..context import CaseRun
from .. import kinks
from ..judge.modes import check_modes
from ..modes import LABELS, NOT_RUN, Modes
from ..numeric.oracles import direction
from ..numeric.mode_numbers import mode_numbers
from .samples import Prepared, call, differentiated, loss, point_kinks, prepare, processed
from ..plan import decide
from ..records import AGREE, CONVENTION, DISAGREE, Reference

__all__ = ["MODES", "OPDB_TESTS", "ModeSample", "unsupported", "check_sample_modes"]

MODES = ("check_forward_ad", "check_rev_over_rev", "check_fwd_over_rev", "check_fwd_over_fwd",
         "check_batched_grad", "check_batched_forward_grad")
"""The modes the conformance run checks beside reverse mode, in the order its report lists them."""

OPDB_TESTS = {"check_forward_ad": ("TestFwdGradients", "test_forward_mode_AD"),
              "check_rev_over_rev": ("TestBwdGradients", "test_fn_gradgrad"),
              "check_fwd_over_rev": ("TestFwdGradients", "test_fn_fwgrad_bwgrad"),
              "check_fwd_over_fwd": None,
              "check_batched_grad": ("TestBwdGradients", "test_fn_grad"),
              "check_batched_forward_grad": ("TestFwdGradients", "test_forward_mode_AD")}
"""PyTorch's own test of each mode (test/test_ops_gradients.py, test_ops_fwd_gradients.py): where
op_db's expected failures and skips are keyed. Forward over forward has none."""

_FLAGS = {"check_forward_ad": ("supports_forward_ad",), "check_fwd_over_fwd": ("supports_forward_ad",),
          "check_rev_over_rev": ("supports_gradgrad",), "check_fwd_over_rev": ("supports_fwgrad_bwgrad",),
          "check_batched_grad": ("check_batched_grad",),
          "check_batched_forward_grad": ("supports_forward_ad", "check_batched_forward_grad")}


def unsupported(op, mode: str) -> str | None:
    """Why op_db says the op does not support `mode` (its flag), or None where it does."""
    off = [flag for flag in _FLAGS[mode] if not getattr(op, flag, True)]
    return f"op_db: {off[0]}=False" if off else None


@dataclass(frozen=True)
class ModeSample:
    """One sample in one mode."""

    status: str
    """"runs", "disagrees", "unsupported" or "error" (as `compare.conformance.record.STATUSES`)."""
    detail: str = ""


def _loss_function(op, sample, prep: Prepared, index: list[int]):
    """The sample's loss as a function of its leaves by name (t0, t1, ...), the rest held."""
    def loss_of(**leaves):
        by_id = {id(t): leaves[f"t{k}"] for k, t in enumerate(prep.leaves)}
        swap = lambda v: by_id.get(id(v), v) if isinstance(v, torch.Tensor) else v  # noqa: E731
        s_input, s_args, s_kwargs = tree_map(swap, (sample.input, sample.args, sample.kwargs))
        out = processed(sample, call(op, s_input, s_args, s_kwargs))
        return sum(loss(out[k]) for k in index)

    loss_of.__name__ = op.name
    return loss_of


def _kink(prep: Prepared, index: list[int], terms: np.ndarray, second: bool) -> kinks.Kink | None:
    """The sample's kink, as `judge.point_status.find_kink` finds a case's (a sample has no branches of its own)."""
    at = point_kinks(prep, index, terms, second)
    if at is None:
        return None
    return kinks.Kink(ops=at.ops, rule="; ".join(at.texts), allowed=at.gradient(), sites=at)


def _reference(prep: Prepared, run: CaseRun, summed: tuple) -> Reference:
    index, terms = summed
    second = run.second
    gradient = differentiate.gradient(terms, prep.symbols)
    flat = np.concatenate([evaluate(gradient[n], prep.point).reshape(-1) for n in prep.symbols])
    hessian = _hessian(prep, run, gradient) if second else None
    output = evaluate(np.array([sum(terms)], dtype=object), prep.point)
    return Reference(output, flat, flat, flat[None], hessian, "", _kink(prep, index, terms, second))


def _hessian(prep: Prepared, run: CaseRun, gradient: dict) -> tuple[str, np.ndarray]:
    """The loss's exact Hessian ("full", as the run's plan says) or H u ("directional"), from its
    gradient's entries on jets (`compare.exact.jets`), the entries balls leave undecided from SymPy's."""
    symbols = [s for syms in prep.symbols.values() for s in syms.flat]
    entries = [e for name in prep.symbols for e in gradient[name].flat]
    n = len(symbols)
    full = run.plan.full_hessian
    directions = [[int(i == j) for i in range(n)] for j in range(n)] if full else [run.exact_u()]
    try:
        values, undecided = jets.directional(entries, symbols, [prep.point], directions)
    except Unsupported:
        values, undecided = None, None
    if values is None or undecided.any():  # SymPy's second derivatives, where jets leave some undecided
        if full:
            return "full", evaluate(differentiate.hessian(gradient, prep.symbols), prep.point)
        hu = differentiate.hessian_vector_values(gradient, prep.symbols, directions[0], [prep.point])
        return "directional", hu[0]
    return ("full", values[0]) if full else ("directional", values[0, :, 0])


def _reaches_past(t: torch.Tensor) -> bool:
    """Is `t` laid out in a storage larger than itself, or strided, or offset into it? Reverse mode models
    such storage whole (`samples._symbolic_leaf`); the modes differentiate a function of plain
    copies of the leaves, which would read other entries."""
    whole = t.untyped_storage().nbytes() // t.element_size()
    return t.numel() > 0 and (t.storage_offset() != 0 or whole != t.numel() or not t.is_contiguous())


def check_sample_modes(op, sample, modes: tuple[str, ...], seed: int = 0) -> dict[str, ModeSample]:
    """Each of `modes` on one sample (see the module's docstring)."""
    prep = prepare(op, sample)
    found = {m: ModeSample("unsupported", why) for m in modes if (why := unsupported(op, m))}
    wanted = [m for m in modes if m not in found]
    index, terms = differentiated(prep)
    if not wanted or not sum(t.numel() for t in prep.leaves) or not index:  # nothing to differentiate
        return {**found, **{m: ModeSample("runs") for m in wanted}}
    if any(_reaches_past(t) for t in prep.leaves):
        why = "an input is a view whose storage reaches past it (as_strided reads there): the modes run on copies"
        return {**found, **{m: ModeSample("unsupported", why) for m in wanted}}
    if any(torch.isnan(prep.real_out[k]).any() for k in index):  # (-7.6) ** -4.8: no real value, nor the loss
        undefined = "the loss is NaN at the sample (an output has no real value): rule 5, any derivative"
        return {**found, **{m: ModeSample("runs", undefined) for m in wanted}}
    inputs = {f"t{k}": t.detach() for k, t in enumerate(prep.leaves)}
    case = make_case(_loss_function(op, sample, prep, index), inputs=inputs, name=op.name)
    u = direction(inputs, seed)
    chosen = Modes(**{k: k in wanted for k in LABELS})
    run = CaseRun(case=case, dtype=torch.float64, symbols=prep.symbols, seed=seed, u=u, second=chosen.second_order,
                  reverse=case.fn, modes=chosen, oracles=False, plan=decide(s.size for s in prep.symbols.values()))
    checks, _, _ = check_modes(run, mode_numbers(case.fn, inputs), _reference(prep, run, (index, terms)))
    return {**found, **{c.mode: _classified(c) for c in checks}}


def _classified(check) -> ModeSample:
    if check.status in (AGREE, CONVENTION):
        return ModeSample("runs", check.note if check.status == CONVENTION else "")
    if check.status == DISAGREE:
        where = f" (abs err {check.errors.max_abs:.3g})" if check.errors is not None else ""
        why = "" if check.note.startswith(f"{LABELS[check.mode]} differs") else f": {check.note}"
        return ModeSample("disagrees", f"{check.what}{where}{why}"[:240])
    text = check.note
    if check.status == NOT_RUN and any(s in text for s in ("NotImplementedError", "not implemented",
                                                           "does not support", "no jvp")):
        return ModeSample("unsupported", text[:240])
    return ModeSample("error", text[:240])
