"""Checking many cases: the process made ready once, then the cases run `jobs` at a time.

Workers are forked after the imports and after the case files are loaded,
so they neither import torch again nor re-run the case files; each case is
checked as a whole in one worker, and its page and picture made there too.
"""
from __future__ import annotations

import ast
import dataclasses
import signal
import sys
import time
from typing import Callable

from .options import Options
from .records import AGREE, CONVENTION, DISAGREE, ERROR

__all__ = ["settle", "check_all", "done_line"]


def settle() -> None:
    """Prepare the process for many small checks.

    Every object alive now (torch's and SymPy's modules) lives for the whole
    run: freezing them keeps each full collection from re-scanning them,
    about a fifth of the CPU time of a large check. And the tensors a case
    sees are tiny, so torch's intra-op thread pool only adds overhead: one
    thread makes `compare all` about 1.5x faster on two cores, same bytes.
    """
    import gc

    import torch

    torch.set_num_threads(1)
    _import_before_fork()
    gc.collect()
    gc.freeze()


def _import_before_fork() -> None:
    """Import here, once, what each forked worker would otherwise import for itself: forward mode's
    first product of a dual tensor with a number imports torch's JVP decompositions and, through
    them, torch._dynamo (about 0.7 s); the pictures import matplotlib (about 0.35 s); branches, z3
    (about 0.2 s)."""
    import torch

    from .explore.feasible import load_solver
    from .numeric.oracles import jvp
    from .render.plot import available

    load_solver()
    jvp(lambda v: v * 2.0, torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    if available():
        import matplotlib.backends.backend_agg  # noqa: F401  (what render_plot imports)
        import matplotlib.figure  # noqa: F401
        import matplotlib.style  # noqa: F401


_SLOTS: list = []
_SHARED: dict = {}

CASES_PER_WORKER = 10
"""Cases one forked worker checks before a fresh one, forked again from the ready process, takes
its place. A worker's memory only grows (SymPy's caches, torch's meta cache, the allocator's
pools: from 270 to 385 MiB over 42 cases); replaced every 10 cases, the largest stays near
350 MiB. A fork costs milliseconds, and the results do not depend on which worker checks a case."""


def _check_slot(i: int):
    """(i, result, seconds, PNG or None, page, JSON entry) for the i-th slot.

    Runs in a worker, which inherited the loaded cases when it was forked.
    The picture, the page and the JSON entry are made here too: each depends
    on this result alone, and the workers run side by side.
    """
    from .engine import check_case
    from .render.plot import available, render_plot
    from .records import CaseResult
    from .render.report import render_case
    from .render.results_json import case_entry

    slot, page, meta = _SLOTS[i], _SHARED["pages"][i], _SHARED["meta"]
    seconds, png = 0.0, None
    if isinstance(slot, CaseResult):  # a file that failed to load
        result = slot
    else:
        start = time.perf_counter()
        result = dataclasses.replace(check_case(slot, _SHARED["options"]), cause=None)  # it may not pickle
        seconds = time.perf_counter() - start
        try:
            png = render_plot(result) if available() else None
        except Exception as exc:  # a picture is an extra: drawing it must not cost the case's results
            print(f"{result.name}: no picture: {type(exc).__name__}: {str(exc).strip()[:200]}", file=sys.stderr)
    text = render_case(result, meta, picture=f"{page}.png" if png is not None else None)
    return i, result, seconds, png, text, case_entry(result)


def _longest_first(slots: list) -> list[int]:
    """The slots' indices, those likely to take longest first.

    A case whose code branches or loops is explored piece by piece and is
    checked at a point inside every piece: it can take a hundred times as
    long as a smooth case. Started first, it does not leave one worker
    finishing alone at the end. The order changes nothing in the reports.
    """
    from .engine import case_source

    def branches(slot) -> int:
        source = case_source(slot) if hasattr(slot, "fn") else ""  # else a file that failed to load
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return 0
        return sum(isinstance(n, (ast.If, ast.While, ast.For, ast.IfExp)) for n in ast.walk(tree))

    weight = [branches(slot) for slot in slots]
    return sorted(range(len(slots)), key=lambda i: -weight[i])


def check_all(slots: list, options: Options, jobs: int, pages: list[str], meta,
              started: Callable[[int], None] = lambda i: None):
    """`_check_slot`'s tuple for each slot, as each is done; cases run `jobs` at a time, each under
    `options` (`engine.check_case`).

    Workers are forked after the imports and after the case files are loaded,
    so they neither import torch again nor re-run the case files; each case
    is checked as a whole in one worker, so the results do not depend on `jobs`.
    `started(i)` is called as slot i is taken up (for the progress line).
    """
    global _SLOTS, _SHARED
    _SLOTS, _SHARED = slots, dict(options=options, pages=pages, meta=meta)
    order = _longest_first(slots)
    try:
        import multiprocessing

        cases = sum(not hasattr(s, "status") for s in slots)
        if jobs <= 1 or cases <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            for i in order:  # one process (no fork on Windows)
                started(i)
                yield _check_slot(i)
            return

        workers = min(jobs, cases)  # no idle workers
        waiting = list(order)
        with multiprocessing.get_context("fork").Pool(workers, initializer=_leave_interrupts_to_the_parent,
                                                      maxtasksperchild=CASES_PER_WORKER) as pool:
            # Each worker takes the next slot in `order` as it frees, so the slots being checked
            # are the first `workers` not yet done (up to the moment a result is in transit).
            for i in waiting[:workers]:
                started(i)
            for found in pool.imap_unordered(_check_slot, order, chunksize=1):
                waiting.remove(found[0])
                yield found  # reported done before the next slot is reported started
                for i in waiting[:workers]:
                    started(i)
    finally:
        _SLOTS, _SHARED = [], {}


def _leave_interrupts_to_the_parent() -> None:
    """In a worker: ignore Ctrl-C, which the terminal sends to every process of the run.

    The parent alone stops the run: it stops the pool (`terminate`, which
    ends the workers) and says so in one line. A worker that took the signal
    itself would print its own KeyboardInterrupt traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def done_line(result, seconds: float, verbose: bool) -> str:
    """The line printed for a finished case (and its traceback, with `-v`)."""
    from .render.words import counted

    mark = {AGREE: "ok", CONVENTION: "conv", DISAGREE: "DISAGREE", ERROR: "ERROR"}.get(result.status, result.status)
    line = f"{mark:>8}  {result.name}"
    if result.status == DISAGREE:
        from .render.modes import failing

        line += f"  in {', '.join(failing(result)) or 'its claim'}"
    if result.status != ERROR:
        line += f"  ({counted(len(result.points), 'point')}, {counted(len(result.pieces), 'piece')}, {seconds:.2f} s)"
    else:
        line += f"  {result.error}"
    if verbose and result.traceback:
        line += "\n" + result.traceback.rstrip("\n")
    return line
