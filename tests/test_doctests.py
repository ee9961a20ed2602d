"""Every Example in the public docstrings runs, against the installed package (so CI checks
the wheel it built, not the source tree, which has no compiled extension)."""

import doctest
import importlib

import pytest

MODULES = ["ferroinit", "ferroinit.families", "ferroinit.torch", "ferroinit.dask", "ferroinit.bench",
           "ferroinit.bench.units", "ferroinit.bench.timing", "ferroinit.bench.run",
           "ferroinit.bench.cli",
           "ferroinit._registry", "ferroinit._forms", "ferroinit._integers", "ferroinit._fans"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, name) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
    if name in ("ferroinit", "ferroinit.families"):
        assert result.attempted >= 20, "the public API lost its examples"
