"""实时监控 screens (issue 15 item 1, first modules): figures of the real-time audits
(3101 事前 / 3102 事中) in the caller's data scope — the latest audit bills, today's
audit counts by hour and stage, today's audit results by rule, per-hospital
monitoring of today, and the year's monthly trend.  Each is one small SQL aggregate
(indexed on received time), so a screen can poll it every few seconds.

就诊单据 (:func:`visits`) shows what the hospitals send through the transaction
gateway: the latest visits and settlements (newest first, the insured person's name
masked) and today's visits, settlements and reversals."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yibao.analysis.models import AuditMonth
from yibao.analysis.refresh import local_hour, local_month
from yibao.analysis.reports import state_for_scope
from yibao.exchange.models import Fee, Settlement, Visit
from yibao.insured.models import InsuredPerson
from yibao.kit.timeutil import BUSINESS_TZ, local, utcnow
from yibao.regions.models import Hospital
from yibao.supervision.realtime.models import AuditFinding, AuditRequest

STAGES = {"pre": "事前", "mid": "事中"}
#: module → (title, default refresh seconds; 0 = no auto-refresh)
MODULES: dict[str, tuple[str, int]] = {
    "bills": ("单据审核信息", 5),
    "counts": ("审核次数", 10),
    "results": ("审核结果", 10),
    "hospitals": ("医院监控", 30),
    "visits": ("就诊单据", 10),
    "trend": ("全年趋势", 0),
}


def _today_start() -> datetime:
    """Midnight of today in business time (Asia/Shanghai), as an aware datetime."""
    return datetime.combine(local(utcnow()).date(), time(), tzinfo=BUSINESS_TZ)


def bills(session: Session, limit: int = 12) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AuditRequest, Hospital.name)
        .outerjoin(Hospital, Hospital.id == AuditRequest.hospital_id)
        .order_by(AuditRequest.received_at.desc(), AuditRequest.id.desc())
        .limit(limit)
    )
    return [
        {
            "at": r.received_at,
            "hospital": name or "",
            "stage": STAGES.get(r.stage, r.stage),
            "mdtrt_id": r.mdtrt_id,
            "findings": r.findings,
            "amount": r.vola_amt,
        }
        for r, name in rows
    ]


def counts(session: Session) -> dict[str, Any]:
    """Today's audits by hour and stage, and those with findings: one SQL aggregate."""
    hour = local_hour(session, AuditRequest.received_at)
    rows = session.execute(
        select(
            AuditRequest.stage,
            hour,
            func.count(AuditRequest.id),
            func.sum(case((AuditRequest.findings > 0, 1), else_=0)),
        )
        .where(AuditRequest.received_at >= _today_start())
        .group_by(AuditRequest.stage, hour)
    )
    hours = {s: [0] * 24 for s in STAGES}
    total = dict.fromkeys(STAGES, 0)
    flagged = 0
    for stage, h, n, found in rows:
        if stage in hours and h is not None:
            hours[stage][int(h)] += int(n)
            total[stage] += int(n)
        flagged += int(found or 0)
    return {"hours": hours, "total": total, "all": sum(total.values()), "flagged": flagged}


def results(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            AuditFinding.rule_id,
            AuditFinding.rule_name,
            func.count(AuditFinding.id),
            func.sum(AuditFinding.vola_amt),
        )
        .where(AuditFinding.received_at >= _today_start())
        .group_by(AuditFinding.rule_id, AuditFinding.rule_name)
        .order_by(func.count(AuditFinding.id).desc(), AuditFinding.rule_id)
        .limit(limit)
    )
    return [{"rule_id": r, "name": n, "count": int(c), "amount": a or 0} for r, n, c, a in rows]


def hospitals(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            Hospital.code,
            Hospital.name,
            func.count(AuditRequest.id),
            func.sum(AuditRequest.findings),
            func.sum(AuditRequest.vola_amt),
        )
        .join(Hospital, Hospital.id == AuditRequest.hospital_id)
        .where(AuditRequest.received_at >= _today_start())
        .group_by(Hospital.code, Hospital.name)
        .order_by(func.sum(AuditRequest.findings).desc(), Hospital.code)
    )
    return [
        {"code": c, "name": n, "audits": int(k), "findings": int(f or 0), "amount": a or 0}
        for c, n, k, f, a in rows
    ]


def trend(session: Session) -> dict[str, Any]:
    """The year's audits and those with findings per month: the decision-analysis
    audit months (ADR 0037) plus the audits received since their refresh, else one SQL
    aggregate over the year."""
    year = local(utcnow()).year
    months, flagged = [0] * 12, [0] * 12
    state = state_for_scope(session)
    after = state.audit_watermark if state is not None else 0
    if state is not None:
        for m, n, f in session.execute(
            select(AuditMonth.month, AuditMonth.audits, AuditMonth.flagged).where(
                AuditMonth.month.startswith(f"{year}-")
            )
        ):
            months[int(m[5:7]) - 1] += int(n)
            flagged[int(m[5:7]) - 1] += int(f)
    start = datetime(year, 1, 1, tzinfo=BUSINESS_TZ)
    month = local_month(session, AuditRequest.received_at)
    for m, n, f in session.execute(
        select(
            month,
            func.count(AuditRequest.id),
            func.sum(case((AuditRequest.findings > 0, 1), else_=0)),
        )
        .where(AuditRequest.received_at >= start, AuditRequest.id > after)
        .group_by(month)
    ):
        if m and m.startswith(f"{year}-"):
            months[int(m[5:7]) - 1] += int(n)
            flagged[int(m[5:7]) - 1] += int(f or 0)
    return {"year": year, "audits": months, "flagged": flagged}


KINDS = {"ipt": "住院", "otp": "门诊"}
BILL_STATES = {"settled": "已结算", "reversed": "已冲销", "open": "未结算", "cancelled": "已取消"}


def mask_name(name: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧**娜: the first and (from three characters) the last."""
    text = (name or "").strip()
    if len(text) <= 1:
        return text
    if len(text) == 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]


def _bill_settlements(session: Session, limit: int) -> dict[int, Settlement]:
    """The newest ``limit`` settlements (by id: the primary key, no scan), by visit."""
    newest: dict[int, Settlement] = {}
    for row in session.scalars(select(Settlement).order_by(Settlement.id.desc()).limit(limit)):
        newest.setdefault(row.visit_id, row)
    return newest


def _bill_visits(session: Session, ids: set[int], limit: int) -> list[Any]:
    return list(
        session.execute(
            select(
                Visit.id,
                Visit.mdtrt_id,
                Visit.kind,
                Visit.state,
                Visit.psn_no,
                Visit.updated_at,
                Hospital.name,
                InsuredPerson.psn_name,
            )
            .outerjoin(Hospital, Hospital.id == Visit.hospital_id)
            .outerjoin(InsuredPerson, InsuredPerson.id == Visit.person_id)
            .where(Visit.id.in_(ids))
            .order_by(Visit.updated_at.desc(), Visit.id.desc())
            .limit(limit)
        )
    )


def _bill_status(visit_state: str, settlement: Settlement | None) -> str:
    if visit_state == "settled":
        return "settled"
    if visit_state == "cancelled":
        return "cancelled"
    return "reversed" if settlement is not None and settlement.state == "reversed" else "open"


def visit_bills(session: Session, limit: int = 12) -> list[dict[str, Any]]:
    """The latest visits the gateway registered or settled, newest activity first: the
    newest ``limit`` visits and the visits of the newest ``limit`` settlements (both
    by primary key), with each one's settlement (the live one when settled) or, while
    unsettled, the sum of its fee lines."""
    settled = _bill_settlements(session, limit)
    ids = set(session.scalars(select(Visit.id).order_by(Visit.id.desc()).limit(limit)))
    rows = _bill_visits(session, ids | set(settled), limit)
    live = [r.id for r in rows if r.state == "settled" and r.id not in settled]
    if live:  # the partial unique index on the live settlement of a visit
        for row in session.scalars(
            select(Settlement).where(Settlement.visit_id.in_(live), Settlement.state == "settled")
        ):
            settled[row.visit_id] = row
    unsettled = [r.id for r in rows if r.id not in settled]
    fees: dict[int, Any] = {}
    if unsettled:  # the fee lines' unique index leads with the visit
        sums = session.execute(
            select(Fee.visit_id, func.sum(Fee.det_item_fee_sumamt))
            .where(Fee.visit_id.in_(unsettled), Fee.state != "cancelled")
            .group_by(Fee.visit_id)
        )
        fees = dict(sums.all())
    out = []
    for r in rows:
        s = settled.get(r.id)
        status = _bill_status(r.state, s)
        out.append(
            {
                "at": r.updated_at,
                "hospital": r.name or "",
                "mdtrt_id": r.mdtrt_id,
                "kind": KINDS.get(r.kind, r.kind),
                "person": mask_name(r.psn_name),
                "psn_no": r.psn_no,
                "total": s.medfee_sumamt if s is not None else fees.get(r.id, 0),
                "fund": s.fund_pay_sumamt if s is not None else None,
                "status": status,
                "status_text": BILL_STATES[status],
            }
        )
    return out


def visits_today(session: Session) -> dict[str, Any]:
    """Today's visits begun (by kind), settlements made (live and since reversed, the
    live ones' total fee and fund payment), reversals, and settlements by hour."""
    start = _today_start()
    begun = dict.fromkeys(KINDS, 0)
    for kind, n in session.execute(
        select(Visit.kind, func.count(Visit.id)).where(Visit.begntime >= start).group_by(Visit.kind)
    ):
        begun[kind] = begun.get(kind, 0) + int(n)
    made = session.execute(
        select(
            func.count(Settlement.id),
            func.sum(Settlement.medfee_sumamt).filter(Settlement.state == "settled"),
            func.sum(Settlement.fund_pay_sumamt).filter(Settlement.state == "settled"),
        ).where(Settlement.setl_time >= start)
    ).one()
    reversed_ = session.scalar(
        select(func.count(Settlement.id)).where(Settlement.reversed_at >= start)
    )
    hours = {k: [0] * 24 for k in KINDS}
    for kind, at in session.execute(
        select(Settlement.kind, Settlement.setl_time).where(Settlement.setl_time >= start)
    ):
        if kind in hours:
            hours[kind][local(at).hour] += 1
    return {
        "visits": sum(begun.values()),
        "begun": begun,
        "settled": int(made[0] or 0),
        "medfee": made[1] or 0,
        "fund": made[2] or 0,
        "reversed": int(reversed_ or 0),
        "hours": hours,
    }


def visits(session: Session, limit: int = 12) -> dict[str, Any]:
    """就诊单据: the latest bills and today's figures."""
    return {"rows": visit_bills(session, limit), "today": visits_today(session)}
