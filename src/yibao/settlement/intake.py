"""Settlement-list intake: parse + QC → store (versions kept) → group → price.

One call handles a batch in the caller's transaction.  A bad list never stops the
batch: it is stored with its findings (held, state ``qc_failed``) or refused with a
reason (another hospital's list, a list already in a confirmed settlement).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.db.bulk import insert_frame, next_id, sync_sequence
from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import PlanRegistry, group_batch
from yibao.engines.measure import STANDARDS_SCHEMA
from yibao.engines.qc import Finding, check_batch, default_ruleset, to_case_frames
from yibao.engines.settlement import (
    PricingParams,
    State,
    demo_policies,
    prepare_settlement_cases,
    price_batch,
)
from yibao.grouping.models import CaseGrouping
from yibao.grouping.plans import compiled_plan, plan_for_date, plan_info
from yibao.grouping.service import store_groupings
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
    hospital_code: str | None = None


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
    """Receive settlement lists (4101A dicts) into the session's scope.

    Set-based: one query finds the lists already received, new lists and their
    versions and findings are written in bulk, so a batch of thousands stays fast.
    """
    plan = registry.for_date(date.today())
    batch = check_batch(messages, default_ruleset(), plan)
    hospitals = {h.code: h for h in session.scalars(select(Hospital))}  # scoped by the session
    outcomes: list[ListOutcome] = []
    wanted: dict[tuple[int, str], int] = {}  # (hospital id, setl_id) → position, last wins
    for i, parsed in enumerate(batch.lists):
        outcomes.append(_screen(i, parsed, batch.findings[i], hospitals, wanted))
    latest = set(wanted.values())
    for i, out in enumerate(outcomes):
        if out.state == "pending" and i not in latest:
            outcomes[i] = _refused(
                i,
                out.setl_id,
                "INTAKE03",
                "setlinfo.setl_id",
                f"结算清单 {out.setl_id} 在本批次中重复出现，以最后一份为准",
            )
    existing = _existing(session, wanted)
    taken = _taken_ids(session, [s for k, s in wanted if k is not None and (k, s) not in existing])
    kept: list[tuple[int, SettlementList | None, Hospital]] = []
    for (hid, setl_id), i in wanted.items():
        row = existing.get((hid, setl_id))
        if row is None and setl_id in taken:
            outcomes[i] = _refused(
                i,
                setl_id,
                "INTAKE04",
                "setlinfo.setl_id",
                f"结算ID setlinfo.setl_id = {setl_id!r} 已被其他结算数据使用："
                "请核对结算ID（每份结算清单的结算ID必须唯一）",
            )
            continue
        if row is not None and row.state in LOCKED_STATES:
            outcomes[i] = _refused(
                i,
                setl_id,
                "INTAKE02",
                "setlinfo.setl_id",
                f"结算清单 {setl_id} 已在确认的结算中（状态 {row.state}），不能替换："
                "如需更正请走申诉流程",
            )
            continue
        kept.append((i, row, hospitals[outcomes[i].hospital_code or ""]))
    rows = _store_versions(session, batch, kept, source, actor)
    accepted: list[tuple[int, Any, ListRow]] = []
    for (i, _, _), row in zip(kept, rows, strict=True):
        out = outcomes[i]
        out.state, out.list_id, out.version = row.state, row.id, row.version
        if row.state == State.GROUPED:
            accepted.append((i, batch.lists[i], row))
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


def _screen(
    i: int,
    parsed: Any,
    findings: list[Finding],
    hospitals: dict[str, Hospital],
    wanted: dict[tuple[int, str], int],
) -> ListOutcome:
    """Refuse a list without id / with a foreign institution; remember the others."""
    setl_id = parsed.setl_id
    code = (parsed.message.setlinfo.fixmedins_code if parsed.message else None) or None
    if not setl_id or code is None:
        return ListOutcome(i, setl_id, "refused", findings=[_finding_dict(f) for f in findings])
    hospital = hospitals.get(code)
    if hospital is None:
        return _refused(
            i,
            setl_id,
            "INTAKE01",
            "setlinfo.fixmedins_code",
            f"定点医疗机构编码 setlinfo.fixmedins_code = {code!r} "
            "不存在或不属于您的机构/辖区：只能上传本机构的结算清单",
        )
    key = (hospital.id, setl_id)
    out = ListOutcome(i, setl_id, "pending", findings=[_finding_dict(f) for f in findings])
    out.hospital_code = code
    wanted[key] = i  # the same list twice in one batch: the later one counts
    return out


def _existing(
    session: Session, wanted: dict[tuple[int, str], int]
) -> dict[tuple[int, str], SettlementList]:
    found: dict[tuple[int, str], SettlementList] = {}
    setl_ids = sorted({s for _, s in wanted})
    for start in range(0, len(setl_ids), 5000):
        chunk = setl_ids[start : start + 5000]
        for row in session.scalars(select(SettlementList).where(SettlementList.setl_id.in_(chunk))):
            found[(row.hospital_id, row.setl_id)] = row
    return found


@dataclass
class ListRow:
    """A stored list as the intake sees it (new rows are bulk-inserted, not ORM objects)."""

    id: int
    setl_id: str
    version: int
    state: str
    orm: SettlementList | None = None


def _taken_ids(session: Session, setl_ids: list[str]) -> set[str]:
    """Settlement ids already used by stored cases (in any scope: ids must be unique)."""
    taken: set[str] = set()
    for start in range(0, len(setl_ids), 5000):
        chunk = setl_ids[start : start + 5000]
        taken.update(
            session.scalars(
                select(Case.setl_id)
                .where(Case.setl_id.in_(chunk))
                .execution_options(skip_scope=True)
            )
        )
    return taken


def _store_versions(
    session: Session,
    batch: Any,
    kept: list[tuple[int, SettlementList | None, Hospital]],
    source: str,
    actor: Actor,
) -> list[ListRow]:
    """New lists (bulk insert) or new versions of earlier ones; findings replaced."""
    now = utcnow()
    rows: list[ListRow] = []
    new_rows: list[dict[str, Any]] = []
    old_cases: list[int] = []
    next_list = next_id(session, SettlementList.__table__)
    for i, row, hospital in kept:
        findings = batch.findings[i]
        blocking = sum(f.severity == "blocking" for f in findings)
        state = State.QC_FAILED if blocking else State.GROUPED
        raw = batch.lists[i].raw_json()
        setl_id = batch.lists[i].setl_id
        if row is None:
            new_rows.append(
                {
                    "id": next_list,
                    "setl_id": setl_id,
                    "hospital_id": hospital.id,
                    "hospital_code": hospital.code,
                    "region_code": hospital.region_code,
                    "version": 1,
                    "state": state,
                    "case_id": None,
                    "blocking": blocking,
                    "warnings": len(findings) - blocking,
                    "source": source,
                    "raw": json.dumps(raw, ensure_ascii=False),
                    "received_at": now,
                }
            )
            rows.append(ListRow(next_list, setl_id, 1, state))
            next_list += 1
            continue
        if row.case_id is not None:  # the earlier version's case is replaced
            old_cases.append(row.case_id)
            row.case_id = None
        row.version += 1
        row.state, row.raw, row.source, row.received_at = state, raw, source, now
        row.blocking, row.warnings = blocking, len(findings) - blocking
        rows.append(ListRow(row.id, setl_id, row.version, state, row))
    session.flush()
    if new_rows:
        schema = {"case_id": pl.Int64, "received_at": pl.Datetime("us", "UTC")}
        frame = pl.DataFrame(new_rows, schema_overrides=schema)
        insert_frame(session, SettlementList.__table__, frame)
        sync_sequence(session, SettlementList.__table__)
    ids = [r.id for r in rows]
    for start in range(0, len(old_cases), 5000):
        session.execute(delete(Case).where(Case.id.in_(old_cases[start : start + 5000])))
    for start in range(0, len(ids), 5000):
        session.execute(delete(QcFinding).where(QcFinding.list_id.in_(ids[start : start + 5000])))
    raws = [json.dumps(batch.lists[i].raw_json(), ensure_ascii=False) for i, _, _ in kept]
    versions = pl.DataFrame(
        {
            "list_id": ids,
            "version": [r.version for r in rows],
            "raw": raws,
            "state": [r.state for r in rows],
            "received_by": [actor.name] * len(rows),
            "received_at": [now] * len(rows),
        }
    )
    insert_frame(session, SettlementListVersion.__table__, versions)
    found = [
        (
            r.id,
            f.rule_id,
            f.severity,
            f.field[:100],
            None if f.value is None else str(f.value)[:200],
            f.message[:1000],
        )
        for (i, _, _), r in zip(kept, rows, strict=True)
        for f in batch.findings[i]
    ]
    if found:
        cols = ["list_id", "rule_id", "severity", "field", "value", "message"]
        insert_frame(session, QcFinding.__table__, pl.DataFrame(found, schema=cols, orient="row"))
    return rows


def _load_cases(
    session: Session,
    accepted: list[tuple[int, Any, ListRow]],
    hospitals: dict[str, Hospital],
    registry: PlanRegistry,
    actor: Actor,
    outcomes: list[ListOutcome],
) -> None:
    """Accepted lists → cases (bulk) → stored grouping → pricing → list state."""
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
    _group(session, registry, cases, diagnoses, procedures, actor)
    priced = _price(session, list(case_of.values()), hospitals)
    cols = ("setl_id", "drg", "payment_class", "drg_payment", "fund_amount")
    by_setl = {r["setl_id"]: r for r in priced.select(cols).iter_rows(named=True)}
    updates = []
    for i, _, row in accepted:
        p = by_setl.get(row.setl_id)
        out = outcomes[i]
        state = State.PRICED if p is not None else State.GROUPED
        updates.append({"b_id": row.id, "b_case": case_of[row.setl_id], "b_state": state})
        out.state = row.state = state
        if p is not None:
            out.drg, out.payment_class = p["drg"], p["payment_class"]
            out.drg_payment, out.fund_amount = str(p["drg_payment"]), str(p["fund_amount"])
    table = SettlementList.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(case_id=bindparam("b_case"), state=bindparam("b_state")),
        updates,
    )
    for _, _, row in accepted:
        if row.orm is not None:
            session.expire(row.orm)


def _group(
    session: Session,
    registry: PlanRegistry,
    cases: pl.DataFrame,
    diagnoses: pl.DataFrame,
    procedures: pl.DataFrame,
    actor: Actor,
) -> None:
    """Group the new cases from the frames in hand (plan by discharge date), store results."""
    frame = to_grouper_input(cases, diagnoses, procedures).join(
        cases.select(
            pl.col("setl_id").alias("case_id"), "id", "hospital_id", "region_code", "discharge_date"
        ),
        on="case_id",
    )
    days = frame["discharge_date"].unique().to_list()
    plans = {d: plan_for_date(registry, d) for d in days}
    frame = frame.with_columns(
        pl.col("discharge_date")
        .replace_strict({d: p.id if p else None for d, p in plans.items()}, return_dtype=pl.String)
        .alias("plan_id")
    )
    now = utcnow()
    counts: dict[str, int] = {}
    for (pid,), part in frame.group_by("plan_id", maintain_order=True):
        if pid is None:
            continue  # no plan valid on that discharge date: the case stays ungrouped
        info = plan_info(registry, str(pid))
        grouped = group_batch(compiled_plan(registry, info), part)
        store_groupings(session, info, grouped, now)
        counts[str(pid)] = grouped.height
    record(session, actor, "grouping.intake", "case_groupings", None, after={"plans": counts})


def _standard_sets(session: Session, prefixes: set[str]) -> list[PaymentStandardSet]:
    """Published payment standard sets of the regions, newest first."""
    found: list[PaymentStandardSet] = []
    for prefix in sorted(prefixes):
        found.extend(
            session.scalars(
                select(PaymentStandardSet).where(
                    PaymentStandardSet.region_code.startswith(prefix),
                    PaymentStandardSet.status == "published",
                )
            )
        )
    return sorted(found, key=lambda s: (s.valid_from, s.id), reverse=True)


def _set_for(sets: list[PaymentStandardSet], prefix: str, day: date) -> int | None:
    for s in sets:
        if (
            s.region_code.startswith(prefix)
            and s.valid_from <= day
            and (s.valid_to is None or s.valid_to >= day)
        ):
            return s.id
    return None


EMPTY_STANDARDS = pl.DataFrame(schema=dict(STANDARDS_SCHEMA))
CASE_COLUMNS = (
    "id",
    "hospital_id",
    "setl_id",
    "hospital_code",
    "region_code",
    "insured_region_code",
    "insutype",
    "discharge_date",
    "los_days",
    "total_cost",
    "self_pay_full",
    "self_pay_first",
    "fund_payment",
    "account_payment",
    "cash_payment",
)


def _price(session: Session, case_ids: list[int], hospitals: dict[str, Hospital]) -> pl.DataFrame:
    """Price the cases with the standards valid on their discharge date; store the result.

    Cases are priced in one batch per standard set (not per day), and the results are
    bulk-inserted.
    """
    table = Case.__table__
    rows = session.execute(
        select(
            *[table.c[c] for c in CASE_COLUMNS],
            CaseGrouping.plan_id,
            CaseGrouping.status,
            CaseGrouping.drg,
        )
        .join(CaseGrouping, CaseGrouping.case_id == table.c.id)
        .where(table.c.id.in_(case_ids))
    ).all()
    if not rows:
        return pl.DataFrame()
    frame = pl.DataFrame(
        [tuple(r) for r in rows], schema=[*CASE_COLUMNS, "plan_id", "status", "drg"], orient="row"
    )
    city = {(r.region_code[:4], r.discharge_date) for r in rows}
    sets = _standard_sets(session, {c for c, _ in city})
    choice = {key: _set_for(sets, *key) for key in city}
    frame = frame.with_columns(
        pl.Series(
            "set_id",
            [choice[(r.region_code[:4], r.discharge_date)] for r in rows],
            dtype=pl.Int64,
        )
    )
    levels = pl.DataFrame(
        {
            "code": [h.code for h in hospitals.values()],
            "level": [h.level for h in hospitals.values()],
        }
    )
    policies = demo_policies()
    params = PricingParams(missing_policy="actual")
    from yibao.measurement.service import standards_frame

    out = []
    for (set_id,), part in frame.group_by("set_id", maintain_order=True):
        standards = EMPTY_STANDARDS if set_id is None else standards_frame(session, int(set_id))
        grouped = part.select(pl.col("setl_id").alias("case_id"), "status", "drg")
        settle = prepare_settlement_cases(part, grouped, levels)
        priced = price_batch(settle, standards, policies, params)
        out.append(
            priced.join(
                part.select("setl_id", "id", "hospital_id", "region_code", "plan_id", "set_id"),
                on="setl_id",
            )
        )
    priced = pl.concat(out, how="diagonal_relaxed")
    _store_pricing(session, priced)
    return priced


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


def _terms(row: dict[str, Any]) -> str:
    return json.dumps(
        {
            k: None if row.get(k) is None else (row[k] if isinstance(row[k], list) else str(row[k]))
            for k in TERMS
        },
        ensure_ascii=False,
    )


def _store_pricing(session: Session, priced: pl.DataFrame) -> None:
    ids = priced["id"].to_list()
    session.execute(delete(CasePricing).where(CasePricing.case_id.in_(ids)))
    terms = [_terms(r) for r in priced.select(TERMS).iter_rows(named=True)]
    rows = priced.select(
        pl.col("id").alias("case_id"),
        "hospital_id",
        "region_code",
        "plan_id",
        pl.col("set_id").alias("standard_set_id"),
        "drg",
        "payment_class",
        "payment_standard",
        "drg_payment",
        "fund_amount",
        pl.col("explanation").fill_null("").str.slice(0, 1000),
        pl.Series("terms", terms, dtype=pl.String),
        pl.lit(utcnow()).alias("priced_at"),
    )
    insert_frame(session, CasePricing.__table__, rows)
