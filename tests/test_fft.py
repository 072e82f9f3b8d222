"""The discrete Fourier transforms (`compare/symbolic/fft.py`): exact values and gradients.

Each transform runs on symbolic tensors, is evaluated exactly at the
inputs and compared with torch's own result, in every normalisation mode;
the gradients are compared with autograd's through `compare.assert_agrees`,
with complex inputs in PyTorch's convention (`compare.wirtinger`).
"""
import mpmath
import numpy as np
import pytest
import sympy
import torch

import compare
from compare.exact.evaluate import evaluate
from compare.exact.sym import exact, input_symbols
from compare.symbolic import SymTensor, exprs_of
from compare.symbolic.complexes import imaginary_part, real_part
from compare.symbolic.fft import roots_of_unity
from compare.wirtinger import as_complex, complex_symbols

REAL = torch.tensor([0.5, -1.25, 2.0, 0.75, -0.5, 1.5, 0.25], dtype=torch.float64)
COMPLEX = torch.tensor([1.0 + 2.0j, -0.5 + 0.25j, 0.75 - 1.0j, 0.125 + 0.5j, -2.0 - 0.75j], dtype=torch.complex128)
GRID = torch.tensor([[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float64)
CGRID = torch.complex(GRID, torch.tensor([[0.25, 1.0, -0.5], [-1.5, 0.75, 2.0]], dtype=torch.float64))


def _symbolic(x: torch.Tensor):
    """(symbolic twin of x, point: symbol -> exact value)."""
    if x.is_complex():
        symbols = complex_symbols("z", tuple(x.shape))
        values = torch.view_as_real(x).reshape(-1).tolist()
        return SymTensor(as_complex(symbols), x.dtype), dict(zip(symbols.flat, map(exact, values)))
    symbols = input_symbols("x", tuple(x.shape))
    return SymTensor(symbols.copy(), x.dtype), dict(zip(symbols.flat, map(exact, x.reshape(-1).tolist())))


def _assert_exact_forward(f, x):
    s, point = _symbolic(x)
    got, values = f(x), exprs_of(f(s))
    assert values.shape == tuple(got.shape)
    if got.is_complex():
        for part, exact_part in ((got.real, real_part), (got.imag, imaginary_part)):
            want = evaluate(np.frompyfunc(exact_part, 1, 1)(values).astype(object), point)
            np.testing.assert_allclose(part.resolve_neg().numpy(), want, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(got.numpy(), evaluate(values, point), rtol=1e-12, atol=1e-12)


NORMS = [None, "ortho", "forward"]  # ATen's normalization 0 / 1 / 2 on the forward transform, 2 / 1 / 0 backward


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("f, x", [
    (lambda x, norm: torch.fft.fft(x, norm=norm), REAL),                  # r2c, both sides
    (lambda x, norm: torch.fft.rfft(x, norm=norm), REAL),                 # r2c onesided, odd n
    (lambda x, norm: torch.fft.rfft(x[:6], norm=norm), REAL),             # even n: the Nyquist entry
    (lambda x, norm: torch.fft.fft(x, norm=norm), COMPLEX),               # c2c forward
    (lambda x, norm: torch.fft.ifft(x, norm=norm), COMPLEX),              # c2c backward
    (lambda x, norm: torch.fft.irfft(x, n=8, norm=norm), COMPLEX),        # c2r, even n (Im of X[0], X[4] unused)
    (lambda x, norm: torch.fft.irfft(x, n=9, norm=norm), COMPLEX),        # c2r, odd n
    (lambda x, norm: torch.fft.hfft(x, n=7, norm=norm), COMPLEX),
    (lambda x, norm: torch.fft.ihfft(x, norm=norm), REAL),
    (lambda x, norm: torch.fft.fft2(x, norm=norm), CGRID),
    (lambda x, norm: torch.fft.rfft2(x, norm=norm), GRID),
    (lambda x, norm: torch.fft.irfft2(x, s=(2, 4), norm=norm), CGRID),  # c2c over dim 0, then c2r
    (lambda x, norm: torch.fft.ifftn(x, dim=(1,), norm=norm), CGRID),
    (lambda x, norm: torch.fft.rfft2(x, dim=(1, 0), norm=norm), GRID),     # onesided along dim 0
    (lambda x, norm: torch.fft.irfft2(x, s=(3, 5), dim=(1, 0), norm=norm), CGRID.mT),
], ids=["fft-real", "rfft-odd", "rfft-even", "fft", "ifft", "irfft-even", "irfft-odd", "hfft", "ihfft",
        "fft2", "rfft2", "irfft2", "ifftn-dim1", "rfft2-dims-reversed", "irfft2-dims-reversed"])
def test_the_transforms_are_torchs(f, x, norm):
    _assert_exact_forward(lambda t: f(t, norm), x)


def test_c2r_of_a_whole_spectrum_reads_its_first_half():
    # aten._fft_c2r itself, given all last_dim_size entries (torch accepts these or the half)
    _assert_exact_forward(lambda z: torch.ops.aten._fft_c2r(z, [0], 1, 5), COMPLEX)
    _assert_exact_forward(lambda z: torch.ops.aten._fft_c2r(z, [0, 1], 2, 3), CGRID)
    _assert_exact_forward(lambda z: torch.ops.aten._fft_c2r(z, [0, 1], 0, 4), CGRID)


def test_stft_is_torchs():
    window = torch.tensor([0.5, 1.0, 0.75, 0.25], dtype=torch.float64)
    x = torch.cat([REAL, REAL.flip(0)])
    _assert_exact_forward(lambda t: torch.stft(t, n_fft=4, hop_length=2, window=window, center=False,
                                               return_complex=True), x)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15, 21, 31])
def test_roots_of_unity_are_exact(n):
    cos, sin = roots_of_unity(n)
    for m in range(n):
        with mpmath.workdps(60):
            angle = 2 * mpmath.pi * m / n
            assert abs(mpmath.mpf(sympy.N(cos[m], 60)) - mpmath.cos(angle)) < mpmath.mpf(10) ** -50
            assert abs(mpmath.mpf(sympy.N(sin[m], 60)) - mpmath.sin(angle)) < mpmath.mpf(10) ** -50
    # a full period sums to 0 in SymPy's own arithmetic, with no evaluation (n = 1: the one root is 1)
    assert sympy.Add(*cos) == (1 if n == 1 else 0) and sympy.Add(*sin) == 0


@pytest.mark.parametrize("f, x", [
    (lambda z: torch.fft.fft(z, norm="ortho"), COMPLEX),
    (lambda z: torch.fft.ifft(z), COMPLEX),
    (lambda z: torch.fft.irfft(z, n=8), COMPLEX),
    (lambda z: torch.fft.hfft(z, n=5, norm="forward"), COMPLEX),
    # a real input's complex output: the API takes a real view only when an input is complex
    (lambda x: torch.view_as_real(torch.fft.rfft2(x, norm="ortho")), GRID),
    (lambda z: torch.fft.fftn(z * z), CGRID),   # not linear: the gradient depends on the point
], ids=["fft", "ifft", "irfft", "hfft", "rfft2", "fftn-of-square"])
def test_gradients_agree_with_autograd(f, x):
    compare.assert_agrees(f, (x,), samples=2, order=1)
