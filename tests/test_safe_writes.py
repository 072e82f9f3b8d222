"""Reports are replaced all at once: a run that dies midway leaves the previous reports intact."""
import os

import pytest

from compare import cli, write
from compare.render import report
from compare.records import ERROR, CaseResult
from compare.records import Meta

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
    with pytest.raises(KeyboardInterrupt):
        cli.main(["run", "tests/mutations/sign_flip.py", "--out", str(out)])
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
