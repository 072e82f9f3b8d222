"""Progress on long runs: a line redrawn on a terminal, nothing of it in a pipe or in CI."""
import io
import os
import pty
import re
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


SLOW_CHECK = ("import time, torch, compare\n"
              "def f(x):\n"
              "    time.sleep(0.05)  # a check of several seconds, however fast the machine\n"
              "    return (x * x).sum()\n"
              "print(compare.check(f, (torch.tensor([1.0, 2.0]),)).status)\n")


def test_one_long_check_shows_its_stage_and_time_on_a_terminal():
    """`compare.check` at a terminal: one line redrawn with the stage and the time, erased at the end."""
    code, seen = _in_a_terminal([sys.executable, "-c", SLOW_CHECK], _env())
    assert code == 0, seen
    drawn = [part for part in seen.split(ERASE) if part]
    assert drawn[-1] == "agree\r\n"  # the line is erased before the result is printed
    assert all(re.fullmatch(r"\d+\.\d s · checking f(: .+)?", part) for part in drawn[:-1]), drawn
    stages = {part.partition(": ")[2] for part in drawn[:-1]}
    assert {f"autograd at point {k} of 5" for k in range(2, 6)} <= stages, stages


def test_one_check_is_quiet_in_a_pipe_and_in_ci():
    piped = subprocess.run([sys.executable, "-c", SLOW_CHECK], capture_output=True, text=True, cwd=ROOT, env=_env())
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "agree\n", "")
    code, seen = _in_a_terminal([sys.executable, "-c", SLOW_CHECK], _env(CI="true"))
    assert (code, seen) == (0, "agree\r\n")


def test_the_engine_reports_its_stages_to_one_listener():
    import torch

    from compare import progress
    from compare.api import as_case
    from compare.engine import check_case

    def branches(x):
        return x.sum() if x[0] > 0 else -x.sum()

    heard = []
    token = progress._LISTENER.set(heard.append)
    try:
        result = check_case(as_case(branches, (torch.tensor([1.0, -2.0]),), order=1), samples=1)
    finally:
        progress._LISTENER.reset(token)
    assert (len(result.pieces), len(result.points)) == (2, 4)  # the example, a sample, a point in each piece
    assert heard == ["making the symbols and the points", "exploring the control flow",
                     "deriving, piece 1 of 2", "deriving, piece 2 of 2", "finding kinks", "the code once more in float64, piece 1 of 2",
                     "the code once more in float64, piece 2 of 2", "exact values at every point"] + \
        [f"autograd at point {k} of 4" for k in range(1, 5)]
    progress.stage("nobody listens")  # outside a check: nothing, no error


def test_a_check_shorter_than_a_tick_draws_nothing_and_a_check_inside_a_check_draws_no_line_of_its_own(
        monkeypatch):
    from compare import progress

    monkeypatch.setattr(progress, "TICK", 3600.0)  # the block is over long before the first redraw
    terminal = _Terminal()
    heard = []
    with progress.one_check("outer", stream=terminal):
        progress.stage("exploring the control flow")
        token = progress._LISTENER.set(heard.append)  # stands for the outer line
        with progress.one_check("inner", stream=terminal):
            progress.stage("deriving")
        progress.stage("exact values at every point")
        progress._LISTENER.reset(token)
    assert terminal.getvalue() == ""
    assert heard == ["exact values at every point"]  # the inner check's stages are not the outer's


def test_the_line_of_one_case_leaves_out_the_count_and_names_the_stage():
    out = io.StringIO()
    progress = Progress(["f"], stream=out, enabled=True)
    progress.started(0)
    progress.stage("deriving")
    assert re.fullmatch(r"0\.\d s · checking f: deriving", progress.text())
    progress.close()
    assert out.getvalue().endswith(ERASE)
