"""The auxiliary catalogue of a DIP simulation's year (domain.md §2.5): CCI levels, age
bands and the supervision indicators of each case (:mod:`yibao.engines.dip.auxiliary`),
counted per hospital for the simulation page and its Excel."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.cases.models import Case, CaseDiagnosis
from yibao.dip.models import DipCatalogue
from yibao.engines.caseframe import MONEY
from yibao.engines.dip.auxiliary import AuxiliaryParams, auxiliary
from yibao.regions.models import region_prefix

#: per-hospital counts kept in the simulation's summary → Chinese label
COUNT_LABELS = {
    "cases": "病例数",
    "cci_1": "CCI 1 级（指数 1–2）",
    "cci_2": "CCI 2 级（指数 3–4）",
    "cci_3": "CCI 3 级（指数 ≥5）",
    "children": "儿童（≤6 岁）",
    "elderly": "老年（≥70 岁）",
    "readmitted": "二次入院",
    "low_admission": "低标入院",
    "long_stay": "超长住院",
    "death": "死亡",
}


def _inputs(session: Session, region_code: str, year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    where = (
        Case.region_code.startswith(region_prefix(region_code)),
        Case.discharge_date >= date(year, 1, 1),
        Case.discharge_date <= date(year, 12, 31),
    )
    rows = session.execute(
        select(
            Case.id,
            Case.psn_no,
            Case.admission_time,
            Case.discharge_time,
            Case.age_years,
            Case.los_days,
            Case.discharge_way,
        ).where(*where)
    )
    cases = pl.DataFrame(
        [(str(i), p, a, d, y, n, w) for i, p, a, d, y, n, w in rows],
        schema={
            "setl_id": pl.String,
            "psn_no": pl.String,
            "admission_time": pl.Datetime("us", "UTC"),
            "discharge_time": pl.Datetime("us", "UTC"),
            "age_years": pl.Int32,
            "los_days": pl.Int32,
            "discharge_way": pl.String,
        },
        orient="row",
    )
    secondary = pl.DataFrame(
        [
            (str(i), c)
            for i, c in session.execute(
                select(CaseDiagnosis.case_id, CaseDiagnosis.code).where(
                    CaseDiagnosis.case_id.in_(select(Case.id).where(*where)),
                    CaseDiagnosis.is_principal.is_(False),
                )
            )
        ],
        schema={"setl_id": pl.String, "code": pl.String},
        orient="row",
    )
    return cases, secondary


def year_counts(
    session: Session, region_code: str, year: int, paid: pl.DataFrame
) -> dict[str, Any]:
    """Per hospital and in total: the counts of :data:`COUNT_LABELS` for the simulated
    cases ``paid`` (``setl_id``, ``hospital_code``, ``dx_cat``, ``deviation``)."""
    params = AuxiliaryParams()
    cases, secondary = _inputs(session, region_code, year)
    frame = cases.join(
        paid.select("setl_id", "hospital_code", "dx_cat", "deviation"), on="setl_id", how="inner"
    )
    flagged = auxiliary(frame, secondary, params)
    bands = [b.label for b in params.age_bands]
    counts = flagged.group_by("hospital_code").agg(
        pl.len().alias("cases"),
        *((pl.col("cci_level") == n).sum().alias(f"cci_{n}") for n in (1, 2, 3)),
        (pl.col("age_band") == bands[0]).sum().alias("children"),
        (pl.col("age_band") == bands[-1]).sum().alias("elderly"),
        *(pl.col(k).sum() for k in ("readmitted", "low_admission", "long_stay", "death")),
    )
    by_hospital = {
        r["hospital_code"]: {k: int(r[k]) for k in COUNT_LABELS}
        for r in counts.sort("hospital_code").iter_rows(named=True)
    }
    total = {k: sum(h[k] for h in by_hospital.values()) for k in COUNT_LABELS}
    return {"params": params.model_dump(mode="json"), "hospitals": by_hospital, "total": total}


def counts_frame(summary: dict[str, Any] | None) -> pl.DataFrame:
    """The per-hospital counts of a simulation's summary as a table (empty before)."""
    hospitals = ((summary or {}).get("auxiliary") or {}).get("hospitals") or {}
    return pl.DataFrame(
        [{"hospital_code": h, **v} for h, v in sorted(hospitals.items())],
        schema={"hospital_code": pl.String, **dict.fromkeys(COUNT_LABELS, pl.Int64)},
    )


def _ratio(value: Fraction | int) -> str:
    value = Fraction(value)
    return f"{value.numerator}/{value.denominator}"


#: the columns of :func:`hospital_inputs` that hold exact ratios
RATIOS = ("cmi", "child_share", "elderly_share", "tcm_share")


def shown_inputs(frame: pl.DataFrame, places: int = 12) -> pl.DataFrame:
    """``frame`` with the exact ratios of :func:`hospital_inputs` as decimals (half up to
    ``places``), for a page or a stored summary."""
    unit = Decimal(1).scaleb(-places)

    def shown(text: str | None) -> str | None:
        if text is None:
            return None
        value = Fraction(text)
        return str((Decimal(value.numerator) / value.denominator).quantize(unit, ROUND_HALF_UP))

    present = [c for c in RATIOS if c in frame.columns]
    return frame.with_columns(
        pl.col(c).map_elements(shown, return_dtype=pl.String) for c in present
    )


def _input_row(r: dict[str, Any], scale: Fraction) -> dict[str, str]:
    """One hospital's inputs as exact ratios "n/d": a share exactly one step above its
    level's mean must count (the add-ons compare in rational arithmetic, ADR 0030)."""
    n, cost = int(r["n"]), Fraction(Decimal(r["cost"] or 0))
    scored = int(r["scored"])
    cmi = Fraction(Decimal(r["score_sum"] or 0)) / scored / scale if scored else Fraction(0)
    return {
        "code": r["hospital_code"],
        "level": r["hospital_level"],
        "cmi": _ratio(cmi),
        "child_share": _ratio(Fraction(int(r["children"] or 0), n)),
        "elderly_share": _ratio(Fraction(int(r["elderly"] or 0), n)),
        "tcm_share": _ratio(Fraction(Decimal(r["tcm"] or 0)) / cost if cost else 0),
    }


def hospital_inputs(
    session: Session, row: DipCatalogue, year: int, frame: pl.DataFrame
) -> pl.DataFrame:
    """What the dynamic add-ons read per hospital (:mod:`yibao.engines.dip.addons`): its
    level, CMI (mean group score of its scored cases ÷ the score scale), shares of
    patients aged ≤ 6 and ≥ 70, and the TCM share of its costs (中药饮片 + 中成药 ÷ total),
    over the year's cases ``frame`` (``setl_id``, ``hospital_code``, ``hospital_level``,
    ``score``)."""
    scale = Fraction(str((row.params.get("scores") or {}).get("scale") or 1000))
    where = (
        Case.region_code.startswith(region_prefix(row.region_code)),
        Case.discharge_date >= date(year, 1, 1),
        Case.discharge_date <= date(year, 12, 31),
    )
    rows = session.execute(
        select(
            Case.id,
            Case.age_years,
            Case.total_cost,
            Case.fee_herbal_pieces,
            Case.fee_chinese_patent_medicine,
        ).where(*where)
    )
    fees = pl.DataFrame(
        [(str(i), a, c, h + p) for i, a, c, h, p in rows],
        schema={"setl_id": pl.String, "age": pl.Int32, "cost": MONEY, "tcm": MONEY},
        orient="row",
    )
    joined = frame.select("setl_id", "hospital_code", "hospital_level", "score").join(
        fees, on="setl_id", how="inner"
    )
    sums = joined.group_by("hospital_code", "hospital_level").agg(
        pl.len().alias("n"),
        pl.col("score").is_not_null().sum().alias("scored"),
        pl.col("score").cast(pl.Decimal(38, 2)).sum().alias("score_sum"),
        (pl.col("age") <= 6).sum().alias("children"),
        (pl.col("age") >= 70).sum().alias("elderly"),
        pl.col("tcm").cast(pl.Decimal(38, 2)).sum().alias("tcm"),
        pl.col("cost").cast(pl.Decimal(38, 2)).sum().alias("cost"),
    )
    out = [_input_row(r, scale) for r in sums.sort("hospital_code").iter_rows(named=True)]
    return pl.DataFrame(
        out,
        schema=dict.fromkeys(
            ("code", "level", "cmi", "child_share", "elderly_share", "tcm_share"), pl.String
        ),
    )
