"""A post-audit run (事后审核) over stored data: per audited month, the rule set in force
on the month's last day over the gateway's settled claims (``audit_frames``) and the
DRG detectors over the stored inpatient cases (``post_audit``, with the previous
months as history and the outpatient settlements around the stays), then the findings
stored by ``jr_id`` (ADR 0024).

Idempotent: a finding found again keeps its row; a 待公示 one is refreshed, a published
or decided one is left as it is (never duplicated or reopened); a 待公示 finding of an
audited month and hospital that the rerun no longer finds is dropped by the system
with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.audit.service import Actor, record
from yibao.engines.audit import AuditError, DetectorParams, RuleSet, post_audit
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner
from yibao.jobs.service import do_submit_job, recent_jobs
from yibao.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yibao.regions.models import Hospital
from yibao.supervision.findings import frames
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.rules import now, today
from yibao.supervision.findings.service import do_expire_overdue, finalise, record_step, side_of
from yibao.supervision.findings.states import Action, Side, State
from yibao.supervision.runtime import current_ruleset

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_MONTHS = 12
POST_AUDIT_KIND = "supervision.post_audit"
Progress = Callable[[str], None]


def parse_months(start: str, end: str | None) -> list[str]:
    """The months from ``start`` through ``end`` (YYYY-MM, at most 12), else a Chinese
    error naming the field."""
    end = end or start
    for field, value in (("period_from", start), ("period_to", end)):
        if not _MONTH.match(value or ""):
            raise ValidationFailed(f"{field}：期间须为 YYYY-MM（收到 {value!r}）", field=field)
    a = int(start[:4]) * 12 + int(start[5:]) - 1
    b = int(end[:4]) * 12 + int(end[5:]) - 1
    if b < a:
        raise ValidationFailed("period_to：结束月份不能早于开始月份", field="period_to")
    if b - a + 1 > MAX_MONTHS:
        raise ValidationFailed(
            f"period_to：一次最多审核 {MAX_MONTHS} 个月（收到 {b - a + 1} 个月）", field="period_to"
        )
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(a, b + 1)]


def month_range(month: str) -> tuple[date, date]:
    first = date(int(month[:4]), int(month[5:]), 1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def _months_back(month: str, n: int) -> date:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def _months_after(month: str, n: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _rule_findings(
    session: Session, months: list[str], note: Progress
) -> tuple[pl.DataFrame, list[str]]:
    """Findings of the rule sets in force over the settled claims of each month.  The
    claims settled in the month before and after are read too, as the rules' day and
    month windows see them (a stay settled after the month's end may share a month
    window with a visit settled in it); only the month's own encounters get findings,
    each by the rule set in force on its first day, as 3102 audited it."""
    out, notes = [], []
    for month in months:
        claims = frames.claim_frames(
            session, _months_back(month, 1), month_range(_months_after(month, 1))[1]
        )
        if claims.encounters.height == 0:
            continue
        own = {m for m, (_, _, period) in claims.where.items() if period == month}
        places = sorted({p[:4] + "00" for m, (_, p, _) in claims.where.items() if m in own})
        first_day = dict(
            zip(claims.encounters["mdtrt_id"], claims.encounters["begin_date"], strict=True)
        )
        for place in places:
            ids = [m for m, (_, p, _) in claims.where.items() if p[:4] + "00" == place]
            sets, missing = _rule_sets(session, place, sorted(set(ids) & own), first_day)
            if missing:
                notes.append(
                    f"{month} 就医地 {place}：{missing} 次就诊在其就诊日没有在用的规则库，"
                    "未做规则审核"
                )
            note(f"{month} 就医地 {place}：规则审核 {len(ids):,} 次就诊")
            keep = pl.col("mdtrt_id").is_in(ids)
            for ruleset, audited in sets:
                found = ruleset.audit_frames(
                    claims.patients,
                    claims.encounters.filter(keep),
                    claims.diagnoses.filter(keep),
                    claims.lines.filter(keep),
                    stage="post",
                ).filter(pl.col("mdtrt_id").is_in(audited))
                if found.height:
                    out.append(_placed(found, claims.where))
    return (pl.concat(out, how="diagonal") if out else pl.DataFrame()), notes


def _rule_sets(
    session: Session, place: str, own: list[str], first_day: dict[str, date]
) -> tuple[list[tuple[RuleSet, list[str]]], int]:
    """The encounters ``own`` by the compiled rule set in force on each one's first day
    (days with the same rules in force share one), and how many have none."""
    by_set: dict[int, tuple[RuleSet, list[str]]] = {}
    missing = 0
    for mdtrt_id in own:
        try:
            ruleset = current_ruleset(session, place, first_day[mdtrt_id])
        except NotFound:
            missing += 1
            continue
        by_set.setdefault(id(ruleset), (ruleset, []))[1].append(mdtrt_id)
    return list(by_set.values()), missing


def _placed(found: pl.DataFrame, where: dict[str, tuple[str, str, str]]) -> pl.DataFrame:
    """Findings with their hospital and period, marked as the rules' own."""
    placed = pl.DataFrame(
        [(m, h, p) for m, (h, _, p) in where.items()],
        schema={"mdtrt_id": pl.String, "hospital_code": pl.String, "period": pl.String},
        orient="row",
    )
    return found.join(placed, on="mdtrt_id", how="left").with_columns(
        pl.lit("rule").alias("source")
    )


def _detector_findings(
    session: Session, months: list[str], params: DetectorParams, note: Progress
) -> pl.DataFrame:
    """The DRG detectors over the stored cases (history months before the first)."""
    start = _months_back(months[0], params.history_months)
    end = month_range(months[-1])[1]
    cases = frames.inpatient_cases(session, start, end)
    audited = cases.filter(pl.col("discharge_date").dt.strftime("%Y-%m").is_in(months))
    if audited.height == 0:
        return pl.DataFrame()
    note(f"DRG 检测：{audited.height:,} 例住院病例（含历史月份共 {cases.height:,} 例）")
    outpatient = frames.outpatient_visits(
        session,
        start - timedelta(days=params.shift_days_before),
        end + timedelta(days=params.shift_days_after),
    )
    found = post_audit(
        cases,
        outpatient if outpatient.height else None,
        params.model_copy(update={"months": tuple(months)}),
    )
    return found.with_columns(pl.lit("detector").alias("source"))


def _hospitals(session: Session, codes: set[str]) -> dict[str, Hospital]:
    if not codes:
        return {}
    return {h.code: h for h in session.scalars(select(Hospital).where(Hospital.code.in_(codes)))}


def _lines(value: Any) -> list[dict[str, Any]]:
    return [
        {
            "rx_id": str(x["rx_id"]),
            "vola_item_type": int(x["vola_item_type"]),
            "vola_amt": str(Decimal(x["vola_amt"]).quantize(Decimal("0.01"))),
        }
        for x in value or []
    ]


# long: one pass over the found rows: new, refreshed, kept, then the stale ones
def store_findings(
    session: Session,
    found: pl.DataFrame,
    *,
    months: list[str],
    job_id: int | None,
    actor: Actor,
    sources: tuple[str, ...] = ("rule", "detector"),
) -> dict[str, int]:
    """Store the findings by ``jr_id`` (module docstring); returns the counts.  Stale
    待公示 findings are dropped only for ``sources`` that ran completely."""
    counts = {"found": found.height, "new": 0, "refreshed": 0, "kept": 0, "dropped": 0}
    counts["unknown_hospital"] = 0
    rows = found.to_dicts() if found.height else []
    hospitals = _hospitals(session, {str(r["hospital_code"]) for r in rows})
    seen: set[str] = set()
    by_id: dict[str, Finding] = {}
    ids = [str(r["jr_id"]) for r in rows]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        by_id.update(
            {f.jr_id: f for f in session.scalars(select(Finding).where(Finding.jr_id.in_(chunk)))}
        )
    stamp = now()
    for r in rows:
        jr = str(r["jr_id"])
        if jr in seen:
            continue
        seen.add(jr)
        hospital = hospitals.get(str(r["hospital_code"]))
        if hospital is None:
            counts["unknown_hospital"] += 1
            continue
        values = {
            "rule_version": int(r["rule_version"]),
            "rule_name": str(r["rule_name"])[:200],
            "family": str(r["family"])[:30],
            "result_type": str(r["result_type"])[:12],
            "sev_deg": int(r["sev_deg"]),
            "psn_no": str(r.get("psn_no") or ""),
            "mdtrt_id": str(r.get("mdtrt_id") or ""),
            "vola_cont": str(r["vola_cont"]),
            "vola_evid": str(r["vola_evid"]),
            "vola_amt": Decimal(r["vola_amt"]).quantize(Decimal("0.01")),
            "lines": _lines(r.get("lines")),
        }
        old = by_id.get(jr)
        if old is None:
            session.add(
                Finding(
                    jr_id=jr,
                    source=str(r["source"]),
                    rule_id=str(r["rule_id"]),
                    hospital_id=hospital.id,
                    region_code=hospital.region_code,
                    hospital_code=hospital.code,
                    period=str(r["period"]),
                    state=State.NEW.value,
                    job_id=job_id,
                    last_seen_job_id=job_id,
                    found_at=stamp,
                    updated_at=stamp,
                    **values,
                )
            )
            counts["new"] += 1
        elif old.state == State.NEW:
            for k, v in values.items():
                setattr(old, k, v)
            old.last_seen_job_id, old.updated_at = job_id, stamp
            counts["refreshed"] += 1
        else:
            old.last_seen_job_id = job_id
            counts["kept"] += 1
    session.flush()
    counts["dropped"] = _drop_stale(session, months, seen, actor, sources)
    return counts


def _drop_stale(
    session: Session, months: list[str], seen: set[str], actor: Actor, sources: tuple[str, ...]
) -> int:
    """待公示 findings of the audited months in scope that the run no longer finds."""
    stale = [
        f
        for f in session.scalars(
            select(Finding)
            .where(
                Finding.state == State.NEW.value,
                Finding.period.in_(months),
                Finding.source.in_(sources),
            )
            .order_by(Finding.id)
            .with_for_update()
        )
        if f.jr_id not in seen
    ]
    for f in stale:
        record_step(
            session,
            f,
            Action.DROP,
            Side.SYSTEM,
            State.DISMISSED,
            actor,
            reason="重新审核未再发现此疑点（数据或规则已变化）",
        )
        finalise(session, f, Decimal("0.00"), "dropped", today(), actor)
    return len(stale)


def run_post_audit(
    session: Session,
    months: list[str],
    *,
    actor: Actor,
    job_id: int | None = None,
    params: DetectorParams | None = None,
    note: Progress = lambda _m: None,
) -> dict[str, Any]:
    """One post-audit run over ``months`` in the session's scope (module docstring)."""
    params = params or DetectorParams()
    expired = do_expire_overdue(session, actor=actor)
    note("读取已结算就诊与费用明细")
    rule_found, notes = _rule_findings(session, months, note)
    note("读取住院病例、分组与计价结果")
    try:
        detector_found = _detector_findings(session, months, params, note)
    except AuditError as exc:
        raise ValidationFailed(f"DRG 检测输入有误：{exc}") from exc
    parts = [f for f in (rule_found, detector_found) if f.height]
    found = pl.concat(parts, how="diagonal") if parts else pl.DataFrame()
    note(f"保存疑点 {found.height:,} 条")
    # without a rule set for some place, its earlier rule findings are kept as they are
    sources = ("rule", "detector") if not notes else ("detector",)
    counts = store_findings(
        session, found, months=months, job_id=job_id, actor=actor, sources=sources
    )
    summary: dict[str, Any] = {
        "months": months,
        **counts,
        "rule_findings": rule_found.height,
        "detector_findings": detector_found.height,
        "expired": expired,
        "notes": notes,
    }
    record(session, actor, "finding.post_audit", "job", job_id, after=summary)
    return summary


def do_start_post_audit(
    session: Session,
    runner: JobRunner,
    *,
    period_from: str,
    period_to: str | None,
    user: User,
    actor: Actor,
) -> Job:
    """事后审核 (bureau): submit the run of a month or a range of months in the user's
    region; refused (409) while a run of the same scope is queued or running."""
    if side_of(user) != Side.BUREAU:
        raise Forbidden("只有医保局审核人员或规则管理员可以发起事后审核")
    months = parse_months(period_from.strip(), (period_to or "").strip() or None)
    busy = [
        j
        for j in recent_jobs(session, kinds=(POST_AUDIT_KIND,), limit=50)
        if j.status in ("queued", "running") and j.region_code == user.region_code
    ]
    if busy:
        raise Conflict(f"本辖区的事后审核任务 {busy[0].id} 正在进行，请待其完成后再发起")
    span = months[0] if len(months) == 1 else f"{months[0]} 至 {months[-1]}"
    return do_submit_job(
        session,
        runner,
        kind=POST_AUDIT_KIND,
        params={"months": months},
        actor=actor,
        message=f"事后审核 {span} 排队中",
    )
