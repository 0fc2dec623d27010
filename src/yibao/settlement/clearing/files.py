"""The files of a year-end clearing: the assessment-score template the bureau fills
in, the scores read back from an uploaded table, and a saved clearing as Excel."""

from __future__ import annotations

import io
from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from yibao.kit.errors import ValidationFailed
from yibao.kit.exports import write_xlsx
from yibao.settlement.clearing.service import month_spans
from yibao.settlement.labels import PERCENT_COLUMNS, for_people
from yibao.settlement.models import SettlementClearing


def clearing_workbook(row: SettlementClearing, names: Mapping[str, str]) -> bytes:
    """A saved clearing as Excel: the per-hospital result and the inputs, in Chinese."""
    hospitals = pl.DataFrame(row.hospitals, infer_schema_length=None)
    money = [c for c in hospitals.columns if c not in ("hospital_code", "cases", "score")]
    hospitals = hospitals.with_columns(
        pl.col(c).cast(pl.Decimal(18, 2)) for c in money if hospitals.schema[c] == pl.String
    )
    if "hospital_code" in hospitals.columns:
        hospitals = hospitals.with_columns(
            pl.col("hospital_code").replace_strict(names, default="").alias("hospital_name")
        ).select(
            "hospital_code",
            "hospital_name",
            *(c for c in ("cases", "score") if c in hospitals.columns),
            *money,
        )
    inputs = pl.DataFrame(
        {
            "项目": [
                "清算年度",
                "区划",
                "清算方法",
                "年度预算（元）",
                "最终费率/点值",
                "清算金额合计（元）",
                "保存人",
                "保存时间",
                "清算说明",
                "已确认月份",
                "未确认月份",
            ],
            "值": [
                str(row.year),
                row.region_code,
                row.method,
                f"{row.budget:.2f}",
                row.final_value,
                f"{row.clearing_total:.2f}",
                row.created_by,
                row.created_at.isoformat(),
                row.note or "",
                *_months(row.summary),
            ],
        }
    )
    buf = io.BytesIO()
    write_xlsx(
        {"医院清算": for_people(hospitals), "清算参数": inputs},
        buf,
        autofit=True,
        formats=PERCENT_COLUMNS,
    )
    return buf.getvalue()


def _months(summary: Mapping[str, object]) -> list[str]:
    """The months a saved clearing covered and missed (not kept before 2026-12)."""
    if "missing_months" not in summary:
        return ["（保存时未记录）", "（保存时未记录）"]
    done, missing = summary.get("months") or [], summary.get("missing_months") or []
    return [month_spans(list(done)) or "无", month_spans(list(missing)) or "无（全年已确认）"]  # type: ignore[call-overload]


SCORE_CODE_COLUMNS = ("机构编码", "医疗机构编码", "hospital_code")
SCORE_COLUMNS = ("考核得分", "年度考核得分", "score")


def scores_from_table(
    frame: pl.DataFrame, hospitals: list[tuple[str, str]], filename: str
) -> dict[str, Decimal]:
    """Assessment scores (0–100) from an uploaded table with a hospital-code column and
    a score column (the template the clearing page offers); every hospital being
    cleared needs one.  All problems are reported together, naming row and hospital."""
    code_col = next((c for c in SCORE_CODE_COLUMNS if c in frame.columns), None)
    score_col = next((c for c in SCORE_COLUMNS if c in frame.columns), None)
    if code_col is None or score_col is None:
        raise ValidationFailed(
            f"{filename}：须有“机构编码”和“考核得分”两列（可下载模板填写）", field="scores_file"
        )
    names = dict(hospitals)
    scores: dict[str, Decimal] = {}
    problems = []
    for i, (code, raw) in enumerate(zip(frame[code_col], frame[score_col], strict=True), 2):
        code = (code or "").strip()
        if not code and not (raw or "").strip():
            continue
        if code not in names:
            problems.append(f"第 {i} 行：机构编码 {code[:20]!r} 不在本年度清算的医疗机构中")
            continue
        try:
            score = Decimal((raw or "").strip())
        except ArithmeticError:
            score = Decimal("NaN")
        if not score.is_finite() or not 0 <= score <= 100:
            problems.append(
                f"第 {i} 行：{names[code]} 的考核得分须为 0 到 100 的数字（收到 {raw!r}）"
            )
            continue
        if code in scores:
            problems.append(f"第 {i} 行：{names[code]} 的考核得分重复")
        scores[code] = score
    missing = [f"{name}（{code}）" for code, name in hospitals if code not in scores]
    if missing:
        problems.append(
            f"缺少考核得分：{'、'.join(missing[:10])}" + ("等" if len(missing) > 10 else "")
        )
    if problems:
        raise ValidationFailed(f"{filename}：" + "；".join(problems[:20]), field="scores_file")
    return scores


def scores_template(hospitals: list[tuple[str, str]]) -> bytes:
    """The table the bureau fills in: one row per hospital being cleared."""
    frame = pl.DataFrame(
        {
            "机构编码": [c for c, _ in hospitals],
            "机构名称": [n for _, n in hospitals],
            "考核得分": [None] * len(hospitals),
        },
        schema={"机构编码": pl.String, "机构名称": pl.String, "考核得分": pl.String},
    )
    buf = io.BytesIO()
    write_xlsx(frame, buf, worksheet="年度考核得分", autofit=True)
    return buf.getvalue()
