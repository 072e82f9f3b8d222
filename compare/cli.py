"""The command line: `python -m compare all | run PATH... | list | bench`. All file I/O lives here.

Exit codes: 0 every case agrees (or, at a kink, follows PyTorch's documented
convention; a case declared `known_wrong` must disagree, and then counts as
passing), 1 some case disagrees (or a `known_wrong` case does not), 2 some
case is an error (a broken case file; the other cases still ran), or a path
given does not exist, or `--out` is no folder the reports can be written to
(both found before any case runs), 130 interrupted (Ctrl-C; the reports are
as they were).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from .case import COMPILE_DEFAULT
from .options import Options

__all__ = ["main"]

DEFAULT_CASES = "cases"
DEFAULT_OUT = "reports"
"""Where `all` writes its reports."""
RUN_OUT = "reports/run"
"""Where `run` writes without `--out`: a folder of its own, so that checking a few cases never replaces
the other cases' pages in `reports/`. `all` keeps it there, as it keeps any folder it does not write."""
INTERRUPTED = 130
"""The exit code of a run stopped by Ctrl-C, as a shell gives it (128 + SIGINT)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compare",
        description="Check PyTorch's autograd against exact derivatives that SymPy derives "
                    "from the same code.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def run_options(p: argparse.ArgumentParser, out: str) -> None:
        p.add_argument("--out", default=out, metavar="DIR",
                       help="folder for index.md, one page per case and results.json (default: %(default)s)")
        p.add_argument("--seed", type=int, default=Options.seed,
                       help="seed of the sampled points (default: %(default)s)")
        p.add_argument("--samples", type=_non_negative, default=Options.samples,
                       help="points drawn per case besides its example (default: %(default)s)")
        p.add_argument("--loop-bound", type=_positive, default=Options.loop_bound, metavar="N",
                       help="how often one branch may be met on a path (default: %(default)s)")
        p.add_argument("--timeout", type=_seconds, default=Options.timeout, metavar="SECONDS",
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
    run_options(p_all, DEFAULT_OUT)
    p_run = sub.add_parser("run", help=f"check the case files or folders given and write reports (to {RUN_OUT}/ "
                                       f"unless --out is given: the pages of cases not run are left alone)")
    p_run.add_argument("paths", nargs="+", metavar="PATH")
    run_options(p_run, RUN_OUT)
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
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback; a report folder is replaced whole or not at all
        print("interrupted", file=sys.stderr)
        return INTERRUPTED


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
        from .bench.run import main as bench

        return bench(quick=args.quick, repeat=args.repeat, out=args.out)
    paths = [DEFAULT_CASES] if args.command == "all" else args.paths
    return _run(paths, args)


# -- list: read the files, import nothing ------------------------------------------------
def _line_of(message: str) -> int:
    parts = message.split(":")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _list(paths: list[str]) -> int:
    from .load import declared_cases, discover

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
    refused = [f"{path}: {why}" for path, why in _path_problems(paths, args.command)] + _out_problem(args.out)
    if refused:  # a typo must not cost the reports, nor hours of checks; found before torch is imported
        print("\n".join(refused), file=sys.stderr)
        return 2
    from .records import ERROR, fails_run
    from .write import write_reports

    try:
        checked = _check_all(paths, args)
    except KeyboardInterrupt:  # nothing is written before every case is done
        print(f"interrupted before the reports were written: {args.out}/ is as it was", file=sys.stderr)
        return INTERRUPTED
    if checked is None:
        print(f"no case files under {', '.join(paths)}", file=sys.stderr)
        return 2
    results, meta, pictures, rendered = checked
    if not pictures:
        meta = dataclasses.replace(meta, matplotlib=None)
    write_reports(results, meta, args.out, pictures=pictures, rendered=rendered)
    _summary(results, args.out)
    errors = sum(r.status == ERROR for r in results)
    return 2 if errors else 1 if any(fails_run(r) for r in results) else 0


def _path_problems(paths: list[str], command: str) -> list[tuple[str, str]]:
    """(path, why) for each path given that cannot hold case files: found before anything is imported."""
    problems = []
    for path in paths:
        if os.path.isdir(path):
            continue
        if not os.path.exists(path):
            problems.append((path, "no such folder (`all` checks the cases/ folder of the working directory)"
                             if command == "all" else "no such file or folder"))
        elif not path.endswith(".py"):
            problems.append((path, "not a Python file or a folder"))
    return problems


def _out_problem(out: str) -> list[str]:
    from .write import out_problem

    why = out_problem(out)
    return [f"--out {out}: {why}"] if why else []


def _check_all(paths: list[str], args) -> tuple | None:
    """(results, meta, pictures, pages rendered) of every case under `paths`; None: no case files."""
    import contextlib

    from .batch import check_all, done_line, settle
    from .progress import Progress
    from .render.report import page_names

    settle()
    options = _options(args)
    slots = _slots(paths, options.timeout)
    if slots is None:
        return None
    pages = page_names(slots)  # known before the checks: a Case has the name and file a result will have
    meta = _meta(options)
    results: list = [None] * len(slots)
    pictures: dict[str, bytes] = {}
    rendered: dict[str, tuple[str, dict]] = {}
    progress = Progress([slot.name for slot in slots])
    try:
        # closing: an interrupt between two results stops the workers now, not when the generator is collected
        with contextlib.closing(check_all(slots, options, args.jobs, pages, meta, progress.started)) as checked:
            for i, result, seconds, png, page_text, entry in checked:
                results[i] = result
                rendered[pages[i]] = page_text, entry
                if png is not None:
                    pictures[pages[i]] = png
                progress.done(i, done_line(result, seconds, args.verbose))
    finally:
        progress.close()
    return results, meta, pictures, rendered


def _options(args) -> Options:
    """What `all` and `run` ask of each case: every mode, but those a case turns off."""
    from .modes import EVERY

    return Options(seed=args.seed, samples=args.samples, loop_bound=args.loop_bound, timeout=args.timeout or None,
                   compile=args.compile, modes=EVERY)


def _slots(paths: list[str], timeout: float | None) -> list | None:
    """A CaseResult for each file that failed to load, else its Cases, in order; None: no case files."""
    from .limits import CaseTimeout, time_limit
    from .load import LoadedFile, discover, load_file
    from .records import ERROR, CaseResult

    files = discover(paths)
    if not files:
        return None
    slots: list = []
    for path in files:
        try:  # importing runs the file's top level, which may loop too
            with time_limit(timeout, "importing the file"):
                loaded = load_file(path)
        except CaseTimeout as exc:
            loaded = LoadedFile(path, (), f"{path}: CaseTimeout: {exc}")
        if loaded.error:
            slots.append(CaseResult(name=os.path.splitext(os.path.basename(path))[0], file=path,
                                    line=_line_of(loaded.error), doc="", source="", status=ERROR,
                                    error=loaded.error, traceback=loaded.traceback))
        else:
            slots.extend(loaded.cases)
    return slots


def _meta(options: Options):
    import platform

    import sympy
    import torch

    from .records import Meta
    from .render.plot import available

    return Meta(python=platform.python_version(), torch=torch.__version__, sympy=sympy.__version__,
                seed=options.seed, samples=options.samples, matplotlib=_version("matplotlib") if available() else None)


def _summary(results: list, out: str) -> None:
    from .records import DISAGREE
    from .render.words import tally

    print(f"{tally(r.status for r in results)} Reports in {out}/ (index.md, results.json).")
    known = sum(r.known_wrong is not None and r.status == DISAGREE for r in results)
    if known:
        print(f"({known} of the disagreements {'is a case' if known == 1 else 'are cases'} declared known_wrong: "
              f"{'its' if known == 1 else 'their'} bug was caught, as it should be.)")


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


