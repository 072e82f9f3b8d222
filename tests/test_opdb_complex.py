"""The op_db harness on complex outputs: each part of the value, and the gradient, can fail.

`compare.conformance.check_sample` compares a complex output's real and
imaginary parts exactly, and the gradient of a loss that sums both parts;
here a meaning wrong in only one of them is shown to be caught.
"""
import numpy as np
import pytest
import sympy

pytest.importorskip("expecttest")  # op_db's module needs it (the `test` extra)

from compare.conformance import run as conformance, samples as opdb_samples  # noqa: E402
from compare.exact.sym import detach  # noqa: E402
from compare.symbolic import MEANINGS  # noqa: E402
from compare.symbolic.complexes import from_parts, imaginary_part, real_part  # noqa: E402
from compare.symbolic.registry import ufunc  # noqa: E402

QUICK = conformance.Settings(samples=1, max_entries=16, seconds=20)
LONG = conformance.Settings(samples=1, max_entries=64, seconds=20)
"""For the transforms: op_db's first sample of at most 16 entries is one real number, whose transform
has no imaginary part; the first of at most 64 is 31 numbers."""


@pytest.fixture(scope="module")
def ops():
    return {conformance._name(op): op for op in conformance.opinfos()}


def _settings(op: str) -> conformance.Settings:
    return LONG if op.startswith("fft.") else QUICK


def _key(name: str):
    return next(k for k in MEANINGS if str(k) == name)


def _mapped(name: str, f):
    """The meaning of `name` with `f(u, v) -> (u', v')` applied to the parts of every output entry."""
    right = MEANINGS[_key(name)]

    def wrong(*args, **kwargs):
        out = right(*args, **kwargs)
        return ufunc(lambda e: from_parts(*f(real_part(e), imaginary_part(e))), 1)(out)

    return wrong


@pytest.mark.parametrize("name", ["fft.fft", "fft.rfft", "polar", "complex"])
def test_the_right_meanings_run(ops, name):
    result = conformance.check_op(ops[name], _settings(name))
    assert result.status == "runs", result


@pytest.mark.parametrize("op, meaning, change, part", [
    ("fft.fft", "aten._fft_r2c", lambda u, v: (u, -v), "imaginary"),     # the conjugate transform
    ("fft.fft", "aten._fft_r2c", lambda u, v: (2 * u, v), "real"),
    ("polar", "aten.polar", lambda u, v: (u, v + u), "imaginary"),
])
def test_a_wrong_part_is_caught(ops, monkeypatch, op, meaning, change, part):
    monkeypatch.setitem(MEANINGS, _key(meaning), _mapped(meaning, change))
    result = conformance.check_op(ops[op], _settings(op))
    assert result.status == "disagrees" and result.detail.startswith("forward"), result
    assert f"({part} part)" in result.detail, result


@pytest.mark.parametrize("op, meaning, change", [
    # the right value, the imaginary part's or the real part's derivative lost: a plain sum of v (of u)
    # over a transform's outputs has the derivative 0 (a multiple of the first input's) whatever the rest
    ("fft.fft", "aten._fft_r2c", lambda u, v: (u, detach(v))),
    ("fft.fft", "aten._fft_r2c", lambda u, v: (detach(u), v)),
    ("polar", "aten.polar", lambda u, v: (detach(u), v)),
])
def test_a_wrong_derivative_of_either_part_is_caught(ops, monkeypatch, op, meaning, change):
    monkeypatch.setitem(MEANINGS, _key(meaning), _mapped(meaning, change))
    result = conformance.check_op(ops[op], _settings(op))
    assert result.status == "disagrees" and result.detail.startswith("gradient"), result


def test_a_complex_output_is_compared_with_its_parts_dtype(ops):
    # chalf: torch rounds both parts to float16, and float16's tolerance judges them
    result = conformance.check_op(ops["chalf"], QUICK)
    assert result.status == "runs", result


def test_the_loss_sees_both_parts():
    import torch

    w = torch.tensor([1.0 + 2.0j, -3.0 + 0.5j], dtype=torch.complex128)
    assert opdb_samples.loss(w).item() == 1 * 1 + 1 * 2 + 2 * -3 + 2 * 0.5  # weights 1, 2 on each part
    terms = opdb_samples.loss_terms(np.array([sympy.Integer(1) + 2 * sympy.I, sympy.Integer(-3) + sympy.I / 2],
                                             dtype=object), w)
    assert sum(terms) == -2
