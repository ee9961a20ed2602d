"""The bench's suites, in the order they run (and are reported).

A suite is a module with:

* ``NAME``: its name in the JSON's ``suites`` (the sweep writes ``results`` instead);
* ``CHOICES``: the names ``--init`` selects it by (usually ``(NAME,)``);
* ``run(bench)``: measure, storing its results in ``bench.suites[NAME]``;
* ``render(bench) -> list[str]``: its part of the printed report;
* optionally ``targets(bench, add)``: the floors it checks (``add`` is
  :meth:`ferroinit.bench.run.Targets.add`), ``add_arguments(parser)``: its own flags,
  ``configure(args)``: adjust them (``--quick`` sizes), ``steps(bench)``: progress steps
  (default 1).

Register a new suite by adding its module to ``SUITES`` below: one line.
"""

from . import (
               cache,
               dtypes,
               extra_memory,
               fresh,
               jax_random,
               materialize,
               models,
               orthogonal,
               small,
               sparse,
               sweep,
               variants,
               windows,
)

SUITES = (
    sweep,
    # Call overhead first after the sweep: right after the 1 GiB first-touch storm of "fresh"
    # this VM is still returning pages to its host, and every library's 16-element call ran
    # 2-7x slower.
    small,
    cache,
    windows,
    variants,
    dtypes,
    fresh,
    orthogonal,
    sparse,
    extra_memory,
    materialize,
    models,
    jax_random,
)
