"""The numeric oracles beside reverse mode, and second derivatives, against known values."""
import math

import numpy as np
import pytest
import sympy
import torch

from compare import case
from compare.exact import differentiate
from compare.numeric import oracles
from compare.case import collecting
from compare.engine import check_case
from compare.load import load_file
from compare.plan import FULL_LIMIT
from compare.exact.sym import input_symbols

X = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)


def _one(declare):
    with collecting() as found:
        declare()
    return found[0]


def test_forward_mode_gives_the_gradient_and_the_jacobian():
    got = oracles.forward_mode(lambda x: x**3, {"x": X})
    np.testing.assert_array_equal(got.grads["x"], 3 * X.numpy() ** 2)
    np.testing.assert_array_equal(got.jacobian["x"], np.diag(3 * X.numpy() ** 2))


def test_forward_mode_sees_detach():
    got = oracles.forward_mode(lambda x: (x * x).detach() * x, {"x": X})
    np.testing.assert_array_equal(got.grads["x"], X.numpy() ** 2)


def test_finite_differences_step_and_error_estimate():
    got = oracles.finite_difference(lambda x: torch.exp(x).sum(), {"x": X})
    exact = np.exp(X.numpy())
    assert np.all(np.abs(got.grads["x"] - exact) <= got.estimate)  # the estimate bounds the error
    assert got.estimate < 1e-9
    assert got.step == oracles._EPS ** oracles.FD_EPS_POWER * 2.0  # eps^(1/5) * max(1, |x|), |x| = 2


def test_finite_differences_cannot_see_detach():
    got = oracles.finite_difference(lambda x: ((x * x).detach() * x).sum(), {"x": X})
    np.testing.assert_allclose(got.grads["x"], 3 * X.numpy() ** 2, rtol=1e-9)  # not x**2


def test_finite_differences_shrink_the_step_to_stay_in_the_piece():
    def f(x):
        return 3 * x if x > 1e-6 else -x

    got = oracles.finite_difference(f, {"x": torch.tensor(2e-6, dtype=torch.float64)})
    assert got.step < 1e-6 and not got.crossed
    assert abs(float(got.grads["x"]) - 3) < 1e-6


def test_crossing_is_reported_only_when_the_smallest_step_crosses_too():
    def f(x):
        return 3 * x if x > 1e-6 else -x

    h = oracles._EPS ** oracles.FD_EPS_POWER / 8 ** oracles._SHRINKS  # the smallest step tried, ~4.4e-11
    inside = oracles.finite_difference(f, {"x": torch.tensor(1e-6 + 2 * h, dtype=torch.float64)})
    assert not inside.crossed and inside.step == h
    assert abs(float(inside.grads["x"]) - 3) < 1e-3
    assert oracles.finite_difference(f, {"x": torch.tensor(1e-6 + h / 8, dtype=torch.float64)}).crossed


def test_large_inputs_are_checked_along_a_direction():
    x = torch.linspace(-1, 1, 100, dtype=torch.float64)
    u = oracles.direction({"x": x}, 7).numpy()
    want = float(np.dot(2 * x.numpy(), u))
    fwd = oracles.forward_mode(lambda x: (x * x).sum(), {"x": x}, seed=7)
    fd = oracles.finite_difference(lambda x: (x * x).sum(), {"x": x}, seed=7)
    assert set(fwd.grads) == {"u"} and math.isclose(float(fwd.grads["u"]), want, rel_tol=1e-14)
    assert abs(float(fd.grads["u"]) - want) <= fd.estimate + 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_seed_gives_every_oracle_one_direction(seed):
    """Above FULL_LIMIT entries forward mode, finite differences and the exact side share u."""
    import compare

    x = torch.linspace(-1, 1, 80, dtype=torch.float64)
    assert x.numel() > FULL_LIMIT
    result = compare.check(lambda x: (x**3).sum(), inputs={"x": x}, seed=seed, samples=1)
    assert result.status == "agree"
    for point in result.points:
        for name in ("forward", "finite_difference"):
            found = point.oracles[name]
            assert found.mode == "directional" and found.errors.agree, (seed, point.origin, name, found.errors)


def test_exact_hessian_term_by_term():
    syms = {"x": input_symbols("x", (2,))}
    x0, x1 = syms["x"]
    out = np.array(x0**2 * x1 + sympy.sin(x1), dtype=object)
    h = differentiate.hessian(differentiate.gradient(out, syms), syms)
    assert sympy.Matrix(h) == sympy.Matrix([[2 * x1, 2 * x0], [2 * x0, -sympy.sin(x1)]])
    point = {"x": torch.tensor([0.5, 2.0], dtype=torch.float64)}
    got = oracles.autograd_hessian(lambda x: x[0] ** 2 * x[1] + torch.sin(x[1]), point)
    np.testing.assert_allclose(got, [[4.0, 1.0], [1.0, -math.sin(2.0)]], rtol=1e-15)
    hv = differentiate.hessian_vector(differentiate.gradient(out, syms), syms, [1, 0])
    assert list(hv) == [2 * x1, 2 * x0]


def test_case_hessians_full_directional_and_opt_out():
    def declare():
        @case(inputs={"x": torch.tensor([1.0, 2.0])})
        def cubic(x):
            return (x**3).sum() * x[0]

    r = check_case(_one(declare), samples=1)
    assert r.status == "agree"
    assert all(p.hessian.mode == "full" and p.hessian.errors.agree for p in r.points)
    np.testing.assert_allclose(r.points[0].hessian.autograd, [[12, 12], [12, 12]])

    def wide():
        @case(inputs={"x": torch.linspace(-1, 1, 21)}, samples=0)
        def quartic(x):
            return (x**4).sum()

    w = check_case(_one(wide))
    assert w.points[0].hessian.mode == "directional" and w.points[0].hessian.errors.agree
    assert "H v" in w.hessian_note

    def first_only():
        @case(inputs={"x": torch.tensor([1.0, 2.0])}, order=1, samples=0)
        def plain(x):
            return (x**3).sum()

    f = check_case(_one(first_only))
    assert f.points[0].hessian is None and "order=1" in f.hessian_note


def test_a_wrong_second_derivative_is_disagree():
    class FlatBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x.detach() ** 2  # right value, but its own derivative is lost

    def declare():
        @case(inputs={"x": torch.tensor([1.0, 2.0])}, samples=0)
        def cube(x):
            return FlatBackward.apply(x).sum()

    r = check_case(_one(declare))
    assert r.status == "disagree"
    assert "Hessian" in r.points[0].note


def test_every_point_has_four_oracles_and_detach_is_explained():
    r = {c.name: check_case(c, samples=1) for c in load_file("cases/notes/autograd.py").cases
         if c.name in ("dot", "detached")}
    for result in r.values():
        assert result.status == "agree"
        for p in result.points:
            assert set(p.oracles) == {"symbolic", "reverse", "forward", "finite_difference"}
            assert p.oracles["reverse"].errors.agree and p.oracles["forward"].errors.agree
    fd = r["detached"].points[0].oracles["finite_difference"]
    assert not fd.errors.agree and "detach" in fd.note  # it differs, and that is not a failure
    assert r["dot"].points[0].oracles["finite_difference"].errors.agree


def test_hessian_vector_equals_the_full_hessian_times_v_with_cross_terms():
    x = input_symbols("x", (3,))
    w = input_symbols("w", (2,))
    syms = {"x": x, "w": w}
    out = np.array(sympy.sin(x[0] * x[1]) * w[0] + x[2] ** 3 * w[1] ** 2 + sympy.exp(x[0] * w[1]), dtype=object)
    grad = differentiate.gradient(out, syms)
    v = [sympy.Rational(1, 3), -2, 5, sympy.Rational(7, 2), -1]
    full = sympy.Matrix(differentiate.hessian(grad, syms)) * sympy.Matrix(v)
    hv = differentiate.hessian_vector(grad, syms, v)
    assert all(sympy.simplify(a - b) == 0 for a, b in zip(hv, full))


F32 = torch.tensor([[1.0, -0.5], [0.25, 2.0]])  # a case's own constant, float32 as torch makes it


def test_oracles_run_float32_constants_and_inner_grads_in_float64():
    """Every float64 oracle runs the case as autograd's float64 run does: its float32 constants are
    cast up where they meet the inputs, and the inputs require grad (a case may differentiate inside)."""
    point = {"w": torch.tensor([0.5, -1.0], dtype=torch.float64)}
    mixed = lambda w: torch.addmv(w, F32, w).square().sum()  # noqa: E731  (fails on mixed dtypes)
    want = 2 * (np.eye(2) + F32.double().numpy()).T @ (point["w"].numpy() + F32.double().numpy() @ point["w"].numpy())
    np.testing.assert_allclose(oracles.forward_mode(mixed, point).grads["w"], want, rtol=1e-15)
    np.testing.assert_allclose(oracles.finite_difference(mixed, point).grads["w"], want, rtol=1e-9)
    assert oracles.autograd_hessian(mixed, point).shape == (2, 2)

    def inner(x):
        (first,) = torch.autograd.grad(torch.sin(x).sum(), x, create_graph=True)
        return first

    # vmap cannot run autograd.grad inside: forward mode gives the derivative along u, by one jvp
    u = oracles.direction({"x": X}, 0)
    np.testing.assert_allclose(oracles.forward_mode(inner, {"x": X}, u=u).grads["u"],
                               -np.sin(X.numpy()) @ u.numpy(), rtol=1e-14)
    np.testing.assert_allclose(oracles.finite_difference(inner, {"x": X}).grads["x"], -np.sin(X.numpy()),
                               rtol=1e-9)


def test_every_library_case_gets_every_oracle():
    """No oracle fails on the shipped cases, and off kinks forward mode agrees with the exact value."""
    import glob

    for path in sorted(glob.glob("cases/**/*.py", recursive=True)):
        for c in load_file(path).cases:
            r = check_case(c, samples=0)
            for p in r.points:
                if p.origin.startswith("piece "):  # they decide no status: not run inside every piece
                    assert p.oracles is None, (c.name, p.origin)
                    continue
                for name in ("forward", "finite_difference"):
                    if name == "forward" and "implement the jvp function" in p.oracles[name].note:
                        continue  # a custom Function without a jvp: forward mode cannot run, as torch says
                    assert p.oracles[name].values is not None, (c.name, name, p.oracles[name].note)
                explained = "does not stop forward-mode AD" in p.oracles["forward"].note  # no_grad, as documented
                # a case declared wrong may be wrong in forward mode too (torch.normal's jvp is 0, as its vjp)
                explained = explained or bool(c.options.get("known_wrong"))
                if not p.allowed and p.oracles["forward"].values is not None and not explained:  # off kinks
                    assert p.oracles["forward"].errors.agree, (c.name, p.origin)
                if p.hessian is not None:
                    assert p.hessian.autograd is not None, (c.name, p.hessian.note)


@pytest.mark.parametrize("fn", [
    lambda x: (x * x).sum() * x[0], lambda x: torch.tanh(x).pow(2).sum(), lambda x: x.sum(),
    lambda x: torch.ones(()) + 0 * x.detach().sum(), lambda x: torch.softmax(x, 0)[1] * x[2],
    lambda x: torch.relu(x).sum() + torch.linalg.norm(x), lambda x: (x.clone().mul_(2) ** 3).sum(),
])
def test_the_hessian_is_torchs_functional_hessian_to_the_bit(fn):
    from compare.numeric.oracles import _hessian

    x = torch.tensor([0.3, -1.2, 2.0, 0.7], dtype=torch.float64)
    total = lambda v: fn(v).to(torch.float64).sum()
    want = torch.autograd.functional.hessian(total, x.clone())
    got = _hessian(total, x.clone())
    assert got.shape == want.shape and got.dtype == want.dtype
    assert torch.equal(got.view(torch.int64), want.view(torch.int64))


def test_the_hessian_fails_where_torchs_functional_hessian_fails():
    from compare.numeric.oracles import _hessian

    def in_place(x):  # in place on a view of a leaf that requires grad
        return (x.mul_(2) ** 3).sum()

    x = torch.tensor([0.3, -1.2], dtype=torch.float64)
    with pytest.raises(RuntimeError) as want:
        torch.autograd.functional.hessian(in_place, x.clone())
    with pytest.raises(RuntimeError) as got:
        _hessian(in_place, x.clone())
    assert str(got.value) == str(want.value)


def _bits(a) -> bytes:
    return np.asarray(a, dtype=np.float64).tobytes()


def test_the_shared_float64_run_gives_what_the_two_runs_give_alone_to_the_bit():
    from compare import numeric

    def branchy(x):
        y = x * 2
        while y.norm() < 10:
            y = y * torch.tanh(y + 1) + y
        return (y * torch.sin(x)).sum() if y.sum() > 0 else -y.sum()

    for fn, point in [(branchy, {"x": X}), (branchy, {"x": torch.tensor(0.8, dtype=torch.float64)}),
                      (lambda x: x * torch.zeros(()), {"x": X}),  # a gradient of zeros and -0.0
                      (lambda x: x.detach() * 2, {"x": X})]:  # the output does not depend on x
        run, hessian = oracles.gradient_and_hessian(fn, point)
        alone = numeric.autograd_run(fn, point, torch.float64)
        assert hessian is not None
        assert _bits(run.output) == _bits(alone.output) and run.path == alone.path
        assert run.grads.keys() == alone.grads.keys()
        assert all(_bits(run.grads[n]) == _bits(alone.grads[n]) for n in run.grads)
        assert _bits(hessian()) == _bits(oracles.autograd_hessian(fn, point))


def test_the_shared_float64_run_leaves_the_hessian_to_its_own_run_where_it_would_differ():
    two = {"x": X, "y": X.clone()}
    run, hessian = oracles.gradient_and_hessian(lambda x, y: (x * y).sum(), two)
    assert hessian is None and run.grads["x"].tolist() == X.tolist()
    _, hessian = oracles.gradient_and_hessian(lambda x: (x * x).sum().to(torch.float32), {"x": X})  # float32
    assert hessian is None
    with torch.no_grad():
        _, hessian = oracles.gradient_and_hessian(lambda x: (x * x).sum(), {"x": X})
    assert hessian is None


def test_the_shared_run_gives_a_custom_functions_hessian_as_its_own_run_does():
    class Once(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    fn = lambda x: Once.apply(x).sum()  # noqa: E731
    run, hessian = oracles.gradient_and_hessian(fn, {"x": X})
    np.testing.assert_array_equal(run.grads["x"], 3 * X.numpy() ** 2)
    assert _bits(hessian()) == _bits(oracles.autograd_hessian(fn, {"x": X}))
