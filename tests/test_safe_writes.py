"""Reports are replaced all at once: a run that dies midway leaves the previous reports intact."""
import os
import signal
import subprocess
import sys

import pytest

from compare import cli, write
from compare.render import report
from compare.records import ERROR, CaseResult
from compare.records import Meta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
META = Meta(python="3", torch="2", sympy="1", seed=0, samples=0)


def _results(n=3):
    return [CaseResult(name=f"case{k}", file="c.py", line=k + 1, doc="", source="", status=ERROR,
                       error=f"c.py:{k + 1}: RuntimeError: broken {k}") for k in range(n)]


def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.fixture
def previous(tmp_path):
    out = tmp_path / "reports"
    write.write_reports(_results(2), META, str(out))
    return out, _snapshot(out)


def _leftovers(parent):
    return [n for n in os.listdir(parent) if n.startswith(".reports.")]


def test_a_renderer_dying_midway_leaves_the_previous_reports(previous, monkeypatch):
    out, before = previous
    calls = []
    real = report.render_case

    def dies_on_the_second_page(result, meta, **options):
        calls.append(result.name)
        if len(calls) == 2:
            raise RuntimeError("the run died here")
        return real(result, meta, **options)

    monkeypatch.setattr(report, "render_case", dies_on_the_second_page)
    with pytest.raises(RuntimeError, match="died here"):
        write.write_reports(_results(3), META, str(out))
    assert len(calls) == 2
    assert _snapshot(out) == before
    assert _leftovers(out.parent) == []


def _fail_the_swap(monkeypatch):
    """Make the rename of the new reports folder into place fail, as a full disk would."""
    real = os.rename

    def rename(src, dst):
        if os.path.basename(str(src)).startswith(".reports.new-"):
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(os, "rename", rename)


def test_a_failing_swap_puts_the_previous_reports_back(previous, monkeypatch):
    out, before = previous
    _fail_the_swap(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        write.write_reports(_results(3), META, str(out))
    assert _snapshot(out) == before
    assert _leftovers(out.parent) == []


def test_a_complete_run_replaces_the_reports_and_leaves_nothing_behind(previous):
    out, before = previous
    write.write_reports(_results(3), META, str(out))
    after = _snapshot(out)
    assert after != before and "case2.md" in after
    assert _leftovers(out.parent) == []


def test_an_interrupted_run_through_the_command_line_keeps_the_old_reports(previous, monkeypatch, capsys):
    out, before = previous
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))

    def interrupted(results, meta):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "render_index", interrupted)
    capsys.readouterr()
    assert cli.main(["run", "tests/mutations/sign_flip.py", "--out", str(out)]) == cli.INTERRUPTED
    assert capsys.readouterr().err.splitlines()[-1] == "interrupted"  # one line, no traceback
    assert _snapshot(out) == before
    assert _leftovers(out.parent) == []


def test_what_a_run_does_not_write_is_kept_and_stale_pages_go(previous):
    out, _ = previous
    (out / "notes.txt").write_text("mine")
    (out / "drafts").mkdir()
    (out / "drafts" / "a.md").write_text("draft")
    log = open(out / ".log", "w")  # a log still open for writing across the swap, as a hook keeps it
    log.write("before\n")
    log.flush()
    write.write_reports(_results(1), META, str(out))  # case1's page is stale now
    log.write("after\n")
    log.close()
    names = sorted(os.listdir(out))
    assert names == [".log", "case0.md", "drafts", "index.md", "notes.txt", "results.json"]
    assert (out / "notes.txt").read_text() == "mine" and (out / "drafts" / "a.md").read_text() == "draft"
    assert (out / ".log").read_text() == "before\nafter\n"  # the same file, moved, not a copy
    assert _leftovers(out.parent) == []


def test_a_failing_swap_puts_kept_entries_back_too(previous, monkeypatch):
    out, before = previous
    (out / "notes.txt").write_text("mine")
    _fail_the_swap(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        write.write_reports(_results(3), META, str(out))
    assert _snapshot(out) == {**before, "notes.txt": b"mine"}
    assert _leftovers(out.parent) == []


def test_the_reports_folder_keeps_its_mode(previous):
    out, _ = previous
    os.chmod(out, 0o755)
    write.write_reports(_results(3), META, str(out))
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o755)  # not mkdtemp's 0700


def test_a_new_reports_folder_takes_the_umask_default(tmp_path):
    mask = os.umask(0o027)
    try:
        write.write_reports(_results(1), META, str(tmp_path / "fresh"))
    finally:
        os.umask(mask)
    assert oct(os.stat(tmp_path / "fresh").st_mode & 0o777) == oct(0o750)


SLOW = '''import time

import torch
from compare import case


@case(inputs={"x": torch.tensor([1.0, 2.0])}, order=1)
def quick(x):
    return (x * x).sum()


@case(inputs={"x": torch.tensor([1.0, 2.0])}, order=1)
def endless(x):
    time.sleep(600)
    return x.sum()
'''


@pytest.mark.parametrize("jobs, whom", [("2", "terminal"), ("2", "parent"), ("1", "terminal")])
def test_ctrl_c_ends_with_one_line_and_130_and_stops_the_workers(previous, jobs, whom):
    """Ctrl-C in a terminal sends SIGINT to every process of the run (`terminal`); `kill -INT` to the
    parent alone (`parent`). Either way: exit 130, one line, no process left, the old reports whole."""
    out, before = previous
    (out.parent / "slow.py").write_text(SLOW)
    proc = subprocess.Popen([sys.executable, "-m", "compare", "run", str(out.parent / "slow.py"), "--out", str(out),
                             "--jobs", jobs, "--timeout", "0", "--samples", "1"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        lines = []
        for line in proc.stderr:  # the quick case is done, so the endless one is running
            lines.append(line)
            if "quick" in line:
                break
        assert lines and "ok  quick" in lines[-1], lines
        if whom == "terminal":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        rest = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == cli.INTERRUPTED, rest
    assert rest == f"interrupted before the reports were written: {out}/ is as it was\n"
    with pytest.raises(ProcessLookupError):  # the workers are gone with the parent
        os.killpg(proc.pid, 0)
    assert _snapshot(out) == before
    assert _leftovers(out.parent) == []
