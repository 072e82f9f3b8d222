"""pytest plugin: `pytest --compare PATH...` runs every case under PATH as a test.

Each case is one test item. `agree` passes; `convention` (a documented
rule at a nondifferentiable point) passes and says why; `disagree` fails
with the case's table of points; `error` (a broken case) is a pytest error
with its one-line cause. A case file that cannot be imported is a
collection error naming the file and line.

Installed, the plugin registers itself through the `pytest11` entry point;
from a checkout, load it with `pytest -p compare.pytest_plugin --compare cases`.
This module imports neither torch nor SymPy until a case runs, since pytest
imports it for every test run in an environment where compare is installed.
"""
from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["CaseFile", "CaseItem"]

CONVENTION = "convention"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("compare", "checking autograd against exact derivatives")
    group.addoption("--compare", action="append", nargs="+", default=[], metavar="PATH",
                    help="check the case files under PATH (files or folders), one test per case")
    group.addoption("--compare-seed", type=int, default=0, metavar="N",
                    help="seed of the sampled points (default: %(default)s)")
    group.addoption("--compare-samples", type=int, default=4, metavar="N",
                    help="points drawn per case besides its example (default: %(default)s)")


def _roots(config: pytest.Config) -> list[Path]:
    return [Path(p).resolve() for group in config.getoption("compare") for p in group]


def pytest_configure(config: pytest.Config) -> None:
    roots = _roots(config)
    if not roots:
        return
    # `pytest --compare cases` with no test paths runs the cases alone, not also the
    # project's `testpaths`; with test paths given, the cases run beside them.
    from_args = getattr(config, "args_source", None) == pytest.Config.ArgsSource.ARGS
    given = [str(a) for a in config.args] if from_args else []
    config.args = given + [str(r) for r in roots if not any(_under(r, Path(a).resolve()) for a in given)]


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    roots = _roots(parent.config)
    if not roots or file_path.suffix != ".py" or file_path.name.startswith(("_", "conftest")):
        return None
    resolved = file_path.resolve()
    if any(_under(resolved, root) for root in roots):
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    """A case file: one item per `@case` it declares."""

    def collect(self):
        from .load import load_file

        loaded = load_file(str(self.path))
        if loaded.error:
            raise self.CollectError(loaded.error)
        for case in loaded.cases:
            yield CaseItem.from_parent(self, name=case.name, case=case)


class CaseItem(pytest.Item):
    """One case, checked in `setup` (so a broken case is an error) and judged in `runtest`."""

    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.result = None

    def setup(self) -> None:
        from .engine import check_case

        self.result = check_case(self.case, seed=self.config.getoption("compare_seed"),
                                 samples=self.config.getoption("compare_samples"))
        if self.result.status == "error":
            pytest.fail(f"error: {self.result.error}", pytrace=False)

    def runtest(self) -> None:
        result = self.result
        if result.status == "disagree":
            pytest.fail(_failure_text(result), pytrace=False)
        if result.status == CONVENTION:
            why = _convention_text(result)
            self.add_report_section("call", "compare", why)
            self.user_properties.append(("compare", why))

    def reportinfo(self):
        return self.path, self.case.line - 1, f"case {self.case.name}"


def _failure_text(result) -> str:
    from .api import mismatch_message
    from .report import points_table

    return "\n".join([mismatch_message(result), "", points_table(result, result.points)])


def _convention_text(result) -> str:
    """Why a `convention` result passes: the rule it follows, as the notes of its points say."""
    notes = [p.note for p in result.points if getattr(p, "note", "")]
    reason = getattr(result, "convention", None) or (notes[0] if notes else result.error)
    return f"{result.name}: agrees under a documented convention" + (f": {reason}" if reason else "")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    passed = terminalreporter.stats.get("passed", [])
    why = [v for r in passed for k, v in getattr(r, "user_properties", []) if k == "compare"]
    if why:
        terminalreporter.write_sep("=", "compare: cases that agree under a convention")
        for line in why:
            terminalreporter.write_line(line)
