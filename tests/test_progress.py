"""Progress on long runs: a line redrawn on a terminal, nothing of it in a pipe or in CI."""
import io
import os
import pty
import select
import subprocess
import sys

from compare.progress import ERASE, Progress, wanted

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TWO = ("import torch\nfrom compare import case\n\n"
       "@case(inputs={'x': torch.tensor([1.0, 2.0])}, order=1)\ndef first(x):\n    return (x * x).sum()\n\n"
       "@case(inputs={'x': torch.tensor([1.0, 2.0])}, order=1)\ndef second(x):\n    return torch.sin(x).sum()\n")


def _run(tmp_path) -> list[str]:
    (tmp_path / "two.py").write_text(TWO)
    return [sys.executable, "-m", "compare", "run", str(tmp_path / "two.py"), "--samples", "1", "-j", "1",
            "--out", str(tmp_path / "r")]


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(extra)
    return env


def _in_a_terminal(args, env) -> tuple[int, str]:
    """Run `args` with stdout and stderr on a pseudo-terminal; (exit code, everything it wrote)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return proc.wait(), seen.decode("utf-8", "replace")


def test_a_terminal_shows_cases_done_the_current_case_and_the_time(tmp_path):
    code, seen = _in_a_terminal(_run(tmp_path), _env())
    assert code == 0, seen
    assert "[0/2] " in seen and "[2/2] " in seen
    assert " · checking first" in seen and "[1/2] " in seen and " · checking second" in seen
    assert ERASE in seen
    assert "ok  first" in seen  # the per-case lines are still printed, above the progress line


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_ci_keeps_a_terminal_quiet(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert wanted(_Terminal())
    monkeypatch.setenv("CI", "true")
    assert not wanted(_Terminal())
    out = _Terminal()
    progress = Progress(["a"], stream=out)  # as `run` makes it: enabled by `wanted(stream)`
    progress.started(0)
    progress.done(0, "      ok  a")
    progress.close()
    assert out.getvalue() == "      ok  a\n"


def test_a_pipe_gets_the_per_case_lines_alone(tmp_path):
    proc = subprocess.run(_run(tmp_path), capture_output=True, text=True, cwd=ROOT,
                          env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "\033" not in proc.stderr and "[0/2]" not in proc.stderr
    assert [line.split()[:2] for line in proc.stderr.splitlines()] == [["ok", "first"], ["ok", "second"]]


def test_the_line_counts_and_names_what_runs():
    out = io.StringIO()
    progress = Progress(["a", "b", "c"], stream=out, enabled=True)
    progress.started(0)
    progress.started(1)
    assert progress.text().startswith("[0/3] ") and progress.text().endswith(" · checking a, b")
    progress.done(0, "      ok  a")
    assert progress.text().startswith("[1/3] ") and progress.text().endswith(" · checking b")
    progress.close()
    assert "      ok  a\n" in out.getvalue()
    assert not wanted(io.StringIO())  # not a terminal
