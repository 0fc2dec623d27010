"""Grouping (分组) as a domain: plans from settings, single-case pre-grouping with a
trace, batch files, and stored results per case and plan (``case_groupings``).

The grouping itself is :mod:`yibao.engines.grouper`; see ``docs/adr/0002-grouper.md``
and ``docs/adr/0003-grouping-and-jobs.md``.
"""
