"""`pytest --compare DIR -n 2` (pytest-xdist) gives each case the verdict `compare run DIR` gives.

`compare run` checks each case with `engine.check_case`; here that is called directly, so
that the test starts one process fewer.
"""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from compare.engine import check_case
from compare.load import discover, load_file

pytest.importorskip("xdist")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# every verdict: a wrong backward, a broken case, and (below) one that agrees and a kink
FILES = ["tests/user_cases/wrong_backward.py", "tests/bad_cases/raises.py"]
SMALL = ("import torch\nfrom compare import case\n\n"
         "@case(inputs={'x': torch.tensor([0.0, 1.0])}, order=1)\ndef relu_at_zero(x):\n"
         "    return torch.relu(x).sum()\n\n"
         "@case(inputs={'x': torch.tensor([0.5, 1.0])})\ndef sine(x):\n    return torch.sin(x).sum()\n")

OUTCOME = {"agree": "passed", "convention": "passed", "disagree": "failure", "error": "error"}
"""How pytest reports each verdict (see compare/pytest_plugin.py), as JUnit XML names the outcomes."""


def _outcomes(junit: str) -> dict[str, str]:
    found = {}
    for test in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in test if child.tag in ("failure", "error", "skipped")]
        found[test.get("name")] = kinds[0] if kinds else "passed"
    return found


def test_two_workers_give_the_verdicts_of_compare_run(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    for f in FILES:
        shutil.copy(os.path.join(ROOT, f), cases)
    (cases / "small.py").write_text(SMALL)
    # what `compare run` gives: the same loader, and check_case with the same seed and samples
    verdicts = {c.name: check_case(c, seed=0, samples=1).status
                for path in discover([str(cases)]) for c in load_file(path).cases}
    assert set(verdicts.values()) == set(OUTCOME)  # all four kinds are exercised

    junit = str(tmp_path / "junit.xml")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--compare", str(cases),
                           "--compare-samples", "1", "-n", "2",
                           f"--junitxml={junit}", "-q"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert "2 workers" in proc.stdout or "bringing up nodes" in proc.stdout, proc.stdout
    assert _outcomes(junit) == {name: OUTCOME[v] for name, v in verdicts.items()}, proc.stdout
    conventions = sorted(n for n, v in verdicts.items() if v == "convention")
    summary = proc.stdout.split("cases that agree under a convention")[-1]
    assert sorted(line.split(":")[0] for line in summary.splitlines()
                  if "agrees under a documented convention" in line) == conventions
