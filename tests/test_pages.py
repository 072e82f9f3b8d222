"""Pages a reader can take in: long formulas by their shape, long tables folded, one notation, right plurals,
and figures explained where they would mislead."""
import re

import sympy
import torch

import compare
from compare import cli
from compare.engine import check_case
from compare.load import load_file
from compare.records import Meta
from compare.render.report import render_case, render_index

META = Meta(python="3", torch="2", sympy="1", seed=0, samples=4)


def _case(path, name, **options):
    return check_case(next(c for c in load_file(path).cases if c.name == name), **options)


def _outside_folds(page: str) -> str:
    return re.sub(r"(?s)<details>.*?</details>", "", page)


def test_a_long_formula_is_shown_by_its_shape_with_every_entry_folded():
    from compare.render.formulas import LONGEST_SHOWN

    result = _case("cases/idioms/torchscript.py", "fused_bias_gelu")
    page = render_case(result, META)
    assert max(len(line) for line in _outside_folds(page).splitlines()) <= LONGEST_SHOWN, "a formula not folded"
    assert "Too long to write out here (" in page and "the Hessian H, 6×6 (36 entries, 24 of them 0)" in page
    folded = re.search(r"(?s)<details><summary>The Hessian H, every entry.*?```text\n(.*?)```", page).group(1)
    entries = dict(line.split(" = ", 1) for line in folded.splitlines())
    hessian = result.pieces[0].hessian
    assert len(entries) == hessian.size
    symbols = {str(s): s for values in result.symbols.values() for s in values.flat}
    at = {s: sympy.Rational(k + 1, 7) for k, s in enumerate(symbols.values())}
    read = sympy.sympify(entries["H[0, 3]"], locals=symbols)  # the full form, read back: the same value
    assert abs(sympy.N((read - hessian[0, 3]).subs(at), 40)) < 1e-30 and hessian[0, 3] != 0


def test_a_long_piece_table_is_folded_after_its_first_rows():
    from compare.render.cells import SHOWN_ROWS

    page = render_case(_case("cases/notes/autograd.py", "control_flow"), META)
    pieces = page.split("## Pieces", 1)[1].split("\n## ", 1)[0]
    shown, folded = pieces.split("<details>", 1)
    assert len(re.findall(r"^\|\s+\d+ \|", shown, re.M)) == SHOWN_ROWS
    assert "72 more pieces (of 82)" in folded and len(re.findall(r"^\|\s+\d+ \|", folded, re.M)) == 72


def test_a_page_and_the_index_write_heaviside_alike():
    result = compare.check(torch.relu, (torch.tensor([-1.0, 0.5, 2.0]),), samples=1)
    page, index = render_case(result, META), render_index([result], META)
    assert "Heaviside(x)" in index
    assert r"\theta" not in page and r"\operatorname{Heaviside}\left(x\right)" in page
    assert r"\delta" not in page  # its Hessian's DiracDelta, named as SymPy's text names it


def test_one_of_each_is_said_in_the_singular(tmp_path, capsys):
    case_file = tmp_path / "single.py"
    case_file.write_text("import torch\nfrom compare import case\n\n"
                         "@case(inputs={'x': torch.tensor([0.5, 1.0])}, samples=0)\n"
                         "def single(x):\n    return torch.sin(x)\n\n"
                         "@case(inputs={'x': torch.tensor([0.5, 1.0])}, samples=0)\n"
                         "def broken(x):\n    return torch.histc(x)\n")
    assert cli.main(["run", str(case_file), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 2
    said = capsys.readouterr()
    index = (tmp_path / "out" / "index.md").read_text()
    for text in (said.out, said.err, index):
        assert not re.search(r"\b1 (cases|points|pieces|errors)\b", text), text
    assert "2 cases: 1 agree, 0 convention, 0 disagree, 1 error." in index and "(1 point, 1 piece" in said.err


def test_zero_ulps_beside_an_error_say_the_value_is_correctly_rounded():
    result = compare.check(lambda x: (x * x).detach() * x, {"x": torch.tensor([0.1, 1.3])}, samples=0)
    assert result.points[0].errors.max_abs > 0 and result.points[0].errors.max_ulp == 0  # x*x rounded, once
    assert "(0 ULP, correctly rounded)" in render_index([result], META)
    assert "0 beside a nonzero abs err means autograd's value is the exact one correctly rounded" in \
        render_case(result, META)


def test_a_proven_claim_whose_equality_fails_by_rounding_says_so():
    result = _case("cases/blocks/activations.py", "tanh")
    assert result.status == "agree" and result.pieces[0].claim == "proven"
    failed = sum(p.claim_exact is False for p in result.points)
    assert failed  # the notes' == is False where autograd agrees
    assert f"{len(result.points) - failed}/{len(result.points)} hold (rounding)" in render_index([result], META)
    assert f"The notes' `==` fails at {failed} point" in render_case(result, META)
