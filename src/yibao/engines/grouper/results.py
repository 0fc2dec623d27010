"""Result and trace types of the grouper.

Statuses follow the plan README ("Result"): ``ok``, ``ungroupable``,
``ambiguous_qy``, ``check_failed``, ``dx_not_mapped``, ``proc_not_mapped``.

Trace step codes (stable, machine-readable; the text is Chinese):

============== ==============================================================
code           meaning
============== ==============================================================
MAP_DX         one diagnosis code mapped (``ok=False``: not in ``dx_map``)
MAP_PROC       one procedure code mapped (``ok=False``: not in ``proc_map``)
CHECK_*        one input check in plan order: ``CHECK_DX_MAPPED``,
               ``CHECK_PROC_MAPPED``, ``CHECK_SEX``, ``CHECK_AGE_YEARS``,
               ``CHECK_AGE_DAYS``, ``CHECK_BIRTH_WEIGHT``, ``CHECK_DX_LIST``
MDC_SKIP       an MDC's entry condition is false
MDC_ENTRY      an MDC's entry condition is true; its ADRG walk starts
QY_MATCH       the QY test of the MDC is true (ambiguous case)
ADRG_MATCH     the first ADRG whose condition is true (with the reason)
ADRG_NO_DRG    an ADRG matched but none of its DRG splits holds and it has
               ``if_no_drg = next_adrg``: the ADRG walk goes on
MDC_FALLTHROUGH no ADRG of an entered MDC matched; the MDC walk goes on
CC_NONE        no secondary diagnosis, or none is a CC / MCC
MCC_FOUND      a secondary diagnosis is a valid MCC
CC_FOUND       a secondary diagnosis is a valid CC
CC_EXCLUDED    a CC / MCC excluded by the principal diagnosis' exclusion table
DRG_SPLIT      the DRG chosen inside the ADRG and why
NO_GROUP_RETRY no group: the walk is repeated with one other procedure alone
               (``no_group_retry``, regional plans)
RESULT         the final status and codes
============== ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

OK: Final = "ok"
UNGROUPABLE: Final = "ungroupable"
AMBIGUOUS_QY: Final = "ambiguous_qy"
CHECK_FAILED: Final = "check_failed"
DX_NOT_MAPPED: Final = "dx_not_mapped"
PROC_NOT_MAPPED: Final = "proc_not_mapped"
STATUSES: Final = (OK, UNGROUPABLE, AMBIGUOUS_QY, CHECK_FAILED, DX_NOT_MAPPED, PROC_NOT_MAPPED)

TRACE_CODES: Final = (
    "MAP_DX",
    "MAP_PROC",
    "CHECK_DX_MAPPED",
    "CHECK_PROC_MAPPED",
    "CHECK_SEX",
    "CHECK_AGE_YEARS",
    "CHECK_AGE_DAYS",
    "CHECK_BIRTH_WEIGHT",
    "CHECK_DX_LIST",
    "MDC_SKIP",
    "MDC_ENTRY",
    "QY_MATCH",
    "ADRG_MATCH",
    "ADRG_NO_DRG",
    "MDC_FALLTHROUGH",
    "CC_NONE",
    "MCC_FOUND",
    "CC_FOUND",
    "CC_EXCLUDED",
    "DRG_SPLIT",
    "NO_GROUP_RETRY",
    "RESULT",
)


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One explained step: stable ``code``, pass/fail flag, Chinese ``text`` and details."""

    code: str
    ok: bool
    text: str
    data: Mapping[str, str] = field(default_factory=dict)


class GroupResult(NamedTuple):
    """The grouping of one case.

    ``mdc`` / ``adrg`` / ``drg`` are ``0000`` / ``00`` / ``0000`` (the plan's
    ``result_codes.no_group``) unless the status is ``ok`` or ``ambiguous_qy``.
    ``trace`` is ``None`` unless :func:`group_one` was called with ``trace=True``.
    """

    status: str
    mdc: str
    adrg: str
    drg: str
    drg_name: str | None
    message: str
    trace: tuple[TraceStep, ...] | None = None


def ok_message(mdc: str, adrg: str, drg: str, name: str | None) -> str:
    """Chinese message of a grouped case."""
    return f"入组 {drg}{' ' + name if name else ''}（{mdc} / ADRG {adrg}）"


def qy_message(mdc: str, drg: str) -> str:
    """Chinese message of an ambiguous (QY) case."""
    return f"歧义病案：{mdc} 有手术室手术，但不符合该 MDC 任何手术 ADRG，入 {drg}"
