"""The command line: `python -m compare all | run PATH... | list | bench`. All file I/O lives here.

Exit codes: 0 every case agrees (or, at a kink, follows PyTorch's documented
convention), 1 some case disagrees, 2 some case is an error (a broken case
file; the other cases still ran) or `--out` is no folder the reports can be
written to (found before any case runs).
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import shutil
import stat
import sys
import tempfile
import time
from typing import Callable

from .case import COMPILE_DEFAULT

__all__ = ["main", "write_reports"]

DEFAULT_CASES = "cases"
DEFAULT_OUT = "reports"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compare",
        description="Check PyTorch's autograd against exact derivatives that SymPy derives "
                    "from the same code.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def run_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                       help="folder for index.md, one page per case and results.json (default: %(default)s)")
        p.add_argument("--seed", type=int, default=0, help="seed of the sampled points (default: %(default)s)")
        p.add_argument("--samples", type=_non_negative, default=4,
                       help="points drawn per case besides its example (default: %(default)s)")
        p.add_argument("--loop-bound", type=_positive, default=64, metavar="N",
                       help="how often one branch may be met on a path (default: %(default)s)")
        p.add_argument("--timeout", type=_seconds, default=60.0, metavar="SECONDS",
                       help="time limit per case, 0 for none (default: %(default)s)")
        p.add_argument("-j", "--jobs", type=_positive, default=os.cpu_count() or 1, metavar="N",
                       help="cases checked at once, in forked worker processes (default: the number of "
                            "CPUs, %(default)s); the reports are the same for any N")
        p.add_argument("--compile", nargs="?", const=COMPILE_DEFAULT, default=None, metavar="BACKEND",
                       help="run autograd on torch.compile(fn) (backend: %(const)s unless named; a case's own "
                            "@case(compile=...) wins); its gradients are checked against the same exact "
                            "derivative")
        p.add_argument("-v", "--verbose", action="store_true", help="print tracebacks of errors")

    p_all = sub.add_parser("all", help=f"check every case under {DEFAULT_CASES}/ and write reports")
    run_options(p_all)
    p_run = sub.add_parser("run", help="check the case files or folders given and write reports")
    p_run.add_argument("paths", nargs="+", metavar="PATH")
    run_options(p_run)
    p_list = sub.add_parser(
        "list", help="list the cases under the paths given (default: cases/), without running them; "
                     "it reads the source, so it misses cases declared in a loop or through a helper",
        description="List the @case functions under the paths given (default: cases/) without running "
                    "or importing them: each file is read with ast, so a case declared in a loop or "
                    "through a helper function is not listed ('run' finds it).")
    p_list.add_argument("paths", nargs="*", metavar="PATH")
    p_bench = sub.add_parser("bench", help="measure start-up, scaling and exploration; write BENCHMARKS.md "
                                           "(run from the project root)")
    p_bench.add_argument("--quick", action="store_true", help="3 repetitions instead of 5")
    p_bench.add_argument("--repeat", type=_positive, default=None, metavar="N", help="repetitions of each measure")
    p_bench.add_argument("--out", default="BENCHMARKS.md", metavar="FILE", help="where to write (default: %(default)s)")
    return parser


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not (0 <= value < float("inf")):
        raise argparse.ArgumentTypeError("must be a number of seconds, 0 or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            return _main(argv)
        finally:  # a closed pipe shows at the last flush (also after --help's SystemExit)
            sys.stdout.flush()
    except BrokenPipeError:  # `python -m compare list | head`: the reader has what it wanted
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's capture): nothing left to flush
        pass


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        return _list(args.paths or [DEFAULT_CASES])
    if args.command == "bench":
        from .bench import main as bench

        return bench(quick=args.quick, repeat=args.repeat, out=args.out)
    paths = [DEFAULT_CASES] if args.command == "all" else args.paths
    return _run(paths, args)


# -- list: read the files, import nothing ------------------------------------------------
def declared_cases(path: str) -> list[tuple[str, int, str]]:
    """(name, line, first docstring line) of each @case function in a file, read with `ast`."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name == "case":
                    doc = (ast.get_docstring(node) or "").strip().splitlines()
                    found.append((node.name, node.lineno, doc[0] if doc else ""))
    return sorted(found, key=lambda c: c[1])


def _list(paths: list[str]) -> int:
    from .load import discover

    status = 0
    for path in discover(paths):
        try:
            cases = declared_cases(path)
        except (OSError, SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            print(f"{path}{f':{line}' if line else ''}: {type(exc).__name__}: {exc}", file=sys.stderr)
            status = 2
            continue
        for name, line, doc in cases:
            print(f"{path}:{line}: {name}" + (f" — {doc}" if doc else ""))
    return status


# -- all / run ---------------------------------------------------------------------------
def _run(paths: list[str], args) -> int:
    import platform

    import sympy
    import torch

    from .engine import CaseTimeout, time_limit
    from .load import LoadedFile, discover, load_file
    from .render.plot import available
    from .progress import Progress
    from .records import ERROR, CaseResult, fails_run
    from .records import Meta
    from .render.report import page_names

    unwritable = out_problem(args.out)
    if unwritable:  # before hours of checks, not after them
        print(f"--out {args.out}: {unwritable}", file=sys.stderr)
        return 2
    settle()
    files = discover(paths)
    if not files:
        print(f"no case files under {', '.join(paths)}", file=sys.stderr)
        return 2
    slots: list = []  # a CaseResult for a file that failed to load, else the Case to check
    for path in files:
        try:  # importing runs the file's top level, which may loop too
            with time_limit(args.timeout or None, "importing the file"):
                loaded = load_file(path)
        except CaseTimeout as exc:
            loaded = LoadedFile(path, (), f"{path}: CaseTimeout: {exc}")
        if loaded.error:
            slots.append(CaseResult(name=os.path.splitext(os.path.basename(path))[0], file=path,
                                    line=_line_of(loaded.error), doc="", source="", status=ERROR,
                                    error=loaded.error, traceback=loaded.traceback))
        else:
            slots.extend(loaded.cases)
    options = dict(seed=args.seed, samples=args.samples, loop_bound=args.loop_bound, timeout=args.timeout or None,
                   compile=args.compile)
    pages = page_names(slots)  # known before the checks: a Case has the name and file a result will have
    meta = Meta(python=platform.python_version(), torch=torch.__version__, sympy=sympy.__version__,
                seed=args.seed, samples=args.samples, matplotlib=_version("matplotlib") if available() else None)
    results: list = [None] * len(slots)
    pictures: dict[str, bytes] = {}
    rendered: dict[str, tuple[str, dict]] = {}
    progress = Progress([slot.name for slot in slots])
    try:
        for i, result, seconds, png, page_text, entry in _check_all(slots, options, args.jobs, pages, meta,
                                                                     progress.started):
            results[i] = result
            rendered[pages[i]] = page_text, entry
            if png is not None:
                pictures[pages[i]] = png
            progress.done(i, _done_line(result, seconds, args.verbose))
    finally:
        progress.close()
    if not pictures:
        meta = dataclasses.replace(meta, matplotlib=None)
    write_reports(results, meta, args.out, pictures=pictures, rendered=rendered)
    counts = {s: sum(r.status == s for r in results) for s in ("agree", "convention", "disagree", "error")}
    print(f"{len(results)} case{'s' if len(results) != 1 else ''}: {counts['agree']} agree, "
          f"{counts['convention']} convention, {counts['disagree']} disagree, {counts['error']} errors. "
          f"Reports in {args.out}/ (index.md, results.json).")
    known = sum(r.known_wrong is not None and r.status == "disagree" for r in results)
    if known:
        print(f"({known} of the disagreements {'is a case' if known == 1 else 'are cases'} declared known_wrong: "
              f"{'its' if known == 1 else 'their'} bug was caught, as it should be.)")
    return 2 if counts["error"] else 1 if any(fails_run(r) for r in results) else 0


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


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
    them, torch._dynamo (about 0.7 s); the pictures import matplotlib (about 0.35 s)."""
    import torch

    from .numeric.oracles import jvp
    from .render.plot import available

    jvp(lambda v: v * 2.0, torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    if available():
        import matplotlib.backends.backend_agg  # noqa: F401  (what render_plot imports)
        import matplotlib.figure  # noqa: F401
        import matplotlib.style  # noqa: F401


_SLOTS: list = []
_SHARED: dict = {}


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
        result = dataclasses.replace(check_case(slot, **_SHARED["options"]), cause=None)  # it may not pickle
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


def _check_all(slots: list, options: dict, jobs: int, pages: list[str], meta,
               started: Callable[[int], None] = lambda i: None):
    """`_check_slot`'s tuple for each slot, as each is done; cases run `jobs` at a time.

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
        with multiprocessing.get_context("fork").Pool(workers) as pool:
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


def _line_of(message: str) -> int:
    parts = message.split(":")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _done_line(result, seconds: float, verbose: bool) -> str:
    """The line printed for a finished case (and its traceback, with `-v`)."""
    mark = {"agree": "ok", "convention": "conv", "disagree": "DISAGREE", "error": "ERROR"}.get(result.status,
                                                                                          result.status)
    line = f"{mark:>8}  {result.name}"
    if result.status != "error":
        line += f"  ({len(result.points)} points, {len(result.pieces)} pieces, {seconds:.2f} s)"
    else:
        line += f"  {result.error}"
    if verbose and result.traceback:
        line += "\n" + result.traceback.rstrip("\n")
    return line


def out_problem(out: str) -> str | None:
    """Why `write_reports` could not put a folder at `out`, or None: checked before any case runs.

    `out` must be a folder or not exist yet; the nearest of its parents that
    exists must be a folder this process may write in, since the reports are
    written beside `out` and renamed into place (the missing parents are
    made then, not now: a run that fails writes nothing).
    """
    target = os.path.abspath(out)
    if os.path.exists(target) and not os.path.isdir(target):
        return "exists and is not a folder; give a folder for the reports"
    parent = os.path.dirname(target)
    while not os.path.exists(parent):  # a dangling link is not a folder either
        if os.path.islink(parent) or os.path.dirname(parent) == parent:
            break
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"{parent} is not a folder, so the reports cannot be written under it"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot write in {parent}"
    return None


def _generated(name: str) -> bool:
    """Is this entry of the reports folder one that a run writes (and so replaces)?"""
    return name == "results.json" or (name.endswith((".md", ".png")) and not name.startswith("."))


def _folder_mode(target: str) -> int:
    """The mode the reports folder keeps: its own, or the umask's default for a new folder.

    `mkdtemp` makes the staging folder 0700; renamed into place unchanged, it
    would make a shared or served reports folder private.
    """
    if os.path.isdir(target):
        return stat.S_IMODE(os.stat(target).st_mode)
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return 0o777 & ~mask


def write_reports(results, meta, out: str, pictures: dict[str, bytes] | None = None,
                  rendered: dict[str, tuple[str, dict]] | None = None) -> None:
    """Render every page, then put them in place at once.

    `pictures` maps a page name to its PNG, written beside the page as
    `PAGE.png` and embedded in it. `rendered` maps a page name to its page
    and its `results.json` entry where the workers have made them already.

    The pages go to a temporary folder beside `out`, which replaces `out`
    only when all are written: a run that dies midway leaves the previous
    reports as they were. What a run does not write (a log, a user's notes,
    a subfolder) is moved into the new folder first, by rename, so nothing
    else is lost and a file still open for writing stays the same file.
    """
    from .render.report import page_names, render_case, render_index
    from .render.results_json import render_json

    target = os.path.abspath(out)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.new-", dir=parent)
    kept: list[str] = []
    try:
        pictures, rendered = pictures or {}, rendered or {}
        names = page_names(results)
        files = {"index.md": render_index(results, meta),
                 "results.json": render_json(results, meta, [rendered.get(page, (None, None))[1] for page in names])}
        for result, page in zip(results, names):
            if page in rendered:
                files[f"{page}.md"] = rendered[page][0]
            else:
                files[f"{page}.md"] = render_case(result, meta, picture=f"{page}.png" if page in pictures else None)
        for name, text in files.items():
            with open(os.path.join(staging, name), "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        for page, png in pictures.items():
            with open(os.path.join(staging, f"{page}.png"), "wb") as f:
                f.write(png)
        os.chmod(staging, _folder_mode(target))
        old = None
        if os.path.exists(target):
            for name in sorted(os.listdir(target)):
                if not _generated(name):
                    os.rename(os.path.join(target, name), os.path.join(staging, name))
                    kept.append(name)
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=parent)
            os.rmdir(old)
            os.rename(target, old)
        try:
            os.rename(staging, target)
        except BaseException:  # put the previous reports back where they were
            if old:
                os.rename(old, target)
            raise
        kept = []
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        for name in kept:  # the swap did not happen: the kept entries go back
            if os.path.exists(target):
                os.rename(os.path.join(staging, name), os.path.join(target, name))
        shutil.rmtree(staging, ignore_errors=True)
        raise
