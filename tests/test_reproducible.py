"""The same seed gives byte-identical reports, whatever the interpreter's hash seed and the number of jobs."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _files(folder):
    found = {}
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found


def test_two_runs_with_different_hash_seeds_and_jobs_give_identical_bytes(tmp_path):
    runs = []
    for hash_seed, jobs in (("1", "1"), ("4242", "2")):
        out = tmp_path / f"reports-{hash_seed}"
        env = dict(os.environ, PYTHONHASHSEED=hash_seed,
                   PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
        proc = subprocess.Popen([sys.executable, "-m", "compare", "all", "--out", str(out), "--jobs", jobs], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        runs.append((out, proc))
    outputs = []
    for out, proc in runs:  # both run at once: the test takes as long as one run
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr.decode()
        outputs.append((out, stdout))
    (a, out_a), (b, out_b) = outputs
    first, second = _files(a), _files(b)
    assert "results.json" in first and "index.md" in first
    assert sorted(first) == sorted(second)
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"these files differ between the runs: {differ}"
    assert out_a.replace(bytes(a), b"OUT") == out_b.replace(bytes(b), b"OUT")
