"""Rebuild a region's decision-analysis summary tables (ADR 0037).

:func:`do_refresh` deletes the region's rows and writes them again from the source
tables in the caller's transaction — every figure a SQL aggregate (``GROUP BY``), so a
3-year, 3-million-case region is summarised by the database, not row by row in Python:

* case months — discharged cases per hospital, month and insurance type;
* audit months — real-time audits by the month they were received (business time),
  published post-audit findings (公示 or later, not dismissed:
  :func:`yibao.supervision.findings.repository.counted`, as the map) by period,
  upheld audit deductions by statement period;
* fund months — the monthly statements (:func:`period_statements`), per hospital;
* DRG years — CMI, consumption indices, low-risk mortality under the region's newest
  published weight plan (:func:`indices_table`, as the indices page), 入组率 from the
  stored grouping results;
* DIP years — the cases priced under DIP: 入组率, groups, points, cost against payment,
  low / high / extreme cases;
* item years — drug, item and material use from the gateway's settled fee lines.

The state row records the highest case id covered (readers add later cases live) and
what the refresh found.  An audit row names who refreshed and the counts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, delete, func, select
from sqlalchemy.orm import Session

from yibao.analysis.models import (
    AnalysisState,
    AuditMonth,
    CaseMonth,
    DipYear,
    DrgYear,
    FundBudget,
    FundMonth,
    ItemYear,
)
from yibao.analysis.performance import dip_year_rows, drg_year_rows
from yibao.audit.service import Actor, record
from yibao.cases.models import Case
from yibao.config import get_settings
from yibao.db.bulk import insert_many
from yibao.engines.grouper import PlanRegistry
from yibao.engines.measure.frames import DEATH
from yibao.exchange.models import Fee
from yibao.grouping.plans import plan_registry
from yibao.kit.timeutil import BUSINESS_TZ, utcnow
from yibao.regions.models import Hospital, region_prefix
from yibao.settlement.models import (
    SettlementAuditDeduction,
    SettlementConfirmation,
)
from yibao.settlement.statements.service import period_statements
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.repository import counted
from yibao.supervision.realtime.models import AuditRequest

TABLES = (CaseMonth, AuditMonth, FundMonth, DrgYear, DipYear, ItemYear)
ZERO = Decimal("0.00")
Progress = Callable[[str], None]


def local_month(session: Session, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a stored UTC time in business time (Asia/Shanghai), in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(str(BUSINESS_TZ), column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")  # China keeps no summer time


def local_hour(session: Session, column: Any) -> ColumnElement[int]:
    """The hour (0–23) of a stored UTC time in business time, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.cast(func.extract("hour", func.timezone(str(BUSINESS_TZ), column)), Integer)
    return func.cast(func.strftime("%H", column, "+8 hours"), Integer)


def _month(year: Any, month: Any) -> str:
    return f"{int(year):04d}-{int(month):02d}"


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def case_month_rows(
    session: Session, prefix: str, *, after_id: int = 0, upto_id: int | None = None
) -> list[dict[str, Any]]:
    """Case months of the cases under ``prefix`` with ``after_id < id <= upto_id``."""
    c = Case
    year, month = func.extract("year", c.discharge_date), func.extract("month", c.discharge_date)
    stmt = (
        select(
            c.hospital_id,
            c.region_code,
            c.hospital_code,
            year,
            month,
            c.insutype,
            func.count(c.id),
            func.sum(case((c.discharge_way == DEATH, 1), else_=0)),
            func.sum(c.los_days),
            func.sum(c.total_cost),
            func.sum(c.fund_payment),
            func.sum(c.self_pay_full + c.self_pay_first),
            func.sum(c.fee_western_medicine + c.fee_herbal_pieces + c.fee_chinese_patent_medicine),
            func.sum(c.fee_materials),
            func.sum(c.fee_examination + c.fee_laboratory),
        )
        .where(c.region_code.startswith(prefix), c.id > after_id)
        .group_by(c.hospital_id, c.region_code, c.hospital_code, year, month, c.insutype)
    )
    if upto_id is not None:
        stmt = stmt.where(c.id <= upto_id)
    return [
        {
            "hospital_id": h,
            "region_code": r,
            "hospital_code": code,
            "month": _month(y, m),
            "insutype": t,
            "cases": int(n),
            "deaths": int(d or 0),
            "los_days": int(los or 0),
            "total_cost": _money(cost),
            "fund_payment": _money(fund),
            "self_pay": _money(own),
            "drug_cost": _money(drug),
            "material_cost": _money(mat),
            "exam_cost": _money(exam),
        }
        for h, r, code, y, m, t, n, d, los, cost, fund, own, drug, mat, exam in session.execute(
            stmt
        )
    ]


# long: three sources merged into one row per hospital and month
def realtime_audit_rows(
    session: Session,
    prefix: str,
    *,
    after_id: int = 0,
    upto_id: int | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Real-time audits (3101/3102) with ``after_id < id <= upto_id`` (received from
    ``since``) per hospital and business-time month: audits, those with findings,
    findings, violation amount."""
    a = AuditRequest
    month = local_month(session, a.received_at)
    stmt = (
        select(
            a.hospital_id,
            a.region_code,
            Hospital.code,
            month,
            func.count(a.id),
            func.sum(case((a.findings > 0, 1), else_=0)),
            func.sum(a.findings),
            func.sum(a.vola_amt),
        )
        .join(Hospital, Hospital.id == a.hospital_id)
        .where(a.region_code.startswith(prefix), a.id > after_id)
        .group_by(a.hospital_id, a.region_code, Hospital.code, month)
    )
    if upto_id is not None:
        stmt = stmt.where(a.id <= upto_id)
    return [
        {
            "hospital_id": hid,
            "region_code": region,
            "hospital_code": code,
            "month": m,
            "audits": int(n),
            "flagged": int(flagged or 0),
            "rt_findings": int(found or 0),
            "vola_amt": _money(amt),
        }
        for hid, region, code, m, n, flagged, found, amt in session.execute(stmt)
    ]


def audit_month_rows(
    session: Session, prefix: str, upto_id: int | None = None
) -> list[dict[str, Any]]:
    rows: dict[tuple[int, str], dict[str, Any]] = {}

    def row(hid: int, region: str, code: str, month: str) -> dict[str, Any]:
        return rows.setdefault(
            (hid, month),
            {
                "hospital_id": hid,
                "region_code": region,
                "hospital_code": code,
                "month": month,
                "audits": 0,
                "flagged": 0,
                "rt_findings": 0,
                "vola_amt": ZERO,
                "findings": 0,
                "finding_amt": ZERO,
                "deducted": ZERO,
            },
        )

    for a in realtime_audit_rows(session, prefix, upto_id=upto_id):
        r = row(a["hospital_id"], a["region_code"], a["hospital_code"], a["month"])
        r.update({k: a[k] for k in ("audits", "flagged", "rt_findings", "vola_amt")})
    f = Finding
    for hid, region, code, period, n, amt in session.execute(
        select(
            f.hospital_id,
            f.region_code,
            f.hospital_code,
            f.period,
            func.count(f.id),
            func.sum(f.vola_amt),
        )
        .where(f.region_code.startswith(prefix), counted())
        .group_by(f.hospital_id, f.region_code, f.hospital_code, f.period)
    ):
        r = row(hid, region, code, period)
        r["findings"], r["finding_amt"] = int(n), _money(amt)
    d = SettlementAuditDeduction
    for hid, region, code, period, amt in session.execute(
        select(d.hospital_id, d.region_code, d.hospital_code, d.period_code, func.sum(d.amount))
        .where(d.region_code.startswith(prefix))
        .group_by(d.hospital_id, d.region_code, d.hospital_code, d.period_code)
    ):
        row(hid, region, code, period)["deducted"] = _money(amt)
    return list(rows.values())


def fund_month_rows(session: Session, region_code: str) -> list[dict[str, Any]]:
    """The monthly statements of every period with confirmations or intelligent-audit
    deductions (a month with deductions only has a negative statement, ADR 0024), per
    hospital."""
    prefix = region_prefix(region_code)
    confirmed = session.scalars(
        select(SettlementConfirmation.period_code)
        .where(SettlementConfirmation.region_code.startswith(prefix))
        .distinct()
    ).all()
    deducted = session.scalars(
        select(SettlementAuditDeduction.period_code)
        .where(SettlementAuditDeduction.region_code.startswith(prefix))
        .distinct()
    ).all()
    periods = sorted(set(confirmed) | set(deducted))
    hospitals = {
        h.code: (h.id, h.region_code)
        for h in session.scalars(select(Hospital).where(Hospital.region_code.startswith(prefix)))
    }
    rows = []
    for period in periods:
        statements, _ = period_statements(session, region_code, period)
        for s in statements.iter_rows(named=True):
            hid, region = hospitals.get(s["hospital_code"], (None, None))
            if hid is None or region is None:
                continue
            rows.append(
                {
                    "hospital_id": hid,
                    "region_code": region,
                    "hospital_code": s["hospital_code"],
                    "period": period,
                    "cases": int(s["cases"]),
                    "fund_total": s["fund_total"],
                    "deductions": s["deductions"],
                    "audit_deductions": s["audit_deductions"],
                    "settlement_amount": s["settlement_amount"],
                }
            )
    return rows


def item_year_rows(session: Session, prefix: str) -> list[dict[str, Any]]:
    f = Fee
    year = func.substr(local_month(session, f.fee_ocur_time), 1, 4)
    stmt = (
        select(
            f.hospital_id,
            f.region_code,
            Hospital.code,
            year,
            f.med_list_codg,
            f.med_chrgitm_type,
            func.sum(f.cnt),
            func.sum(f.det_item_fee_sumamt),
            func.count(f.id),
        )
        .join(Hospital, Hospital.id == f.hospital_id)
        .where(f.region_code.startswith(prefix), f.state == "settled")
        .group_by(
            f.hospital_id, f.region_code, Hospital.code, year, f.med_list_codg, f.med_chrgitm_type
        )
    )
    return [
        {
            "hospital_id": hid,
            "region_code": region,
            "hospital_code": code,
            "year": int(y),
            "item_code": item,
            "item_type": kind,
            "quantity": Decimal(qty or 0),
            "amount": _money(amt),
            "lines": int(n),
        }
        for hid, region, code, y, item, kind, qty, amt, n in session.execute(stmt)
    ]


def reset_analysis(session: Session, prefix: str) -> None:
    """Delete the summaries, states and budgets of the regions under ``prefix``."""
    for model in TABLES:
        session.execute(
            delete(model).where(model.region_code.startswith(prefix)),
            execution_options={"skip_scope": True},
        )
    session.execute(delete(AnalysisState).where(AnalysisState.region_code.startswith(prefix)))
    session.execute(delete(FundBudget).where(FundBudget.region_code.startswith(prefix)))


# long: the five tables, then the state and the audit row, in one transaction
def do_refresh(
    session: Session,
    region_code: str,
    actor: Actor,
    progress: Progress | None = None,
    registry: PlanRegistry | None = None,
) -> AnalysisState:
    """Rebuild the summary tables of ``region_code`` (a city or province bureau)."""
    prefix = region_prefix(region_code)
    say = progress or (lambda _text: None)
    case_mark = session.scalar(
        select(func.coalesce(func.max(Case.id), 0)).where(Case.region_code.startswith(prefix))
    )
    say("汇总病例（按医院、月份、险种）")
    cases = case_month_rows(session, prefix, upto_id=int(case_mark or 0))
    say("汇总审核与疑点")
    audit_mark = int(session.scalar(select(func.coalesce(func.max(AuditRequest.id), 0))) or 0)
    audits = audit_month_rows(session, prefix, upto_id=audit_mark)
    say("汇总月度结算单")
    funds = fund_month_rows(session, region_code)
    registry = registry or plan_registry(get_settings())
    drgs, plan_id = drg_year_rows(session, region_code, actor, registry, say)
    say("汇总 DIP 病例")
    dips = dip_year_rows(session, prefix)
    say("汇总药品、诊疗项目与耗材")
    items = item_year_rows(session, prefix)
    for model in TABLES:
        session.execute(
            delete(model).where(model.region_code.startswith(prefix)),
            execution_options={"skip_scope": True},
        )
    for model, rows in (
        (CaseMonth, cases),
        (AuditMonth, audits),
        (FundMonth, funds),
        (DrgYear, drgs),
        (DipYear, dips),
        (ItemYear, items),
    ):
        insert_many(session, model.__table__, rows)
    summary = {
        "case_months": len(cases),
        "cases": sum(r["cases"] for r in cases),
        "audit_months": len(audits),
        "fund_months": len(funds),
        "drg_years": len(drgs),
        "dip_years": len(dips),
        "item_years": len(items),
    }
    state = session.get(AnalysisState, region_code) or AnalysisState(region_code=region_code)
    state.refreshed_at = utcnow()
    state.refreshed_by = actor.name
    state.case_watermark = int(case_mark or 0)
    state.audit_watermark = audit_mark
    state.confirmation_watermark = int(
        session.scalar(select(func.coalesce(func.max(SettlementConfirmation.id), 0))) or 0
    )
    state.weight_plan_id = plan_id
    state.summary = summary
    session.add(state)
    session.flush()
    record(
        session,
        actor,
        "analysis.refresh",
        "region",
        region_code,
        after=summary,
        region_code=region_code,
    )
    return state
