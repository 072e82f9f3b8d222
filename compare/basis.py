"""What each derivative is compared on, beyond its dtype's tolerance, from what the symbolic runs
observed (`compare.symbolic.observed`).

**Structured inputs.** Where the op autograd runs on an input reads it as a structured matrix
(`torch.linalg.cholesky`: symmetric; `cholesky_solve`'s factor: triangular), SymPy's derivative
is that of the entries the op reads (one triangle) and torch's backward gives the gradient on the
structure (a symmetric one). The two are different vectors for the same function of a structured
matrix: they agree along every direction that keeps the structure, and only there is the
function's derivative defined by the op's contract. Both are projected onto those directions
(orthogonally: sym(G) = (G + Gᵀ)/2 for a symmetric pair of input entries, 0 for an entry of the
triangle the op does not read) and compared there; the page says so. Only entries that are the
input's own (its symbols, as a view or a copy of it) are constrained: a matrix built inside the
function (`B @ B.T + eps * I`) makes its input no structured matrix, and ordinary comparison applies.

**Precision.** A derivative whose computation passed through a coarser dtype than its run's
(`x.float()` in a float64 run) is held to the coarser dtype's tolerance, for the inputs whose
values went through it; the page says where. The exact side is not rounded: it is the mathematics
the rounded computation approximates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import sympy
import torch

from .errors import display_path
from .symbolic.observed import Lowered, Structured, finer
from .tolerances import FORWARD_TOLERANCE, TOLERANCES, Tolerance, looser

__all__ = ["Projection", "Basis", "basis"]


@dataclass(frozen=True)
class Projection:
    """The orthogonal projection of the inputs' entries (flattened, input after input) onto the directions
    that keep every structured argument's structure."""

    groups: tuple[tuple[int, ...], ...]
    """Positions that move together (a_ij and a_ji of a symmetric argument): each takes the group's mean."""
    zeros: tuple[int, ...]
    """Positions that do not move (an entry of the triangle the op does not read): 0."""
    onto: tuple[tuple[int, int | None], ...] = ()
    """(position, source) that moves a point onto the structure keeping what the op reads: each entry of
    the unread triangle takes its mirror's value (symmetric), or 0 (source None: triangular)."""

    def point(self, values: np.ndarray) -> np.ndarray:
        """The inputs' entries (flattened) moved onto the structure: the op reads the same values there."""
        out = np.array(values, dtype=np.float64).copy()
        for target, source in self.onto:
            out[target] = 0.0 if source is None else out[source]
        return out

    def apply_exprs(self, values: np.ndarray) -> np.ndarray:
        """`apply` to a flat object array of SymPy expressions (a gradient's formulas)."""
        out = np.array(values, dtype=object).copy()
        for group in self.groups:
            mean = sympy.Add(*(out[i] for i in group)) / len(group)
            for i in group:
                out[i] = mean
        for i in self.zeros:
            out[i] = sympy.S.Zero
        return out

    def apply(self, values: np.ndarray, axis: int = -1) -> np.ndarray:
        """`values` projected along `axis` (of the size of all input entries)."""
        out = np.moveaxis(np.array(values, dtype=np.float64), axis, -1).copy()
        for group in self.groups:
            idx = list(group)
            with np.errstate(invalid="ignore"):
                out[..., idx] = out[..., idx].mean(axis=-1, keepdims=True)
        out[..., list(self.zeros)] = 0.0
        return np.moveaxis(out, -1, axis)


@dataclass(frozen=True)
class Basis:
    """How one case's derivatives are compared (see the module docstring)."""

    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Input name -> shape, in the inputs' order."""
    projection: Projection | None = None
    """Onto the structured directions; None where no input is structured."""
    lowered: Mapping[torch.dtype, Mapping[str, torch.dtype]] = field(default_factory=dict)
    """Run dtype -> input -> the coarsest dtype that input's values passed through in that run."""
    notes: tuple[str, ...] = ()
    """What the page says of both, a sentence each."""

    def gradient(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A gradient (input name -> array) projected."""
        if self.projection is None:
            return dict(values)
        flat = self.projection.apply(np.concatenate([np.reshape(values[n], -1) for n in self.shapes]))
        return self._split(flat, 0, ())

    def exact_gradient(self, formulas: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A gradient's formulas (input name -> object array) projected, for proving a claim on them."""
        if self.projection is None:
            return dict(formulas)
        flat = self.projection.apply_exprs(np.concatenate([np.reshape(formulas[n], -1) for n in self.shapes]))
        sizes = [int(np.prod(s, dtype=int)) for s in self.shapes.values()]
        return {n: p.reshape(s) for (n, s), p in zip(self.shapes.items(), np.split(flat, np.cumsum(sizes)[:-1]))}

    def jacobian(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A Jacobian (input name -> output shape + input shape) projected along its input axes."""
        if self.projection is None:
            return dict(values)
        first = next(iter(self.shapes))
        lead = np.shape(values[first])[:np.ndim(values[first]) - len(self.shapes[first])]
        rows = int(np.prod(lead, dtype=int))
        flat = np.concatenate([np.reshape(values[n], (rows, -1)) for n in self.shapes], axis=1)
        return self._split(self.projection.apply(flat, axis=1), 1, lead)

    def hessian(self, values: np.ndarray | None) -> np.ndarray | None:
        """A Hessian over all input entries (both axes projected), or H v (the vector projected)."""
        if self.projection is None or values is None:
            return values
        out = self.projection.apply(values, axis=-1)
        return self.projection.apply(out, axis=0) if np.ndim(values) == 2 else out

    def direction(self, u: torch.Tensor) -> torch.Tensor:
        """The run's one direction, moved onto the structured directions (so that forward mode, finite
        differences and H v are taken along a direction the comparison is defined on)."""
        if self.projection is None:
            return u
        return torch.as_tensor(self.projection.apply(u.numpy()), dtype=u.dtype)

    def point(self, point: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A point (input name -> tensor) moved onto the structured inputs' structure (`Projection.point`)."""
        if self.projection is None:
            return dict(point)
        flat = np.concatenate([point[n].detach().to(torch.float64).reshape(-1).numpy() for n in self.shapes])
        moved = self.projection.point(flat)
        parts = np.split(moved, np.cumsum([int(np.prod(s, dtype=int)) for s in self.shapes.values()])[:-1])
        return {n: torch.as_tensor(p, dtype=point[n].dtype).reshape(point[n].shape)
                for n, p in zip(self.shapes, parts)}

    def tolerances(self, dtype: torch.dtype) -> dict[str, Tolerance] | None:
        """Input -> the tolerance its derivatives in the `dtype` run are held to, where coarser than
        `dtype`'s own (None where none is)."""
        found = self.lowered.get(dtype, {})
        return {n: TOLERANCES.get(found.get(n, dtype), TOLERANCES[torch.float32]) for n in self.shapes} \
            if found else None

    def hessian_tolerance(self) -> Tolerance | None:
        """The tolerance of the float64 run's Hessian: the coarsest any input's values passed through
        (None where none is coarser than float64)."""
        found = self.lowered.get(torch.float64, {})
        if not found:
            return None
        return TOLERANCES.get(max(found.values(), key=lambda d: torch.finfo(d).eps), TOLERANCES[torch.float32])

    def output_tolerance(self) -> Tolerance:
        """How far torch's float64 output may be from the exact one before the two are taken to compute
        different functions: `FORWARD_TOLERANCE`, or the coarser dtype's where the run rounds to one."""
        coarse = self.hessian_tolerance()
        return FORWARD_TOLERANCE if coarse is None else looser(FORWARD_TOLERANCE, coarse)

    def _split(self, flat: np.ndarray, axis: int, lead: tuple) -> dict[str, np.ndarray]:
        sizes = [int(np.prod(s, dtype=int)) for s in self.shapes.values()]
        parts = np.split(flat, np.cumsum(sizes)[:-1], axis=axis)
        return {n: p.reshape(lead + tuple(s)) for (n, s), p in zip(self.shapes.items(), parts)}


def basis(symbols: Mapping[str, np.ndarray], structured: list[Structured],
          lowered: Mapping[torch.dtype, list[Lowered]]) -> Basis:
    """The Basis of a case with these input symbols, from the facts its symbolic runs observed
    (`lowered`: per run dtype, the casts met by a symbolic run in that dtype)."""
    shapes = {n: tuple(s.shape) for n, s in symbols.items()}
    if not structured and not any(lowered.values()):  # most cases: nothing to adapt
        return Basis(shapes)
    owner = {s: n for n, syms in symbols.items() for s in syms.flat}
    projection, notes = _projection(symbols, structured, owner) if structured else (None, [])
    coarsest: dict = {}
    for run_dtype, facts in lowered.items():
        for fact in (f for f in facts if finer(run_dtype, f.target)):  # below the run's own precision only
            for name in sorted({owner[s] for s in fact.symbols if s in owner}, key=list(symbols).index):
                now = coarsest.setdefault(run_dtype, {}).get(name, run_dtype)
                if finer(now, fact.target):
                    coarsest[run_dtype][name] = fact.target
            notes.extend(_precision_note(fact, owner, run_dtype, symbols))
    return Basis(shapes, projection, coarsest, tuple(dict.fromkeys(notes)))


def _projection(symbols, structured: list[Structured], owner: dict) -> tuple[Projection | None, list[str]]:
    """The projection the structured arguments ask for, and a note for each input it constrains."""
    position = {s: i for i, s in enumerate(s for syms in symbols.values() for s in syms.flat)}
    parent = list(range(len(position)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    zeros, onto, notes = set(), {}, []
    for fact in structured:
        touched = set()
        for read, unread in _mirrored(fact):
            r, u = position.get(read), position.get(unread)
            if u is None or r == u:
                continue
            if fact.kind == "triangular":  # an entry the op does not read: no direction moves it
                zeros.add(u)
                onto[u] = None
            elif r is not None:  # a symmetric pair of the input's own entries moves together
                parent[root(u)] = root(r)
                onto[u] = r
            else:
                continue
            touched.add(owner[unread])
        notes += [_structure_note(fact, name) for name in sorted(touched, key=list(symbols).index)]
    if not notes:
        return None, []
    classes: dict = {}
    for i in range(len(parent)):
        classes.setdefault(root(i), []).append(i)
    zeroed = {i for members in classes.values() if zeros & set(members) for i in members}
    groups = tuple(tuple(c) for c in classes.values() if len(c) > 1 and not zeroed & set(c))
    return Projection(groups, tuple(sorted(zeroed)), tuple(sorted(onto.items()))), notes


def _mirrored(fact: Structured):
    """(entry the op reads, the entry mirroring it in the other triangle) for each off-diagonal pair."""
    for m in fact.matrices:
        for i in range(len(m)):
            for j in range(i):  # (i, j) below the diagonal, (j, i) above it
                yield (m[i][j], m[j][i]) if fact.triangle == "lower" else (m[j][i], m[i][j])


def _structure_note(fact: Structured, name: str) -> str:
    if fact.kind == "symmetric":
        return (f"`{name}` is read by `{fact.op}` as a symmetric matrix, and torch's backward gives the "
                f"symmetric gradient: the gradients for `{name}` are compared along symmetric directions, "
                f"sym(G) = (G + Gᵀ)/2 on both sides (SymPy's derivative is that of the triangle the op reads; "
                f"the two agree on every symmetric direction)")
    return (f"`{name}` is read by `{fact.op}` as a {fact.triangle} triangular matrix: the gradients for `{name}` "
            f"are compared along {fact.triangle} triangular directions (its entries in the other triangle, which "
            f"the op does not read, are left out on both sides)")


def _precision_note(fact: Lowered, owner: dict, run_dtype: torch.dtype, symbols) -> list[str]:
    names = sorted({owner[s] for s in fact.symbols if s in owner}, key=list(symbols).index)
    if not names:
        return []
    label = lambda d: str(d).replace("torch.", "")  # noqa: E731
    where = f"line {fact.site[1]} of {display_path(fact.site[0])}" if fact.site[1] else "an op"
    shown = ", ".join(f"`{n}`" for n in names)
    return [f"precision: at {where}, values of {shown} are rounded from {label(fact.source)} to "
            f"{label(fact.target)}: in the {label(run_dtype)} run, the derivatives for {shown} are held to "
            f"{label(fact.target)}'s tolerance"]
