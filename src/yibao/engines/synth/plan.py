"""Read a CHS-DRG plan folder (``plan.json`` plus TSV tables) into lookup structures.

Only what the generator needs is kept: the named code lists as sets, the code
dictionaries, the OR-procedure set, the CC/MCC and exclusion tables, the tag tables
and the trauma body sites.  Nothing here knows an ICD code: every code comes from the
plan data.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

Condition = dict[str, Any]


def _read_tsv(path: Path) -> pl.DataFrame:
    """Read a plan TSV exactly as stored: strings only, no quoting, no trimming."""
    return pl.read_csv(path, separator="\t", quote_char=None, infer_schema=False)


@dataclass(frozen=True, eq=False)
class PlanData:
    """A grouping plan loaded for generation (read-only)."""

    root: Path
    plan_id: str
    mdc_order: tuple[str, ...]
    mdc_entry: dict[str, Condition]
    mdc_adrgs: dict[str, tuple[str, ...]]
    adrg_mdc: dict[str, str]
    adrg_condition: dict[str, Condition]
    adrg_drgs: dict[str, tuple[str, ...]]
    drg_split: dict[str, str]
    drg_name: dict[str, str]
    lists: dict[str, frozenset[str]]
    #: proc_tag_tables: table -> code -> tag of the code's first pair.
    tags: dict[str, dict[str, str]]
    #: trauma_sites: name -> code -> site number (0-based, in plan order).
    trauma_sites: dict[str, dict[str, int]]
    dx_codes: tuple[str, ...]
    dx_names: tuple[str, ...]
    px_codes: tuple[str, ...]
    #: grouper code -> input code to write (see :func:`_emit_codes`).
    dx_emit: dict[str, str]
    px_emit: dict[str, str]
    or_codes: frozenset[str]
    #: cc_mcc.tsv: code -> (level, table)
    cc: dict[str, tuple[str, str]]
    #: cc_exclusion.tsv: principal code -> table
    exclusion: dict[str, str]

    @functools.cached_property
    def dx_index(self) -> dict[str, int]:
        """Position of each diagnosis code in :attr:`dx_codes`."""
        return {c: i for i, c in enumerate(self.dx_codes)}

    @functools.cached_property
    def px_index(self) -> dict[str, int]:
        """Position of each procedure code in :attr:`px_codes`."""
        return {c: i for i, c in enumerate(self.px_codes)}

    @functools.cached_property
    def dx_usable(self) -> frozenset[str]:
        """Dictionary diagnosis codes that some input code maps to."""
        return frozenset(self.dx_emit)

    @functools.cached_property
    def px_usable(self) -> frozenset[str]:
        """Dictionary procedure codes that some input code maps to."""
        return frozenset(self.px_emit)

    def adrg_type(self, adrg: str) -> str:
        """``surgical`` (2nd letter A–J), ``non_or`` (K–Q) or ``medical`` (R–Z)."""
        letter = adrg[1]
        if "A" <= letter <= "J":
            return "surgical"
        if "K" <= letter <= "Q":
            return "non_or"
        return "medical"


def _emit_codes(frame: pl.DataFrame, dictionary: frozenset[str]) -> dict[str, str]:
    """Grouper code -> the input code to write for it.

    The code itself when the map sends it to itself, otherwise the first input code
    (in code order) that the map sends to it.  Grouper codes outside the dictionary
    are dropped.
    """
    out: dict[str, str] = {}
    for source, target in frame.sort("input_code").iter_rows():
        if target not in dictionary:
            continue
        if source == target:
            out[target] = source
        else:
            out.setdefault(target, source)
    return out


def _tags(raw: dict[str, list[list[str]]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, pairs in raw.items():
        first: dict[str, str] = {}
        for code, tag in pairs:
            first.setdefault(code, tag)  # a code's tag is the tag of its first pair
        out[table] = first
    return out


def _trauma(
    raw: dict[str, list[dict[str, str]]], lists: dict[str, frozenset[str]]
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, sites in raw.items():
        owner: dict[str, int] = {}
        for number, site in enumerate(sites):
            for code in lists[site["list"]]:
                owner[code] = number  # a code listed twice belongs to the last site
        out[name] = owner
    return out


@functools.lru_cache(maxsize=4)
def load_plan(plan_dir: Path) -> PlanData:
    """Load ``plan_dir`` (a folder like ``plans/chs-drg-1.1``); cached per path."""
    root = Path(plan_dir)
    raw: dict[str, Any] = json.loads((root / "plan.json").read_text(encoding="utf-8"))
    lists = {name: frozenset(codes) for name, codes in raw["code_lists"].items()}
    dx = _read_tsv(root / "diagnoses.tsv")
    px = _read_tsv(root / "procedures.tsv")
    dx_set = frozenset(dx["code"].to_list())
    px_set = frozenset(px["code"].to_list())
    cc = _read_tsv(root / "cc_mcc.tsv")
    cce = _read_tsv(root / "cc_exclusion.tsv")
    orp = _read_tsv(root / "or_procedures.tsv")
    return PlanData(
        root=root,
        plan_id=str(raw["plan"]["id"]),
        mdc_order=tuple(raw["mdc_order"]),
        mdc_entry={m: v["entry"] for m, v in raw["mdcs"].items()},
        mdc_adrgs={m: tuple(v["adrgs"]) for m, v in raw["mdcs"].items()},
        adrg_mdc={a: v["mdc"] for a, v in raw["adrgs"].items()},
        adrg_condition={a: v["condition"] for a, v in raw["adrgs"].items()},
        adrg_drgs={a: tuple(v["drgs"]) for a, v in raw["adrgs"].items()},
        drg_split={d: v["split"] for d, v in raw["drgs"].items()},
        drg_name={d: v["name"] for d, v in raw["drgs"].items()},
        lists=lists,
        tags=_tags(raw["proc_tag_tables"]),
        trauma_sites=_trauma(raw["trauma_sites"], lists),
        dx_codes=tuple(dx["code"].to_list()),
        dx_names=tuple(dx["name"].to_list()),
        px_codes=tuple(px["code"].to_list()),
        dx_emit=_emit_codes(_read_tsv(root / "dx_map.tsv"), dx_set),
        px_emit=_emit_codes(_read_tsv(root / "proc_map.tsv"), px_set),
        or_codes=frozenset(orp["code"].to_list()),
        cc={c: (lv, t) for c, lv, t in cc.iter_rows()},
        exclusion=dict(cce.iter_rows()),
    )
