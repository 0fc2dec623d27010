"""Synthetic real-time audit traffic (3101 事前 / 3102 事中), clearly 演示: HIS
prescriptions and inpatient orders made of the demo catalogue, the insured register
and the hospitals — the load benchmark's requests (``yibao bench audit``) and the demo
region's stored audits (``yibao demo seed``), which are answered by the real service
(:func:`~yibao.supervision.realtime.service.answer_audits`) and stored like any other,
with doctors' feedback (3103) on some of the warnings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.catalogue.models import CatalogueEntry
from yibao.catalogue.repository import version_in_force
from yibao.config import Settings
from yibao.db.scoping import SYSTEM_SCOPE, Scope, set_scope
from yibao.engines.audit.knowledge import Knowledge
from yibao.engines.audit.messages import AuditIn, FeedbackIn
from yibao.engines.exchange import Refused
from yibao.engines.exchange.lenient import read
from yibao.exchange.registry import Institution
from yibao.insured.models import InsuredPerson
from yibao.kit.timeutil import BUSINESS_TZ, local, utcnow
from yibao.regions.models import Hospital
from yibao.supervision.models import RuleSetVersion
from yibao.supervision.realtime.models import AuditRequest
from yibao.supervision.realtime.service import Asker, AuditJob, answer_audits, do_feedback
from yibao.supervision.repository import in_force, knowledge_in_force

#: trig_scen by stage and care mode (domain.md §4.2)
SCENES = {("3101", "otp"): ("1", "2"), ("3101", "ipt"): ("3", "4", "5")}
SCENES |= {("3102", "otp"): ("6", "7"), ("3102", "ipt"): ("8", "9")}
#: share of requests with one item the knowledge base restricts or relates
HOT_SHARE = 0.25
#: why a demo doctor continues despite a warning (3103 dspo_way 1)
REASONS = (
    "患者知情同意，自愿自费",
    "临床必需，已请上级医师会诊",
    "诊断已在病历中补录",
    "家属坚持，已告知可能不予支付",
)


DIAGNOSES = {
    "otp": ["J06.900", "I10.x00", "E11.900", "K29.700", "M54.500", "J20.900", "N39.000"],
    "ipt": ["I63.900", "J18.900", "K35.800", "I21.900", "C34.900", "N40.x00", "O80.000"],
}
DEPTS = ["A03", "A04", "A07", "A02", "A12"]


# long: one request body, field by field as HIS vendors send 3101/3102
def body(
    rng: random.Random,
    infno: str,
    mode: str,
    inst: dict[str, Any],
    person: tuple[Any, ...],
    items: list[tuple[Any, ...]],
    hot: list[tuple[Any, ...]],
    seq: int,
    today: date | None = None,
) -> dict[str, Any]:
    """One 3101 / 3102 input (``mode`` otp 门诊 / ipt 住院) of institution ``inst``
    for ``person``, its orders drawn from ``items`` (in one request of four one from
    ``hot``, which the knowledge base restricts or relates), on ``today``."""
    psn_no, name, gend, brdy, insutype = person
    today = today or date.today()
    begin = today - timedelta(days=rng.randint(1, 6)) if mode == "ipt" else today
    n = rng.randint(3, 10) if mode == "otp" else rng.randint(5, 10)
    # most prescriptions pass: a restricted or related item in about one in four
    chosen = rng.sample(items, n)
    if rng.random() < HOT_SHARE:
        chosen[0] = rng.choice(hot)
    pool = chosen
    mdtrt_id = f"BA{inst['code'][-6:]}{seq:08d}"
    orders = []
    for k, (code, iname, kind, cap) in enumerate(pool[:n]):
        price = float(cap) if cap else round(rng.uniform(2, 300), 2)
        qty = rng.choice((1, 1, 2, 3, 6)) if kind != "service" else 1
        day = begin + timedelta(days=rng.randint(0, (today - begin).days))
        orders.append(
            {
                "rx_id": f"{mdtrt_id}-{k + 1}",
                "rx_no": f"RX{seq:08d}",
                "hilist_code": code,
                "hilist_name": iname,
                "hosplist_code": code,
                "hosplist_name": iname,
                "cnt": qty,
                "pric": price,
                "sumamt": round(price * qty, 2),
                "drord_begn_date": day.isoformat(),
                "drord_dept_codg": rng.choice(DEPTS),
                "drug_frqu": "bid" if kind != "service" else "",
                "prd_days": rng.choice((1, 3, 7)) if kind != "service" else None,
            }
        )
    dx = rng.sample(DIAGNOSES[mode], 2)
    trig = rng.choice(SCENES[(infno, mode)])
    return {
        "data": {
            "syscode": "HIS",
            "trig_scen": trig,
            "patient_dtos": [
                {
                    "patn_id": psn_no,
                    "patn_name": name,
                    "gend": gend,
                    "brdy": brdy.isoformat() if hasattr(brdy, "isoformat") else str(brdy),
                    "poolarea": inst["admvs"],
                    "curr_mdtrt_id": mdtrt_id,
                    "fsi_encounter_dtos": [
                        {
                            "mdtrt_id": mdtrt_id,
                            "medins_id": inst["code"],
                            "medins_name": inst["name"],
                            "medins_admdvs": inst["admvs"],
                            "medins_lv": inst["level"],
                            "med_mdtrt_type": "2" if mode == "ipt" else "1",
                            "med_type": "21" if mode == "ipt" else "11",
                            "adm_date": begin.isoformat(),
                            "adm_dept_codg": rng.choice(DEPTS),
                            "insutype": insutype,
                            "fsi_diagnose_dtos": [
                                {
                                    "dise_id": f"{mdtrt_id}-D{j + 1}",
                                    "maindise_flag": "1" if j == 0 else "0",
                                    "dias_srt_no": j + 1,
                                    "dise_codg": code,
                                    "dise_date": begin.isoformat(),
                                }
                                for j, code in enumerate(dx)
                            ],
                            "fsi_order_dtos": orders,
                            "fsi_operation_dtos": [],
                        }
                    ],
                }
            ],
        }
    }


def hot_codes(kn: Knowledge) -> set[str]:
    """The codes a knowledge version restricts or relates (the rules fire on them)."""
    codes = {code for code, item in kn.items.items() if item.restrictions}
    for rel in kn.relations:
        for value in rel.model_dump().values():
            values = value if isinstance(value, list | tuple) else [value]
            codes |= {v for v in values if isinstance(v, str) and v in kn.items}
    return codes


def insured_people(session: Session) -> list[tuple[Any, ...]]:
    """The insured register's active people as ``body`` takes them (psn_no, name,
    sex, birth date, insurance type), in a fixed order."""
    rows = session.execute(
        select(
            InsuredPerson.psn_no,
            InsuredPerson.psn_name,
            InsuredPerson.gend,
            InsuredPerson.brdy,
            InsuredPerson.insutype,
        )
        .where(InsuredPerson.psn_insu_stas == "1")
        .order_by(InsuredPerson.psn_no)
    ).all()
    return [tuple(r) for r in rows]


@dataclass
class RealtimeSeedResult:
    requests: int = 0
    warned: int = 0
    findings: int = 0
    feedback: int = 0
    refused: int = 0
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"事前事中审核记录 {self.requests:,} 次（有提示 {self.warned:,}，提示 "
            f"{self.findings:,} 条，医生反馈 {self.feedback:,} 条）"
        )


# long: the world read once, then the requests answered in batches and some fed back
def seed_realtime_audits(
    session: Session,
    region: str,
    *,
    seed: int,
    settings: Settings,
    count: int = 400,
    days: int = 30,
    today: date | None = None,
) -> RealtimeSeedResult:
    """``count`` synthetic 3101 / 3102 requests of the hospitals of ``region`` over the
    last ``days`` days (never before its rule set's start), answered and stored by the
    real-time audit service, and the doctors' feedback on about half the warned ones
    (no commit)."""
    rng = random.Random(seed)
    today = today or local(utcnow()).date()
    result = RealtimeSeedResult()
    set_scope(session, SYSTEM_SCOPE)
    place = region[:4] + "00"
    rules = in_force(session, RuleSetVersion, place, today)
    catalogue = version_in_force(session, place, today)
    hospitals = session.scalars(
        select(Hospital).where(Hospital.region_code.startswith(region[:4])).order_by(Hospital.code)
    ).all()
    people = insured_people(session)
    if rules is None or catalogue is None or not hospitals or not people:
        result.messages.append("没有在用的规则库、目录、医院或参保人：未生成事前事中审核记录")
        return result
    entries = session.execute(
        select(
            CatalogueEntry.code,
            CatalogueEntry.name,
            CatalogueEntry.kind,
            CatalogueEntry.cap_lv1,
            CatalogueEntry.cap_lv2,
            CatalogueEntry.cap_lv3,
        )
        .where(CatalogueEntry.version_id == catalogue.id)
        .order_by(CatalogueEntry.code)
    ).all()
    hot_set = hot_codes(knowledge_in_force(session, place, today))
    # priced at the cap of the hospital's level (a price over it is a finding of its own)
    by_level: dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
    for level in ("1", "2", "3"):
        priced = [(e[0], e[1], e[2], e[2 + int(level)]) for e in entries]
        items = [e for e in priced if e[0] not in hot_set]
        by_level[level] = (items, [e for e in priced if e[0] in hot_set] or items)
    now = local(utcnow())
    first = max(today - timedelta(days=days - 1), rules.valid_from)
    span = (today - first).days
    before = session.scalar(select(func.max(AuditRequest.id)))
    jobs: list[AuditJob] = []
    for seq in range(count):
        day = first + timedelta(days=rng.randint(0, span))
        at = datetime.combine(day, time(8 + rng.randrange(10), rng.randrange(60)), BUSINESS_TZ)
        at = min(at, now - timedelta(minutes=rng.randint(1, 90)))  # none in the future
        day = min(day, at.date())  # just after midnight: "an hour ago" is yesterday
        h = hospitals[rng.randrange(len(hospitals))]
        inst = {"code": h.code, "name": h.name, "admvs": place, "level": str(h.level)}
        infno = "3101" if rng.random() < 0.5 else "3102"
        mode = "otp" if rng.random() < 0.75 else "ipt"
        person = people[rng.randrange(len(people))]
        items, hot = by_level.get(str(h.level), by_level["3"])
        raw = body(rng, infno, mode, inst, person, items, hot, 900_000 + seq, today=day)
        data, _ = read(AuditIn, raw)
        institution = Institution(h.id, h.code, h.name, h.region_code, str(h.level))
        actor = Actor(None, f"演示 HIS（{h.code}）", hospital_id=h.id, region_code=h.region_code)
        asker = Asker(institution, actor, None, "api", at, opter="演示医生")
        jobs.append(AuditJob(infno, data, asker))
    for start in range(0, len(jobs), 100):
        batch = jobs[start : start + 100]
        outs = answer_audits(session, batch, settings)
        for job, out in zip(batch, outs, strict=True):
            if isinstance(out, Refused):
                result.refused += 1
                continue
            result.requests += 1
            found = out.out.result
            if not found:
                continue
            result.warned += 1
            result.findings += len(found)
            if rng.random() < 0.5:
                result.feedback += _feed_back(session, rng, job, found)
    # answered at once, as the real service does (the rows say when they were stored)
    session.execute(
        update(AuditRequest)
        .where(AuditRequest.id > (before or 0))
        .values(answered_at=AuditRequest.received_at)
        .execution_options(synchronize_session=False)
    )
    set_scope(session, SYSTEM_SCOPE)
    return result


def _feed_back(session: Session, rng: random.Random, job: AuditJob, found: list[Any]) -> int:
    """The doctor's answer to each warning of one request: mostly 返回修改, now and
    then 继续执行 with a reason."""
    warns = []
    for r in found:
        keep = rng.random() < 0.35
        warn: dict[str, Any] = {"warn_rslt_id": r.jr_id, "dspo_way": "1" if keep else "2"}
        if keep:
            warn["dspo_way_rea"] = rng.choice(REASONS)
        warns.append(warn)
    kind = "1" if job.infno == "3101" else "2"
    data = {"data": {"warn_type": kind, "task_id": found[0].task_id, "warns": warns}}
    when = min(job.asker.received_at + timedelta(minutes=rng.randint(1, 15)), utcnow())
    asker = Asker(job.asker.institution, job.asker.actor, None, "api", when, opter=job.asker.opter)
    set_scope(session, Scope(hospital_id=job.asker.institution.id))  # as its HIS client
    try:
        do_feedback(session, FeedbackIn.model_validate(data), asker)
    finally:
        set_scope(session, SYSTEM_SCOPE)
    return len(warns)


__all__ = [
    "DEPTS",
    "DIAGNOSES",
    "HOT_SHARE",
    "SCENES",
    "RealtimeSeedResult",
    "body",
    "hot_codes",
    "insured_people",
    "seed_realtime_audits",
]
