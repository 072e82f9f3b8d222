"""Control flow as pieces: forks, pruning, loop bounds, uncovered regions, points in every piece."""
import sympy
import torch

from compare import case
from compare.case import collecting
from compare.engine import check_case
from compare.explore import explore
from compare.explore.feasible import Feasibility
from compare.exact.sym import input_symbols, truth
from compare.symbolic import SymTensor


def declare(fn, **kwargs):
    with collecting() as found:
        case(**kwargs)(fn)
    return found[0]


def pieces_of(fn, shape=(), **kwargs):
    syms = input_symbols("a", shape)
    feasibility = Feasibility(list(syms.flat))
    return explore(fn, {"a": SymTensor(syms)}, feasibility=feasibility, **kwargs)


def nested(a):
    if a > 0:
        if a > 1:
            return a * 3
        return a * 2
    if a > 1:  # infeasible under a <= 0: must be pruned, not forked
        return a * 100
    return -a


def test_forks_only_where_both_sides_are_feasible():
    ex = pieces_of(nested)
    outputs = [str(p.output[()]) for p in ex.pieces]
    assert sorted(outputs) == ["-a", "2*a", "3*a"]
    assert [len(p.decisions) for p in ex.pieces] == [2, 2, 2]
    assert ex.uncovered == ()
    # the decision at `a > 1` under `a <= 0` was taken without a fork
    negative = next(p for p in ex.pieces if str(p.output[()]) == "-a")
    assert [d.taken for d in negative.decisions] == [False, False]


def test_every_piece_gets_a_point_strictly_inside():
    r = check_case(declare(nested, inputs={"a": torch.tensor(0.5)}))
    assert r.status == "agree"  # no point on a boundary, where the function has a kink
    for piece in r.pieces:
        inside = [p for p in r.points if p.piece == piece.index and p.origin.startswith("piece")]
        assert len(inside) == 1
        value = sympy.Rational(float(inside[0].inputs["a"]))
        assert piece.condition.subs(sympy.Symbol("a", real=True), value) is sympy.true


def doubling(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    return b


def test_loop_bound_cuts_and_reports_the_rest():
    ex = pieces_of(doubling, loop_bound=5)
    assert len(ex.pieces) == 5  # exits after 0..4 doublings
    (cut,) = ex.uncovered
    assert cut.reason.startswith("loop bound 5")
    # still looping after 5 doublings: |a| < 1000/64, nearly all of a standard normal
    a = sympy.Symbol("a", real=True)
    assert cut.how == "exact" and 0.99 < cut.probability <= 1.0
    assert truth(cut.condition, {a: sympy.Rational(31)}) and truth(cut.condition, {a: -sympy.Rational(31)})
    assert not truth(cut.condition, {a: sympy.Rational(32)})


def test_probability_budget_stops_the_notes_loop():
    ex = pieces_of(doubling, loop_bound=64, epsilon=1e-9)
    (cut,) = ex.uncovered
    assert cut.reason.startswith("probability below 1e-09")
    assert cut.probability < 1e-9
    assert 30 < len(ex.pieces) < 64


def halving(a):
    b = a
    while b.abs() > 1:
        b = b / 2
    return b * b


def test_loop_unbounded_towards_infinity():
    r = check_case(declare(halving, inputs={"a": torch.tensor(3.0)}, samples=2))
    assert r.status == "agree"
    (cut,) = r.uncovered
    assert cut.probability < 1e-9
    # the uncovered region is far out, |a| large, not near 0
    a = sympy.Symbol("a", real=True)
    assert cut.condition.subs(a, sympy.Integer(10**12)) is sympy.true
    assert cut.condition.subs(a, sympy.Integer(0)) is sympy.false


def test_a_point_beyond_the_explored_pieces_adds_its_piece():
    r = check_case(declare(doubling, inputs={"a": torch.tensor(1e-15)}, samples=0, loop_bound=8))
    example = r.points[0]
    assert example.origin == "example" and example.status == "agree"
    assert example.symbolic["a"] == 2.0 ** 60  # 59 doublings after the first: past the bound
    assert any(p.index == example.piece for p in r.pieces)


def vector_f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def test_vector_input_pieces_and_claim():
    r = check_case(declare(vector_f, inputs={"a": torch.tensor([300.0, -200.0])}, samples=0, loop_bound=6,
                           expect=lambda a, out: out / a))
    assert r.status == "agree", r.error
    assert len(r.pieces) == 12  # six loop counts, two signs of the sum
    assert all(p.claim == "proven" for p in r.pieces)
    assert r.uncovered and r.uncovered[0].reason.startswith("loop bound 6")
    assert "Monte Carlo" in r.uncovered[0].how


def test_matrix_input_cut_by_a_proven_probability_bound():
    r = check_case(declare(vector_f, inputs={"a": torch.tensor([[300.0, -200.0], [1.0, 2.0]])}, samples=0,
                           expect=lambda a, out: out / a))
    assert r.status == "agree", r.error
    (cut,) = r.uncovered
    assert cut.reason.startswith("probability below 1e-09")
    assert cut.probability < 1e-9 and cut.how.startswith("upper bound: z3 proves")
    assert all(p.claim == "proven" for p in r.pieces)


class HalfWrongAbs(torch.autograd.Function):
    """|x| with a backward that is right for x > 0 and has the wrong sign for x < 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x > 0, x, -x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.ones_like(x)  # wrong where x < 0


def branchy(a):
    if a > 0:
        return a * a
    return HalfWrongAbs.apply(a) * 3


def test_wrong_gradient_on_one_branch_only_is_caught():
    r = check_case(declare(branchy, inputs={"a": torch.tensor(2.0)}, samples=0))
    assert r.status == "disagree"
    by_piece = {p.piece: p.status for p in r.points if p.origin.startswith("piece")}
    assert sorted(by_piece.values()) == ["agree", "disagree"]


def transcendental(a):
    if torch.exp(a) > 2:
        return torch.sin(a)
    return a * a


def test_transcendental_condition_of_one_variable_is_decided_exactly():
    r = check_case(declare(transcendental, inputs={"a": torch.tensor(0.0)}, samples=1))
    assert r.status == "agree"
    assert sorted(str(p.condition) for p in r.pieces) == ["a <= log(2)", "log(2) < a"]


def test_undecidable_side_is_reported_not_dropped():
    def narrow(a, b):
        if torch.sin(a * b) > 0.999999999999:  # no proof by z3, too thin for sampling
            return a * b
        return a + b

    r = check_case(declare(narrow, inputs={"a": torch.tensor(0.5), "b": torch.tensor(0.5)}, samples=0))
    assert r.status == "agree"
    assert len(r.pieces) == 1
    (unknown,) = r.uncovered
    assert unknown.reason.startswith("unverified")


def test_no_control_flow_is_one_piece_with_condition_true():
    r = check_case(declare(lambda x: (x * x).sum(), inputs={"x": torch.tensor([1.0, 2.0])}, samples=0))
    assert len(r.pieces) == 1 and r.pieces[0].condition is sympy.true and r.uncovered == ()


class DropsTheProduct(torch.autograd.Function):
    """a0 a1 a2 with a backward of zeros: right wherever two entries are 0, as on the axes."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a[0] * a[1] * a[2]

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return torch.zeros_like(a)


def product_by_norm(a):
    if a.norm() > 1:
        return DropsTheProduct.apply(a)
    return DropsTheProduct.apply(a) * 2


def test_piece_points_are_in_general_position_where_an_off_axis_error_shows():
    r = check_case(declare(product_by_norm, inputs={"a": torch.tensor([0.0, 0.0, 3.0])}, samples=0))
    own = [p for p in r.points if p.origin.startswith("piece")]
    assert len(own) == 2
    for p in own:
        entries = list(p.inputs["a"])
        assert 0.0 not in entries and len(set(entries)) == 3, entries
    assert r.status == "disagree" and {p.status for p in own} == {"disagree"}




# -- one variable: the exact region decides where z3 did ---------------------------------------
A = sympy.Symbol("a", real=True)
ONE_VARIABLE = [  # sides a path can take, some feasible only on a point or a sliver
    A > 1, A < 1, A <= 1, A >= 1, sympy.Eq(A, 1), sympy.Ne(A, 1), A**2 < 0, A**2 <= 0, A**2 > 2,
    2**40 * sympy.Abs(A) < 1000, 2**40 * sympy.Abs(A) >= 1000, A < 1 + sympy.Rational(1, 10**30),
    1 / A > 3, 1 / (A - 1) < 0, sympy.sign(A) > 0, sympy.Heaviside(A) > sympy.Rational(1, 4),
    A**3 - 2 * A > 0, sympy.Abs(A - 2) + sympy.Abs(A + 2) <= 4,
]


def _conjunctions():
    for i, c in enumerate(ONE_VARIABLE):
        yield [c]
        for d in ONE_VARIABLE[i + 1:]:
            yield [c, d]
    yield [A > 1, A < 1 + sympy.Rational(1, 10**30), sympy.Ne(A, 1 + sympy.Rational(1, 10**31))]


def test_one_variable_sides_are_decided_by_intervals_as_z3_decides_them():
    fast, by_z3 = Feasibility([A]), Feasibility([A])
    decided = 0
    for conditions in _conjunctions():
        found, proven = fast.check(conditions), by_z3._solve(conditions)
        assert found.status == proven.status, conditions  # a wrong unsat is a path never explored
        if found.status == "sat":
            assert all(truth(c, found.witness) for c in conditions), conditions
        decided += fast._region(tuple(conditions))[1]
    assert decided > 100  # the intervals answered, not z3 again


def test_a_region_solved_by_prefix_is_the_region_solved_anew():
    shared = Feasibility([A])
    path = [2**k * sympy.Abs(A) < 1000 for k in range(1, 12)] + [A > 0]
    for n in range(len(path) + 1):
        assert shared.region(path[:n]) == Feasibility([A]).region(path[:n])
    assert shared.region(path[3:]) == Feasibility([A]).region(path[3:])  # not a prefix of one seen


def test_membership_in_the_region_is_the_truth_of_every_condition():
    f = Feasibility([A])
    points = [sympy.Rational(k, 4) for k in range(-12, 13)] + [1 + sympy.Rational(1, 10**30), sympy.Integer(10**9)]
    for conditions in _conjunctions():
        for value in points:
            assert f.holds(conditions, {A: value}) == all(truth(c, {A: value}) for c in conditions), (conditions, value)


class _ByZ3(Feasibility):
    """The feasibility as it was before the intervals decided: z3 for every side, truth for every point."""

    def check(self, conditions):
        conditions = [c for c in conditions if c is not sympy.true]
        return self._solve(conditions) if not any(c is sympy.false for c in conditions) else super().check(conditions)

    def holds(self, conditions, point):
        return all(truth(c, point) for c in conditions)


def test_the_notes_loop_explores_the_same_pieces_and_witnesses_as_z3_alone():
    syms = input_symbols("a", ())
    found = [explore(vector_f, {"a": SymTensor(syms)}, feasibility=kind(list(syms.flat)),
                     points=[{syms[()]: sympy.Rational(1, 3)}]) for kind in (Feasibility, _ByZ3)]
    fast, slow = found
    assert len(fast.pieces) > 60
    assert [p.decisions for p in fast.pieces] == [p.decisions for p in slow.pieces]
    assert [p.witness for p in fast.pieces] == [p.witness for p in slow.pieces]
    assert [str(p.output) for p in fast.pieces] == [str(p.output) for p in slow.pieces]
    assert fast.uncovered == slow.uncovered and fast.point_pieces == slow.point_pieces


def test_a_region_reads_as_the_relations_sympy_would_build():
    from compare.explore import intervals
    I = intervals.Interval
    bounds = [sympy.Rational(-7, 3), sympy.Integer(0), -sympy.sqrt(2), sympy.CRootOf(A**5 - A - 1, 0), sympy.log(2)]
    regions = [(I(-sympy.oo, b, False, c),) for b in bounds for c in (True, False)]
    regions += [(I(b, sympy.oo, c, False), I(b, b, True, True)) for b in bounds for c in (True, False)]
    regions += [(I(bounds[0], bounds[2], True, False), I(bounds[4], sympy.Integer(3), False, True))]
    regions += [(), (I(-sympy.oo, sympy.oo, False, False),), (I(bounds[1], bounds[1], True, True),)]
    regions += [tuple(I(sympy.Integer(k), sympy.Integer(k + 1), k % 2 == 0, k % 3 == 0) for k in range(-6, 6, 2))]
    for region in regions:
        built = intervals.as_relational(region, A)
        assert built == _evaluated(region), region
    positive = sympy.Symbol("p", positive=True)  # here a bound can decide itself: SymPy still evaluates
    assert intervals.as_relational((I(sympy.Integer(-1), sympy.oo, False, False),), positive) is sympy.true


def _evaluated(region):
    """The region's relations built with SymPy's evaluation of each one."""
    parts = []
    for i in region:
        if i.lo == i.hi:
            parts.append(sympy.Eq(A, i.lo))
            continue
        lo = [] if i.lo is -sympy.oo else [sympy.Le(i.lo, A) if i.lo_closed else sympy.Lt(i.lo, A)]
        hi = [] if i.hi is sympy.oo else [sympy.Le(A, i.hi) if i.hi_closed else sympy.Lt(A, i.hi)]
        parts.append(sympy.And(*(lo + hi)))
    return sympy.Or(*parts)


def test_exact_rational_values_are_sympys_values():
    from compare.exact.sym import detach, rational_value
    b = sympy.Symbol("b", real=True)
    exprs = [2**40 * sympy.Abs(A) - 1000, A**3 / b - sympy.Rational(7, 3), sympy.sign(A - 1) * b**-2,
             sympy.Heaviside(A) + sympy.Heaviside(b, 0), sympy.Max(A, b, 1) - sympy.Min(A * b, -A), detach(A * b) + A,
             (A - b)**0, 100 * 2**12 * A]
    values = [sympy.Integer(0), sympy.Integer(1), sympy.Rational(-5, 2), sympy.Rational(1, 3), sympy.Integer(10**12)]
    compared = 0
    for e in exprs:
        for x in values:
            for y in values:
                point = {A: x, b: y}
                expected = release_and_substitute(e, point)
                found = rational_value(e, point)
                if expected.is_Rational:
                    assert found == expected, (e, point)  # Fraction == Rational compares exactly
                    compared += 1
                else:
                    assert found is None, (e, point)  # undefined (zoo, nan): left to SymPy
    assert compared > 150
    assert rational_value(sympy.sqrt(A), {A: sympy.Integer(4)}) is None  # not a rational function: SymPy's
    assert rational_value(A + sympy.Float(0.5), {A: sympy.Integer(1)}) is None
    assert rational_value(A + b, {A: sympy.Integer(1)}) is None  # a symbol without a value


def release_and_substitute(e, point):
    from compare.exact.sym import release
    return release(e).xreplace(point)


def test_truth_by_rationals_is_truth_by_sympy():
    from compare.exact.sym import RELATIONS
    relations = [A**2 - 2 * A < 3, 1 / A >= 2, sympy.Eq(sympy.Abs(A), 1), sympy.Ne(sympy.sign(A), 0), 1 / A > -1]
    for c in relations:
        for k in range(-8, 9):
            point = {A: sympy.Rational(k, 4)}
            d = (c.lhs - c.rhs).xreplace(point)
            expected = bool(RELATIONS[type(c)](d, 0)) if d.is_Rational else False
            assert truth(c, point) == expected, (c, point)


def test_a_linear_condition_has_the_root_the_polynomial_has():
    from compare.explore import intervals
    linear = [2**40 * A - 1000, -A / 3 + 7, A, 5 - A, sympy.Rational(3, 8) * A + sympy.Rational(1, 5), 2 * (A + 1)]
    for h in linear:
        (root,) = sympy.Poly(h, A).real_roots()
        assert intervals._linear_root(sympy.expand(h), A) == root, h
    for h in [A**2 - 2, A * sympy.sqrt(2) - 1, sympy.Float(0.5) * A - 1, sympy.Integer(3), 1 / A - 2]:
        assert intervals._linear_root(h, A) is None, h
    # and every region solved with it is the region SymPy's own solver finds
    for c in [2**k * sympy.Abs(A) < 1000 for k in range(1, 12)] + [-A / 3 + 7 >= 0, sympy.Ne(2 * A, 3)]:
        ours = intervals.solve(c, A)
        theirs = intervals.from_set(sympy.solvers.inequalities.solve_univariate_inequality(c, A, relational=False))
        assert ours == theirs, c
