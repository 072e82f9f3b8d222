"""`pytest --compare FOLDER`, tried as a new user would: the right cases pass, the wrong one fails."""
import re
import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pytest(args, cwd):
    installed = any(ep.name == "compare" for ep in importlib.metadata.entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "compare.pytest_plugin"]  # from a checkout: not installed
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin, *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


CASES = '''
import torch
from compare import case


@case(inputs={"x": torch.tensor([1.0, 2.0])}, expect=lambda x: 2 * x)
def square(x):
    """x * x has gradient 2x."""
    return x * x


class WrongSin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * torch.sin(x)


@case(inputs={"x": torch.tensor([0.5, 1.0])})
def wrong_sin(x):
    """A hand-written backward that forgot sin' = cos."""
    return WrongSin.apply(x)


@case(inputs={"x": torch.tensor([0.5, 1.0])})
def unsupported(x):
    """An op the symbolic side lacks."""
    return torch.histc(x, bins=2)
'''


def test_right_cases_pass_and_the_wrong_one_fails(tmp_path):
    (tmp_path / "mycases").mkdir()
    (tmp_path / "mycases" / "funcs.py").write_text(textwrap.dedent(CASES))
    run = _pytest(["--compare", "mycases"], cwd=tmp_path)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    summary = out.strip().splitlines()[-1]
    assert all(part in summary for part in ("1 failed", "1 passed", "1 error")), summary
    assert "FAILED mycases/funcs.py::wrong_sin" in out
    assert "exact (SymPy): [0.8775825619, 0.5403023059]" in out  # the mismatch, then the table
    assert "| origin" in out
    assert "ERROR mycases/funcs.py::unsupported" in out
    assert "mycases/funcs.py:33: UnsupportedOp: op aten.histc.default" in out


def test_the_project_cases_pass_under_the_plugin():
    run = _pytest(["--compare", "cases", "--compare-samples", "1", "-q"], cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and not re.search(r"\b\d+ failed", run.stdout), run.stdout


HELPER = '''
"""Functions for the case files beside it: no case of its own."""
import torch


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g
'''

USES_HELPER = '''
import torch
from compare import case
from functions import Cube


@case(inputs={"x": torch.tensor([1.0, -2.0])}, expect=lambda x: 3 * x * x)
def cube(x):
    return Cube.apply(x).sum()
'''


def test_a_file_that_fails_to_import_is_one_error_and_the_others_still_run(tmp_path):
    folder = tmp_path / "mycases"
    folder.mkdir()
    for name in ("syntax_error", "import_error", "good"):
        (folder / f"{name}.py").write_text((Path(ROOT) / "tests" / "bad_cases" / f"{name}.py").read_text())
    (folder / "functions.py").write_text(textwrap.dedent(HELPER))  # a helper: no case, no item
    (folder / "uses_helper.py").write_text(textwrap.dedent(USES_HELPER))
    (folder / "_private.py").write_text("raise RuntimeError('a file named _... is not a case file')\n")
    (folder / "_helpers").mkdir()
    (folder / "_helpers" / "inside.py").write_text("raise RuntimeError('nor is a file under _helpers/')\n")
    run = _pytest(["--compare", "mycases", "-v"], cwd=tmp_path)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "Interrupted" not in out and "during collection" not in out, out
    assert out.strip().splitlines()[-1].startswith("=") and "2 passed, 2 errors" in out.strip().splitlines()[-1]
    assert "mycases/good.py::square PASSED" in out and "mycases/uses_helper.py::cube PASSED" in out
    assert "ERROR mycases/syntax_error.py::import" in out and "ERROR mycases/import_error.py::import" in out
    assert "\nmycases/syntax_error.py:7: SyntaxError: '(' was never closed\n" in out  # the one line, alone
    assert ("\nmycases/import_error.py:2: ModuleNotFoundError: No module named 'no_such_module_for_compare'\n"
            in out)
    assert "functions.py" not in out and "_private" not in out and "inside.py" not in out
    assert "Traceback" not in out


PLAIN_TESTS = '''
import torch
import compare


class Wrong(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g


def test_unsupported():
    compare.assert_agrees(lambda x: torch.histc(x, bins=2), torch.tensor([1.0, 2.0]))


def test_wrong():
    compare.assert_agrees(Wrong.apply, torch.tensor([1.0, 2.0]))
'''


def test_a_plain_test_that_cannot_be_checked_is_an_error_and_compares_frames_are_hidden(tmp_path):
    (tmp_path / "test_plain.py").write_text(PLAIN_TESTS)
    proc = _pytest(["-q", "test_plain.py"], cwd=tmp_path)
    assert "1 failed, 1 error" in proc.stdout, proc.stdout
    assert "ERROR test_plain.py::test_unsupported" in proc.stdout, proc.stdout
    assert "FAILED test_plain.py::test_wrong" in proc.stdout, proc.stdout
    assert "compare/api.py" not in proc.stdout and "raise AssertionError(message)" not in proc.stdout, proc.stdout
    own = os.path.join(ROOT, "compare") + os.sep
    assert own not in proc.stdout, proc.stdout  # no frame of compare's, in the failure or the error's cause
    assert "test_plain.py:17: UnsupportedOp" in proc.stdout, proc.stdout  # the cause, at the user's line
    shown = _pytest(["-v", "test_plain.py"], cwd=tmp_path)
    assert "1 failed, 1 error" in shown.stdout and own + "symbolic" in shown.stdout, shown.stdout  # -v: all frames


IN_A_MODULE = '''
import torch
from torch import nn
import compare


def test_dropout_in_training():
    net = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5))
    compare.assert_agrees(net, (torch.ones(2, 3),))
'''


def test_an_error_inside_a_torch_module_is_located_at_the_users_line(tmp_path):
    (tmp_path / "test_module.py").write_text(IN_A_MODULE)
    proc = _pytest(["-q", "test_module.py"], cwd=tmp_path)
    assert "1 error" in proc.stdout, proc.stdout
    assert "compare: Sequential (test_module.py:9) could not be checked" in proc.stdout, proc.stdout
    assert "test_module.py:9: UnsupportedOp: op aten.bernoulli_" in proc.stdout, proc.stdout
    assert os.path.join(ROOT, "compare") + os.sep not in proc.stdout, proc.stdout
