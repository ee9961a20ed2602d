"""``python -m ferroinit bench``: ferroinit against NumPy, torch, JAX and the memory bound.

Everything runs in one process, side by side: for each (initializer, dtype, size) the
libraries are timed in interleaved rounds on the same preallocated array, so background
load hits them alike. The report is a table of GB/s written and ratios, a "targets" section
that checks the project's floors (PASS/FAIL), a JSON of the raw samples and machine info,
and a log-log PNG (when matplotlib is installed).

The package, one concept per module:

* :mod:`~ferroinit.bench.timing`: interleaved timing (:func:`measure_group`);
  :mod:`~ferroinit.bench.memory`: peak memory; :mod:`~ferroinit.bench.machine`: what ran;
* :mod:`~ferroinit.bench.baselines`: each initializer's comparators (NumPy, torch, JAX, the
  fills), the sweep's initializers coming from the registry (``ferroinit._registry``);
* :mod:`~ferroinit.bench.suites`: the suites, one module each, registered in ``SUITES``;
* :mod:`~ferroinit.bench.run`: the state suites share (:class:`Bench`) and the targets;
* :mod:`~ferroinit.bench.report`, :mod:`~ferroinit.bench.plot`: the text report, the PNG;
* :mod:`~ferroinit.bench.cli`: the flags and :func:`main`.

Adding a suite (a JAX comparison, model construction, ...): write
``ferroinit/bench/suites/NAME.py`` with ``NAME``, ``CHOICES = (NAME,)``, ``run(bench)``
(store results in ``bench.suites[NAME]``), ``render(bench)`` (its report lines) and, as
needed, ``targets(bench, add)``, ``add_arguments(parser)`` and ``configure(args)``; then add
the module to ``SUITES`` in ``ferroinit/bench/suites/__init__.py``. ``--init NAME`` selects
it, the default run includes it, its results land in the JSON under ``suites[NAME]``. A suite
needing an optional library checks ``bench.torch``/``bench.jax`` or imports it itself and
records ``{"skipped": why}`` when it is absent. See :mod:`ferroinit.bench.suites.fresh` for a
short example.
"""

from __future__ import annotations

from .cli import build_parser, main
from .machine import machine_info
from .memory import peak_extra_bytes, peak_rss_bytes
from .timing import measure_group
from .units import fmt_bytes, fmt_size, parse_sizes

__all__ = ["build_parser", "fmt_bytes", "fmt_size", "machine_info", "main", "measure_group",
           "parse_sizes", "peak_extra_bytes", "peak_rss_bytes"]
