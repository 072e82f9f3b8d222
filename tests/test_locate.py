"""A class's line is kept between calls, and read again when its file changes."""
import importlib.util
import sys

from compare.locate import source_location


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_a_class_is_located_again_after_its_file_is_edited(tmp_path):
    path = tmp_path / "located.py"
    path.write_text("class Cube:\n    pass\n")
    first = _load(path, "located_first")
    assert source_location(first.Cube) == (str(path), 1)
    assert source_location(first.Cube) == (str(path), 1)  # kept
    path.write_text("# a comment\n\n\nclass Cube:\n    pass\n")
    second = _load(path, "located_second")
    assert source_location(second.Cube) == (str(path), 4)


def test_a_function_is_located_at_its_first_line():
    def f(x):
        return x
    file, line = source_location(f)
    assert file == __file__ and line == f.__code__.co_firstlineno
