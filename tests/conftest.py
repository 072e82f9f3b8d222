"""`--conformance`: also run op_db in every mode, one test per op (minutes of CPU; spread it with -n)."""
import pytest


def pytest_addoption(parser):
    parser.addoption("--conformance", action="store_true", default=False,
                     help="run every op_db entry in every mode against docs/conformance.json (tests marked conformance)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--conformance"):
        return
    skip = pytest.mark.skip(reason="the full op_db run in every mode: pass --conformance")
    for item in items:
        if "conformance" in item.keywords:
            item.add_marker(skip)
