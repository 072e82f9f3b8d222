"""The checker can fail: a wrong backward, a wrong claim, in a user's own folder."""
import subprocess
import sys

import torch

from compare import case
from compare.case import collecting
from compare.engine import check_case
from compare.load import load_file


def _one(fn_maker):
    with collecting() as found:
        fn_maker()
    return found[0]


def test_wrong_backward_is_disagree():
    r = [check_case(c) for c in load_file("tests/user_cases/wrong_backward.py").cases]
    assert [x.status for x in r] == ["disagree"]
    assert all(p.status == "disagree" for p in r[0].points)


def test_user_folder_gets_the_right_verdicts():
    r = {c.name: check_case(c) for c in load_file("tests/user_cases/my_cases.py").cases}
    assert {n: x.status for n, x in r.items()} == {"cube": "agree", "two_inputs": "agree",
                                                   "fixed_loop": "agree"}
    assert len(r["fixed_loop"].pieces) == 1
    assert r["two_inputs"].pieces[0].claim == "proven"


def test_wrong_claim_is_disproven():
    def declare():
        @case(inputs={"x": torch.tensor([1.0, 2.0])}, expect=lambda x: 3 * x)
        def square_sum(x):
            return (x * x).sum()

    r = check_case(_one(declare))
    assert r.status == "disagree"
    assert r.pieces[0].claim == "disproven"
    assert all(p.claim_exact is False for p in r.points)


def test_run_on_a_user_folder_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "compare", "run", "tests/user_cases", "--out",
                           str(tmp_path / "out"), "--samples", "1"], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "DISAGREE  bad_cube" in proc.stderr
    assert (tmp_path / "out" / "index.md").exists()
