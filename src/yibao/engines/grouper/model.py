"""The data model of a validated grouping plan (frozen dataclasses, read-only mappings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from yibao.engines.grouper.conditions import Condition


@dataclass(frozen=True, slots=True)
class PlanMeta:
    """Version and validity of a plan (``meta.json``; defaults when absent)."""

    id: str
    version: str
    title: str
    valid_from: date | None
    valid_to: date | None
    status: str
    #: the region a regional plan is paid by (``meta.json`` ``region``); ``None``: national
    region: str | None = None

    def valid_on(self, day: date) -> bool:
        """True when ``day`` lies in ``[valid_from, valid_to]`` (both inclusive, open ends)."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to


@dataclass(frozen=True, slots=True)
class QySpec:
    """The ambiguous-case (QY) test of one MDC."""

    enabled: bool
    position: int
    condition: Condition
    drg: str


@dataclass(frozen=True, slots=True)
class MdcSpec:
    """One major diagnostic category: entry condition and ADRGs in evaluation order."""

    letter: str
    entry: Condition
    adrgs: tuple[str, ...]
    qy: QySpec


@dataclass(frozen=True, slots=True)
class AdrgSpec:
    """One ADRG: its condition and DRGs in split order."""

    code: str
    mdc: str
    condition: Condition
    drgs: tuple[str, ...]
    #: ``if_no_drg = next_adrg``: no DRG split holds → the ADRG counts as not matched
    next_adrg: bool = False


@dataclass(frozen=True, slots=True)
class DrgSpec:
    """One DRG: its split rule and Chinese name.

    ``split`` is ``always`` / ``mcc`` / ``cc_or_mcc`` / ``cc`` or ``condition`` (then
    ``condition`` holds the test, PLAN-FORMAT-ADDITIONS.md §1).
    """

    code: str
    adrg: str
    split: str
    name: str
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class TraumaSite:
    """One body site of a multiple-trauma table."""

    site: str
    list_name: str


@dataclass(frozen=True, slots=True)
class CcEntry:
    """Level (``MCC`` / ``CC``) and exclusion-table number of a complication code."""

    level: str
    table: str


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated grouping plan: the data of ``plan.json`` and its tables, read-only."""

    id: str
    title: str
    meta: PlanMeta
    path: Path
    code_separators: tuple[str, ...]
    sex_values: tuple[int, ...]
    newborn_max_age_days: int
    input_checks: tuple[str, ...]
    no_group: tuple[str, str, str]
    qy_adrg: str
    mdc_order: tuple[str, ...]
    mdcs: Mapping[str, MdcSpec]
    adrgs: Mapping[str, AdrgSpec]
    drgs: Mapping[str, DrgSpec]
    code_lists: Mapping[str, tuple[str, ...]]
    proc_tag_tables: Mapping[str, tuple[tuple[str, str], ...]]
    trauma_sites: Mapping[str, tuple[TraumaSite, ...]]
    dx_names: Mapping[str, str]
    proc_names: Mapping[str, str]
    dx_map: Mapping[str, str]
    proc_map: Mapping[str, str]
    or_procedures: frozenset[str]
    cc_mcc: Mapping[str, CcEntry]
    cc_exclusion: Mapping[str, str]
    # regional additions (PLAN-FORMAT-ADDITIONS.md); the defaults are the national format
    #: ``input_checks`` → ``sex_valid.accepted``: the only sex texts that pass (§5)
    sex_accepted: tuple[str, ...] | None = None
    #: the walk's own no-group code (``result_codes.no_group.raw``, §6)
    no_group_raw: str = "0000"
    #: (adrg, drg) written for a raw code with ``00`` in characters 2–3 (§6)
    mdc_no_group: tuple[str, str] | None = None
    #: (mdc, adrg, drg) of check_failed / dx_not_mapped / proc_not_mapped (§6)
    input_failure: tuple[str, str, str] | None = None
    #: ``no_group_retry = each_other_procedure_alone`` (§7)
    retry_single_procedures: bool = False

    @property
    def failure_codes(self) -> tuple[str, str, str]:
        """(mdc, adrg, drg) written for a failed input check."""
        return self.input_failure if self.input_failure is not None else self.no_group
