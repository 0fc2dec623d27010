"""The batch path's window families: counting (quantity, frequency, course, phantom)
and relations (duplicate, linkage, unbundling).

A window is an ``over`` group: ``visit`` = (``mdtrt_id``), ``day`` = (``psn_no``,
``day_key``), ``month`` = (``psn_no``, ``month_key``).  Counting runs a cumulative sum in
the order (day, mdtrt_id, rx_id), as the single path does; a finding is one
(rule, item or relation, window, encounter) with a violating line of that encounter.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import polars as pl

from yibao.engines.audit.findings import INVOLVED, VIOLATING, Hit
from yibao.engines.audit.plans import (
    COUNT_FAMILIES,
    HOURS_PER_DAY,
    ItemPlan,
    Plan,
    RelationPlan,
    relation_detail,
    unbundling_mode,
)
from yibao.engines.audit.single import fen

Q: Final = 4
P: Final = 6
ORDER: Final = ("day", "mdtrt_id", "rx_id")
_SCALE: Final = 10**Q


def window_cols(window: str) -> list[str]:
    """The columns of a window group."""
    return {"visit": ["mdtrt_id"], "day": ["psn_no", "day_key"], "month": ["psn_no", "month_key"]}[
        window
    ]


def key_expr(window: str) -> pl.Expr:
    """The window key as the single path writes it."""
    if window == "visit":
        return pl.lit("").alias("key")
    return pl.col("day_key" if window == "day" else "month_key").alias("key")


def _stay(x: pl.DataFrame) -> pl.DataFrame:
    """Days of each encounter (``single.stay_days``)."""
    last = x.group_by("mdtrt_id").agg(
        pl.col("day").max().alias("last"),
        pl.col("begin_date", "end_date", "care_mode").first(),
    )
    span = (pl.col("end_date") - pl.col("begin_date")).dt.total_days()
    open_span = (pl.col("last") - pl.col("begin_date")).dt.total_days() + 1
    days = (
        pl.when(pl.col("end_date").is_null())
        .then(pl.max_horizontal(open_span, pl.lit(1)))
        .when(pl.col("care_mode") == "ipt")
        .then(pl.max_horizontal(span, pl.lit(1)))
        .otherwise(span + 1)
    )
    return last.select("mdtrt_id", (days.cast(pl.Int64) * _SCALE).alias("stay"))


def _count_checks(plans: Sequence[ItemPlan]) -> pl.DataFrame:
    rows = []
    for plan in plans:
        for code, v in plan.values.items():
            if plan.rule.family == "course":
                sessions, days = v
                rows.append((plan.rule.index, code, sessions and sessions * _SCALE, days))
            elif plan.rule.family == "phantom":
                rows.append((plan.rule.index, code, None, None))
            else:
                rows.append((plan.rule.index, code, int(v.scaleb(Q)), None))
    schema = {"rule_idx": pl.Int64, "item_code": pl.String, "limit": pl.Int64, "max_days": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def count_family_hits(plans: Sequence[ItemPlan], x: pl.DataFrame, _enc: pl.DataFrame) -> list[Hit]:
    """Findings of the counting families."""
    hits: list[Hit] = []
    stay: pl.DataFrame | None = None
    for family in COUNT_FAMILIES:
        for window in ("visit", "day", "month"):
            mine = [p for p in plans if p.rule.family == family and p.rule.window == window]
            mine = [p for p in mine if p.values]
            if not mine:
                continue
            j = x.join(_count_checks(mine), on="item_code")
            if j.is_empty():
                continue
            groups = ["rule_idx", "item_code", *window_cols(window)]
            j = j.sort(*groups, *ORDER).with_columns(key_expr(window))
            if family == "quantity" and window == "day":
                days = pl.col("days").fill_null(1).max().over(groups)
                j = j.with_columns((pl.col("limit") * days).alias("allowed"), days.alias("ndays"))
            elif family == "phantom" and window == "day":
                j = j.with_columns(pl.lit(int(HOURS_PER_DAY) * _SCALE).alias("allowed"))
            elif family == "phantom":
                stay = _stay(x) if stay is None else stay
                j = j.join(stay, on="mdtrt_id").with_columns(pl.col("stay").alias("allowed"))
            else:
                j = j.with_columns(pl.col("limit").alias("allowed"))
            by_idx = {p.rule.index: p for p in mine}
            if family == "course":
                hits += _course_days(j, groups, by_idx)
                j = j.filter(pl.col("limit").is_not_null())
            hits += _allocated(j, groups, by_idx, family, window)
    return hits


def _per_encounter(groups: list[str]) -> tuple[list[str], list[str]]:
    """(group columns + mdtrt_id, the identity columns not among them)."""
    by = list(dict.fromkeys([*groups, "mdtrt_id"]))
    return by, [c for c in ("psn_no", "key") if c not in by]


def _allocated(
    j: pl.DataFrame, groups: list[str], by_idx: dict[int, ItemPlan], family: str, window: str
) -> list[Hit]:
    by, ident = _per_encounter(groups)
    j = j.with_columns(
        (pl.col("q").cum_sum().over(groups) - pl.col("allowed")).alias("over"),
        pl.col("q").sum().over(groups).alias("total"),
    ).filter((pl.col("over") > 0).any().over(by))
    if j.is_empty():
        return []
    extra = ["ndays"] if "ndays" in j.columns else []
    g = j.group_by(by).agg(
        pl.col("rx_id", "q", "p", "a", "over"),
        pl.col(*ident, "total", "allowed", *extra).first(),
    )
    hits = []
    for r in g.iter_rows(named=True):
        plan, code = by_idx[r["rule_idx"]], r["item_code"]
        out = []
        for rx, q, p, a, over in zip(r["rx_id"], r["q"], r["p"], r["a"], r["over"], strict=True):
            if over <= 0:
                out.append((rx, INVOLVED, 0))
            elif over >= q:
                out.append((rx, VIOLATING, a))
            else:
                part = Decimal(over).scaleb(-Q) * Decimal(p).scaleb(-P)
                out.append((rx, VIOLATING, min(fen(part), a)))
        total = Decimal(r["total"]).scaleb(-Q)
        allowed = Decimal(r["allowed"]).scaleb(-Q)
        facts: dict[str, Any] = {"code": code, "key": r["key"]}
        detail = f"{code}|{r['key']}"
        if family == "quantity":
            facts["limit"] = plan.values[code]
            if window == "day":
                facts["days"] = r["ndays"]
        elif family == "frequency":
            facts["limit"] = plan.values[code]
        elif family == "course":
            facts |= {"measure": "sessions", "limit": Decimal(plan.values[code][0])}
            detail += "|sessions"
        elif window == "day":
            facts |= {"measure": "hours", "limit": HOURS_PER_DAY}
        else:
            facts |= {"measure": "days", "limit": allowed}
        facts |= {"excess": total - allowed, "total": total}
        hits.append(Hit(plan.rule, r["psn_no"], r["mdtrt_id"], detail, facts, out))
    return hits


def _course_days(j: pl.DataFrame, groups: list[str], by_idx: dict[int, ItemPlan]) -> list[Hit]:
    by, ident = _per_encounter(groups)
    j = j.filter(pl.col("max_days").is_not_null())
    j = j.with_columns(
        pl.col("day").rank("dense").over(groups).alias("rank"),
        pl.col("day").n_unique().over(groups).alias("ndays"),
    ).filter((pl.col("rank") > pl.col("max_days")).any().over(by))
    if j.is_empty():
        return []
    g = j.group_by(by).agg(
        pl.col("rx_id", "a", "rank"), pl.col(*ident, "ndays", "max_days").first()
    )
    hits = []
    for r in g.iter_rows(named=True):
        plan, code, limit = by_idx[r["rule_idx"]], r["item_code"], r["max_days"]
        out = [
            (rx, VIOLATING, a) if rank > limit else (rx, INVOLVED, 0)
            for rx, a, rank in zip(r["rx_id"], r["a"], r["rank"], strict=True)
        ]
        facts = {
            "code": code,
            "key": r["key"],
            "measure": "days",
            "limit": Decimal(limit),
            "total": Decimal(r["ndays"]),
            "excess": Decimal(r["ndays"] - limit),
        }
        detail = f"{code}|{r['key']}|days"
        hits.append(Hit(plan.rule, r["psn_no"], r["mdtrt_id"], detail, facts, out))
    return hits


def _table(rows: list[tuple[Any, ...]], names: Sequence[str]) -> pl.DataFrame:
    schema: dict[str, Any] = {"rule_idx": pl.Int64, "rel": pl.Int64}
    schema |= dict.fromkeys(names, pl.String)
    return pl.DataFrame(rows, schema=schema, orient="row")


def _lines_of(k: pl.DataFrame, table: pl.DataFrame, column: str) -> pl.DataFrame:
    """Lines whose item code is ``column`` of a relation table (with rule_idx, rel)."""
    return k.join(
        table.select("rule_idx", "rel", pl.col(column).alias("item_code")), on="item_code"
    )


def _collect(frame: pl.DataFrame, kind: int) -> dict[tuple[Any, ...], list[tuple[str, int, int]]]:
    g = frame.group_by("rule_idx", "rel", "mdtrt_id", "key").agg(pl.col("rx_id", "a"))
    out: dict[tuple[Any, ...], list[tuple[str, int, int]]] = {}
    for r in g.iter_rows(named=True):
        key = (r["rule_idx"], r["rel"], r["mdtrt_id"], r["key"])
        amounts = r["a"] if kind == VIOLATING else [0] * len(r["a"])
        out[key] = [(rx, kind, a) for rx, a in zip(r["rx_id"], amounts, strict=True)]
    return out


# long: the three relation families side by side, sharing the window frames
def relation_family_hits(plans: Sequence[Plan], x: pl.DataFrame) -> list[Hit]:
    """Findings of duplicate, linkage and unbundling rules."""
    k = x.select("psn_no", "mdtrt_id", "item_code", "rx_id", "a", "day_key", "month_key")
    hits: list[Hit] = []
    for window in ("visit", "day", "month"):
        mine = [p for p in plans if isinstance(p, RelationPlan) and p.rule.window == window]
        if not mine:
            continue
        kw = k.with_columns(key_expr(window))
        wcols = ["rule_idx", "rel", *window_cols(window)]
        by_idx = {p.rule.index: p for p in mine}
        dup = [
            (p.rule.index, i, *r)
            for p in mine
            if p.rule.family == "duplicate"
            for i, r in enumerate(p.relations)
        ]
        if dup:
            t = _table([(a, b, c, d) for a, b, _, c, d in dup], ["a", "b"])
            bl, al = _lines_of(kw, t, "b"), _lines_of(kw, t, "a")
            flagged = bl.join(al.select(wcols).unique(), on=wcols, how="semi")
            found = _collect(flagged, VIOLATING)
            involved = _collect(al, INVOLVED)
            for key, lines in found.items():
                plan = by_idx[key[0]]
                rel = plan.relations[key[1]]
                kind, a, b = rel
                facts = {"type": kind, "a": a, "b": b, "key": key[3]}
                detail = f"{relation_detail('duplicate', rel)}|{key[3]}"
                psn = _psn(flagged, key[2])
                hits.append(
                    Hit(plan.rule, psn, key[2], detail, facts, lines + involved.get(key, []))
                )
        link = [
            (p.rule.index, i, r)
            for p in mine
            if p.rule.family == "linkage"
            for i, r in enumerate(p.relations)
        ]
        if link:
            items = _table([(a, b, r[0]) for a, b, r in link], ["item"])
            anys = _table([(a, b, c) for a, b, r in link for c in sorted(r[1])], ["code"])
            il = _lines_of(kw, items, "item")
            linked = _lines_of(kw, anys, "code").select(wcols).unique()
            flagged = il.join(linked, on=wcols, how="anti")
            for key, lines in _collect(flagged, VIOLATING).items():
                plan = by_idx[key[0]]
                rel = plan.relations[key[1]]
                item, any_of = rel
                facts = {"item": item, "any_of": tuple(sorted(any_of)), "key": key[3]}
                detail = f"{relation_detail('linkage', rel)}|{key[3]}"
                hits.append(Hit(plan.rule, _psn(flagged, key[2]), key[2], detail, facts, lines))
        bund = [
            (p.rule.index, i, r)
            for p in mine
            if p.rule.family == "unbundling"
            for i, r in enumerate(p.relations)
        ]
        if bund:
            hits += _unbundling(kw, wcols, by_idx, bund)
    return hits


def _unbundling(
    kw: pl.DataFrame, wcols: list[str], by_idx: dict[int, RelationPlan], bund: list[tuple[Any, ...]]
) -> list[Hit]:
    packs = _table([(a, b, r[0]) for a, b, r in bund], ["package"])
    comps = _table([(a, b, c) for a, b, r in bund for c in r[1]], ["comp"])
    cl = _lines_of(kw, comps, "comp")
    pl_ = _lines_of(kw, packs, "package")
    has_pack = pl_.select(wcols).unique().with_columns(pl.lit(True).alias("has_pack"))
    present = cl.group_by(wcols).agg(pl.col("item_code").unique().sort().alias("present"))
    cl = cl.join(has_pack, on=wcols, how="left").join(present, on=wcols, how="left")
    cl = cl.with_columns(pl.col("has_pack").fill_null(False))
    hits: list[Hit] = []
    found = cl.group_by("rule_idx", "rel", "mdtrt_id", "key").agg(
        pl.col("rx_id", "a"), pl.col("psn_no", "has_pack", "present").first()
    )
    package_lines = _collect(pl_, INVOLVED)
    for r in found.iter_rows(named=True):
        plan = by_idx[r["rule_idx"]]
        rel = plan.relations[r["rel"]]
        package, components, _, kmin = rel
        mode = unbundling_mode(plan.rule)
        present_codes = tuple(r["present"])
        lines = [(rx, VIOLATING, a) for rx, a in zip(r["rx_id"], r["a"], strict=True)]
        facts: dict[str, Any] = {
            "package": package,
            "present": present_codes,
            "k": kmin,
            "components": components,
            "key": r["key"],
        }
        if r["has_pack"] and mode in ("with_package", "both"):
            facts["mode"] = "with_package"
            key = (r["rule_idx"], r["rel"], r["mdtrt_id"], r["key"])
            lines += package_lines.get(key, [])
        elif not r["has_pack"] and mode in ("instead", "both") and len(present_codes) >= kmin:
            facts["mode"] = "instead"
        else:
            continue
        detail = f"{relation_detail('unbundling', rel)}|{r['key']}"
        hits.append(Hit(plan.rule, r["psn_no"], r["mdtrt_id"], detail, facts, lines))
    return hits


def _psn(frame: pl.DataFrame, mdtrt_id: str) -> str:
    return str(frame.filter(pl.col("mdtrt_id") == mdtrt_id)["psn_no"][0])
