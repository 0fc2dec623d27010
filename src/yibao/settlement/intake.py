"""Settlement-list intake: parse + QC → store (versions kept) → group → price.

One call handles a batch in the caller's transaction.  A bad list never stops the
batch: it is stored with its findings (held, state ``qc_failed``) or refused with a
reason (another hospital's list, a list already in a confirmed settlement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.db.bulk import insert_frame, next_id, sync_sequence
from yibao.engines.grouper import PlanRegistry
from yibao.engines.qc import Finding, check_batch, default_ruleset, to_case_frames
from yibao.engines.settlement import (
    PricingParams,
    State,
    demo_policies,
    prepare_settlement_cases,
    price_batch,
)
from yibao.grouping.models import CaseGrouping
from yibao.grouping.service import do_group_stored_cases
from yibao.kit.timeutil import utcnow
from yibao.measurement.models import PaymentStandardSet
from yibao.regions.models import Hospital
from yibao.settlement.models import (
    CasePricing,
    QcFinding,
    SettlementList,
    SettlementListVersion,
)

LOCKED_STATES = frozenset({State.CONFIRMED, State.PAID})


@dataclass
class ListOutcome:
    index: int
    setl_id: str | None
    state: str
    list_id: int | None = None
    version: int | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    drg: str | None = None
    payment_class: str | None = None
    drg_payment: str | None = None
    fund_amount: str | None = None


def _finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id,
        "severity": f.severity,
        "field": f.field,
        "value": None if f.value is None else str(f.value)[:200],
        "message": f.message,
    }


def _refused(index: int, setl_id: str | None, rule: str, field_: str, message: str) -> ListOutcome:
    return ListOutcome(
        index,
        setl_id,
        "refused",
        findings=[
            {
                "rule_id": rule,
                "severity": "blocking",
                "field": field_,
                "value": setl_id,
                "message": message,
            }
        ],
    )


def do_intake_lists(
    session: Session,
    messages: list[Any],
    *,
    registry: PlanRegistry,
    actor: Actor,
    source: str = "api",
) -> list[ListOutcome]:
    """Receive settlement lists (4101A dicts) into the session's scope."""
    plan = registry.for_date(date.today())
    batch = check_batch(messages, default_ruleset(), plan)
    hospitals = {h.code: h for h in session.scalars(select(Hospital))}  # scoped by the session
    outcomes: list[ListOutcome] = []
    accepted: list[tuple[int, Any, SettlementList]] = []
    for i, (parsed, findings) in enumerate(zip(batch.lists, batch.findings, strict=True)):
        setl_id = parsed.setl_id
        code = (parsed.message.setlinfo.fixmedins_code if parsed.message else None) or None
        if not setl_id or code is None:
            held = [_finding_dict(f) for f in findings]
            outcomes.append(ListOutcome(i, setl_id, "refused", findings=held))
            continue
        hospital = hospitals.get(code)
        if hospital is None:
            outcomes.append(
                _refused(
                    i,
                    setl_id,
                    "INTAKE01",
                    "setlinfo.fixmedins_code",
                    f"定点医疗机构编码 setlinfo.fixmedins_code = {code!r} "
                    "不存在或不属于您的机构/辖区：只能上传本机构的结算清单",
                )
            )
            continue
        row = session.scalar(
            select(SettlementList).where(
                SettlementList.hospital_id == hospital.id, SettlementList.setl_id == setl_id
            )
        )
        if row is not None and row.state in LOCKED_STATES:
            outcomes.append(
                _refused(
                    i,
                    setl_id,
                    "INTAKE02",
                    "setlinfo.setl_id",
                    f"结算清单 {setl_id} 已在确认的结算中（状态 {row.state}），不能替换："
                    "如需更正请走申诉流程",
                )
            )
            continue
        held = any(f.severity == "blocking" for f in findings)
        state = State.QC_FAILED if held else State.GROUPED
        row = _store_version(
            session, row, hospital, setl_id, parsed.raw_json(), state, source, actor
        )
        _replace_findings(session, row, findings)
        outcome = ListOutcome(
            i, setl_id, state, row.id, row.version, [_finding_dict(f) for f in findings]
        )
        outcomes.append(outcome)
        if not held:
            accepted.append((i, parsed, row))
    if accepted:
        _load_cases(session, accepted, hospitals, registry, actor, outcomes)
    record(
        session,
        actor,
        "settlement.intake",
        "settlement_list_batch",
        None,
        after={
            "lists": len(messages),
            "accepted": len(accepted),
            "held": sum(o.state == State.QC_FAILED for o in outcomes),
            "refused": sum(o.state == "refused" for o in outcomes),
            "source": source,
        },
    )
    return outcomes


def _store_version(
    session: Session,
    row: SettlementList | None,
    hospital: Hospital,
    setl_id: str,
    raw: Any,
    state: str,
    source: str,
    actor: Actor,
) -> SettlementList:
    if row is None:
        row = SettlementList(
            setl_id=setl_id,
            hospital_id=hospital.id,
            hospital_code=hospital.code,
            region_code=hospital.region_code,
            version=1,
            state=state,
            source=source,
            raw=raw,
            blocking=0,
            warnings=0,
        )
        session.add(row)
        session.flush()
    else:
        if row.case_id is not None:  # the earlier version's case is replaced, not duplicated
            session.execute(delete(Case).where(Case.id == row.case_id))
            row.case_id = None
        row.version += 1
        row.state, row.raw, row.source, row.received_at = state, raw, source, utcnow()
    session.add(
        SettlementListVersion(
            list_id=row.id, version=row.version, raw=raw, state=state, received_by=actor.name
        )
    )
    return row


def _replace_findings(session: Session, row: SettlementList, findings: list[Finding]) -> None:
    session.execute(delete(QcFinding).where(QcFinding.list_id == row.id))
    session.add_all(
        QcFinding(
            list_id=row.id,
            rule_id=f.rule_id,
            severity=f.severity,
            field=f.field[:100],
            value=None if f.value is None else str(f.value)[:200],
            message=f.message[:1000],
        )
        for f in findings
    )
    row.blocking = sum(f.severity == "blocking" for f in findings)
    row.warnings = sum(f.severity != "blocking" for f in findings)


def _load_cases(
    session: Session,
    accepted: list[tuple[int, Any, SettlementList]],
    hospitals: dict[str, Hospital],
    registry: PlanRegistry,
    actor: Actor,
    outcomes: list[ListOutcome],
) -> None:
    """Accepted lists → cases (bulk) → stored grouping → pricing."""
    session.flush()
    cases, diagnoses, procedures = to_case_frames([p for _, p, _ in accepted])
    start = next_id(session, Case.__table__)
    ids = pl.DataFrame(
        {"hospital_code": list(hospitals), "hospital_id": [h.id for h in hospitals.values()]}
    )
    cases = (
        cases.with_row_index("id", offset=start)
        .with_columns(
            pl.col("id").cast(pl.Int64), source=pl.lit("upload"), created_at=pl.lit(utcnow())
        )
        .join(ids, on="hospital_code", how="left")
    )
    keys = cases.select("setl_id", pl.col("id").alias("case_id"))
    insert_frame(session, Case.__table__, cases)
    insert_frame(
        session, CaseDiagnosis.__table__, diagnoses.join(keys, on="setl_id").drop("setl_id")
    )
    insert_frame(
        session, CaseProcedure.__table__, procedures.join(keys, on="setl_id").drop("setl_id")
    )
    sync_sequence(session, Case.__table__)
    case_of = dict(keys.iter_rows())
    for _, _, row in accepted:
        row.case_id = case_of[row.setl_id]
    do_group_stored_cases(session, registry, case_ids=list(case_of.values()), actor=actor)
    priced = _price(session, list(case_of.values()), hospitals)
    by_setl = {r["setl_id"]: r for r in priced.iter_rows(named=True)}
    for i, _, row in accepted:
        p = by_setl.get(row.setl_id)
        out = outcomes[i]
        if p is not None:
            row.state = State.PRICED
            out.state = State.PRICED
            out.drg, out.payment_class = p["drg"], p["payment_class"]
            out.drg_payment, out.fund_amount = str(p["drg_payment"]), str(p["fund_amount"])


def _standards(session: Session, region_prefix: str, day: date) -> tuple[int | None, pl.DataFrame]:
    """The published payment standard set valid on ``day`` in the region (or none)."""
    found = session.scalar(
        select(PaymentStandardSet)
        .where(
            PaymentStandardSet.region_code.startswith(region_prefix),
            PaymentStandardSet.status == "published",
            PaymentStandardSet.valid_from <= day,
            (PaymentStandardSet.valid_to.is_(None)) | (PaymentStandardSet.valid_to >= day),
        )
        .order_by(PaymentStandardSet.valid_from.desc())
    )
    from yibao.measurement.service import standards_frame

    if found is None:
        return None, pl.DataFrame(
            schema={
                "drg": pl.String,
                "hospital_level": pl.String,
                "payment_standard": pl.Decimal(18, 2),
            }
        )
    return found.id, standards_frame(session, found.id)


def _price(session: Session, case_ids: list[int], hospitals: dict[str, Hospital]) -> pl.DataFrame:
    """Price the cases with the standards valid on their discharge date; store the result."""
    rows = session.execute(
        select(Case, CaseGrouping)
        .join(CaseGrouping, CaseGrouping.case_id == Case.id)
        .where(Case.id.in_(case_ids))
    ).all()
    if not rows:
        return pl.DataFrame()
    policies = demo_policies()
    out = []
    by_day: dict[tuple[str, date], list[Any]] = {}
    for case, grouping in rows:
        by_day.setdefault((case.region_code[:4], case.discharge_date), []).append((case, grouping))
    for (prefix, day), group in by_day.items():
        set_id, standards = _standards(session, prefix, day)
        cases = pl.DataFrame([_case_row(c) for c, _ in group])
        grouped = pl.DataFrame(
            {
                "case_id": [c.setl_id for c, _ in group],
                "status": [g.status for _, g in group],
                "drg": [g.drg for _, g in group],
            }
        )
        levels = pl.DataFrame(
            {
                "code": [h.code for h in hospitals.values()],
                "level": [h.level for h in hospitals.values()],
            }
        )
        frame = prepare_settlement_cases(cases, grouped, levels)
        priced = price_batch(frame, standards, policies, PricingParams(missing_policy="actual"))
        _store_pricing(session, group, priced, set_id)
        out.append(priced)
    return pl.concat(out, how="diagonal_relaxed")


def _case_row(c: Case) -> dict[str, Any]:
    return {
        "setl_id": c.setl_id,
        "hospital_code": c.hospital_code,
        "region_code": c.region_code,
        "insured_region_code": c.insured_region_code,
        "insutype": c.insutype,
        "discharge_date": c.discharge_date,
        "los_days": c.los_days,
        "total_cost": c.total_cost,
        "self_pay_full": c.self_pay_full,
        "self_pay_first": c.self_pay_first,
        "fund_payment": c.fund_payment,
        "account_payment": c.account_payment,
        "cash_payment": c.cash_payment,
    }


TERMS = (
    "payment_standard",
    "cost_ratio",
    "high_threshold",
    "low_threshold",
    "fund_formula",
    "term_standard",
    "term_self_pay_full",
    "term_self_pay_first",
    "term_deductible",
    "term_ratio",
    "term_patient_payment",
    "term_other_funds",
    "reason_codes",
    "payment_basis",
    "policy_key",
)


def _store_pricing(
    session: Session, group: list[Any], priced: pl.DataFrame, set_id: int | None
) -> None:
    by_setl = {r["setl_id"]: r for r in priced.iter_rows(named=True)}
    for case, grouping in group:
        p = by_setl[case.setl_id]
        session.execute(delete(CasePricing).where(CasePricing.case_id == case.id))
        session.add(
            CasePricing(
                case_id=case.id,
                hospital_id=case.hospital_id,
                region_code=case.region_code,
                plan_id=grouping.plan_id,
                standard_set_id=set_id,
                drg=p["drg"],
                payment_class=p["payment_class"],
                payment_standard=p["payment_standard"],
                drg_payment=p["drg_payment"],
                fund_amount=p["fund_amount"],
                explanation=(p["explanation"] or "")[:1000],
                terms={
                    k: (
                        None
                        if p.get(k) is None
                        else (p[k] if isinstance(p[k], list) else str(p[k]))
                    )
                    for k in TERMS
                },
            )
        )
