"""Real-time audit (ADR 0023): 3101 / 3102 answered from the rule set in force for
the institution's region on the encounter's date, with the person's stored history,
and stored centrally; 3103 feedback on the findings of an earlier answer.

Both the gateway (:mod:`yibao.supervision.realtime.transactions`) and the plain JSON
route (:mod:`yibao.supervision.realtime.endpoints`) call :func:`answer_audit` and
:func:`do_feedback` with the input read by the same lenient reader, so both give the
same answer.  A refusal (:class:`~yibao.engines.exchange.Refused` or a
:class:`~yibao.kit.errors.DomainError`) is raised before anything is written.

The hot path (3101 / 3102) is lean: the compiled rule set comes from the process's
cache (:mod:`yibao.supervision.runtime`), the history is one select (none when the
rules have only visit windows and the stage is 事中; a second only to say why a person
has none), and the request and its findings are two Core inserts.  It writes no
audit-log row: the request row *is* the record of who asked what and what was
answered (an audit row would double the busiest write in the system); 3103, which
changes what is known about a finding, writes one per feedback.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.config import Settings
from yibao.db.bulk import insert_many, reserve_ids
from yibao.db.scoping import Scope, set_scope
from yibao.engines.audit import AuditError, Claim, Finding
from yibao.engines.audit.claims import without_resent
from yibao.engines.audit.messages import (
    DSPO_WAYS,
    STAGE_NAMES,
    WARN_TYPES,
    AuditIn,
    AuditOut,
    FeedbackIn,
    FeedbackOut,
    FeedbackResultOut,
    PreAuditOut,
)
from yibao.engines.audit.realtime import (
    Request,
    drugs_on_hand,
    history_claims,
    history_since,
    read_request,
    recent_visits,
    results,
)
from yibao.engines.exchange import Refused
from yibao.exchange.registry import Institution
from yibao.kit.timeutil import local, utcnow
from yibao.supervision import runtime
from yibao.supervision.realtime.history import (
    Ask,
    Past,
    as_registered,
    look_up,
)
from yibao.supervision.realtime.models import AuditFeedback, AuditFinding, AuditRequest

_ZERO = Decimal("0.00")
REQUESTS = cast(Table, AuditRequest.__table__)
FINDINGS = cast(Table, AuditFinding.__table__)


@dataclass
class Asker:
    """Who asks and through what: the institution (from the token), the actor, the
    gateway message when there is one, and what the answer should warn about."""

    institution: Institution
    actor: Actor
    user_id: int | None
    via: str  # exchange / api
    received_at: datetime
    msgid: str | None = None
    message_id: int | None = None
    opter: str = ""
    warnings: list[str] = field(default_factory=list)


def _windows(current: runtime.Current, stage: str, trig_scen: int | None) -> frozenset[str]:
    return frozenset(p.rule.window for p in current.ruleset.plans if p.rule.runs(stage, trig_scen))


@dataclass(frozen=True)
class AuditJob:
    """One 3101 / 3102 to answer: the transaction, its input as read, who asks."""

    infno: str
    data: AuditIn
    asker: Asker


@dataclass(frozen=True)
class Answer:
    """The output of one request, and the same as JSON text: stored as the request's
    ``result`` and sent as the answer's ``output`` without a second serialisation."""

    out: AuditOut
    json: str


@dataclass
class _Answered:
    job: AuditJob
    req: Request
    current: runtime.Current
    task_id: str
    out: AuditOut
    found: list[Finding]
    json: str = ""


def answer_audit(
    session: Session, infno: str, data: AuditIn, asker: Asker, settings: Settings
) -> AuditOut:
    """3101 / 3102: audit the message's current encounter (module docstring), store
    the request and its findings, and answer; 3101 adds the reminder nodes."""
    (out,) = answer_audits(session, [AuditJob(infno, data, asker)], settings)
    if isinstance(out, Refused):
        raise out
    return out.out


def answer_audits(
    session: Session, jobs: Sequence[AuditJob], settings: Settings
) -> list[Answer | Refused]:
    """:func:`answer_audit` for several requests at once (the fast route's group
    commit, ADR 0026): each audited in turn, a refused one answered with its
    :class:`Refused` and storing nothing, then every request stored with one insert and
    every finding with another.  The rule set in force and the history windows its
    rules need are looked up once per (region, day) and (rule set, stage, scenario) of
    the batch."""
    outs: list[Answer | Refused | None] = [None] * len(jobs)
    read: list[tuple[int, Request, runtime.Current, _Window]] = []
    in_force: dict[tuple[str, date], runtime.Current] = {}
    windows: dict[tuple[int, str, int | None], frozenset[str]] = {}
    for i, job in enumerate(jobs):
        set_scope(session, Scope(hospital_id=job.asker.institution.id))
        try:
            today = local(job.asker.received_at).date()
            req = read_request(job.infno, job.data.data, job.asker.institution.level, today)
            key = (job.asker.institution.region_code, req.on)
            current = in_force.get(key)
            if current is None:
                current = in_force[key] = runtime.current(session, key[0], req.on)
        except Refused as exc:
            outs[i] = exc
            continue
        wkey = (id(current.ruleset), req.stage, req.trig_scen)
        names = windows.get(wkey)
        if names is None:
            names = windows[wkey] = _windows(current, req.stage, req.trig_scen)
        read.append((i, req, current, _window(req, current, job.asker, settings, names)))
    # the history of every request and the registered persons: one statement
    found, people = look_up(
        session,
        [w.ask for _, _, _, w in read if w.ask is not None],
        {req.claim.patient.psn_no for _, req, _, _ in read},
    )
    pasts = iter(found)
    answered: list[_Answered] = []
    for i, req, current, window in read:
        past = next(pasts) if window.ask is not None else None
        registered = people.get(req.claim.patient.psn_no)
        req = as_registered(req, registered, jobs[i].asker.warnings)
        try:
            done = _audit_one(jobs[i], req, current, window, past, settings)
        except Refused as exc:
            outs[i] = exc
            continue
        done.json = done.out.model_dump_json()
        outs[i] = Answer(done.out, done.json)
        answered.append(done)
    if answered:
        _store(session, answered)
    return [o for o in outs if o is not None]


@dataclass(frozen=True)
class _Window:
    """What a request needs of the stored history: the rules' start (None: no rule
    reads it), whether it is a 事前 request (the reminder), and the look-up, if any."""

    rules_since: date | None
    pre: bool
    ask: Ask | None


def _window(
    req: Request,
    current: runtime.Current,
    asker: Asker,
    settings: Settings,
    windows: frozenset[str],
) -> _Window:
    """What ``req`` needs of the stored history, given the ``windows`` of the rules
    that run for it (:func:`_windows`)."""
    rules_since = history_since(req, windows)
    on = req.on
    pre = req.stage == "pre"
    starts = [d for d in (rules_since,) if d is not None]
    if pre:
        starts += [
            on - timedelta(days=settings.audit_history_days),
            on - timedelta(days=settings.audit_supply_days),
        ]
    if not starts:
        return _Window(rules_since, pre, None)
    last = max([on, *(ln.day for ln in req.claim.lines)])
    ask = Ask(
        hospital_id=asker.institution.id,
        psn_no=req.claim.patient.psn_no,
        region_code=asker.institution.region_code,
        since=min(starts),
        until=last,
        exclude=req.mdtrt_ids - req.stored_counts,
    )
    return _Window(rules_since, pre, ask)


def _audit_one(
    job: AuditJob,
    req: Request,
    current: runtime.Current,
    window: _Window,
    past: Past | None,
    settings: Settings,
) -> _Answered:
    history, extra = _history(req, current, job.asker, window, past, settings)
    try:
        found = current.ruleset.audit(
            req.claim,
            stage=req.stage,
            trig_scen=req.trig_scen,
            rule_ids=req.rule_ids,
            history=[*req.sent_history, *history],
        )
    except AuditError as exc:  # rule_ids naming a rule not in force, above all
        if exc.field == "rule_ids":
            text = exc.message.removeprefix("rule_ids：")
            raise Refused("data.rule_ids", f"规则标识集合（data.rule_ids）：{text}") from None
        raise Refused(f"data.{exc.field}" if exc.field else None, exc.message) from None
    task_id = uuid.uuid4().hex
    out: AuditOut
    if job.infno == "3101":
        out = PreAuditOut(result=results(found, task_id), **extra)
    else:
        out = AuditOut(result=results(found, task_id))
    return _Answered(job, req, current, task_id, out, found)


def _request_row(a: _Answered) -> dict[str, Any]:
    inst, asker, claim = a.job.asker.institution, a.job.asker, a.req.claim
    return {
        "hospital_id": inst.id,
        "region_code": inst.region_code,
        "task_id": a.task_id,
        "via": asker.via,
        "infno": a.job.infno,
        "stage": a.req.stage,
        "trig_scen": a.req.trig_scen,
        "rule_ids": list(a.req.rule_ids) if a.req.rule_ids else None,
        "syscode": a.job.data.data.syscode,
        "psn_no": claim.patient.psn_no,
        "mdtrt_id": claim.encounter.mdtrt_id,
        "admdvs": inst.admvs,
        "rule_set_id": a.current.rule_set_id,
        "rule_set_version": a.current.rule_set_version,
        "knowledge_id": a.current.knowledge_id,
        "findings": len(a.found),
        "vola_amt": sum((f.vola_amt for f in a.found), start=_ZERO),
        "request": a.job.data.model_dump_json(exclude_none=True),
        "result": a.json,
        "received_at": asker.received_at,
        "answered_at": utcnow(),
        "msgid": asker.msgid,
        "message_id": asker.message_id,
        "user_id": asker.user_id,
    }


def _store(session: Session, answered: list[_Answered]) -> None:
    """The requests with their answers, then their findings: their ids reserved with
    one statement, then two inserts of one statement each, whatever the number of
    requests (:func:`~yibao.db.bulk.insert_many`)."""
    ids = reserve_ids(session, REQUESTS, len(answered))
    insert_many(
        session,
        REQUESTS,
        [{"id": i} | _request_row(a) for a, i in zip(answered, ids, strict=True)],
        serialised=("request", "result"),
    )
    findings = [
        _finding_row(f, row_id, a.req.stage, a.job.asker)
        for a, row_id in zip(answered, ids, strict=True)
        for f in a.found
    ]
    insert_many(session, FINDINGS, findings)


def _finding_row(f: Finding, request_id: int, stage: str, asker: Asker) -> dict[str, Any]:
    return {
        "hospital_id": asker.institution.id,
        "region_code": asker.institution.region_code,
        "request_id": request_id,
        "jr_id": f.jr_id,
        "rule_id": f.rule_id,
        "rule_version": f.rule_version,
        "rule_name": f.rule_name,
        "vola_bhvr_type": f.vola_bhvr_type,
        "result_type": f.result_type,
        "sev_deg": f.sev_deg,
        "vola_amt": f.vola_amt,
        "vola_cont": f.vola_cont[:2000],
        "stage": stage,
        "psn_no": f.psn_no,
        "mdtrt_id": f.mdtrt_id,
        "lines": [
            {"rx_id": ln.rx_id, "vola_item_type": ln.vola_item_type, "vola_amt": str(ln.vola_amt)}
            for ln in f.lines
        ],
        "received_at": asker.received_at,
    }


def _history(
    req: Request,
    current: runtime.Current,
    asker: Asker,
    window: _Window,
    past: Past | None,
    settings: Settings,
) -> tuple[list[Claim], dict[str, Any]]:
    """The stored history the rules read (their day / month windows) and, for 3101,
    the reminder nodes, from the request's look-up (:func:`pasts_of`)."""
    on = req.on
    extra: dict[str, Any] = {"hist_dtos": [], "drug_remaining_dtos": []} if window.pre else {}
    if past is None or window.ask is None:
        return [], extra
    if not past.identified:
        asker.warnings.append(
            f"参保人 {req.claim.patient.psn_no} 未经本机构人员信息获取（1101），"
            "未使用其历史就诊、不提供近期就诊与用药提醒"
        )
        return [], extra
    knowledge = current.ruleset.knowledge
    history: list[Claim] = []
    if window.rules_since is not None:
        history = history_claims(
            req.claim.patient,
            past.visits,
            past.fees,
            knowledge,
            window.rules_since,
            window.ask.until,
        )
        history = without_resent(history, req.claim, req.stored_counts)
    if window.pre:  # the reminder: other visits than the one being treated
        visits = [v for v in past.visits if v.mdtrt_id not in req.mdtrt_ids]
        ids = {v.visit_id for v in visits}
        fees = [f for f in past.fees if f.visit_id in ids]
        extra["hist_dtos"] = recent_visits(visits, fees, on, settings.audit_history_days)
        extra["drug_remaining_dtos"] = drugs_on_hand(visits, fees, knowledge, on)
    return history, extra


# ------------------------------------------------------------------------ 3103


def do_feedback(session: Session, data: FeedbackIn, asker: Asker) -> FeedbackOut:
    """3103: store the doctor's handling of each finding named (``warn_rslt_id`` =
    ``jr_id``, of ``task_id`` or else the institution's latest request with it), one
    audit row each.  All or nothing: an unknown finding, another institution's, one
    of the other stage, or ``dspo_way`` 1 without a reason refuses the message before
    anything is written."""
    d = data.data
    seen: set[str] = set()
    for i, w in enumerate(d.warns):
        if w.dspo_way == "1" and not (w.dspo_way_rea or "").strip():
            where = f"data.warns[{i}].dspo_way_rea"
            raise Refused(where, f"处理原因（{where}）：选择继续执行（dspo_way 1）时须说明理由")
        if w.warn_rslt_id in seen:  # two handlings of one finding: which one stands?
            where = f"data.warns[{i}].warn_rslt_id"
            raise Refused(where, f"违规标识（{where}）：{w.warn_rslt_id} 在本次反馈中出现两次")
        seen.add(w.warn_rslt_id)
    rows = session.execute(
        select(
            FINDINGS.c.id,
            FINDINGS.c.jr_id,
            FINDINGS.c.request_id,
            FINDINGS.c.stage,
            REQUESTS.c.task_id,
        )
        .select_from(FINDINGS.join(REQUESTS, REQUESTS.c.id == FINDINGS.c.request_id))
        .where(
            FINDINGS.c.hospital_id == asker.institution.id,
            FINDINGS.c.jr_id.in_({w.warn_rslt_id for w in d.warns}),
        )
        .order_by(FINDINGS.c.id.desc())
    ).all()
    hits = [_hit(rows, data, i) for i in range(len(d.warns))]
    out = [_feedback(session, asker, data, i, hit) for i, hit in enumerate(hits)]
    session.flush()
    return FeedbackOut(result=out)


def _hit(rows: Sequence[Any], data: FeedbackIn, i: int) -> Any:
    """The stored finding ``warns[i]`` names, or the refusal naming the field."""
    d = data.data
    w = d.warns[i]
    task = w.task_id or d.task_id
    stage = WARN_TYPES[d.warn_type]
    where = f"data.warns[{i}].warn_rslt_id"
    mine = [r for r in rows if r.jr_id == w.warn_rslt_id and (task is None or r.task_id == task)]
    if not mine:
        of = f"任务 {task} 中" if task else "本机构的审核结果中"
        raise Refused(where, f"违规标识（{where}）：{of}没有 {w.warn_rslt_id}")
    hit = next((r for r in mine if r.stage == stage), None)
    if hit is None:
        raise Refused(
            "data.warn_type",
            f"反馈类型（data.warn_type）：{w.warn_rslt_id} 是{STAGE_NAMES[mine[0].stage]}"
            f"审核的结果，与反馈类型 {d.warn_type}（{STAGE_NAMES[stage]}）不符",
        )
    return hit


def _feedback(
    session: Session, asker: Asker, data: FeedbackIn, i: int, hit: Any
) -> FeedbackResultOut:
    """One feedback row and its audit row."""
    inst = asker.institution
    w = data.data.warns[i]
    reason = (w.dspo_way_rea or "").strip()
    row = AuditFeedback(
        hospital_id=inst.id,
        region_code=inst.region_code,
        request_id=hit.request_id,
        finding_id=hit.id,
        jr_id=w.warn_rslt_id,
        warn_type=data.data.warn_type,
        dspo_way=w.dspo_way,
        reason=reason,
        opter=asker.opter or asker.actor.name,
        received_at=asker.received_at,
        via=asker.via,
        msgid=asker.msgid,
        message_id=asker.message_id,
        user_id=asker.user_id,
    )
    session.add(row)
    record(
        session,
        asker.actor,
        "supervision.audit.feedback",
        "audit_finding",
        hit.id,
        after={
            "task_id": hit.task_id,
            "jr_id": w.warn_rslt_id,
            "dspo_way": w.dspo_way,
            "reason": reason,
            "opter": row.opter,
        },
        hospital_id=inst.id,
        region_code=inst.region_code,
    )
    return FeedbackResultOut(
        warn_rslt_id=w.warn_rslt_id,
        task_id=hit.task_id,
        dspo_way=w.dspo_way,
        dspo_way_name=DSPO_WAYS[w.dspo_way],
    )


def stored_request(session: Session, task_id: str) -> AuditRequest | None:
    """A stored request by its task_id (scoped like every read)."""
    return session.scalar(select(AuditRequest).where(AuditRequest.task_id == task_id))
