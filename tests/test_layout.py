"""The package's shape: no import cycles, short functions, short parameter lists (see tests/layout.py)."""
import os
import textwrap

import layout

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = layout.modules(ROOT, "compare")


def test_no_import_cycles():
    assert layout.cycles(PACKAGE) == []


def test_no_function_is_over_sixty_lines():
    assert layout.long_functions(PACKAGE) == []


def test_no_internal_function_takes_more_than_eight_parameters():
    assert layout.many_parameters(PACKAGE) == []


def _package(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return layout.modules(str(tmp_path), "pkg")


def test_a_cycle_through_a_late_import_is_caught(tmp_path):
    found = _package(tmp_path, {"__init__.py": "", "a.py": "from . import b\n",
                                "b.py": "def f():\n    from .a import g\n", "c.py": "from .sub import d\n",
                                "sub/__init__.py": "from .d import x\n", "sub/d.py": "from . import e\nx = 1\n",
                                "sub/e.py": ""})
    assert layout.cycles(found) == [["pkg.a", "pkg.b"]]  # sub/d importing its own package is no cycle


def test_a_long_function_and_a_long_parameter_list_are_caught(tmp_path):
    body = "".join(f"    x{k} = {k}\n" for k in range(60))
    source = ('__all__ = ["public"]\n'
              "def long():\n" + body + "    return x0\n"
              "def public(a, b, c, d, e, f, g, h, i): pass\n"
              "def _internal(a, b, c, d, e, f, g, h, i): pass\n"
              "class K:\n"
              "    def method(self, a, b, c, d, e, f, g, h): pass\n")
    found = _package(tmp_path, {"__init__.py": "", "m.py": source})
    assert layout.long_functions(found) == ["pkg.m.long: 62 lines"]
    assert layout.many_parameters(found) == ["pkg.m._internal: 9 parameters"]
