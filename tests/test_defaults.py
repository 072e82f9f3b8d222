"""The run's defaults (points sampled per case, the loop bound) are written once, in `compare.limits`."""
import ast
import os

import layout
import pytest

from compare.limits import LOOP_BOUND, SAMPLES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = {"samples": "samples", "loop_bound": "loop_bound", "--samples": "samples", "--compare-samples": "samples",
         "--loop-bound": "loop_bound"}
"""Parameters, fields, keywords and command-line options that carry one of the two defaults."""
OTHER_DECISIONS = {"compare.conformance.run": "how many of op_db's samples of an op are run",
                   "compare.explore.feasible": "the random draws that estimate a region's probability"}
"""Modules whose `samples` is another decision, and which."""


def literal_defaults(tree: ast.AST) -> list[tuple[str, int]]:
    """(name, line) of every number written as the default of a name in NAMES: a parameter's default, a
    dataclass field's value, a keyword argument, or an argparse/pytest option's `default=`."""
    found = []

    def check(name: str, value: ast.AST | None) -> None:
        if name in NAMES and isinstance(value, ast.Constant) and isinstance(value.value, int):
            found.append((name, value.lineno))

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


def test_no_module_writes_its_own_default_samples_or_loop_bound():
    found = {name: literal_defaults(module.tree) for name, module in layout.modules(ROOT, "compare").items()
             if name not in OTHER_DECISIONS and name != "compare.limits"}
    assert {name: hits for name, hits in found.items() if hits} == {}


@pytest.mark.parametrize("source", [
    "def check_case(case, *, samples: int = 4): ...",
    "def explore(fn, inputs, loop_bound=64): ...",
    "class Settings:\n    samples: int = 4\n",
    "check_case(case, samples=4, loop_bound=64)",
    "p.add_argument('--loop-bound', type=int, default=64)",
    "group.addoption('--compare-samples', type=int, default=4)",
])
def test_a_default_written_again_is_found(source):
    assert literal_defaults(ast.parse(source))


def test_the_front_doors_default_to_the_one_value():
    from compare.api import check
    from compare.cli import _parser
    from compare.engine import Settings
    from compare.explore import explore

    args = _parser().parse_args(["all"])
    assert (args.samples, args.loop_bound) == (SAMPLES, LOOP_BOUND)
    assert (Settings().samples, Settings().loop_bound) == (SAMPLES, LOOP_BOUND)
    assert explore.__kwdefaults__["loop_bound"] == LOOP_BOUND
    assert check.__kwdefaults__["samples"] is None  # None: the case's own, else the run's
