"""Complex numbers: PyTorch's convention for the gradient of a real function of z = x + i y.

For a real-valued L, `z.grad` is dL/dx + i dL/dy (twice the conjugate
Wirtinger derivative dL/d(conj z); PyTorch's autograd notes, "Autograd for
Complex Numbers"). A complex output w = u + i v is checked as gradcheck
checks it: as the two real functions u and v.
"""
import torch

from compare import case

Z = torch.tensor([1.0 + 2.0j, -0.5 + 0.25j, 3.0 - 1.0j])


@case(inputs={"z": Z})
def abs_squared(z):
    """|z|^2 = x^2 + y^2: its gradient is 2 z (2x + 2i y), not the 2 conj(z) a holomorphic rule would give."""
    return (z * z.conj()).real.sum()


@case(inputs={"z": Z})
def modulus(z):
    """|z|: gradient z / |z|, the phase of z (sgn(z)), in PyTorch's convention."""
    return z.abs().sum()


class Square(torch.autograd.Function):
    """z**2, holomorphic: its backward is the incoming gradient times conj(f'(z)) = conj(2 z), its jvp
    the tangent times f'(z) = 2 z (forward mode needs no conjugate)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(z):
        return z * z

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)
        ctx.save_for_forward(*inputs)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * (2 * z).conj()

    @staticmethod
    def jvp(ctx, t):
        (z,) = ctx.saved_tensors
        return 2 * z * t


class SquareNoConj(Square):
    """The same forward, with the conjugate forgotten: g * 2 z."""

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * 2 * z


# torch 2.13's nested jvps through a custom Function give zero second derivatives (pytorch/pytorch#197867):
# forward over forward is turned off for both Function cases; tests/test_modes.py pins it
@case(inputs={"z": Z}, check_fwd_over_fwd=False)
def holomorphic_square(z):
    """A holomorphic z**2 through a custom Function whose backward is g * conj(2 z): right."""
    return Square.apply(z)


@case(inputs={"z": Z}, known_wrong="its backward returns g * 2 z, forgetting the conjugate: conj(f'(z)) is 2 conj(z)",
      check_fwd_over_fwd=False)
def forgotten_conjugate(z):
    """The same Function with the conjugate forgotten (g * 2 z): wrong wherever Im z != 0."""
    return SquareNoConj.apply(z)


@case(inputs={"z": Z})
def complex_output(z):
    """A complex output, exp(z) * conj(z) + |z|: not holomorphic; its real and imaginary parts are checked."""
    return torch.exp(z) * z.conj() + z.abs()


@case(inputs={"z": Z})
def phase_and_parts(z):
    """angle, sgn, log, pow, real and imag, view_as_real, polar and complex, on complex tensors."""
    w = torch.polar(z.abs(), z.angle()) + torch.complex(z.real, -z.imag) * torch.sgn(z)
    parts = torch.view_as_real(torch.log(w) + z**3)
    return parts.sum() + (z @ z.conj()).real
