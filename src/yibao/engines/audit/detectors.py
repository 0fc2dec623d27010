"""DRG post-audit detectors (事后审核, issue 13 item 5, ADR 0020 "Detectors"): pure,
vectorised with Polars, findings in the rule engine's frame.

>>> frame = post_audit(cases, outpatient, DetectorParams())     # doctest: +SKIP

Detectors (rule_id → family = ``vola_bhvr_type``):

* ``DRG-READMIT`` (readmission, 分解住院): a person's stay admitted 0–``readmit_days``
  days after the discharge of their previous stay with the same MDC (or ADRG), at any
  hospital (or the same one); exempt when the later stay's MDC or DRG prefix is listed.
  One finding per pair, on the later stay; ``vola_amt`` = its total cost.
* ``DRG-SHIFT`` (cost_shifting, 转嫁费用): the person's outpatient spending in the
  ``shift_days_before`` days up to the admission day and the ``shift_days_after`` days
  after discharge (at the same hospital by default) ≥ ``shift_min_amount`` and ≥
  ``shift_baseline_ratio`` × the hospital's mean per case over its history months (no
  history: the amount alone decides).  ``vola_amt`` = that spending.
* ``DRG-SELFPAY`` (self_pay, 自费比例过高): self-pay ÷ total cost > ``self_pay_case_share``;
  ``vola_amt`` = self-pay above that share.
* Hospital-month signals (``vola_amt`` 0, no lines): ``DRG-UPCODE``, ``DRG-LOWMULT``,
  ``DRG-SHIFT-RATE``, ``DRG-SELFPAY-RATE`` (:mod:`detectors_months`) and
  ``DRG-ANOMALY`` (:mod:`anomaly`).

Case findings: ``psn_no``, ``mdtrt_id`` (the case's ``mdtrt_id`` or ``setl_id``), lines
= the cases involved (``rx_id`` = setl_id; 1 the case at issue, 2 the other stay).
Hospital-month findings: empty ``psn_no`` and ``mdtrt_id``.  Every finding has
``result_type`` ``suspicious`` (可疑) and the two columns added to
:data:`FINDING_SCHEMA`: ``hospital_code`` and ``period`` (YYYY-MM of discharge).  Only
the audited months (``params.months``, default the latest) produce findings; earlier
months are history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import polars as pl

from yibao.engines.audit.anomaly import anomaly_findings, anomaly_scores
from yibao.engines.audit.batch import FINDING_SCHEMA, findings_frame
from yibao.engines.audit.detectors_frames import (
    OUTPATIENT_COLUMNS,
    RULES,
    Emitted,
    audited_months,
    check_frame,
    emit,
    pct,
    prepare_cases,
    yuan_of,
)
from yibao.engines.audit.detectors_months import hospital_months, month_findings
from yibao.engines.audit.detectors_params import DetectorParams

DETECTOR_FINDING_SCHEMA: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    **FINDING_SCHEMA,
    "hospital_code": pl.String,
    "period": pl.String,
}
_ORDER: Final = {rule_id: i for i, rule_id in enumerate(RULES)}
_PAIR_COLS: Final = (
    "setl_id",
    "subject",
    "hospital_code",
    "admission_date",
    "discharge_date",
    "los_days",
    "drg",
    "principal_dx",
    "cost",
)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Checked inputs and everything the detectors share: ``cases`` (prepared, with
    ``readmit`` and ``shift_fen``), ``pairs`` (readmissions, all months), ``months``
    (audited), ``hm`` (hospital-month features)."""

    cases: pl.DataFrame
    pairs: pl.DataFrame
    months: list[str]
    hm: pl.DataFrame
    with_shift: bool
    params: DetectorParams


def prepare(
    cases: pl.DataFrame, outpatient: pl.DataFrame | None, params: DetectorParams
) -> Prepared:
    """Check and prepare the frames once for every detector (:class:`AuditError`
    naming a missing or mistyped column)."""
    x = prepare_cases(cases, params.self_pay_include_first)
    pairs = readmission_pairs(x, params)
    x = x.with_columns(pl.col("setl_id").is_in(pairs["setl_id"].implode()).alias("readmit"))
    with_shift = outpatient is not None
    if outpatient is not None:
        x = _with_shift(x, check_frame(outpatient, OUTPATIENT_COLUMNS, "outpatient"), params)
    hm = hospital_months(x, params, with_shift)
    return Prepared(x, pairs, audited_months(x, params.months), hm, with_shift, params)


def readmission_pairs(x: pl.DataFrame, p: DetectorParams) -> pl.DataFrame:
    """Readmissions of prepared cases: each stay with the person's previous stay of the
    same key (``prev_*`` columns) admitted ``gap`` = 0–``readmit_days`` days after that
    stay's discharge, not exempt; every month."""
    key = ["psn_no", p.readmit_key] + (["hospital_code"] if p.readmit_same_hospital_only else [])
    s = x.sort("psn_no", "admission_date", "discharge_date", "setl_id").with_row_index("_r")
    # the earlier stay discharged last (of equal discharge, the later admitted): a stay
    # nested in a longer one does not hide the longer one's discharge from the next
    n = s.height + 1
    day = pl.col("discharge_date").cast(pl.Int64) + 1_000_000  # days since 1970, kept ≥ 0
    last = (day * n + pl.col("_r").cast(pl.Int64)).cum_max()
    s = s.with_columns((last.shift(1).over(key) % n).alias("_prev"))
    earlier = s.select(
        pl.col("_r").alias("_prev"), *(pl.col(c).alias(f"prev_{c}") for c in _PAIR_COLS)
    )
    s = s.join(earlier, on="_prev", how="left", maintain_order="left").drop("_r", "_prev")
    gap = (pl.col("admission_date") - pl.col("prev_discharge_date")).dt.total_days()
    exempt = pl.col("mdc").is_in(list(p.readmit_exempt_mdcs))
    for prefix in p.readmit_exempt_drg_prefixes:
        exempt = exempt | pl.col("drg").str.starts_with(prefix)
    return (
        s.with_columns(gap.alias("gap"))
        .filter(
            pl.col("gap").is_between(0, p.readmit_days)
            & pl.col(p.readmit_key).is_not_null()
            & ~exempt
        )
        .sort("setl_id")
    )


def _with_shift(x: pl.DataFrame, o: pl.DataFrame, p: DetectorParams) -> pl.DataFrame:
    on = ["psn_no", "hospital_code"] if p.shift_same_hospital else ["psn_no"]
    stays = x.select("setl_id", "psn_no", "hospital_code", "admission_date", "discharge_date")
    visits = (
        o.select(*on, "visit_date", "amount").filter(pl.col("amount") != 0).with_row_index("_v")
    )
    d = pl.col("visit_date")
    before = d.is_between(
        pl.col("admission_date") - pl.duration(days=p.shift_days_before), pl.col("admission_date")
    )
    after = (d > pl.col("discharge_date")) & (
        d <= pl.col("discharge_date") + pl.duration(days=p.shift_days_after)
    )
    # a visit in the windows of two stays counts for one: the nearer, and of equal
    # distance the stay it precedes (its money is never claimed twice)
    gap = pl.when(before).then(pl.col("admission_date") - d).otherwise(d - pl.col("discharge_date"))
    sums = (
        stays.join(visits, on=on)
        .filter(before | after)
        .with_columns(gap.alias("_gap"), before.alias("_before"))
        .sort(["_v", "_gap", "_before"], descending=[False, False, True])
        .unique("_v", keep="first", maintain_order=True)
        .group_by("setl_id")
        .agg(
            pl.col("amount").filter(pl.col("_before")).sum().alias("shift_before"),
            pl.col("amount").filter(~pl.col("_before")).sum().alias("shift_after"),
            pl.len().cast(pl.Int64).alias("shift_visits"),
        )
    )
    return (
        x.join(sums, on="setl_id", how="left")
        .with_columns(pl.col("shift_before", "shift_after", "shift_visits").fill_null(0))
        .with_columns((pl.col("shift_before") + pl.col("shift_after")).alias("shift_fen"))
    )


def _day(value: date) -> str:
    return value.isoformat()


def readmission_findings(prep: Prepared) -> list[Emitted]:
    """``DRG-READMIT``: one finding per readmission pair in the audited months."""
    p = prep.params
    key = "MDC" if p.readmit_key == "mdc" else "ADRG"
    scope = "同一医院" if p.readmit_same_hospital_only else "任一医院"
    exempt = "、".join((*p.readmit_exempt_mdcs, *(f"{c}*" for c in p.readmit_exempt_drg_prefixes)))
    rule = f"出院后 {p.readmit_days} 天内{scope}同一 {key} 再入院" + (
        f"（豁免：{exempt}）" if exempt else ""
    )
    out: list[Emitted] = []
    for r in prep.pairs.filter(pl.col("period").is_in(prep.months)).iter_rows(named=True):
        code = r[p.readmit_key]
        cont = (
            f"患者 {r['psn_no']} 于 {_day(r['prev_discharge_date'])} 自 {r['prev_hospital_code']} "
            f"出院（DRG {r['prev_drg']}），{r['gap']} 天后于 {_day(r['admission_date'])} 再次入住 "
            f"{r['hospital_code']}（DRG {r['drg']}），同一 {key} {code}，疑似分解住院："
            f"再入院费用 {yuan_of(r['cost'])} 元"
        )
        evid = f"前次住院：{_stay(r, 'prev_')}；再次住院：{_stay(r, '')}；规则：{rule}"
        out.append(
            emit(
                "DRG-READMIT",
                p.version,
                where=(r["hospital_code"], r["period"]),
                subject=(r["psn_no"], r["subject"]),
                texts=(cont, evid),
                amount_fen=r["cost"],
                lines=[(r["setl_id"], 1, r["cost"]), (r["prev_setl_id"], 2, 0)],
            )
        )
    return out


def _stay(r: dict[str, Any], pre: str) -> str:
    return (
        f"结算 {r[pre + 'setl_id']}，{r[pre + 'hospital_code']}，"
        f"{_day(r[pre + 'admission_date'])} 至 {_day(r[pre + 'discharge_date'])}，"
        f"住院 {r[pre + 'los_days']} 天，主要诊断 {r[pre + 'principal_dx']}，"
        f"DRG {r[pre + 'drg']}，医疗总费用 {yuan_of(r[pre + 'cost'])} 元"
    )


def shift_findings(prep: Prepared) -> list[Emitted]:
    """``DRG-SHIFT``: cases of the audited months whose outpatient spending around the
    stay passes the amount and the hospital's baseline (module docstring)."""
    if not prep.with_shift:
        return []
    p = prep.params
    base = prep.hm.select(
        "hospital_code",
        "period",
        "hist_cases",
        pl.when(pl.col("hist_cases") >= p.min_history_cases)
        .then(pl.col("hist_shift_fen") / pl.col("hist_cases"))
        .alias("base_fen"),
    )
    min_fen = int(p.shift_min_amount * 100)
    rows = (
        prep.cases.filter(pl.col("period").is_in(prep.months) & (pl.col("shift_fen") >= min_fen))
        .join(base, on=["hospital_code", "period"], how="left")
        .filter(
            pl.col("base_fen").is_null()
            | (pl.col("shift_fen") >= p.shift_baseline_ratio * pl.col("base_fen"))
        )
        .sort("setl_id")
    )
    out: list[Emitted] = []
    for r in rows.iter_rows(named=True):
        if r["base_fen"] is None:
            base_words = f"本院前期病例不足 {p.min_history_cases} 例，仅按金额阈值判断"
        else:
            base_words = (
                f"本院前 {p.history_months} 个月例均 {yuan_of(round(r['base_fen']))} 元，"
                f"本例为其 {r['shift_fen'] / max(r['base_fen'], 1):.1f} 倍"
                f"（阈值 {p.shift_baseline_ratio} 倍）"
            )
        cont = (
            f"患者 {r['psn_no']} 在 {r['hospital_code']} 住院（{_day(r['admission_date'])} 至 "
            f"{_day(r['discharge_date'])}）前后门诊费用 {yuan_of(r['shift_fen'])} 元，"
            f"疑似转嫁住院费用"
        )
        evid = (
            f"入院前 {p.shift_days_before} 天内（含入院当日）门诊 {yuan_of(r['shift_before'])} 元，"
            f"出院后 {p.shift_days_after} 天内门诊 {yuan_of(r['shift_after'])} 元，"
            f"共 {r['shift_visits']} 笔；金额阈值 {p.shift_min_amount} 元；{base_words}"
        )
        out.append(
            emit(
                "DRG-SHIFT",
                p.version,
                where=(r["hospital_code"], r["period"]),
                subject=(r["psn_no"], r["subject"]),
                texts=(cont, evid),
                amount_fen=r["shift_fen"],
                lines=[(r["setl_id"], 1, r["shift_fen"])],
            )
        )
    return out


def _share_fen(share: float, cost: Any) -> Any:
    """``share`` × ``cost`` (fen) rounded half up to the fen, exactly: the share is read
    as the decimal it was written as (0.3 is 3/10, not the nearest binary fraction), so
    the threshold of the filter and of the amount agree on every half fen.  ``cost``
    is an integer or a Polars expression of integers."""
    ratio = Fraction(Decimal(str(share)))
    n, d = ratio.numerator, ratio.denominator
    return (2 * n * cost + d) // (2 * d)


def self_pay_findings(prep: Prepared) -> list[Emitted]:
    """``DRG-SELFPAY``: cases of the audited months whose self-pay share passes
    ``self_pay_case_share``; the amount is the self-pay above that share (the share of
    the cost rounded half up to the fen)."""
    p = prep.params
    share = p.self_pay_case_share
    rows = prep.cases.filter(
        pl.col("period").is_in(prep.months)
        & (pl.col("cost") > 0)
        & (pl.col("self") > _share_fen(share, pl.col("cost")))
    ).sort("setl_id")
    what = "全自费与先行自付" if p.self_pay_include_first else "全自费"
    out: list[Emitted] = []
    for r in rows.iter_rows(named=True):
        limit = _share_fen(share, r["cost"])
        excess = r["self"] - limit
        cont = (
            f"患者 {r['psn_no']} 在 {r['hospital_code']} 住院（DRG {r['drg']}）自费比例 "
            f"{pct(r['self'] / r['cost'])}，超过阈值 {pct(share)}：超出 {yuan_of(excess)} 元"
        )
        evid = (
            f"结算 {r['setl_id']}：医疗总费用 {yuan_of(r['cost'])} 元，{what} "
            f"{yuan_of(r['self'])} 元；阈值 {pct(share)} 即 {yuan_of(limit)} 元"
        )
        out.append(
            emit(
                "DRG-SELFPAY",
                p.version,
                where=(r["hospital_code"], r["period"]),
                subject=(r["psn_no"], r["subject"]),
                texts=(cont, evid),
                amount_fen=excess,
                lines=[(r["setl_id"], 1, excess)],
            )
        )
    return out


def hospital_month_features(
    cases: pl.DataFrame,
    outpatient: pl.DataFrame | None = None,
    params: DetectorParams | None = None,
) -> pl.DataFrame:
    """Hospital-month features (:mod:`detectors_months`) with the anomaly ``score``
    (null where not scored) of every month in ``cases``."""
    prep = prepare(cases, outpatient, params or DetectorParams())
    return anomaly_scores(prep.hm, prep.params, prep.with_shift)


def post_audit(
    cases: pl.DataFrame,
    outpatient: pl.DataFrame | None = None,
    params: DetectorParams | None = None,
) -> pl.DataFrame:
    """All detectors on the audited months, as :data:`DETECTOR_FINDING_SCHEMA`, sorted by
    (rule, hospital_code, period, mdtrt_id, jr_id): the same frame on a rerun."""
    prep = prepare(cases, outpatient, params or DetectorParams())
    found = [
        *readmission_findings(prep),
        *shift_findings(prep),
        *self_pay_findings(prep),
        *month_findings(prep.hm, prep.params, prep.months, prep.with_shift),
    ]
    if prep.params.anomaly:
        scored = anomaly_scores(prep.hm, prep.params, prep.with_shift)
        found += anomaly_findings(scored, prep.params, prep.months)
    return findings_to_frame(found)


def findings_to_frame(found: list[Emitted]) -> pl.DataFrame:
    """Emitted findings as :data:`DETECTOR_FINDING_SCHEMA`, in the stable order."""
    found = sorted(
        found,
        key=lambda e: (
            _ORDER[e.finding.rule_id],
            e.hospital_code,
            e.period,
            e.finding.mdtrt_id,
            e.finding.jr_id,
        ),
    )
    frame = findings_frame(e.finding for e in found)
    return frame.with_columns(
        pl.Series("hospital_code", [e.hospital_code for e in found], pl.String),
        pl.Series("period", [e.period for e in found], pl.String),
    )


__all__ = [
    "DETECTOR_FINDING_SCHEMA",
    "Prepared",
    "hospital_month_features",
    "post_audit",
    "prepare",
    "readmission_findings",
    "readmission_pairs",
    "self_pay_findings",
    "shift_findings",
]
