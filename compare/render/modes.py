"""The modes on pages, in messages and in results.json: one column per mode, each with its own status.

    modes_section(result)  -> the case page's "Modes" section
    failing(result)        -> the labels of the modes that make the case's status (for summaries)
    modes_json(point)      -> a point's modes, for results.json
"""
from __future__ import annotations

import math

from tabulate import tabulate

from ..modes import KEYWORDS, LABELS
from ..records import AGREE, CaseResult, ModeCheck, PointResult

__all__ = ["modes_section", "failing", "failing_checks", "modes_json", "status_text"]


def failing_checks(point: PointResult) -> list[ModeCheck]:
    """The point's mode checks whose status is the point's own, where that is not `agree`."""
    if point.status == AGREE:
        return []
    return [c for c in point.modes if c.status == point.status]


def failing(result: CaseResult) -> list[str]:
    """The labels of the modes whose status is the case's (not `agree`), in the modes' order."""
    found = {c.mode for p in result.points if p.status == result.status for c in failing_checks(p)}
    return [LABELS[k] for k in KEYWORDS if k in found]


def status_text(result: CaseResult) -> str:
    """The case's status with the modes that make it: `disagree (forward over forward)`."""
    modes = failing(result)
    return f"{result.status} ({', '.join(modes)})" if modes and modes != ["reverse"] else result.status


def _num(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3g}"


def _cell(check: ModeCheck | None) -> str:
    if check is None:
        return "—"
    return check.status if check.errors is None or check.errors.agree else \
        f"{check.status} ({_num(check.errors.max_abs)})"


def _off(result: CaseResult) -> list[str]:
    return [LABELS[k] for k in KEYWORDS if k not in result.modes]


def modes_section(result: CaseResult) -> list[str]:
    """One row per point, one column per mode checked, each cell the mode's status there (with its
    largest absolute error where it disagrees); then what each mode compared, and every note."""
    if not result.points or not result.modes:
        return []
    shown = [k for k in KEYWORDS if k in result.modes]
    rows = []
    for i, p in enumerate(result.points):
        by_mode = {c.mode: c for c in p.modes}
        rows.append([i + 1, p.origin] + [_cell(by_mode.get(k)) for k in shown])
    out = ["## Modes", "",
           "Each of autograd's modes against the exact derivatives (float64; reverse mode also in the case's "
           "dtype), under gradcheck's names: a point's status is the worst of its modes'. In brackets, the "
           "largest absolute error where a mode differs.", "",
           tabulate(rows, headers=["#", "origin"] + [LABELS[k] for k in shown], tablefmt="github",
                    disable_numparse=True), ""]
    whats: dict = {}
    for p in result.points:
        for c in p.modes:
            whats.setdefault(c.mode, dict.fromkeys([]))[c.what] = None
    out += [f"- {LABELS[k]} (`{k}`): " + "; ".join(w for w in whats.get(k, {}) if w) for k in shown]
    off = _off(result)
    if off:
        out += [f"- not checked: {', '.join(off)} (turned off for this case, or by `order=1`)"]
    notes: dict = {}
    for i, p in enumerate(result.points):
        for c in p.modes:
            if c.note:
                notes.setdefault((c.mode, c.note), []).append(str(i + 1))
    out += [""] + [f"- {LABELS[mode]}, points {', '.join(where)}: {note}" for (mode, note), where in notes.items()]
    return out + ([""] if notes else [])


def modes_json(point: PointResult) -> dict:
    """The point's mode checks: keyword -> status, what was compared, errors, note."""
    def errors(c: ModeCheck) -> dict | None:
        if c.errors is None:
            return None
        num = (lambda x: "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf") if math.isinf(x) else x)
        return {"max_abs_err": num(float(c.errors.max_abs)), "max_rel_err": num(float(c.errors.max_rel))}

    return {c.mode: {"status": c.status, "compared": c.what, "errors": errors(c), "note": c.note or None}
            for c in point.modes}
