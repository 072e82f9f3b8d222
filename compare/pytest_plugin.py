"""pytest plugin: `pytest --compare PATH...` runs every case under PATH as a test.

Each case is one test item. `agree` passes; `convention` (a documented
rule at a nondifferentiable point) passes and says why; `disagree` fails
with the case's table of points; `error` (a broken case) is a pytest error
with its one-line cause.

The files are chosen as `compare run` chooses them: every `.py` file under
a folder given, except files whose names start with `_` or `conftest` and
folders whose names start with `.` or `_`; a file given by name is taken
as it is. Each is imported. A file that cannot be imported (a syntax
error, a failed import, an exception at its top level) is one test item,
`FILE::import`, that errors with the one-line cause (`file:line: cause`),
while the other files' cases still run. A file that imports but declares
no `@case`, such as a helper module holding `autograd.Function`s that the
case files import, gives no test item, as a test file without tests does
(`compare run` reports such a file as an error instead: name helpers
`_something.py` to keep both quiet).

In any test, `compare.assert_agrees` raising `compare.CannotCheck` (an
unsupported op, a broken function) counts as an error, not a failure. A
failure or such an error shows the test's code, the user's and torch's,
without compare's own frames; `pytest -v` shows those too.

Installed, the plugin registers itself through the `pytest11` entry point;
from a checkout, load it with `pytest -p compare.pytest_plugin --compare cases`.
This module imports neither torch nor SymPy until a case runs, since pytest
imports it for every test run in an environment where compare is installed.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .options import Options
from .statuses import CONVENTION, DISAGREE, ERROR

__all__ = ["CaseFile", "CaseItem", "LoadErrorItem"]

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("compare", "checking autograd against exact derivatives")
    group.addoption("--compare", action="append", nargs="+", default=[], metavar="PATH",
                    help="check the case files under PATH (files or folders), one test per case")
    group.addoption("--compare-seed", type=int, default=Options.seed, metavar="N",
                    help="seed of the sampled points (default: %(default)s)")
    group.addoption("--compare-samples", type=int, default=Options.samples, metavar="N",
                    help="points drawn per case besides its example (default: %(default)s)")


def _roots(config: pytest.Config) -> list[Path]:
    return [Path(p).resolve() for group in config.getoption("compare") for p in group]


def pytest_configure(config: pytest.Config) -> None:
    from .errors import show_own_frames

    # A failure shows the user's code: compare's own frames only with -v (`assert_agrees` hides its own
    # frame from pytest, and a CannotCheck's cause loses compare's)
    show_own_frames(config.getoption("verbose") > 0)
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
    if not roots or file_path.suffix != ".py":
        return None
    resolved = file_path.resolve()
    if any(_chosen(resolved, root) for root in roots):
        return CaseFile.from_parent(parent, path=file_path)
    return None


def _chosen(path: Path, root: Path) -> bool:
    """Whether `path` is a case file under `root`, as `compare run ROOT` would find it."""
    from .load import passed_over

    if path == root:  # a file named itself
        return True
    if root not in path.parents:
        return False
    folders = path.relative_to(root).parts[:-1]
    return not passed_over(path.name) and not any(passed_over(f, folder=True) for f in folders)


class CaseFile(pytest.File):
    """A case file: one item per `@case` it declares; one failing item if it cannot be imported."""

    def collect(self):
        from .load import load_file

        loaded = load_file(str(self.path), require_case=False)  # a helper module gives no item
        if loaded.error:  # an item, not a collection error, so that the other files still run
            yield LoadErrorItem.from_parent(self, name="import", error=loaded.error)
        for case in loaded.cases:
            yield CaseItem.from_parent(self, name=case.name, case=case)


class LoadErrorItem(pytest.Item):
    """A case file that could not be imported: an error with its one-line cause (`file:line: cause`)."""

    def __init__(self, *, error: str, **kwargs):
        super().__init__(**kwargs)
        self.error = error

    def setup(self) -> None:  # in setup, so that it is an error, as a broken case is
        pytest.fail(self.error, pytrace=False)

    def runtest(self) -> None:  # never reached: setup fails
        pytest.fail(self.error, pytrace=False)

    def reportinfo(self):
        return self.path, 0, f"importing {self.path.name}"


class CaseItem(pytest.Item):
    """One case, checked in `setup` (so a broken case is an error) and judged in `runtest`."""

    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.result = None

    def setup(self) -> None:
        from .engine import check_case

        self.result = check_case(self.case, _options(self.config))
        if self.result.status == ERROR:
            pytest.fail(f"error: {self.result.error}", pytrace=False)

    def runtest(self) -> None:
        result = self.result
        if result.known_wrong and result.status == DISAGREE:
            pytest.xfail(f"known wrong: {result.known_wrong}")
        if result.known_wrong:
            pytest.fail(f"declared known_wrong ({result.known_wrong}) but {result.status}: the bug was not caught",
                        pytrace=False)
        if result.status == DISAGREE:
            pytest.fail(_failure_text(result), pytrace=False)
        if result.status == CONVENTION:
            why = _convention_text(result)
            self.add_report_section("call", "compare", why)
            self.user_properties.append(("compare", why))

    def reportinfo(self):
        return self.path, self.case.line - 1, f"case {self.case.name}"


def _options(config: pytest.Config) -> Options:
    """What `pytest --compare` asks of each case: every mode, but those a case turns off."""
    from .modes import EVERY

    return Options(seed=config.getoption("compare_seed"), samples=config.getoption("compare_samples"), modes=EVERY)


def _failure_text(result) -> str:
    from .render.message import mismatch_message
    from .render.report import points_table

    return "\n".join([mismatch_message(result), "", points_table(result, result.points)])


def _convention_text(result) -> str:
    """Why a `convention` result passes: the rule it follows, as the notes of its points say."""
    notes = [p.note for p in result.points if getattr(p, "note", "")]
    reason = getattr(result, "convention", None) or (notes[0] if notes else result.error)
    return f"{result.name}: agrees under a documented convention" + (f": {reason}" if reason else "")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Mark a test that raised `compare.CannotCheck`: nothing was found wrong, it could not be checked."""
    outcome = yield
    if call.when == "call" and call.excinfo is not None:
        from .errors import CannotCheck

        if call.excinfo.errisinstance(CannotCheck):
            outcome.get_result().compare_cannot_check = True


def pytest_report_teststatus(report, config):
    """Count a test that could not be checked as an error (E), as pytest counts a broken fixture."""
    if report.when == "call" and report.failed and getattr(report, "compare_cannot_check", False):
        return "error", "E", "ERROR"
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    passed = terminalreporter.stats.get("passed", [])
    why = [v for r in passed for k, v in getattr(r, "user_properties", []) if k == "compare"]
    if why:
        terminalreporter.write_sep("=", "compare: cases that agree under a convention")
        for line in why:
            terminalreporter.write_line(line)
