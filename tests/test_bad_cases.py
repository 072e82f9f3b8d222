"""Broken case files: each is one `error` row, `file:line: cause`, and the others still run.

The whole of tests/bad_cases/ is run once through the command line, as a
new user would run a folder mixing good and broken files; each test below
then looks at the row of one kind of breakage.
"""
import json
import os
import re

import pytest

from compare import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = "tests/bad_cases"

# file -> the one line its error must read (a regex, matched in full)
EXPECTED = {
    "syntax_error": r"tests/bad_cases/syntax_error\.py:7: SyntaxError: '\(' was never closed",
    "import_error": r"tests/bad_cases/import_error\.py:2: ModuleNotFoundError: "
                    r"No module named 'no_such_module_for_compare'",
    "import_never_returns": r"tests/bad_cases/import_never_returns\.py:[56]: CaseTimeout: "
                            r"importing the file ran longer than its time limit of 1 s .*",
    "no_case": r"tests/bad_cases/no_case\.py:1: no case: decorate a function with @case\(inputs=\.\.\.\)",
    "non_tensor_input": r"tests/bad_cases/non_tensor_input\.py:4: input 'x' is a list, not a torch\.Tensor",
    "integer_input": r"tests/bad_cases/integer_input\.py:5: input 'x' has dtype torch\.int64; "
                     r"gradients need a floating or complex dtype .*",
    "raises": r"tests/bad_cases/raises\.py:8: ValueError: this case is broken on purpose",
    "never_returns": r"tests/bad_cases/never_returns\.py:[78]: CaseTimeout: "
                     r"the case ran longer than its time limit of 1 s .*",
    "not_a_tensor": r"tests/bad_cases/not_a_tensor\.py:7: CaseOutputError: listing\(\) returned dict, "
                    r"not a tensor",
    "expect_shape": r"tests/bad_cases/expect_shape\.py:5: CaseOutputError: expect gives shape \(3,\) "
                    r"for input 'x'; its gradient has shape \(4,\)",
    "expect_keys": r"tests/bad_cases/expect_keys\.py:5: CaseOutputError: expect gives gradients for "
                   r"\['x', 'z'\], the inputs are \['x', 'y'\]; missing \['y'\]; not an input: \['z'\]",
    "misspelled_option": r"tests/bad_cases/misspelled_option\.py:5: unknown option 'expcet' "
                         r"\(did you mean 'expect'\?\)",
    "unsupported_op": r"tests/bad_cases/unsupported_op\.py:8: UnsupportedOp: op aten\.histc\.default is not "
                      r"supported on symbolic tensors",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run over the folder: (exit code, stderr, results.json rows by file stem)."""
    out = tmp_path_factory.mktemp("bad") / "reports"
    capture = pytest.MonkeyPatch()
    capture.chdir(ROOT)
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["run", FOLDER, "--out", str(out), "--timeout", "1"])
    finally:
        capture.undo()
    rows = json.loads((out / "results.json").read_text())["cases"]
    by_file = {}
    for row in rows:
        by_file.setdefault(os.path.splitext(os.path.basename(row["file"]))[0], []).append(row)
    return code, err.getvalue(), by_file


def test_every_file_of_the_folder_is_covered():
    stems = {os.path.splitext(f)[0] for f in os.listdir(os.path.join(ROOT, FOLDER)) if f.endswith(".py")}
    assert stems == set(EXPECTED) | {"good"}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_broken_file_is_one_error_row_naming_file_line_and_cause(run, kind):
    code, stderr, by_file = run
    rows = by_file[kind]
    assert len(rows) == 1 and rows[0]["status"] == "error"
    assert re.fullmatch(EXPECTED[kind], rows[0]["error"]), rows[0]["error"]
    # the same line is what the user sees on the terminal, on one line
    assert rows[0]["error"] in stderr


def test_the_good_case_still_runs_and_the_exit_code_is_2(run):
    code, stderr, by_file = run
    assert code == 2
    assert [r["status"] for r in by_file["good"]] == ["agree"]


def test_no_traceback_without_verbose(run):
    assert "Traceback" not in run[1]


def test_traceback_with_verbose(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = cli.main(["run", f"{FOLDER}/raises.py", f"{FOLDER}/syntax_error.py", "--out", str(tmp_path / "r"),
                     "--verbose"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("Traceback (most recent call last)") == 2
    assert 'raise ValueError("this case is broken on purpose")' in err


def test_timeout_is_configurable(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = cli.main(["run", f"{FOLDER}/never_returns.py", "--out", str(tmp_path / "r"), "--timeout", "0.3"])
    assert code == 2
    assert "time limit of 0.3 s" in capsys.readouterr().err


def test_default_timeout_is_60_seconds():
    args = cli._parser().parse_args(["all"])
    assert args.timeout == 60.0


def _spinning(x):
    while True:
        x = x + 0


@pytest.mark.parametrize("order", [1, 2])
def test_the_time_limit_suggests_order_1_only_when_second_derivatives_are_checked(order):
    import torch

    from compare.case import make_case
    from compare.engine import check_case

    result = check_case(make_case(_spinning, inputs={"x": torch.ones(3)}, order=order), timeout=0.3)
    assert result.status == "error"
    assert "ran longer than its time limit of 0.3 s (see --timeout)" in result.error
    assert ("@case(..., order=1)" in result.error) == (order == 2), result.error
    assert len(result.error.splitlines()) == 1


def test_the_time_limit_of_a_case_names_order_1_and_that_of_an_import_does_not(run):
    code, stderr, by_file = run
    assert "@case(..., order=1) skips them" in by_file["never_returns"][0]["error"]
    assert "order=1" not in by_file["import_never_returns"][0]["error"]
