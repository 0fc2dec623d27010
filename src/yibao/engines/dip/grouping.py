"""One case, or a batch, against a DIP catalogue (domain.md §2.2, selection order of a
public DIP grouper S18), with a Chinese trace of the choice.

1. **Core groups** of the case's diagnosis category whose procedures the case all
   has, best first by procedure type (相关手术 > 治疗性操作 > 诊断性操作 > 保守治疗),
   then by the number of procedure codes matched, then by the group's mean cost
   closest to the case's cost, then by code.  A conservative core group (no
   procedures) takes only a case without surgery or therapeutic procedures: a surgical
   case whose operation has no core group is paid as a comprehensive surgical case,
   not as a conservative one.
2. (基层病种, primary-care groups, are not configured by the catalogue.)
3. **Comprehensive groups** of the case's procedure type: its diagnosis prefix, then
   its chapter letter.
4. Else the **blank group** (空白病组): ``code`` None, status ``blank``.

The batch runs the same choice (:func:`_choose`) once per distinct diagnosis
category and procedure set, and per case only when the cost decides a tie.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import polars as pl

from yibao.engines.dip.catalogue import (
    COMPREHENSIVE,
    CORE,
    PROC_TYPES,
    TYPE_CODES,
    Catalogue,
    case_type,
    category,
)
from yibao.engines.measure.frames import require

BLANK: Final = "blank"
_CONSERVATIVE_OK: Final = frozenset({"diagnostic", "conservative"})


@dataclass(frozen=True, slots=True)
class DipChoice:
    """Where a case goes: ``code`` (None in the blank group), ``kind`` (core /
    comprehensive / blank), the case's ``proc_type``, procedure codes ``matched``,
    and the ``trace`` (Chinese, one line a step)."""

    code: str | None
    kind: str
    proc_type: str
    matched: int
    trace: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Core:
    code: str
    procedures: frozenset[str]
    rank: int
    mean_cost: float


class _Compiled:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.core: dict[str, list[_Core]] = {}
        self.comprehensive: set[str] = set()
        for row in catalogue.groups.iter_rows(named=True):
            if row["kind"] == CORE:
                procs = frozenset(p for p in row["procedures"].split("+") if p)
                self.core.setdefault(row["dx_key"], []).append(
                    _Core(row["code"], procs, PROC_TYPES[row["proc_type"]][0], row["mean_cost"])
                )
            else:
                self.comprehensive.add(row["code"])


def _compiled(catalogue: Catalogue) -> _Compiled:
    found = _CACHE.get(id(catalogue))
    if found is None or found.catalogue is not catalogue:
        found = _CACHE[id(catalogue)] = _Compiled(catalogue)
        if len(_CACHE) > 8:
            _CACHE.pop(next(iter(_CACHE)))
    return found


_CACHE: dict[int, _Compiled] = {}


@dataclass(frozen=True, slots=True)
class _Ranked:
    """The core candidates of a diagnosis category and procedure set, best first by
    (type, matched); ``tied`` when the first two are equal on both, so the cost
    decides."""

    candidates: tuple[_Core, ...]
    tied: bool


def _ranked(c: _Compiled, dx_cat: str, procs: frozenset[str], ptype: str) -> _Ranked:
    fits = [
        g
        for g in c.core.get(dx_cat, ())
        if g.procedures <= procs and (g.procedures or ptype in _CONSERVATIVE_OK)
    ]
    fits.sort(key=lambda g: (-g.rank, -len(g.procedures), g.code))
    tied = len(fits) > 1 and (fits[0].rank, len(fits[0].procedures)) == (
        fits[1].rank,
        len(fits[1].procedures),
    )
    return _Ranked(tuple(fits), tied)


def _choose(
    c: _Compiled,
    dx_cat: str | None,
    procs: frozenset[str],
    ptype: str,
    cost: float | None,
    ranked: _Ranked | None = None,
) -> DipChoice:
    type_name = PROC_TYPES[ptype][1]
    trace = [f"主要诊断分类 {dx_cat or '（无）'}，手术操作 {len(procs)} 个，类型 {type_name}"]
    if not dx_cat:
        trace.append("无主要诊断，不能入组：空白病组")
        return DipChoice(None, BLANK, ptype, 0, tuple(trace))
    ranked = ranked or _ranked(c, dx_cat, procs, ptype)
    if ranked.candidates:
        best = ranked.candidates[0]
        if ranked.tied and cost is not None:
            top = [
                g
                for g in ranked.candidates
                if (g.rank, len(g.procedures)) == (best.rank, len(best.procedures))
            ]
            best = min(top, key=lambda g: (abs(g.mean_cost - cost), g.code))
            trace.append(
                f"核心病种 {len(top)} 个同类型、同匹配数（{'、'.join(g.code for g in top)}），"
                f"取历史均次费用最接近本例费用 {cost:.2f} 元者"
            )
        trace.append(
            f"入核心病种 {best.code}：匹配手术操作 {len(best.procedures)} 个"
            f"（候选 {len(ranked.candidates)} 个，按 相关手术＞治疗性操作＞诊断性操作＞保守治疗、"
            "匹配数多者优先）"
        )
        return DipChoice(best.code, CORE, ptype, len(best.procedures), tuple(trace))
    trace.append(f"诊断分类 {dx_cat} 下没有与本例手术操作相符的核心病种")
    params = c.catalogue.params
    keys = [category(dx_cat, params.comprehensive_chars)]
    if params.comprehensive_chars > 1:
        keys.append(dx_cat[:1] + "*")
    for key in keys:
        code = f"{key}:{TYPE_CODES[ptype]}"
        if code in c.comprehensive:
            trace.append(f"入综合病种 {code}（{key}，{type_name}）")
            return DipChoice(code, COMPREHENSIVE, ptype, 0, tuple(trace))
        trace.append(f"没有综合病种 {code}")
    trace.append("空白病组：目录中没有可入的病种，需另行审核")
    return DipChoice(None, BLANK, ptype, 0, tuple(trace))


def group_one(
    catalogue: Catalogue,
    dx_code: str | None,
    procedures: Iterable[str],
    cost: Decimal | float | None = None,
) -> DipChoice:
    """The DIP group of one case: principal diagnosis ``dx_code``, its procedure codes,
    its total cost (which decides only between equal candidates)."""
    c = _compiled(catalogue)
    procs = frozenset(p.strip() for p in procedures if p and p.strip())
    dx = (dx_code or "").strip()
    dx_cat = category(dx, catalogue.params.dx_chars) if dx else None
    ptype = case_type(procs, catalogue.proc_types)
    return _choose(c, dx_cat, procs, ptype, None if cost is None else float(cost))


def group_cases(catalogue: Catalogue, combinations: pl.DataFrame) -> pl.DataFrame:
    """:func:`group_one` for every row of ``combinations``
    (:func:`~.catalogue.case_combinations` with ``total_cost``): the input with
    ``dip_code``, ``dip_kind`` and ``matched``, in input order."""
    require(
        combinations,
        ("setl_id", "dx_cat", "procedures", "proc_type", "total_cost"),
        "group_cases",
    )
    c = _compiled(catalogue)
    memo: dict[tuple[str | None, str], tuple[_Ranked, DipChoice | None]] = {}
    codes: list[str | None] = []
    kinds: list[str] = []
    matched: list[int] = []
    rows = combinations.select("dx_cat", "procedures", "proc_type", "total_cost").iter_rows()
    for dx_cat, procs_key, ptype, cost in rows:
        key = (dx_cat, procs_key)
        found = memo.get(key)
        if found is None:
            procs = frozenset(p for p in procs_key.split("+") if p)
            ranked = _ranked(c, dx_cat, procs, ptype) if dx_cat else _Ranked((), False)
            fixed = None if ranked.tied else _choose(c, dx_cat, procs, ptype, None, ranked)
            found = memo[key] = (ranked, fixed)
        ranked, choice = found
        if choice is None:  # the cost decides between equal candidates
            procs = frozenset(p for p in procs_key.split("+") if p)
            value = None if cost is None else float(cost)
            choice = _choose(c, dx_cat, procs, ptype, value, ranked)
        codes.append(choice.code)
        kinds.append(choice.kind)
        matched.append(choice.matched)
    return combinations.with_columns(
        pl.Series("dip_code", codes, dtype=pl.String),
        pl.Series("dip_kind", kinds, dtype=pl.String),
        pl.Series("matched", matched, dtype=pl.Int32),
    )
