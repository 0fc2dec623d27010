"""Input frames of the DRG detectors and the shared pieces: column schemas with a
checker that names a missing column in Chinese, preparation (money in fen, months),
the detector rules, finding ids and the peer statistics.

``cases`` (one row per settled inpatient case, the audited months and the history
months together) — :data:`CASE_COLUMNS`; alternatives: ``self_pay`` (a self-pay total)
for ``self_pay_full`` + ``self_pay_first``; without ``has_cc`` / ``has_mcc`` the
severity is read from the DRG code's last digit (CHS-DRG: 1 MCC, 3 CC [M]); an optional
``mdtrt_id`` names the finding's encounter (else ``setl_id``); ``rw`` is null for a
case without a known weight (left out of the CMI, never counted as 0).  Money columns may be
Decimal, integer or float yuan.  ``outpatient`` (optional, outpatient settlements of the
gateway) — :data:`OUTPATIENT_COLUMNS`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import polars as pl

from yibao.engines.audit.errors import AuditError
from yibao.engines.audit.findings import Finding, FindingLine, fen_to_yuan
from yibao.engines.audit.texts import yuan

Kind = str  # "text", "date", "int", "money", "float", "bool"

#: column → (中文名, kind) of ``cases``
CASE_COLUMNS: Final[dict[str, tuple[str, Kind]]] = {
    "setl_id": ("结算编号", "text"),
    "psn_no": ("人员编号", "text"),
    "hospital_code": ("医疗机构编码", "text"),
    "hospital_level": ("医院等级", "text"),
    "insutype": ("险种类型", "text"),
    "admission_date": ("入院日期", "date"),
    "discharge_date": ("出院日期", "date"),
    "los_days": ("住院天数", "int"),
    "total_cost": ("医疗总费用", "money"),
    "self_pay_full": ("全自费金额", "money"),
    "self_pay_first": ("先行自付金额", "money"),
    "mdc": ("主要诊断大类 MDC", "text"),
    "adrg": ("核心疾病诊断相关组 ADRG", "text"),
    "drg": ("DRG 组", "text"),
    "has_cc": ("是否有并发症或合并症 CC", "bool"),
    "has_mcc": ("是否有严重并发症或合并症 MCC", "bool"),
    "rw": ("相对权重 RW", "float"),
    "multiplier": ("倍率类型（high/low/normal）", "text"),
    "principal_dx": ("主要诊断编码", "text"),
}
#: column → (中文名, kind) of ``outpatient``
OUTPATIENT_COLUMNS: Final[dict[str, tuple[str, Kind]]] = {
    "psn_no": ("人员编号", "text"),
    "hospital_code": ("医疗机构编码", "text"),
    "visit_date": ("就诊日期", "date"),
    "amount": ("门诊费用金额", "money"),
}
MULTIPLIERS: Final = ("high", "low", "normal")
_NOT_NULL: Final = ("setl_id", "psn_no", "hospital_code", "admission_date", "discharge_date")
_KIND_WORDS: Final = {
    "text": "文本",
    "date": "日期",
    "int": "整数",
    "money": "金额",
    "float": "数字",
    "bool": "是/否",
}


@dataclass(frozen=True, slots=True)
class DetectorRule:
    """A detector as a rule: id, name, family (= ``vola_bhvr_type``), severity."""

    rule_id: str
    name: str
    family: str
    sev_deg: int


RULES: Final[dict[str, DetectorRule]] = {
    r.rule_id: r
    for r in (
        DetectorRule("DRG-READMIT", "分解住院（出院后短期再入院）", "readmission", 2),
        DetectorRule("DRG-UPCODE", "高套分组（低码高编）信号", "upcoding", 2),
        DetectorRule("DRG-LOWMULT", "低倍率病例占比偏高（服务不足）", "under_treatment", 2),
        DetectorRule("DRG-SHIFT", "转嫁费用（入院前、出院后门诊）", "cost_shifting", 2),
        DetectorRule("DRG-SHIFT-RATE", "转嫁费用病例占比偏高", "cost_shifting", 1),
        DetectorRule("DRG-SELFPAY", "自费比例过高", "self_pay", 1),
        DetectorRule("DRG-SELFPAY-RATE", "医院月度自费比例过高", "self_pay", 1),
        DetectorRule("DRG-ANOMALY", "医院月度综合异常评分", "anomaly", 1),
    )
}


def _cast(name: str, kind: Kind, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if kind == "text":
        return col.cast(pl.String)
    if kind == "date":
        return col.cast(pl.Date)
    if kind == "int":
        return col.cast(pl.Int64)
    if kind == "bool":
        return col.cast(pl.Boolean)
    if kind == "float":
        return col.cast(pl.Float64)
    if dtype.is_float():  # money as float yuan: round to the fen
        return (col * 100).round(0).cast(pl.Int64)
    return (col.cast(pl.Decimal(38, 2)) * 100).cast(pl.Int64)


def check_frame(
    frame: pl.DataFrame,
    columns: Mapping[str, tuple[str, Kind]],
    what: str,
    optional: Sequence[str] = (),
) -> pl.DataFrame:
    """``frame`` with ``columns`` cast (money to integer fen); a missing column, a
    column of the wrong type or an empty key raises :class:`AuditError` naming it
    (``病例数据（cases）缺少列 drg（DRG 组）``).  ``optional`` columns may be absent."""
    label = {"cases": "病例数据", "outpatient": "门诊结算数据"}.get(what, what)
    exprs: dict[str, pl.Expr] = {}
    for name, (words, kind) in columns.items():
        if name not in frame.columns:
            if name in optional:
                continue
            raise AuditError(f"{label}（{what}）缺少列 {name}（{words}）", field=f"{what}.{name}")
        exprs[name] = _cast(name, kind, frame.schema[name]).alias(name)
    try:
        out = frame.with_columns(exprs.values())
    except (pl.exceptions.PolarsError, ValueError):
        for name, expr in exprs.items():  # find the column that does not cast
            try:
                frame.select(expr)
            except (pl.exceptions.PolarsError, ValueError):
                words, kind = columns[name]
                raise AuditError(
                    f"{label}（{what}）列 {name}（{words}）须为{_KIND_WORDS[kind]}",
                    field=f"{what}.{name}",
                ) from None
        raise
    for name in _NOT_NULL:
        if name in columns and name in out.columns and out[name].null_count():
            words = columns[name][0]
            raise AuditError(f"{label}（{what}）列 {name}（{words}）有空值", field=f"{what}.{name}")
    return out


def month_index(col: str) -> pl.Expr:
    """Months since year 0 of a date column (consecutive months differ by 1)."""
    return pl.col(col).dt.year().cast(pl.Int64) * 12 + pl.col(col).dt.month().cast(pl.Int64) - 1


def prepare_cases(cases: pl.DataFrame, include_first: bool) -> pl.DataFrame:
    """Checked cases with ``cost`` and ``self`` (fen), ``cc`` (CC or MCC), ``mcc``,
    ``low`` / ``high`` (bool), ``period`` (YYYY-MM of discharge), ``midx`` (month
    index), ``subject`` (``mdtrt_id`` or ``setl_id``)."""
    has_total = "self_pay" in cases.columns
    has_severity = "has_cc" in cases.columns or "has_mcc" in cases.columns
    optional = ["self_pay_full", "self_pay_first"] if has_total else []
    if not has_severity:
        optional += ["has_cc", "has_mcc"]
    columns = dict(CASE_COLUMNS)
    if has_total:
        columns["self_pay"] = ("自费金额合计", "money")
    x = check_frame(cases, columns, "cases", optional)
    bad = x.filter(~pl.col("multiplier").is_in(MULTIPLIERS) | pl.col("multiplier").is_null())
    if bad.height:
        raise AuditError(
            f"病例数据（cases）列 multiplier（倍率类型）须为 high、low 或 normal，"
            f"结算 {bad['setl_id'][0]} 为 {bad['multiplier'][0]}",
            field="cases.multiplier",
        )
    if has_total:
        self_pay = pl.col("self_pay")
    elif include_first:
        self_pay = pl.col("self_pay_full") + pl.col("self_pay_first")
    else:
        self_pay = pl.col("self_pay_full")
    if has_severity:
        mcc = pl.col("has_mcc").fill_null(False)
        cc = pl.col("has_cc").fill_null(False) | mcc
    else:
        last = pl.col("drg").str.slice(-1)
        mcc, cc = last == "1", last.is_in(["1", "3"])
    subject = pl.col("mdtrt_id").cast(pl.String) if "mdtrt_id" in x.columns else pl.col("setl_id")
    return x.with_columns(
        pl.col("total_cost").alias("cost"),
        self_pay.fill_null(0).alias("self"),
        cc.alias("cc"),
        mcc.alias("mcc"),
        (pl.col("multiplier") == "low").alias("low"),
        (pl.col("multiplier") == "high").alias("high"),
        pl.col("discharge_date").dt.strftime("%Y-%m").alias("period"),
        month_index("discharge_date").alias("midx"),
        subject.alias("subject"),
    )


def audited_months(cases: pl.DataFrame, months: Sequence[str]) -> list[str]:
    """The audited months: ``months`` or, when empty, the latest ``period``."""
    if months:
        return list(months)
    latest = cases["period"].max() if cases.height else None
    return [str(latest)] if latest is not None else []


def detector_jr_id(
    rule_id: str, version: int, subject: str, detail: str, ids: Sequence[str]
) -> str:
    """The finding id by the rule engine's recipe (``findings.jr_id``): BLAKE2b-128 over
    rule id, version, subject (encounter, or empty for a hospital-month), detail and
    the sorted case ids."""
    text = "\x1f".join((rule_id, str(version), subject, detail, *sorted(ids)))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Emitted:
    """A detector finding and the hospital-month it belongs to."""

    finding: Finding
    hospital_code: str
    period: str


def emit(
    rule_id: str,
    version: int,
    *,
    where: tuple[str, str],
    subject: tuple[str, str] = ("", ""),
    texts: tuple[str, str],
    amount_fen: int = 0,
    lines: Sequence[tuple[str, int, int]] = (),
) -> Emitted:
    """One finding: ``where`` (hospital_code, period), ``subject`` (psn_no, mdtrt_id;
    empty for a hospital-month), ``texts`` (vola_cont, vola_evid), ``lines`` (setl_id,
    vola_item_type, fen) sorted by (type, id)."""
    rule = RULES[rule_id]
    hospital, period = where
    ordered = sorted(lines, key=lambda x: (x[1], x[0]))
    detail = f"{hospital}\x1e{period}"
    return Emitted(
        Finding(
            jr_id=detector_jr_id(rule_id, version, subject[1], detail, [x[0] for x in ordered]),
            rule_id=rule_id,
            rule_version=version,
            rule_name=rule.name,
            family=rule.family,
            psn_no=subject[0],
            mdtrt_id=subject[1],
            vola_cont=texts[0],
            vola_amt=fen_to_yuan(amount_fen),
            sev_deg=rule.sev_deg,
            vola_evid=texts[1],
            vola_bhvr_type=rule.family,
            result_type="suspicious",
            lines=tuple(FindingLine(i, t, fen_to_yuan(f)) for i, t, f in ordered),
        ),
        hospital,
        period,
    )


def peer_stats(frame: pl.DataFrame, col: str, eligible: pl.Expr, floor: float) -> pl.DataFrame:
    """Leave-one-out peer statistics of ``col`` among the eligible rows of the same
    ``period`` and ``hospital_level``: ``{col}_peers`` (other eligible hospitals),
    ``{col}_peer_mean``, ``{col}_peer_std`` (ddof 1) and ``{col}_z`` = (x − mean) ÷
    max(std, floor × |mean|, 1e-9); null where the row is not eligible or has < 2 peers."""
    keys = ["period", "hospital_level"]
    x = pl.when(eligible).then(pl.col(col))
    k = eligible.cast(pl.Int64).sum().over(keys)
    s1 = x.sum().over(keys)
    s2 = (x * x).sum().over(keys)
    others = k - 1
    mean = (s1 - pl.col(col)) / others
    var = (s2 - pl.col(col) ** 2 - others * mean**2) / (others - 1)
    ok = eligible & (others >= 2)
    std = pl.when(ok).then(var.clip(lower_bound=0).sqrt())
    scale = pl.max_horizontal(std, floor * mean.abs(), pl.lit(1e-9))
    return frame.with_columns(
        pl.when(eligible).then(others).otherwise(0).alias(f"{col}_peers"),
        pl.when(ok).then(mean).alias(f"{col}_peer_mean"),
        std.alias(f"{col}_peer_std"),
    ).with_columns(
        pl.when(ok).then((pl.col(col) - pl.col(f"{col}_peer_mean")) / scale).alias(f"{col}_z")
    )


def pct(value: float) -> str:
    """A share as ``12.3%``."""
    return f"{value * 100:.1f}%"


def dec(value: float, places: int = 2) -> str:
    """A number with ``places`` decimals (half up)."""
    q = Decimal(1).scaleb(-places)
    return str(Decimal(repr(value)).quantize(q, rounding="ROUND_HALF_UP"))


def yuan_of(fen: object) -> str:
    """Integer fen (from a frame row) as ``12.34``."""
    return yuan(int(fen))  # type: ignore[call-overload]
