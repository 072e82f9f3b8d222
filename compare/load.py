"""Find case files and import them, as pytest imports test files.

A case file is a Python module; importing it runs it. Its folder is put
first on `sys.path` while it is imported, so it can import modules beside
it. A file that fails to import is an error that names the file and the
line; it does not stop the other files. So is a file that declares no
case, for `compare run` (a forgotten `@case`); `pytest --compare` loads it
with `require_case=False`, as pytest collects a test file without tests.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass

from .case import Case, collecting
from .errors import display_path, one_line

__all__ = ["declared_cases", "LoadedFile", "discover", "load_file", "passed_over"]


@dataclass(frozen=True)
class LoadedFile:
    """The cases one file declares, or why it could not be loaded."""

    path: str
    """The file, as given (relative to the working directory when below it)."""
    cases: tuple[Case, ...]
    """Its cases, in the order they are declared."""
    error: str | None
    """`file:line: cause` when the file could not be loaded; None otherwise."""
    traceback: str | None = None
    """The full traceback of that error, for `--verbose`."""


def passed_over(name: str, *, folder: bool = False) -> bool:
    """Whether a folder or a file of this name, met under a folder searched, is not a case file.

    Folders whose names start with `.` or `_` are not searched; files that
    are not `.py`, or whose names start with `_` or `conftest`, are helpers.
    """
    if folder:
        return name.startswith((".", "_"))
    return not name.endswith(".py") or name.startswith(("_", "conftest"))


def discover(paths: list[str]) -> list[str]:
    """Case files under `paths`: `.py` files, folders searched recursively, sorted.

    Files whose names start with `_` or `conftest` are helpers, not case files
    (see `passed_over`); a file named itself is taken as it is. A path that
    does not exist is returned as is, so that loading reports it.
    """
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not passed_over(d, folder=True))
                for name in sorted(files):
                    if not passed_over(name):
                        found.append(os.path.join(root, name))
        else:
            found.append(path)
    return [display_path(p) for p in found]


def _module_name(path: str) -> str:
    rel = os.path.splitext(display_path(os.path.abspath(path)))[0]
    return "compare_cases." + "".join(c if c.isalnum() else "_" for c in rel)


def load_file(path: str, *, require_case: bool = True) -> LoadedFile:
    """Import `path` and collect the cases it declares.

    A file that imports but declares no case is an error when
    `require_case`; otherwise it loads with no cases (a helper module).
    """
    shown = display_path(path)
    if not os.path.isfile(path):
        return LoadedFile(shown, (), f"{shown}: no such file")
    if not path.endswith(".py"):
        return LoadedFile(shown, (), f"{shown}: not a Python file")
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        with collecting() as found:
            spec.loader.exec_module(module)
    except BaseException as exc:  # a broken file must not stop the run
        if isinstance(exc, KeyboardInterrupt):
            raise
        sys.modules.pop(name, None)
        return LoadedFile(shown, (), one_line(exc, path, 1), traceback.format_exc())
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    mine = tuple(c for c in found if os.path.abspath(c.file) == os.path.abspath(path))
    if not mine and require_case:
        return LoadedFile(shown, (), f"{shown}:1: no case: decorate a function with @case(inputs=...)")
    return LoadedFile(shown, mine, None)


def declared_cases(path: str) -> list[tuple[str, int, str]]:
    """(name, line, first docstring line) of each @case function in a file, read with `ast`."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name == "case":
                    doc = (ast.get_docstring(node) or "").strip().splitlines()
                    found.append((node.name, node.lineno, doc[0] if doc else ""))
    return sorted(found, key=lambda c: c[1])
