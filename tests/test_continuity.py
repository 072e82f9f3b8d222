"""Exact values by continuity: limits where a derivative's formula is 0/0, and nowhere else."""
import sympy

from compare.exact import continuity

a, b, x, y = sympy.symbols("a b x y", real=True)
AT_ZERO = {a: sympy.Integer(0), b: sympy.Integer(2), x: sympy.Integer(0), y: sympy.Integer(0)}


def test_a_removable_singularity_has_its_limit():
    f = a**b
    assert continuity.derivative(sympy.diff(f, a), f, AT_ZERO) == 0  # b*a**b/a is 0/0 at a = 0
    assert continuity.derivative(sympy.diff(f, b), f, AT_ZERO) == 0  # a**b*log(a) is 0*oo
    assert continuity.derivative(sympy.diff(f, a, 2), sympy.diff(f, a), AT_ZERO) == 2


def test_a_pole_a_jump_and_a_kink_have_none():
    assert continuity.derivative(1 / (2 * sympy.sqrt(a)), sympy.sqrt(a), AT_ZERO) is None  # infinite
    assert continuity.value(sympy.Abs(x) / x, AT_ZERO) is None  # -1 from the left, 1 from the right
    norm = sympy.sqrt(x**2 + y**2)  # x/norm tends to 0 taking x first, to sign(x) taking y first
    assert continuity.derivative(sympy.diff(norm, x), norm, AT_ZERO) is None
    assert continuity.derivative(sympy.diff(norm, y), norm, AT_ZERO) is None


def test_a_function_that_is_not_continuous_has_no_derivative_by_continuity():
    jump = sympy.Piecewise((1, sympy.Eq(x, 0)), (x / x + 1, True))  # 1 at 0, 2 elsewhere
    assert continuity.extension(jump, AT_ZERO) == jump
    kink = sympy.Abs(x) * sympy.sin(x) / x  # |x| near 0, written with a 0/0: its derivative jumps
    assert continuity.derivative(sympy.diff(kink, x), kink, AT_ZERO) is None


def test_an_equality_branch_is_replaced_by_the_branch_it_continues():
    sinc = sympy.Piecewise((1, sympy.Eq(x, 0)), (sympy.sin(x) / x, True))
    extended = continuity.extension(sinc, AT_ZERO)
    assert extended == sympy.sin(x) / x
    # the constant branch's second derivative is 0; the function's is -1/3
    assert continuity.derivative(sympy.diff(extended, x, 2), sympy.diff(extended, x), AT_ZERO) == sympy.Rational(-1, 3)
    assert continuity.extension(sinc, {x: sympy.Integer(1)}) == sinc  # the branch does not hold there
