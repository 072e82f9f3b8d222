"""No text is ever evaluated: nothing from a case file, a report or the command line reaches
`eval`, `exec`, `sympify` or `parse_expr`. Case files are Python modules, imported as pytest
imports test files; that is the only code that runs.
"""
import ast
import os
import pathlib
import sys

import pytest
import sympy
import sympy.parsing.sympy_parser

from compare import cli
from compare.exact.sym import as_expr

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "compare").glob("*.py"))
EVALUATORS = {"eval", "exec", "compile", "parse_expr", "sympify", "S", "__import__", "literal_eval"}


def _callee(node: ast.Call) -> str:
    """The name called; a method such as z3's `model.eval` or `re.compile` is not an evaluator."""
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr if f.attr in ("parse_expr", "sympify", "S", "literal_eval") else ""
    return getattr(f, "id", "")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_evaluator_is_called_in_the_source(path):
    """Only `as_expr` may call `sympify`, and only with strict=True (which refuses text)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = []
    for fn in ast.walk(tree):
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and _callee(node) in EVALUATORS:
                strict = any(k.arg == "strict" and getattr(k.value, "value", None) is True
                             for k in node.keywords)
                allowed = (path.name == "sym.py" and _callee(node) == "sympify" and strict)
                if not allowed:
                    bad.append(f"{path.name}:{node.lineno}: {_callee(node)}(...)")
    assert not bad, "text could be evaluated: " + ", ".join(sorted(set(bad)))


@pytest.mark.parametrize("text", ["x + 1", "__import__('os').getcwd()", b"1"])
def test_as_expr_refuses_text(text):
    with pytest.raises(TypeError, match="never turned into an expression"):
        as_expr(text)


@pytest.mark.parametrize("value", [1, 1.5, True, sympy.Rational(1, 3), sympy.Symbol("x")])
def test_as_expr_takes_numbers_and_expressions(value):
    assert isinstance(as_expr(value), sympy.Basic)


SYMPY = os.path.dirname(os.path.abspath(sympy.__file__))


@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if text from outside SymPy reaches SymPy's parser.

    `sympify(str)` and `S(str)` call `parse_expr`. SymPy parses some of its
    own literals (unit prefixes, when it imports `sympy.physics.units`);
    those are let through: only a `sympify` called from outside SymPy, as
    compare's code or a case file would, is refused.
    """
    real = sympy.parsing.sympy_parser.parse_expr

    def refuse(text, *args, **kwargs):
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_name != "sympify":
            frame = frame.f_back
        caller = frame.f_back if frame is not None else None
        if caller is None or not os.path.abspath(caller.f_code.co_filename).startswith(SYMPY):
            where = f"{caller.f_code.co_filename}:{caller.f_lineno}" if caller else "?"
            raise AssertionError(f"text reached parse_expr from {where}: {text!r}")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", refuse)


def test_the_guard_catches_text(no_parsing):
    with pytest.raises(AssertionError, match="text reached parse_expr"):
        sympy.sympify("x + 1")
    with pytest.raises(AssertionError, match="text reached parse_expr"):
        sympy.S("2*y")


def test_a_whole_run_parses_no_text(no_parsing, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = cli.main(["run", "cases", "tests/mutations", "--samples", "1", "--out", str(tmp_path / "r")])
    assert code == 1  # the mutations disagree; nothing failed to run
    assert "ERROR" not in capsys.readouterr().err


def test_a_string_from_a_case_file_is_an_error_not_code(no_parsing, tmp_path, monkeypatch, capsys):
    (tmp_path / "sneaky.py").write_text(
        "import torch\nfrom compare import case\n\n\n"
        "@case(inputs={'x': torch.ones(2)}, expect=lambda x: \"__import__('os').remove('gone')\")\n"
        "def sneaky(x):\n    return x.sum()\n")
    (tmp_path / "gone").write_text("still here")
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "sneaky.py", "--out", "r"])
    err = capsys.readouterr().err
    assert code == 2 and "sneaky.py:5: CaseOutputError: expect gives a str for input 'x'" in err
    assert (tmp_path / "gone").read_text() == "still here"


def test_the_command_line_takes_numbers_not_expressions():
    for option in ("--seed", "--samples", "--loop-bound", "--timeout"):
        with pytest.raises(SystemExit):
            cli._parser().parse_args(["all", option, "2**3"])
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["all", "--timeout", "inf"])
