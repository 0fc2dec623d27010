"""Year-end clearing (年终清算) as the bureau runs it: the request (budget, method,
assessment scores), who may run it, the scores read from an uploaded table, and the
saved clearings with their Excel export.  The computation itself is
:func:`yibao.settlement.statements.service.clearing` over the year's confirmations."""

from __future__ import annotations

import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.audit.service import Actor, record
from yibao.db.scoping import get_scope
from yibao.engines.settlement.clearing import ClearingResult
from yibao.engines.settlement.params import ClearingParams, parse_settlement_params
from yibao.kit.bounds import Money, Number
from yibao.kit.errors import Forbidden, NotFound, ValidationFailed
from yibao.kit.exports import write_xlsx
from yibao.regions.models import region_prefix
from yibao.settlement.auth import STATEMENT_ROLES, region_for
from yibao.settlement.labels import for_people
from yibao.settlement.models import SettlementClearing
from yibao.settlement.statements import service as svc


class ClearingIn(BaseModel):
    budget: Money = Field(gt=0, description="年度预算（元）")
    method: Literal["rate", "point"] = "rate"
    assessment_scores: dict[str, Number] = Field(description="医院编码 → 年度考核得分")
    region: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="其他清算参数")


def clearing_result(db: Session, user: User, year: int, body: ClearingIn) -> ClearingResult:
    """The year-end clearing of the user's region (bureau reviewers and admins only);
    the API and the clearing page both come here."""
    scope = get_scope(db)
    if user.role not in STATEMENT_ROLES or scope is None or scope.hospital_id is not None:
        raise Forbidden("仅结算审核员或医保局管理员可进行年终清算")
    if not 2000 <= year <= 2100:
        raise ValidationFailed(f"year：年度须在 2000 到 2100 之间（收到 {year}）", field="year")
    params = parse_settlement_params(ClearingParams, {**body.params, "method": body.method})
    return svc.clearing(
        db,
        region_for(db, user, body.region),
        year,
        budget=body.budget,
        scores=body.assessment_scores,
        params=params,
    )


# --------------------------------------------------------------------------- saved clearings


def do_save_clearing(
    session: Session,
    region_code: str,
    year: int,
    *,
    budget: Decimal,
    method: str,
    scores: Mapping[str, Decimal | int],
    result: ClearingResult,
    actor: Actor,
) -> SettlementClearing:
    """Keep a clearing's inputs and per-hospital result (audited)."""
    hospitals = [
        {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
        for row in result.hospitals.to_dicts()
    ]
    total = sum((Decimal(str(h["clearing_amount"])) for h in hospitals), Decimal(0))
    summary = {
        "payment_budget": str(result.payment_budget),
        "fixed_total": str(result.fixed_total),
        "total_points": str(result.total_points),
        "residual": str(result.residual),
    }
    row = SettlementClearing(
        region_code=region_code,
        year=year,
        method=method,
        budget=budget,
        scores={k: str(v) for k, v in scores.items()},
        final_value=str(result.final_value),
        summary=summary,
        hospitals=hospitals,
        clearing_total=total,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "settlement.clearing.save",
        "settlement_clearing",
        row.id,
        after={
            "year": year,
            "region": region_code,
            "method": method,
            "budget": budget,
            "final_value": row.final_value,
            "hospitals": len(hospitals),
            "clearing_total": total,
        },
        region_code=region_code,
    )
    return row


def saved_clearings(session: Session, region_code: str, year: int) -> list[SettlementClearing]:
    """The region's saved clearings of ``year``, newest first."""
    return list(
        session.scalars(
            select(SettlementClearing)
            .where(
                SettlementClearing.region_code.startswith(region_prefix(region_code)),
                SettlementClearing.year == year,
            )
            .order_by(SettlementClearing.id.desc())
        )
    )


def get_clearing(session: Session, clearing_id: int, region_code: str) -> SettlementClearing:
    row = session.get(SettlementClearing, clearing_id)
    if row is None or not row.region_code.startswith(region_prefix(region_code)):
        raise NotFound(f"年终清算 {clearing_id} 不存在 / no such clearing")
    return row


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
            ],
        }
    )
    buf = io.BytesIO()
    write_xlsx({"医院清算": for_people(hospitals), "清算参数": inputs}, buf, autofit=True)
    return buf.getvalue()


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
