"""What a run asks of each case is written once, in `compare.options.Options`, and every front door's
default is read from there."""
import argparse
import ast
import dataclasses
import inspect
import os

import layout
import pytest

from compare.options import Options

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = {"samples": "samples", "loop_bound": "loop_bound", "seed": "seed", "order": "order", "epsilon": "epsilon",
         "timeout": "timeout", "--samples": "samples", "--compare-samples": "samples", "--loop-bound": "loop_bound",
         "--seed": "seed", "--compare-seed": "seed", "--timeout": "timeout"}
"""Parameters, fields, keywords and command-line options that carry one of the run's defaults, and which."""
HOME = "compare.options"
"""The one module that writes them."""
OTHER_DECISIONS = {("compare.conformance.run", "samples"): "how many of op_db's samples of an op are run",
                   ("compare.conformance.run", "seed"): "the seed of op_db's sample draws",
                   ("compare.conformance.modes", "seed"): "the seed of op_db's sample draws",
                   ("compare.explore.feasible", "samples"): "the random draws that estimate a region's probability",
                   ("compare.explore.feasible", "seed"): "the seed of those draws, where no case gives one",
                   ("compare.numeric.oracles", "seed"): "the direction of forward mode and finite differences "
                                                        "called alone, without a case's seed"}
"""(module, name) whose number is another decision than the run's, and which."""


def literal_defaults(tree: ast.AST) -> list[tuple[str, int]]:
    """(name, line) of every number written as the default of a name in NAMES: a parameter's default, a
    dataclass field's value, a keyword argument, or an argparse/pytest option's `default=`."""
    found = []

    def check(name: str, value: ast.AST | None) -> None:
        if (name in NAMES and isinstance(value, ast.Constant) and isinstance(value.value, (int, float))
                and not isinstance(value.value, bool)):
            found.append((NAMES[name], value.lineno))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            positional = node.args.posonlyargs + node.args.args
            for arg, default in zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults):
                check(arg.arg, default)
            for arg, default in zip(node.args.kwonlyargs, node.args.kw_defaults):
                check(arg.arg, default)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            check(node.target.id, node.value)
        elif isinstance(node, ast.Call):
            options = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            for keyword in node.keywords:
                check(keyword.arg, keyword.value)
                if keyword.arg == "default":
                    for option in options:
                        check(option, keyword.value)
    return found


def test_no_module_but_options_writes_a_default_of_the_run():
    found = {name: [(n, line) for n, line in literal_defaults(module.tree) if (name, n) not in OTHER_DECISIONS]
             for name, module in layout.modules(ROOT, "compare").items() if name != HOME}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_options_writes_each_default_once():
    home = layout.modules(ROOT, "compare")[HOME]
    written = [name for name, _ in literal_defaults(home.tree)]
    assert sorted(written) == sorted(set(written)) == sorted(set(NAMES.values()))


@pytest.mark.parametrize("source", [
    "def check_case(case, *, samples: int = 4): ...",
    "def explore(fn, inputs, loop_bound=64): ...",
    "def explore(fn, inputs, epsilon=1e-9): ...",
    "def check(fn, inputs=None, *, timeout: float | None = 60.0): ...",
    "def make_case(fn, *, order: int = 2): ...",
    "class Settings:\n    samples: int = 4\n",
    "class Settings:\n    seed: int = 0\n",
    "check_case(case, samples=4, loop_bound=64)",
    "p.add_argument('--loop-bound', type=int, default=64)",
    "p.add_argument('--timeout', type=float, default=60.0)",
    "group.addoption('--compare-samples', type=int, default=4)",
    "group.addoption('--compare-seed', type=int, default=0)",
])
def test_a_default_written_again_is_found(source):
    assert literal_defaults(ast.parse(source))


def test_a_default_read_from_options_is_not_found():
    assert not literal_defaults(ast.parse("def check(fn, *, seed: int = Options.seed, check_forward_ad=False): ..."))


def _run_options(parser: argparse.ArgumentParser, command: str) -> dict:
    args = vars(parser.parse_args([command] + (["x.py"] if command == "run" else [])))
    return {k: args[k] for k in ("seed", "samples", "loop_bound", "timeout")}


@pytest.mark.parametrize("command", ["all", "run"])
def test_the_command_line_defaults_to_the_options(command):
    from compare.cli import _parser

    assert _run_options(_parser(), command) == {k: getattr(Options(), k) for k in
                                                ("seed", "samples", "loop_bound", "timeout")}


def test_check_and_assert_agrees_default_to_the_options():
    from compare.api import assert_agrees, check

    for door in (check, assert_agrees):
        defaults = {k: p.default for k, p in inspect.signature(door).parameters.items()}
        assert {k: defaults[k] for k in ("seed", "epsilon", "timeout")} == \
               {k: getattr(Options(), k) for k in ("seed", "epsilon", "timeout")}
        # None: what `@case` declared on the function, else the run's
        assert {k: defaults[k] for k in ("samples", "loop_bound", "order", "compile")} == dict.fromkeys(
            ("samples", "loop_bound", "order", "compile"))


def test_a_case_leaves_to_the_run_what_it_does_not_declare():
    from compare.case import Case, case, make_case

    for door in (case, make_case):
        defaults = {k: p.default for k, p in inspect.signature(door).parameters.items()}
        assert {k: defaults[k] for k in ("samples", "loop_bound", "order", "compile")} == dict.fromkeys(
            ("samples", "loop_bound", "order", "compile"))
    fields = {f.name: f.default for f in dataclasses.fields(Case)}
    assert {k: fields[k] for k in ("samples", "loop_bound", "order", "compile")} == dict.fromkeys(
        ("samples", "loop_bound", "order", "compile"))


def test_the_plugin_defaults_to_the_options():
    from compare import pytest_plugin

    added = {}

    class Group:
        def addoption(self, name, **kwargs):
            added[name] = kwargs.get("default")

    class Parser:
        def getgroup(self, *args):
            return Group()

    pytest_plugin.pytest_addoption(Parser())
    assert (added["--compare-seed"], added["--compare-samples"]) == (Options.seed, Options.samples)


def test_the_explorer_and_the_records_default_to_the_options():
    from compare.explore import explore
    from compare.records import CaseResult

    assert (explore.__kwdefaults__["loop_bound"], explore.__kwdefaults__["epsilon"]) == \
           (Options.loop_bound, Options.epsilon)
    assert CaseResult.__dataclass_fields__["seed"].default == Options.seed
