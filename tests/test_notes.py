"""The five notes functions: SymPy and autograd give what the notes say, at the notes' point."""
import numpy as np
import pytest

from compare.engine import check_case
from compare.load import load_file

NOTES = "cases/notes/autograd.py"


@pytest.fixture(scope="module")
def results():
    loaded = load_file(NOTES)
    assert loaded.error is None
    return {c.name: check_case(c, seed=0, samples=2) for c in loaded.cases}


X = np.arange(4.0)


@pytest.mark.parametrize("name, expected", [
    ("dot", 4 * X), ("sum", np.ones(4)), ("square", 2 * X), ("detached", X * X)])
def test_gradient_at_the_notes_point(results, name, expected):
    r = results[name]
    assert r.status == "agree"
    example = r.points[0]
    assert example.origin == "example"
    np.testing.assert_array_equal(example.inputs["x"], X)
    np.testing.assert_array_equal(example.symbolic["x"], expected)
    np.testing.assert_array_equal(example.autograd["x"], expected)
    assert example.claim_exact is True
    assert all(p.claim == "proven" for p in r.pieces)


def test_readable_derivatives(results):
    from compare.render.notation import readable_gradient

    assert readable_gradient(results["dot"], "x") == "4*x"
    assert readable_gradient(results["sum"], "x") == "1"
    assert readable_gradient(results["square"], "x") == "2*x"
    assert readable_gradient(results["detached"], "x") == "detach(x**2)"


def test_non_scalar_backward_raises_as_the_notes_say(results):
    r = results["square"]
    assert r.output_shape == (4,)
    assert "only for scalar outputs" in r.backward_error
    assert all(p.jacobian_errors is not None and p.jacobian_errors.agree for p in r.points)


def test_control_flow_agrees_on_every_piece(results):
    r = results["control_flow"]
    assert r.status == "agree"
    assert len(r.pieces) > 60  # one per loop count and sign, down to the probability bound
    assert all(p.claim == "proven" for p in r.pieces)
    assert {p.piece for p in r.points} == set(range(len(r.pieces)))
    assert len(r.uncovered) == 1 and r.uncovered[0].probability < 1e-9
