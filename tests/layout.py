"""What tests/test_layout.py holds the package to, read from the source with `ast` (nothing is imported).

- import cycles between modules, late imports included (a late import that
  dodges a cycle is still one); importing a module's own ancestor package is
  no edge, since Python runs it first anyway;
- functions longer than `LONGEST` lines;
- internal functions (not named in their module's `__all__`) with more than
  `MOST_PARAMETERS` parameters (`self`/`cls` not counted; `*args` and
  `**kwargs` count one each);
- modules longer than `LONGEST_MODULE` lines;
- loops between packages (a package and the top-level modules beside it are
  each one unit: `compare.judge.kinks.chain` belongs to `compare.judge`), and a
  unit that imports a unit of a higher layer of `LAYERS`.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass

LONGEST = 60
MOST_PARAMETERS = 8
LONGEST_MODULE = 500


@dataclass(frozen=True)
class Module:
    name: str
    path: str
    tree: ast.Module

    @property
    def package(self) -> str:
        return self.name if self.path.endswith("__init__.py") else self.name.rpartition(".")[0]


def modules(root: str, package: str) -> dict[str, Module]:
    """Every module of `package` (a folder under `root`), by dotted name."""
    found = {}
    for folder, _, files in os.walk(os.path.join(root, package)):
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                parts = os.path.relpath(path, root)[:-3].split(os.sep)
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                with open(path, encoding="utf-8") as text:
                    found[name] = Module(name, path, ast.parse(text.read(), filename=path))
    return found


def imports(module: Module, known: dict[str, Module]) -> set[str]:
    """The modules of the package that `module` imports, anywhere in its body."""
    out = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for t in [target] + [f"{target}.{a.name}" for a in node.names]:
                out.add(t)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    ancestors = {module.name.rsplit(".", k)[0] for k in range(1, module.name.count(".") + 1)}
    return {t for t in out if t in known and t != module.name and t not in ancestors}


def cycles(known: dict[str, Module]) -> list[list[str]]:
    """Each strongly connected group of more than one module."""
    return _tarjan({name: sorted(imports(m, known)) for name, m in known.items()})


def _public(module: Module) -> set[str]:
    for node in module.tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return set()


def _functions(module: Module):
    """(qualified name, node, public) of every function, methods and nested ones included."""
    public = _public(module)

    def walk(node, prefix, exported):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                yield name, child, exported and (child.name in public if not prefix else not child.name.startswith("_"))
                yield from walk(child, name + ".", False)
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, prefix + child.name + ".", child.name in public)
    yield from walk(module.tree, "", True)


def long_functions(known: dict[str, Module], longest: int = LONGEST) -> list[str]:
    return [f"{m.name}.{name}: {node.end_lineno - node.lineno + 1} lines"
            for m in known.values() for name, node, _ in _functions(m)
            if node.end_lineno - node.lineno + 1 > longest]


def many_parameters(known: dict[str, Module], most: int = MOST_PARAMETERS) -> list[str]:
    found = []
    for m in known.values():
        for name, node, public in _functions(m):
            a = node.args
            count = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
            if (a.posonlyargs + a.args) and (a.posonlyargs + a.args)[0].arg in ("self", "cls"):
                count -= 1
            if count > most and not public:
                found.append(f"{m.name}.{name}: {count} parameters")
    return found


def long_modules(known: dict[str, Module], longest: int = LONGEST_MODULE) -> list[str]:
    out = []
    for m in known.values():
        with open(m.path, encoding="utf-8") as text:
            count = sum(1 for _ in text)
        if count > longest:
            out.append(f"{m.name}: {count} lines")
    return sorted(out)


def unit(name: str, root: str) -> str:
    """The unit a module belongs to: `root.pkg` for anything under the package `root.pkg`, else the module."""
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else name


def unit_imports(known: dict[str, Module], root: str) -> dict[str, set[str]]:
    """unit -> the other units its modules import."""
    graph: dict[str, set[str]] = {}
    for name, m in known.items():
        if name == root:
            continue  # the package's own `__init__` is its front door: it may import anything
        mine = unit(name, root)
        graph.setdefault(mine, set()).update(unit(t, root) for t in imports(m, known)
                                             if t != root and unit(t, root) != mine)
    return graph


def package_cycles(known: dict[str, Module], root: str) -> list[list[str]]:
    """Each strongly connected group of more than one unit."""
    return _tarjan({u: sorted(v) for u, v in unit_imports(known, root).items()})


def _tarjan(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one node of `graph` (Tarjan's algorithm)."""
    index, low, stack, on, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def upward_imports(known: dict[str, Module], root: str, layers: list[set[str]]) -> list[str]:
    """"a -> b" for each unit a that imports a unit b of a higher layer, and "a: in no layer" for a unit
    `layers` does not place (a new module must be given its place)."""
    level = {u: k for k, layer in enumerate(layers) for u in layer}
    found = []
    for a, targets in sorted(unit_imports(known, root).items()):
        if a not in level:
            found.append(f"{a}: in no layer")
            continue
        found += [f"{a} -> {b}" for b in sorted(targets) if b in level and level[b] > level[a]]
    return found
