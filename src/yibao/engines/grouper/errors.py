"""Errors raised by the grouper engine.

Row-level problems of a case never raise: they become a result status.  Only a
broken plan (:class:`PlanError`) or an unreadable case file (:class:`CaseFileError`)
stops the work.  Messages are Chinese first, then English in parentheses.
"""

from __future__ import annotations


class PlanError(ValueError):
    """A grouping plan is missing, malformed or inconsistent.

    ``where`` is the machine-readable place (``adrgs.BB1.condition.list``,
    ``tables.dx_map.sha256`` …); the message reads
    ``方案 <id>: <中文说明> (<where>: <English>)``.
    """

    def __init__(self, plan_id: str, where: str, message_zh: str, message_en: str) -> None:
        self.plan_id = plan_id
        self.where = where
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"方案 {plan_id}: {message_zh} ({where}: {message_en})")


class CaseFileError(ValueError):
    """A case file (CSV / Parquet / XLSX) or case batch cannot be read as grouper input."""


class PlanNotFoundError(LookupError):
    """No plan with the requested id, or none valid on the requested date."""
