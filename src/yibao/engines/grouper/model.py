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


@dataclass(frozen=True, slots=True)
class DrgSpec:
    """One DRG: its split rule (``always`` / ``mcc`` / ``cc_or_mcc``) and Chinese name."""

    code: str
    adrg: str
    split: str
    name: str


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
