"""The command line: exit codes, listing without running, and committed reports kept current."""
import json
import os
import platform
import subprocess
import sys

import pytest
import sympy
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compare(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "compare", *args], capture_output=True, text=True, cwd=cwd)


def test_all_agree_exits_0(tmp_path):
    proc = compare("run", "cases/notes", "--out", str(tmp_path / "r"), "--samples", "1")
    assert proc.returncode == 0, proc.stderr
    assert "5 agree" in proc.stdout
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert [c["status"] for c in doc["cases"]] == ["agree"] * 5
    assert doc["cases"][0]["gradient"] == {"x": "4*x"}


def test_a_broken_file_exits_2_and_the_others_still_run(tmp_path):
    (tmp_path / "good.py").write_text(
        "import torch\nfrom compare import case\n\n"
        "@case(inputs={'x': torch.tensor([1.0, 2.0])})\ndef good(x):\n    return (x * x).sum()\n")
    (tmp_path / "broken.py").write_text("import torch\nfrom compare import case\n\ndef oops(:\n")
    proc = compare("run", str(tmp_path), "--out", str(tmp_path / "r"), "--samples", "1")
    assert proc.returncode == 2
    assert "broken.py:4: SyntaxError" in proc.stderr
    assert "Traceback" not in proc.stderr
    statuses = {c["name"]: c["status"] for c in json.loads((tmp_path / "r" / "results.json").read_text())["cases"]}
    assert statuses == {"broken": "error", "good": "agree"}


def test_list_names_cases_without_running_them():
    proc = compare("list")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert any(line.startswith("cases/notes/autograd.py:") and ": dot" in line for line in lines)


def test_help_and_bad_arguments():
    assert compare("--help").returncode == 0
    assert compare("all", "--samples", "-1").returncode == 2


def _version(package):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _committed_reports() -> dict[str, bytes]:
    """reports/ as committed (git's HEAD), not as the working tree has it: `python -m compare all`,
    the README's first command, rewrites the working tree before the tests run."""
    listed = subprocess.run(["git", "ls-files", "-z", "reports"], cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: no committed reports to compare")
    names = [n for n in listed.stdout.decode().split("\0") if n]
    return {os.path.basename(n): subprocess.run(["git", "show", f"HEAD:{n}"], cwd=ROOT, capture_output=True,
                                                check=True).stdout for n in names}


def test_committed_reports_are_current(tmp_path):
    committed = _committed_reports()
    versions = json.loads(committed["results.json"])["versions"]
    here = {"python": platform.python_version(), "torch": torch.__version__, "sympy": sympy.__version__,
            "matplotlib": _version("matplotlib")}
    if versions != here:  # autograd's conventions and the pictures' bytes depend on these
        pytest.skip(f"reports were made with {versions}, this is {here}")
    out = tmp_path / "reports"
    proc = compare("all", "--out", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    fresh = {name: (out / name).read_bytes() for name in os.listdir(out)}
    assert sorted(fresh) == sorted(committed), "files differ: run `python -m compare all` and commit reports/"
    stale = sorted(name for name in fresh if fresh[name] != committed[name])
    assert not stale, f"stale: {stale}; run `python -m compare all` and commit reports/"


def test_cases_that_branch_start_first_and_the_rest_keep_their_order():
    from compare.batch import _longest_first
    from compare.load import load_file

    slots = list(load_file("cases/notes/autograd.py").cases)
    order = [slots[i].name for i in _longest_first(slots)]
    assert order == ["control_flow", "dot", "sum", "square", "detached"]


@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail the test if the run gets as far as looking for case files."""
    from compare import load

    def discover(paths):
        raise AssertionError("the cases ran before the output location was checked")

    monkeypatch.setattr(load, "discover", discover)
    monkeypatch.chdir(ROOT)


def _one_error_line(capsys, code):
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def test_out_an_existing_file_is_an_error_before_anything_runs(tmp_path, nothing_runs, capsys):
    from compare import cli

    target = tmp_path / "reports.txt"
    target.write_text("mine")
    line = _one_error_line(capsys, cli.main(["run", "cases/notes", "--out", str(target)]))
    assert line == f"--out {target}: exists and is not a folder; give a folder for the reports"
    assert target.read_text() == "mine"
    assert os.listdir(tmp_path) == ["reports.txt"]  # no staging folder left beside it


def test_out_under_a_file_is_an_error_before_anything_runs(tmp_path, nothing_runs, capsys):
    from compare import cli

    (tmp_path / "file").write_text("mine")
    line = _one_error_line(capsys, cli.main(["all", "--out", str(tmp_path / "file" / "sub" / "reports")]))
    assert line.endswith(f"{tmp_path / 'file'} is not a folder, so the reports cannot be written under it")


@pytest.mark.parametrize("out", ["/proc/rep", "/sys/rep"])
def test_out_where_even_root_cannot_write_is_an_error_before_anything_runs(out, nothing_runs, capsys):
    """Decided by trying: os.access says yes to root for /proc, where nothing can be made."""
    from compare import cli

    if not os.path.isdir(os.path.dirname(out)):
        pytest.skip(f"no {os.path.dirname(out)} here")
    line = _one_error_line(capsys, cli.main(["all", "--out", out]))
    assert line.startswith(f"--out {out}: cannot write in {os.path.dirname(out)} (making a folder there fails: ")


def test_out_that_does_not_exist_yet_is_fine(tmp_path):
    from compare import write

    assert write.out_problem(str(tmp_path / "a" / "b" / "reports")) is None
    assert write.out_problem(str(tmp_path)) is None
    assert os.listdir(tmp_path) == []  # the missing parents are not made, and the trial left nothing


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory whose reports/ holds the pages of cases `run` will not check."""
    from compare import write
    from compare.records import ERROR, CaseResult, Meta

    others = [CaseResult(name=f"other{k}", file="cases/o.py", line=k + 1, doc="", source="", status=ERROR,
                         error=f"cases/o.py:{k + 1}: RuntimeError: {k}") for k in range(2)]
    write.write_reports(others, Meta(python="3", torch="2", sympy="1", seed=0, samples=0),
                        str(tmp_path / "reports"))
    (tmp_path / "mine.py").write_text(
        "import torch\nfrom compare import case\n\n"
        "@case(inputs={'x': torch.tensor([1.0, 2.0])}, order=1)\ndef mine(x):\n    return (x * x).sum()\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path, {name: (tmp_path / "reports" / name).read_bytes() for name in os.listdir(tmp_path / "reports")}


def test_a_missing_path_is_refused_and_the_reports_are_kept(project, capsys):
    """`run cases/notes/dot.py` (no such file) once replaced reports/ by a one-row index."""
    from compare import cli

    folder, before = project
    line = _one_error_line(capsys, cli.main(["run", "cases/notes/dot.py"]))
    assert line == "cases/notes/dot.py: no such file or folder"
    line = _one_error_line(capsys, cli.main(["run", "mine.py", "notes.txt", "--out", "reports"]))
    assert line == "notes.txt: no such file or folder"  # the right path beside it does not run alone
    assert {n: (folder / "reports" / n).read_bytes() for n in os.listdir(folder / "reports")} == before


def test_all_without_a_cases_folder_is_refused(project, capsys):
    from compare import cli

    line = _one_error_line(capsys, cli.main(["all"]))
    assert line == "cases: no such folder (`all` checks the cases/ folder of the working directory)"


def test_a_file_that_is_not_python_is_refused(project, capsys):
    from compare import cli

    line = _one_error_line(capsys, cli.main(["run", "reports/index.md"]))
    assert line == "reports/index.md: not a Python file or a folder"


def test_run_without_out_leaves_the_other_cases_pages_alone(project, capsys):
    """`run` writes its own folder, reports/run/: the pages of the cases it did not check stay."""
    from compare import cli

    folder, before = project
    assert cli.main(["run", "mine.py", "--samples", "1", "-j", "1"]) == 0
    assert "Reports in reports/run/ (index.md, results.json)." in capsys.readouterr().out
    kept = {n: (folder / "reports" / n).read_bytes() for n in os.listdir(folder / "reports") if n != "run"}
    assert kept == before
    assert sorted(os.listdir(folder / "reports" / "run")) == ["index.md", "mine.md", "results.json"]
    assert [c["name"] for c in json.loads((folder / "reports" / "run" / "results.json").read_text())["cases"]] \
        == ["mine"]
    assert "[mine](mine.md)" in (folder / "reports" / "run" / "index.md").read_text()


def test_the_default_folders_are_the_ones_the_help_and_readme_name():
    from compare import cli

    assert compare("run", "--help").stdout.count("reports/run") >= 1
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = " ".join(f.read().split())
    assert f"`run` writes to `{cli.RUN_OUT}/`" in readme
    with open(os.path.join(ROOT, ".gitignore"), encoding="utf-8") as f:
        assert f"{cli.RUN_OUT}/" in f.read().split()


def test_list_says_it_misses_cases_declared_in_a_loop(tmp_path):
    (tmp_path / "looped.py").write_text(
        "import torch\nfrom compare import case\n\n"
        "@case(inputs={'x': torch.ones(2)})\ndef plain(x):\n    return x.sum()\n\n"
        "for k in (2.0, 3.0):\n    def scaled(x, k=k):\n        return (k * x).sum()\n"
        "    case(inputs={'x': torch.ones(2)})(scaled)\n")
    listed = compare("list", str(tmp_path)).stdout.splitlines()
    assert [line.split(": ")[-1] for line in listed] == ["plain"]  # the two in the loop are not read
    helped = compare("--help").stdout + compare("list", "--help").stdout
    assert "misses cases declared in a loop or through a helper" in " ".join(helped.split())
    assert "a case declared in a loop or through a helper function is not listed" in " ".join(helped.split())
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = " ".join(f.read().split())
    assert "`list` lists cases without running them" in readme
    assert "so it misses cases declared in a loop or through a helper" in readme


@pytest.mark.parametrize("args", [("list",), ("--help",)])
def test_a_closed_pipe_ends_quietly(args):
    """`python -m compare list | head -1`: the reader goes away; no BrokenPipeError traceback."""
    read, write = os.pipe()
    os.close(read)  # no reader at all: the first flush meets EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "compare", *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT)
    finally:
        os.close(write)
    assert "BrokenPipeError" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr == ""


KNOWN_WRONG = '''import torch
from compare import case


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * FACTOR * x ** 2


@case(inputs={"x": torch.tensor([0.5, -1.0])}, known_wrong="the backward's factor is 2, not 3")
def cube(x):
    return Cube.apply(x)
'''


@pytest.mark.parametrize("factor, code", [(2, 0), (3, 1)])
def test_a_case_declared_known_wrong_must_disagree(tmp_path, factor, code):
    """Like a strict xfail: the caught bug passes the run; a bug not caught fails it."""
    path = tmp_path / "known.py"
    path.write_text(KNOWN_WRONG.replace("FACTOR", str(factor)))
    proc = compare("run", str(path), "--out", str(tmp_path / "r"), "--samples", "1")
    assert proc.returncode == code, proc.stdout + proc.stderr
    page = (tmp_path / "r" / "cube.md").read_text()
    assert "Wrong on purpose (`known_wrong`): the backward's factor is 2, not 3." in page
    entry = json.loads((tmp_path / "r" / "results.json").read_text())["cases"][0]
    assert entry["known_wrong"] == "the backward's factor is 2, not 3"
    assert entry["status"] == ("disagree" if factor == 2 else "agree")
