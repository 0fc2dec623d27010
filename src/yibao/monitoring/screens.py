"""实时监控 screens (issue 15 item 1, first modules): figures of the real-time audits
(3101 事前 / 3102 事中) in the caller's data scope — the latest audit bills, today's
audit counts by hour and stage, today's audit results by rule, per-hospital
monitoring of today, and the year's monthly trend.  Each is one small SQL aggregate
(indexed on received time), so a screen can poll it every few seconds."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
    start = _today_start()
    rows = session.execute(
        select(AuditRequest.stage, AuditRequest.received_at, AuditRequest.findings).where(
            AuditRequest.received_at >= start
        )
    )
    hours = {s: [0] * 24 for s in STAGES}
    total = dict.fromkeys(STAGES, 0)
    flagged = 0
    for stage, at, findings in rows:
        h = local(at).hour
        if stage in hours:
            hours[stage][h] += 1
            total[stage] += 1
        flagged += 1 if findings else 0
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
    year = local(utcnow()).year
    start = datetime(year, 1, 1, tzinfo=BUSINESS_TZ)
    months = [0] * 12
    flagged = [0] * 12
    rows = session.execute(
        select(AuditRequest.received_at, AuditRequest.findings).where(
            AuditRequest.received_at >= start,
            AuditRequest.received_at < start + timedelta(days=366),
        )
    )
    for at, findings in rows:
        m = local(at)
        if m.year == year:
            months[m.month - 1] += 1
            flagged[m.month - 1] += 1 if findings else 0
    return {"year": year, "audits": months, "flagged": flagged}
