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


def test_no_module_is_over_five_hundred_lines():
    assert layout.long_modules(PACKAGE) == []


LAYERS = [
    {"compare.exact", "compare.errors", "compare.limits", "compare.locate", "compare.progress", "compare.modes",
     "compare.options", "compare.statuses", "compare.records", "compare.tolerances", "compare.agreement",
     "compare.plan", "compare.outputs", "compare.wirtinger"},
    {"compare.symbolic"},
    {"compare.modules", "compare.case", "compare.load", "compare.basis"},
    {"compare.explore"},
    {"compare.numeric"},
    {"compare.sampling", "compare.context"},
    {"compare.kinks", "compare.pieces"},
    {"compare.judge"},
    {"compare.at_point"},
    {"compare.render", "compare.engine"},
    {"compare.batch", "compare.write", "compare.api", "compare.pytest_plugin", "compare.conformance"},
    {"compare.bench", "compare.cli", "compare.__main__"},
]
"""The package's units, lowest first (README, "How it works"): the exact mathematics and the records every
stage shares; symbolic tensors; the case and its inputs; stage 1 (explore); torch's runs (numeric, which
stages 3 and 4 and the sampling of points read); the points and the run's context; stage 2 (pieces, and
PyTorch's rules at kinks); stage 4 (judge); both at one point; stage 5 (render) and the engine; the front
doors. A unit may import its own layer and the layers below."""


def test_no_loops_between_packages():
    assert layout.package_cycles(PACKAGE, "compare") == []


def test_no_package_imports_upward():
    assert layout.upward_imports(PACKAGE, "compare", LAYERS) == []


def test_a_loop_between_packages_and_an_upward_import_are_caught(tmp_path):
    # each module on its own imports nothing that imports it back: only the packages loop
    found = _package(tmp_path, {"__init__.py": "", "low/__init__.py": "", "low/a.py": "from ..high import b\n",
                                "high/__init__.py": "", "high/b.py": "x = 1\n", "high/c.py": "from ..low import d\n",
                                "low/d.py": "y = 2\n", "top.py": "from .low import a\n", "stray.py": ""})
    assert layout.cycles(found) == []
    assert layout.package_cycles(found, "pkg") == [["pkg.high", "pkg.low"]]
    layers = [{"pkg.low"}, {"pkg.high"}, {"pkg.top"}]
    assert layout.upward_imports(found, "pkg", layers) == ["pkg.low -> pkg.high", "pkg.stray: in no layer"]


def test_a_long_module_is_caught(tmp_path):
    found = _package(tmp_path, {"__init__.py": "", "m.py": "x = 1\n" * 501, "n.py": "x = 1\n" * 500})
    assert layout.long_modules(found) == ["pkg.m: 501 lines"]
