"""The DIP catalogue built from historical cases (domain.md §2.2).

A case's **combination** is its principal diagnosis category (the first
``dx_chars`` characters of the code without its dot: ``K35.8``) and the set of its
procedure codes (sorted, joined with ``+``; empty for a case without any).  Its
**procedure type** is the highest type among its procedures: 相关手术 (an operating-room
procedure of the plan's ``or_procedures`` list) > 治疗性操作 > 诊断性操作 (a
non-surgical procedure whose name says it examines: :data:`~.params.DIAGNOSTIC_WORDS`),
or 保守治疗 without any procedure.  A code the procedure dictionary does not know
counts as 治疗性操作.

Combinations with at least ``threshold`` cases over the history become **core groups**
(核心病种); every other case falls into the **comprehensive group** (综合病种) of its
diagnosis prefix (``comprehensive_chars`` characters) and procedure type.  Each
chapter letter and procedure type gets a comprehensive group as well, pooling all its
comprehensive cases, for a later case whose prefix has none.

Group codes: core ``K35.8:47.0900x001+54.5100`` (``K35.8`` when conservative),
comprehensive ``K35:Z1`` (prefix) or ``K*:Z1`` (chapter), ``Z1``–``Z4`` naming the
procedure type in :data:`PROC_TYPES` order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import polars as pl

from yibao.engines.dip.params import CatalogueParams
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import require

#: procedure type → (rank, Chinese name); the higher rank wins within a case and in
#: the group order (domain.md §2.2)
PROC_TYPES: Final[dict[str, tuple[int, str]]] = {
    "surgery": (4, "相关手术"),
    "therapeutic": (3, "治疗性操作"),
    "diagnostic": (2, "诊断性操作"),
    "conservative": (1, "保守治疗"),
}
TYPE_CODES: Final[dict[str, str]] = {t: f"Z{i}" for i, t in enumerate(PROC_TYPES, 1)}
CORE: Final = "core"
COMPREHENSIVE: Final = "comprehensive"
#: the columns of :attr:`Catalogue.groups`
GROUP_COLUMNS: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "code": pl.String,
    "kind": pl.String,  # core / comprehensive
    "level": pl.String,  # combination / prefix / chapter
    "dx_key": pl.String,  # the diagnosis category, prefix or chapter letter
    "procedures": pl.String,  # codes joined by "+" (core); "" otherwise
    "proc_type": pl.String,
    "cases": pl.Int64,
    "mean_cost": pl.Float64,  # plain mean of the history's cases (yuan), for ties
    "name": pl.String,
}


@dataclass(frozen=True)
class Catalogue:
    """A built catalogue: its groups (:data:`GROUP_COLUMNS`), the procedure types it
    was built with, its parameters, and which history case formed which group
    (``members``: ``setl_id``, ``code``, ``primary`` — false for the chapter pools, so
    each case is primary once)."""

    groups: pl.DataFrame
    proc_types: dict[str, str]
    params: CatalogueParams
    members: pl.DataFrame


def category(code: str, chars: int) -> str:
    """``K35.801`` → ``K35.8`` (4 characters), ``K35`` (3): the first ``chars``
    characters without dots or spaces, the chapter letter in upper case (the rest as
    written: ``N19.x``), the dot put back after three."""
    bare = "".join(code.split()).replace(".", "")[:chars]
    bare = bare[:1].upper() + bare[1:]
    return f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare


def _category_expr(column: str, chars: int) -> pl.Expr:
    bare = pl.col(column).str.replace_all(r"[.\s]", "").str.slice(0, chars)
    bare = bare.str.slice(0, 1).str.to_uppercase() + bare.str.slice(1)
    return (
        pl.when(bare.str.len_chars() > 3)
        .then(bare.str.slice(0, 3) + "." + bare.str.slice(3))
        .otherwise(bare)
    )


def procedure_types(
    procedures: pl.DataFrame, or_codes: Iterable[str], params: CatalogueParams | None = None
) -> dict[str, str]:
    """Code → procedure type for every code of ``procedures`` (``code``, ``name``):
    surgery when an operating-room code, diagnostic when its name has one of
    ``params.diagnostic_words``, therapeutic otherwise."""
    params = params or CatalogueParams()
    require(procedures, ("code", "name"), "procedure_types")
    surgery = set(or_codes)
    out: dict[str, str] = {}
    for code, name in procedures.select("code", "name").iter_rows():
        if code in surgery:
            out[code] = "surgery"
        elif any(w in (name or "") for w in params.diagnostic_words):
            out[code] = "diagnostic"
        else:
            out[code] = "therapeutic"
    for code in surgery - out.keys():
        out[code] = "surgery"
    return out


def case_type(codes: Iterable[str], proc_types: dict[str, str]) -> str:
    """The procedure type of a case with procedures ``codes`` (see the module)."""
    best = "conservative"
    for code in codes:
        t = proc_types.get(code, "therapeutic")
        if PROC_TYPES[t][0] > PROC_TYPES[best][0]:
            best = t
    return best


def case_combinations(
    cases: pl.DataFrame,
    diagnoses: pl.DataFrame,
    procedures: pl.DataFrame,
    proc_types: dict[str, str],
    params: CatalogueParams | None = None,
) -> pl.DataFrame:
    """One row per case of ``cases`` (``setl_id`` and whatever else it has, kept):
    ``dx_code`` (the principal diagnosis), ``dx_cat``, ``procedures`` (its sorted,
    distinct codes joined by ``+``), ``proc_type``.  A case without a principal
    diagnosis gets nulls (it cannot be grouped)."""
    params = params or CatalogueParams()
    require(cases, ("setl_id",), "case_combinations(cases)")
    require(diagnoses, ("setl_id", "seq", "code"), "case_combinations(diagnoses)")
    require(procedures, ("setl_id", "code"), "case_combinations(procedures)")
    principal = (
        diagnoses.filter(pl.col("code").is_not_null() & (pl.col("code").str.strip_chars() != ""))
        .sort("setl_id", "seq")
        .group_by("setl_id", maintain_order=True)
        .agg(pl.col("code").first().str.strip_chars().alias("dx_code"))
    )
    types = pl.DataFrame(
        {"code": list(proc_types), "rank": [PROC_TYPES[t][0] for t in proc_types.values()]},
        schema={"code": pl.String, "rank": pl.Int64},
    )
    by_rank = {rank: t for t, (rank, _) in PROC_TYPES.items()}
    px = (
        procedures.filter(pl.col("code").is_not_null())
        .select("setl_id", pl.col("code").str.strip_chars())
        .filter(pl.col("code") != "")
        .unique()
        .join(types, on="code", how="left")
        .with_columns(pl.col("rank").fill_null(PROC_TYPES["therapeutic"][0]))
        .group_by("setl_id")
        .agg(
            pl.col("code").sort().str.join("+").alias("procedures"),
            pl.col("rank").max().alias("rank"),
        )
    )
    return (
        cases.join(principal, on="setl_id", how="left", maintain_order="left")
        .join(px, on="setl_id", how="left", maintain_order="left")
        .with_columns(
            _category_expr("dx_code", params.dx_chars).alias("dx_cat"),
            pl.col("procedures").fill_null(""),
            pl.col("rank")
            .fill_null(PROC_TYPES["conservative"][0])
            .replace_strict(by_rank, return_dtype=pl.String)
            .alias("proc_type"),
        )
        .drop("rank")
    )


def _core_code(dx_cat: pl.Expr, procs: pl.Expr) -> pl.Expr:
    return pl.when(procs == "").then(dx_cat).otherwise(dx_cat + ":" + procs)


_TYPE_CODE = pl.col("proc_type").replace_strict(TYPE_CODES, return_dtype=pl.String)


def _comprehensive(rest: pl.DataFrame, level: str, key: pl.Expr) -> pl.DataFrame:
    """The comprehensive groups of the non-core cases ``rest`` keyed by ``key``."""
    return (
        rest.group_by(key.alias("dx_key"), "proc_type")
        .agg(
            pl.len().cast(pl.Int64).alias("cases"),
            pl.col("total_cost").cast(pl.Float64).mean().alias("mean_cost"),
        )
        .select(
            (pl.col("dx_key") + ":" + _TYPE_CODE).alias("code"),
            pl.lit(COMPREHENSIVE).alias("kind"),
            pl.lit(level).alias("level"),
            "dx_key",
            pl.lit("").alias("procedures"),
            "proc_type",
            "cases",
            "mean_cost",
        )
    )


def _name() -> pl.Expr:
    """A group's Chinese name: ``K35.8 伴 47.0900`` / ``K35.8 保守治疗`` (core),
    ``K35 综合病种（相关手术）`` (comprehensive)."""
    names = {t: name for t, (_, name) in PROC_TYPES.items()}
    return (
        pl.when(pl.col("kind") == CORE)
        .then(
            pl.when(pl.col("procedures") == "")
            .then(pl.col("dx_key") + " 保守治疗")
            .otherwise(pl.col("dx_key") + " 伴 " + pl.col("procedures"))
        )
        .otherwise(
            pl.col("dx_key")
            + " 综合病种（"
            + pl.col("proc_type").replace_strict(names, return_dtype=pl.String)
            + "）"
        )
    )


def build_catalogue(
    combinations: pl.DataFrame,
    proc_types: dict[str, str],
    params: CatalogueParams | None = None,
) -> Catalogue:
    """The catalogue of the history ``combinations`` (:func:`case_combinations` with
    ``total_cost``).  Cases without a diagnosis category are left out."""
    params = params or CatalogueParams()
    require(
        combinations,
        ("setl_id", "dx_cat", "procedures", "proc_type", "total_cost"),
        "build_catalogue",
    )
    base = combinations.filter(pl.col("dx_cat").is_not_null() & (pl.col("dx_cat") != ""))
    if base.height == 0:
        raise MeasureError("没有可用于建立 DIP 目录的病例（无主要诊断）", field="cases")
    cost = pl.col("total_cost").cast(pl.Float64)
    counted = base.with_columns(pl.len().over("dx_cat", "procedures").alias("_n"))
    is_core = pl.col("_n") >= params.threshold
    core_members = counted.filter(is_core).select(
        "setl_id", _core_code(pl.col("dx_cat"), pl.col("procedures")).alias("code")
    )
    rest = counted.filter(~is_core)
    prefix = _category_expr("dx_cat", params.comprehensive_chars)
    levels = [("prefix", prefix, True)]
    if params.comprehensive_chars > 1:
        levels.append(("chapter", pl.col("dx_cat").str.slice(0, 1) + "*", False))
    comp_members = [
        rest.select(
            "setl_id",
            (key + ":" + _TYPE_CODE).alias("code"),
            pl.lit(primary).alias("primary"),
        )
        for _, key, primary in levels
    ]
    members = pl.concat([core_members.with_columns(pl.lit(True).alias("primary")), *comp_members])
    core = (
        counted.filter(is_core)
        .group_by("dx_cat", "procedures", "proc_type")
        .agg(pl.len().cast(pl.Int64).alias("cases"), cost.mean().alias("mean_cost"))
        .select(
            _core_code(pl.col("dx_cat"), pl.col("procedures")).alias("code"),
            pl.lit(CORE).alias("kind"),
            pl.lit("combination").alias("level"),
            pl.col("dx_cat").alias("dx_key"),
            "procedures",
            "proc_type",
            "cases",
            "mean_cost",
        )
    )
    comp = [_comprehensive(rest, level, key) for level, key, _ in levels]
    groups = (
        pl.concat([core, *comp])
        .with_columns(_name().alias("name"))
        .select(list(GROUP_COLUMNS))
        .cast(GROUP_COLUMNS)  # type: ignore[arg-type]
        .sort("kind", "code", descending=[True, False])
    )
    return Catalogue(groups, dict(proc_types), params, members)
