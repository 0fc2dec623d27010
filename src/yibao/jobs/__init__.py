"""A small, generic in-process job runner for long work (batch grouping, measurement runs).

* :mod:`~yibao.jobs.models` — the ``jobs`` table (scoped like cases: owner's hospital / region);
* :mod:`~yibao.jobs.service` — ``do_submit_job`` (in the caller's transaction), queries;
* :mod:`~yibao.jobs.runner` — :class:`JobRunner` (a thread pool in the web process), the
  kind registry (:func:`job_kind`) and :class:`JobContext` handed to each job function.

See ``docs/adr/0003-grouping-and-jobs.md``.
"""
