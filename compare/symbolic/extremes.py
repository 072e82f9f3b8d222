"""Max and Min of many arguments, built and differentiated in time linear in their number.

SymPy's `Max(*args)` compares its arguments pairwise when it is built, to
drop those another one provably exceeds (`_find_localzeros`): for 25
entries of a real tensor, seconds of inconclusive comparisons. Its
derivative by each argument, Heaviside(a_i - Max(others)), builds the Max
of the other n - 1 again, so the gradient of one 25-entry inf-norm took
minutes (and a 3-d max-pooling window has 27 entries). These subclasses keep every argument as given (the same function:
a dropped argument is never the largest, and its Heaviside factor is 0) and
build the Max of the others unevaluated. They are `sympy.Max` and
`sympy.Min` to everything that asks (`isinstance`, printing, the verdict's
kink rules, z3), and their derivative is SymPy's formula, ties included.
"""
from __future__ import annotations

import sympy

__all__ = ["Max", "Min"]


class _Kept:
    @classmethod
    def _find_localzeros(cls, values, **options):
        # numbers are compared (and must be, for a value to come out); symbolic arguments all kept
        numbers = [v for v in values if v.is_comparable]
        if len(numbers) < 2:
            return values
        best = (max if issubclass(cls, sympy.Max) else min)(numbers)
        return [v for v in values if not v.is_comparable] + [best]

    def fdiff(self, argindex=1):
        i = argindex - 1
        others = [a for k, a in enumerate(self.args) if k != i]
        rest = others[0] if len(others) == 1 else type(self)(*others)
        sign = 1 if isinstance(self, sympy.Max) else -1  # Min's argument wins when it is below the rest
        return sympy.Heaviside(sign * (self.args[i] - rest))


class Max(_Kept, sympy.Max):
    """sympy.Max, built without pairwise comparisons"""


class Min(_Kept, sympy.Min):
    """sympy.Min, built without pairwise comparisons"""
