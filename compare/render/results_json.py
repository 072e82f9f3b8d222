"""Render results as `results.json`: the same results as the reports, for machines.

Numbers are plain JSON floats; NaN and infinities are the strings "nan",
"inf" and "-inf". Expressions are SymPy `str()` forms that `sympify` reads
back. Deterministic: the same results give the same bytes.
"""
from __future__ import annotations

import json
import math
from typing import Sequence

import numpy as np
import sympy

from .modes import modes_json
from .notation import readable_array, readable_gradient
from ..records import CaseResult, Meta, PieceResult, PointResult
from ..agreement import largest

__all__ = ["case_entry", "render_json"]


def _num(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _nested(a: np.ndarray):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return _num(a)
    return [_nested(v) for v in a]


def _point_json(p: PointResult) -> dict:
    return {
        "origin": p.origin, "piece": p.piece,
        "inputs": {n: _nested(v) for n, v in p.inputs.items()},
        "symbolic": {n: _nested(v) for n, v in p.symbolic.items()},
        "autograd": {n: _nested(v) for n, v in p.autograd.items()},
        "autograd_float64": {n: _nested(v) for n, v in p.autograd64.items()},
        "max_abs_err": _num(p.errors.max_abs), "max_rel_err": _num(p.errors.max_rel),
        "max_ulp": p.errors.max_ulp,
        "by_input": {n: {"max_abs_err": _num(e.max_abs), "max_rel_err": _num(e.max_rel), "max_ulp": e.max_ulp,
                         "float64_max_abs_err": _num(p.errors64_by_input[n].max_abs)}
                     for n, e in p.errors_by_input.items()},
        "float64": {"max_abs_err": _num(p.errors64.max_abs), "max_rel_err": _num(p.errors64.max_rel),
                    "max_ulp": p.errors64.max_ulp},
        "jacobian_max_abs_err": _num(p.jacobian_errors.max_abs) if p.jacobian_errors else None,
        "claim_exact": p.claim_exact, "status": p.status, "note": p.note or None, "modes": modes_json(p),
        "rule": p.rule, "torch": p.torch,
        "oracles": {name: ({n: _nested(v) for n, v in o.values.items()} if o.values is not None else None)
                    for name, o in (p.oracles or {}).items()},
        "oracle_errors": {name: _oracle_json(o) for name, o in (p.oracles or {}).items() if name != "symbolic"},
        "jacobian_forward_max_abs_err": (_num(p.jacobian_forward_errors.max_abs)
                                         if p.jacobian_forward_errors else None),
        "hessian": _hessian_json(p.hessian) if p.hessian else None,
        **({"by_continuity": p.by_continuity} if p.by_continuity else {}),  # only where some value is a limit
        **({"allowed": [{n: _nested(v) for n, v in a.items()} for a in p.allowed]} if p.allowed else {}),
        **({"within": p.within} if p.within else {}),  # only where a value is known to within a radius
        **({"symbolic_float64": {n: _nested(v) for n, v in p.symbolic64.items()}} if p.symbolic64 is not None else {}),
    }


def _oracle_json(o) -> dict:
    entry = {"mode": o.mode, "max_abs_err": _num(o.errors.max_abs) if o.errors else None,
             "max_rel_err": _num(o.errors.max_rel) if o.errors else None,
             "agree": o.errors.agree if o.errors else None, "note": o.note or None}
    if o.estimate is not None or o.step is not None:
        entry.update(estimate=_num(o.estimate) if o.estimate is not None else None,
                     step=_num(o.step) if o.step is not None else None)
    return entry


def _hessian_json(h) -> dict:
    return {"mode": h.mode, "exact": _nested(h.exact) if h.exact is not None else None,
            "autograd": _nested(h.autograd) if h.autograd is not None else None,
            "max_abs_err": _num(h.errors.max_abs) if h.errors else None,
            "agree": h.errors.agree if h.errors else None, "note": h.note or None}


def _case_hessian_json(result: CaseResult) -> dict | None:
    checks = [p.hessian for p in result.points if p.hessian is not None]
    if not checks:
        return None
    compared = [h for h in checks if h.errors is not None]
    return {
        "mode": checks[0].mode,
        "exact": [str(sympy.Matrix(p.hessian).tolist()) if p.hessian is not None else None
                  for p in result.pieces] if checks[0].mode == "full" else None,
        "points": len(checks), "compared": len(compared),
        "max_abs_err": _num(largest(h.errors.max_abs for h in compared)),
        "agree": all(h.errors.agree for h in compared),
        "note": result.hessian_note or None,
    }


def _piece_json(result: CaseResult, piece: PieceResult) -> dict:
    inside = next((p for p in result.points if p.piece == piece.index), None)
    return {
        "condition": str(piece.condition),
        "output": str(readable_array(piece.output, result.symbols)),
        "gradient": {n: str(readable_array(piece.gradient[n], result.symbols)) for n in result.shapes},
        "point": {n: _nested(v) for n, v in inside.inputs.items()} if inside else None,
        "claim": piece.claim,
        "status": inside.status if inside else "unchecked",
        **({"gradient_float64": {n: str(readable_array(piece.float64.gradient[n], result.symbols))
                                 for n in result.shapes}}
           if piece.float64 is not None else {}),  # only where the float64 run computes another function
    }


def case_entry(result: CaseResult) -> dict:
    """The case's entry in `results.json`; worker processes build it beside the case's check."""
    from ..errors import display_path

    entry = {"name": result.name, "file": display_path(result.file), "line": result.line,
             "status": result.status, "error": result.error, "dtype": result.dtype or None}
    if result.compiled:  # only then, so that eager runs' files stay as they were
        entry["compiled"] = result.compiled
    if result.known_wrong:  # wrong on purpose: its disagree is expected
        entry["known_wrong"] = result.known_wrong
    if result.parameters:  # an nn.Module's: which inputs are its parameters
        entry["parameters"] = list(result.parameters)
    if result.comparison_notes:  # structured inputs, lost precision (only then: other entries stay as they were)
        entry["comparison_notes"] = list(result.comparison_notes)
    if result.draws:  # a case that draws random numbers: the generator's seed and each draw
        entry["draws"] = list(result.draws)
    if result.pieces:
        entry["gradient"] = {n: readable_gradient(result, n) for n in result.shapes}
        entry["output_shape"] = list(result.output_shape)
        entry["backward_error"] = result.backward_error
        entry["pieces"] = [_piece_json(result, piece) for piece in result.pieces]
        entry["uncovered"] = str(sympy.Or(*(u.condition for u in result.uncovered))) if result.uncovered else None
        entry["uncovered_probability"] = _num(sum(u.probability for u in result.uncovered))
        if result.outside:  # only then, so that other cases' entries stay as they were
            entry["outside_domain"] = [{"condition": str(r.condition), "raises": r.error, "where": r.where,
                                        "probability": _num(r.probability), "how": r.how,
                                        "unchecked": list(r.unchecked)} for r in result.outside]
        entry["points"] = [_point_json(p) for p in result.points]
        hessian = _case_hessian_json(result)
        if hessian is not None:
            entry["hessian"] = hessian
        if result.shown:
            entry["shown"] = [_point_json(p) for p in result.shown]
    else:
        entry.update(gradient={}, pieces=[], uncovered=None, points=[])
    return entry


def render_json(results: Sequence[CaseResult], meta: Meta, entries: Sequence[dict | None] = ()) -> str:
    """The whole file; `entries[i]`, when given, is `case_entry(results[i])`, already built."""
    entries = list(entries) + [None] * (len(results) - len(entries))
    doc = {"versions": {"python": meta.python, "torch": meta.torch, "sympy": meta.sympy,
                        "matplotlib": meta.matplotlib},
           "seed": meta.seed, "samples": meta.samples,
           "cases": [entry if entry is not None else case_entry(r) for r, entry in zip(results, entries)]}
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n"

