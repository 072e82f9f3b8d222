"""Eigen- and singular value decompositions of a real matrix at a point, in Arb's balls, in LAPACK's
order and gauge.

An eigenvalue of a matrix of rationals is an algebraic number: a root of
the characteristic polynomial p(x) = det(x I - A), which FLINT computes
exactly, and whose roots Arb isolates with their multiplicities (exact:
a squarefree factorization). An eigenvector of a root mu_c of
multiplicity m_c is in the range of the spectral projector

    P_c = prod_{d != c} (A - mu_d I)^{m_d} / (mu_c - mu_d)^{m_d},

so each vector is P_c x for a vector x, normalized: every operation is
Arb's, so each ball contains the exact value. A matrix whose entries are
balls (not rationals) takes its eigenvalues from Arb's `eig`, which
isolates simple ones only.

What is not mathematics but convention is read from LAPACK, through
torch, at the point's float64 rounding: the order of `eig`'s eigenvalues
(each exact root is matched with LAPACK's nearest value), and the sign or
phase of each vector. Taking x as LAPACK's own vector makes P_c x keep
LAPACK's sign; a complex vector is turned so that its largest entry (the
one LAPACK makes real) is real, with the sign LAPACK gave it. Vectors of a
repeated eigenvalue are not unique; the ones given (LAPACK's, projected on
the exact eigenspace and made orthonormal) serve sums over the eigenspace,
which are (`spectral.py` uses them so), and are never differentiated.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import flint
import numpy as np
import torch

__all__ = ["Decomposition", "symmetric", "general", "singular", "as_ball", "key_of", "nan_ball"]

GUARD_BITS = 64
"""Bits of working precision beyond what is asked for."""
MOST_BITS = 4096
"""Working precision at which a decomposition stops trying to resolve its balls."""


@dataclass(frozen=True)
class Decomposition:
    """One matrix's decomposition: column k of each part belongs to value k, in LAPACK's order."""

    values: tuple
    """Eigenvalues (acb), or singular values (arb), in LAPACK's order."""
    right: tuple
    """right[k][i]: entry i of the k-th right eigenvector, or of the k-th right singular vector v_k."""
    left: tuple
    """left[k][i]: row k of V^-1 for eigenvectors (w_k^T v_j = [k == j]); the left singular vector u_k."""
    simple: tuple
    """Whether value k is a simple root (its vectors are then functions of the matrix)."""
    roots: tuple
    """roots[k]: which distinct value value k is (equal for the positions of one repeated value); a
    singular value 0 of a rank-deficient matrix is not simple either."""


def nan_ball():
    return flint.acb(flint.arb.nan(), flint.arb.nan())


def as_ball(value):
    """An exact number (fmpq) or a ball as an acb."""
    return flint.acb(value) if isinstance(value, flint.acb) else flint.acb(flint.arb(value))


def key_of(values) -> tuple | None:
    """A hashable key for a tuple of numbers (fmpq) and balls (arb, acb), or None (a NaN ball)."""
    key = []
    for v in values:
        if isinstance(v, flint.fmpq):
            key.append(v)
            continue
        parts = (v.real, v.imag) if isinstance(v, flint.acb) else (v, flint.arb(0))
        if not all(p.is_finite() for p in parts):
            return None
        key.append(tuple((p.mid().man_exp(), p.rad().man_exp()) for p in parts))
    return tuple(key)


def _exact(values) -> list | None:
    """The numbers as fmpq where every one is exact and real (a ball of radius 0 is a dyadic rational)."""
    out = []
    for v in values:
        if isinstance(v, flint.fmpq):
            out.append(v)
            continue
        real = v.real if isinstance(v, flint.acb) else v
        if isinstance(v, flint.acb) and not v.imag.is_zero() or not real.is_exact() or not real.is_finite():
            return None
        m, e = real.mid().man_exp()
        out.append(flint.fmpq(int(m) * 2 ** int(e)) if e >= 0 else flint.fmpq(int(m), 2 ** int(-e)))
    return out


def _floats(values) -> np.ndarray:
    return np.array([float(v) if isinstance(v, flint.fmpq) else float(v.real if isinstance(v, flint.acb) else v)
                     for v in values], dtype=np.float64)


# -- LAPACK's order and gauge, through torch ----------------------------------------------------
@functools.lru_cache(maxsize=256)
def _lapack(kind: str, floats: bytes, shape: tuple) -> tuple:
    a = torch.from_numpy(np.frombuffer(floats, dtype=np.float64).reshape(shape).copy())
    if kind in ("eigh L", "eigh U"):  # syevd's signs depend on the triangle it reads
        values, vectors = torch.linalg.eigh(a, UPLO=kind[-1])
        return values.numpy(), vectors.numpy()
    if kind == "eig":
        values, vectors = torch.linalg.eig(a)
        return values.numpy(), vectors.numpy()
    u, s, vh = torch.linalg.svd(a, full_matrices=True)
    return s.numpy(), vh.mT.numpy(), u.numpy()


def lapack(kind: str, values, shape: tuple) -> tuple:
    """torch's float64 (values, vectors) of the matrix: `kind` "eigh L" or "eigh U" (the triangle read),
    "eig", or "svd" (then (S, V, U), full)."""
    return _lapack(kind, _floats(values).tobytes(), shape)


# -- roots ----------------------------------------------------------------------------------------
def _roots(entries, n: int) -> list | None:
    """[(root as acb, multiplicity)] of det(x I - A): exact multiplicities for rational entries, else
    Arb's isolation of simple eigenvalues (None where it fails)."""
    exact = _exact(entries)
    if exact is not None:
        p = flint.fmpq_mat(n, n, exact).charpoly()
        return [(flint.acb(z), m) for z, m in p.complex_roots()]
    a = flint.acb_mat(n, n, [as_ball(v) for v in entries])
    try:
        return [(z, 1) for z in a.eig()]
    except ValueError:  # two eigenvalues Arb cannot tell apart
        return None


def _projector(a, roots: list, c: int, n: int):
    """prod_{d != c} (A - mu_d)^{m_d} / (mu_c - mu_d)^{m_d}: the projector on mu_c's eigenspace."""
    mu_c = roots[c][0]
    p = flint.acb_mat(n, n, [flint.acb(int(i == j)) for i in range(n) for j in range(n)])
    eye = p
    for d, (mu, m) in enumerate(roots):
        if d != c:
            factor = (a - eye * mu) * (1 / (mu_c - mu))
            for _ in range(m):
                p = p * factor
    return p


def _column(m, j: int, n: int) -> list:
    return [m[i, j] for i in range(n)]


def _norm(v: list):
    return sum((x.real * x.real + x.imag * x.imag for x in v), flint.arb(0)).sqrt()  # Arb's ** of a ball at 0: NaN


def _orthonormal(vectors: list) -> list:
    """Gram-Schmidt on complex vectors (each a list of acb), in order."""
    done = []
    for v in vectors:
        for q in done:
            dot = sum((q[i].conjugate() * v[i] for i in range(len(v))), flint.acb(0))
            v = [v[i] - dot * q[i] for i in range(len(v))]
        size = _norm(v)
        done.append([x / size for x in v])
    return done


def _phase(v: list, reference: np.ndarray) -> list:
    """v turned as LAPACK turns a complex eigenvector: its largest entry (in LAPACK's vector) real,
    with the sign LAPACK's has."""
    m = int(np.argmax(np.abs(reference)))
    sign = 1 if reference[m].real >= 0 else -1
    turn = v[m].conjugate() / abs(v[m]) * sign
    return [x * turn for x in v]


def _resolved(d: Decomposition, prec: int) -> bool:
    """Are the balls of every defined number narrow enough for `prec` bits (relative to 1 at least)?"""
    limit = flint.arb(2) ** -prec
    for part in (d.values, *d.right, *d.left):
        for z in part:
            for x in (z.real, z.imag) if isinstance(z, flint.acb) else (z,):
                if x.is_finite() and x.rad() > limit * max(1, abs(float(x.mid()))):
                    return False
    return True


_FOUND: dict = {}
"""(kind, shape, key of the entries, bits) -> Decomposition: a gradient meets one matrix's nodes by the hundred."""


def _adaptive(kind: str, build):
    """`build(entries, shape, option)` at increasing working precision until its balls are narrow enough
    for `prec` bits; kept per matrix, option and precision."""

    def run(entries: tuple, shape: tuple, prec: int, option: str = "") -> Decomposition | None:
        key = key_of(entries)
        if key is None:
            return None
        found = _FOUND.get((kind, option, shape, key, prec), False)
        if found is not False:
            return found
        work = prec + GUARD_BITS
        while True:
            with flint.ctx.workprec(work):
                try:
                    found = build(entries, shape, option)
                except (ZeroDivisionError, ValueError):  # a ball Arb cannot divide by, or invert
                    found = None
            if found is None or _resolved(found, prec) or work >= MOST_BITS:
                break
            work *= 2
        if len(_FOUND) >= 1024:
            _FOUND.clear()
        _FOUND[(kind, option, shape, key, prec)] = found
        return found

    run.__doc__ = build.__doc__
    return run


def _symmetric(entries: tuple, shape: tuple, uplo: str) -> Decomposition | None:
    """Eigenvalues ascending (as LAPACK's syevd gives them) and orthonormal eigenvectors, with the signs
    syevd gives them reading the triangle `uplo` ("L" or "U")."""
    n = shape[0]
    roots = _roots(entries, n)
    if roots is None:
        return None
    roots = sorted(((flint.acb(z.real), m) for z, m in roots), key=lambda r: float(r[0].real.mid()))
    _, reference = lapack(f"eigh {uplo}", entries, (n, n))
    a = flint.acb_mat(n, n, [as_ball(v) for v in entries])
    values, vectors, which = [], [], []
    for c, (mu, m) in enumerate(roots):
        p = _projector(a, roots, c, n)
        start = len(values)
        xs = [_apply(p, reference[:, start + t]) for t in range(m)]
        for v in _orthonormal(xs):
            values.append(mu)
            vectors.append([flint.acb(x.real) for x in v])
            which.append(c)
    simple = tuple(roots[c][1] == 1 for c in which)
    return Decomposition(tuple(values), tuple(map(tuple, vectors)), tuple(map(tuple, vectors)), simple, tuple(which))


def _apply(p, x: np.ndarray) -> list:
    """P x for an acb matrix P and a float (or complex) vector x."""
    n = len(x)
    xs = [flint.acb(float(v.real), float(v.imag)) for v in np.asarray(x, dtype=np.complex128)]
    return [sum((p[i, j] * xs[j] for j in range(n)), flint.acb(0)) for i in range(n)]


def _matched(roots: list, reference: np.ndarray) -> list | None:
    """For each of LAPACK's eigenvalues, the index of the exact root it stands for (the nearest), or None
    where the matching is not one-to-one (counting multiplicities) or not clear."""
    mids = np.array([complex(float(z.real.mid()), float(z.imag.mid())) for z, _ in roots])
    found = []
    for value in reference:
        distance = np.abs(mids - value)
        order = np.argsort(distance, kind="stable")
        if len(order) > 1 and not distance[order[0]] < distance[order[1]] / 4:
            return None
        found.append(int(order[0]))
    if any(found.count(c) != m for c, (_, m) in enumerate(roots)):
        return None
    return found


def _general(entries: tuple, shape: tuple, option: str) -> Decomposition | None:
    """Eigenvalues in LAPACK's (geev's) order; unit right eigenvectors in its gauge; V^-1's rows."""
    n = shape[0]
    roots = _roots(entries, n)
    if roots is None:
        return None
    reference_values, reference = lapack("eig", entries, (n, n))
    order = _matched(roots, reference_values)
    if order is None:
        return None
    a = flint.acb_mat(n, n, [as_ball(v) for v in entries])
    right = []
    for k, c in enumerate(order):
        if roots[c][1] > 1:
            right.append([nan_ball()] * n)
            continue
        v = _apply(_projector(a, roots, c, n), reference[:, k])
        size = _norm(v)
        v = [x / size for x in v]
        real = roots[c][0].imag.is_zero() or reference_values[k].imag == 0
        right.append([flint.acb(x.real) for x in v] if real else _phase(v, reference[:, k]))
    simple = tuple(roots[c][1] == 1 for c in order)
    if all(simple):
        inverse = flint.acb_mat(n, n, [right[j][i] for i in range(n) for j in range(n)]).inv()
        left = [[inverse[k, i] for i in range(n)] for k in range(n)]
    else:
        left = [[nan_ball()] * n for _ in range(n)]
    return Decomposition(tuple(roots[c][0] for c in order), tuple(map(tuple, right)), tuple(map(tuple, left)),
                         simple, tuple(order))


def _singular(entries: tuple, shape: tuple, option: str) -> Decomposition | None:
    """Singular values descending (gesdd's order), V's columns (right) and U's (left, all m of them).

    Through the Gram matrix G = A^T A of a tall A (A A^T of a wide one): its
    eigenvalues are the squared singular values and its eigenvectors V (U);
    then U = A V / sigma. Columns of U with sigma = 0, and the m - n columns
    past them, are LAPACK's projected on the complement of the others and
    made orthonormal: any basis of that complement is one (their `simple` is
    False for sigma = 0).
    """
    m, n = shape
    a = [[as_ball(entries[i * n + j]) for j in range(n)] for i in range(m)]
    tall = m >= n
    t, s = (m, n) if tall else (n, m)
    if not tall:  # work with A^T: its U is A's V
        a = [list(col) for col in zip(*a)]
    gram = _gram(entries, a, shape, tall)
    roots = _roots(gram, s)
    if roots is None:
        return None
    roots = sorted(((flint.acb(z.real), k) for z, k in roots), key=lambda r: -float(r[0].real.mid()))
    _, big_v, big_u = lapack("svd", entries, shape)
    v_ref, u_ref = (big_v, big_u) if tall else (big_u, big_v)
    g = flint.acb_mat(s, s, [as_ball(x) for x in gram])
    values, vs, simple, which = [], [], [], []
    for c, (mu, k) in enumerate(roots):
        start = len(values)
        for v in _orthonormal([_apply(_projector(g, roots, c, s), v_ref[:, start + q]) for q in range(k)]):
            values.append(flint.acb(mu.real.nonnegative_part().sqrt()))
            vs.append([flint.acb(x.real) for x in v])
            simple.append(k == 1 and not mu.real.is_zero())
            which.append(c)
    us = [[sum((a[i][j] * v[j] for j in range(s)), flint.acb(0)) / values[q] for i in range(t)]
          if not values[q].real.is_zero() else None for q, v in enumerate(vs)]
    us = _completed(us, u_ref, t)
    right, left = (vs, us) if tall else (us, vs)
    return Decomposition(tuple(values), tuple(map(tuple, right)), tuple(map(tuple, left)), tuple(simple),
                         tuple(which))


def _gram(entries: tuple, a: list, shape: tuple, tall: bool) -> tuple:
    """A^T A (tall) or A A^T (wide), exactly where the entries are rational."""
    exact = _exact(entries)
    m, n = shape
    if exact is not None:
        q = flint.fmpq_mat(m, n, exact)
        g = q.transpose() * q if tall else q * q.transpose()
        return tuple(g[i, j] for i in range(g.nrows()) for j in range(g.ncols()))
    s = len(a[0])
    return tuple(sum((a[r][i] * a[r][j] for r in range(len(a))), flint.acb(0)) for i in range(s) for j in range(s))


def _completed(us: list, reference: np.ndarray, t: int) -> list:
    """The columns of U that sigma = 0 leaves undefined, and the t - s beyond: LAPACK's, projected on the
    complement of the defined ones, orthonormal."""
    defined = [u for u in us if u is not None]
    missing = [q for q, u in enumerate(us) if u is None] + list(range(len(us), t))
    extra = []
    for q in missing:
        x = [flint.acb(float(v)) for v in reference[:, q]]
        for basis in defined + extra:
            dot = sum((basis[i].conjugate() * x[i] for i in range(t)), flint.acb(0))
            x = [x[i] - dot * basis[i] for i in range(t)]
        size = _norm(x)
        extra.append([v / size for v in x])
    out = list(us) + [None] * (t - len(us))
    for q, u in zip(missing, extra):
        out[q] = [flint.acb(v.real) for v in u]
    return out


symmetric = _adaptive("eigh", _symmetric)
general = _adaptive("eig", _general)
singular = _adaptive("svd", _singular)
