"""`pytest --compare FOLDER`, tried as a new user would: the right cases pass, the wrong one fails."""
import importlib.metadata
import os
import subprocess
import sys
import textwrap

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
    return torch.cummax(x, 0)[0]
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
    assert "mycases/funcs.py:33: UnsupportedOp: op torch.cummax" in out


def test_the_project_cases_pass_under_the_plugin():
    run = _pytest(["--compare", "cases", "--compare-samples", "1", "-q"], cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
