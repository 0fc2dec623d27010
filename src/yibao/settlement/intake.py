"""Settlement-list intake: parse + QC → store (versions kept) → group → price.

One call handles a batch in the caller's transaction.  A bad list never stops the
batch: it is stored with its findings (held, state ``qc_failed``) or refused with a
reason (another hospital's list, a list already in a confirmed settlement).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import polars as pl
from sqlalchemy import Table, bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.benefits.service import policy_set
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.db.bulk import insert_frame, reserve_ids
from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import PlanRegistry, group_batch
from yibao.engines.measure import STANDARDS_SCHEMA
from yibao.engines.qc import (
    Finding,
    check_batch,
    default_ruleset,
    identity_problems,
    to_case_frames,
)
from yibao.engines.qc.intake import gc_paused
from yibao.engines.qc.values import to_date
from yibao.engines.settlement import (
    PricingParams,
    State,
    prepare_settlement_cases,
    price_batch,
)
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
#: the upload template's example row carries this settlement id (SAMPLE0001): a file
#: sent with the example still in it must not create a list
TEMPLATE_SAMPLE_PREFIX = "SAMPLE"
TEMPLATE_SAMPLE_ID = TEMPLATE_SAMPLE_PREFIX + "0001"
#: a stored list may be replaced by a new version only before review starts, after
#: QC held it or after the reviewer returned it (the state machine's RESUBMIT)
REPLACEABLE_STATES = frozenset(
    {State.INTAKE, State.QC_FAILED, State.GROUPED, State.PRICED, State.RETURNED, State.WITHDRAWN}
)


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


def _refused(
    index: int,
    setl_id: str | None,
    rule: str,
    field_: str,
    message: str,
    value: str | None = None,
) -> ListOutcome:
    """A list refused whole: one blocking finding on ``field_`` with the offending
    ``value`` (the settlement id unless another field is at fault)."""
    return ListOutcome(
        index,
        setl_id,
        "refused",
        findings=[
            {
                "rule_id": rule,
                "severity": "blocking",
                "field": field_,
                "value": setl_id if value is None else value,
                "message": message,
            }
        ],
    )


@dataclass
class PreparedBatch:
    """Parsed, checked lists and the case frames of those that may be grouped.

    The CPU-only half of intake (no database): :func:`prepare_lists` can run in
    another process while the previous batch is written (see ``settlement.bulk``).
    Per list, by position: settlement id, institution code, discharge month, findings and the
    message as received (JSON text); plain lists, cheap to pass between processes.
    The frames hold the lists without blocking findings, the last occurrence of
    each (institution, settlement id) only; ``list_index`` is the list's position.
    """

    setl_ids: list[str | None]
    hospital_codes: list[str | None]
    months: list[str | None]  # YYYY-MM of dscg_time as sent (None when not a date)
    findings: list[list[Finding]]
    raws: list[str]
    cases: pl.DataFrame
    diagnoses: pl.DataFrame
    procedures: pl.DataFrame


def prepare_lists(messages: list[Any], plan: Any) -> PreparedBatch:
    """Parse + QC (rules checked against ``plan``) + case frames; never raises on bad data."""
    with gc_paused():
        batch = check_batch(messages, default_ruleset(), plan)
        setl_ids: list[str | None] = []
        codes: list[str | None] = []
        months: list[str | None] = []
        last: dict[tuple[str, str], int] = {}
        for i, parsed in enumerate(batch.lists):
            setl_id = parsed.setl_id
            code = (parsed.message.setlinfo.fixmedins_code if parsed.message else None) or None
            bad = identity_problems(parsed)
            if bad:  # an unusable key (too long, control characters): refused, not stored
                batch.findings[i][:0] = bad
                setl_id = code = None
            setl_ids.append(setl_id)
            codes.append(code)
            months.append(_month(parsed.message.setlinfo.dscg_time if parsed.message else None))
            if setl_id and code:
                last[(code, setl_id)] = i
        raws = [parsed.raw_json() for parsed in batch.lists]
        clean = [
            batch.lists[i]
            for i in sorted(last.values())
            if not any(f.severity == "blocking" for f in batch.findings[i])
        ]
        cases, diagnoses, procedures = to_case_frames(clean, with_index=True)
    return PreparedBatch(
        setl_ids, codes, months, batch.findings, raws, cases, diagnoses, procedures
    )


def _month(value: Any) -> str | None:
    """``YYYY-MM`` of a discharge time as sent (business time), when readable."""
    day = to_date(value) if isinstance(value, str) else None
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


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
    prepared = prepare_lists(messages, registry.for_date(date.today()))
    return store_prepared(session, prepared, registry=registry, actor=actor, source=source)


def store_prepared(
    session: Session,
    prepared: PreparedBatch,
    *,
    registry: PlanRegistry,
    actor: Actor,
    source: str = "api",
) -> list[ListOutcome]:
    """The database half of intake: screen, store versions and findings, group, price.

    The cyclic garbage collector is paused meanwhile (see :func:`gc_paused`).
    """
    with gc_paused():
        return _store(session, prepared, registry, actor, source)


def _store(
    session: Session, prepared: PreparedBatch, registry: PlanRegistry, actor: Actor, source: str
) -> list[ListOutcome]:
    hospitals = {h.code: h for h in session.scalars(select(Hospital))}  # scoped by the session
    outcomes: list[ListOutcome] = []
    wanted: dict[tuple[int, str], int] = {}  # (hospital id, setl_id) → position, last wins
    for i in range(len(prepared.setl_ids)):
        outcomes.append(_screen(i, prepared, hospitals, wanted))
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
    taken = _taken_ids(session, [k for k in wanted if k not in existing])
    kept: list[tuple[int, SettlementList | None, Hospital]] = []
    for (hid, setl_id), i in wanted.items():
        row = existing.get((hid, setl_id))
        if row is None and (hid, setl_id) in taken:
            outcomes[i] = _refused(
                i,
                setl_id,
                "INTAKE04",
                "setlinfo.setl_id",
                f"结算ID setlinfo.setl_id = {setl_id!r} 已被本机构的其他病例数据使用"
                "（不是经结算清单上传的病例）：请核对结算ID（本机构每份结算清单的结算ID必须唯一）",
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
        if row is not None and row.state == State.CLOSED_OUT:
            outcomes[i] = _refused(
                i,
                setl_id,
                "INTAKE02",
                "setlinfo.setl_id",
                f"结算清单 {setl_id} 已随结算期间关闭（不予结算），不能再上传："
                "如有异议请联系医保经办机构",
            )
            continue
        if row is not None and row.state not in REPLACEABLE_STATES:
            from yibao.settlement.review import state_label

            outcomes[i] = _refused(
                i,
                setl_id,
                "INTAKE05",
                "setlinfo.setl_id",
                f"结算清单 {setl_id} 正在审核流程中（状态：{state_label(row.state)}），"
                "不能直接替换：请等待审核结果，或请审核人员先退回后再重新上传",
            )
            continue
        kept.append((i, row, hospitals[outcomes[i].hospital_code or ""]))
    rows = _store_versions(session, prepared, kept, source, actor)
    accepted: list[tuple[int, ListRow]] = []
    for (i, _, _), stored in zip(kept, rows, strict=True):
        out = outcomes[i]
        out.state, out.list_id, out.version = stored.state, stored.id, stored.version
        if stored.state == State.GROUPED:
            accepted.append((i, stored))
    if accepted:
        _load_cases(session, prepared, accepted, hospitals, registry, actor, outcomes)
    record(
        session,
        actor,
        "settlement.intake",
        "settlement_list_batch",
        None,
        after={
            "lists": len(prepared.setl_ids),
            "accepted": len(accepted),
            "held": sum(o.state == State.QC_FAILED for o in outcomes),
            "refused": sum(o.state == "refused" for o in outcomes),
            "source": source,
        },
    )
    return outcomes


def _screen(
    i: int,
    prepared: PreparedBatch,
    hospitals: dict[str, Hospital],
    wanted: dict[tuple[int, str], int],
) -> ListOutcome:
    """Refuse a list without id / with a foreign institution; remember the others."""
    setl_id, code = prepared.setl_ids[i], prepared.hospital_codes[i]
    findings = prepared.findings[i]
    if not setl_id or code is None:
        return ListOutcome(i, setl_id, "refused", findings=[_finding_dict(f) for f in findings])
    if setl_id.upper().startswith(TEMPLATE_SAMPLE_PREFIX):
        return _refused(
            i,
            setl_id,
            "INTAKE06",
            "setlinfo.setl_id",
            f"结算ID setlinfo.setl_id = {setl_id!r} 是上传模板中的示例行，不是真实结算清单："
            "请删除示例行，填入本机构的结算清单后再上传",
        )
    hospital = hospitals.get(code)
    if hospital is None:
        return _refused(
            i,
            setl_id,
            "INTAKE01",
            "setlinfo.fixmedins_code",
            f"定点医疗机构编码 setlinfo.fixmedins_code = {code!r} "
            "不存在或不属于您的机构/辖区：只能上传本机构的结算清单",
            value=code,
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


def _taken_ids(session: Session, keys: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """(hospital id, settlement id) pairs already used by a stored case of that hospital
    that is not a settlement list's (e.g. historical cases loaded for measurement).

    Settlement ids are the hospital's own (ADR 0009): a case of *another* hospital with
    the same id neither blocks this list nor is revealed by the answer."""
    taken: set[tuple[int, str]] = set()
    by_hospital: dict[int, list[str]] = {}
    for hid, setl_id in keys:
        by_hospital.setdefault(hid, []).append(setl_id)
    for hid, setl_ids in by_hospital.items():
        for start in range(0, len(setl_ids), 5000):
            chunk = setl_ids[start : start + 5000]
            taken.update(
                (hid, s)
                for s in session.scalars(
                    select(Case.setl_id).where(Case.hospital_id == hid, Case.setl_id.in_(chunk))
                )
            )
    return taken


def _store_versions(
    session: Session,
    prepared: PreparedBatch,
    kept: list[tuple[int, SettlementList | None, Hospital]],
    source: str,
    actor: Actor,
) -> list[ListRow]:
    """New lists (bulk insert) or new versions of earlier ones; findings replaced."""
    now = utcnow()
    rows: list[ListRow] = []
    new_rows: list[dict[str, Any]] = []
    old_cases: list[int] = []
    new_ids = iter(
        reserve_ids(session, SettlementList.__table__, sum(row is None for _, row, _ in kept))
    )
    for i, row, hospital in kept:
        findings = prepared.findings[i]
        blocking = sum(f.severity == "blocking" for f in findings)
        state = State.QC_FAILED if blocking else State.GROUPED
        setl_id = prepared.setl_ids[i]
        assert setl_id is not None  # screened above: a list without one is refused
        if row is None:
            list_id = next(new_ids)
            new_rows.append(
                {
                    "id": list_id,
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
                    "discharge_month": prepared.months[i],
                    "received_at": now,
                }
            )
            rows.append(ListRow(list_id, setl_id, 1, state))
            continue
        if row.case_id is not None:  # the earlier version's case is replaced
            old_cases.append(row.case_id)
            row.case_id = None
        row.version += 1
        row.state, row.source, row.received_at = state, source, now
        row.discharge_month = prepared.months[i]
        row.blocking, row.warnings = blocking, len(findings) - blocking
        rows.append(ListRow(row.id, setl_id, row.version, state, row))
    session.flush()
    if new_rows:
        schema: dict[str, Any] = {"case_id": pl.Int64, "received_at": pl.Datetime("us", "UTC")}
        frame = pl.DataFrame(new_rows, schema_overrides=schema)
        insert_frame(session, SettlementList.__table__, frame)
    ids = [r.id for r in rows]
    for start in range(0, len(old_cases), 5000):
        session.execute(delete(Case).where(Case.id.in_(old_cases[start : start + 5000])))
    replaced = [r.id for r in rows if r.orm is not None]  # new lists have no findings yet
    for start in range(0, len(replaced), 5000):
        chunk = replaced[start : start + 5000]
        session.execute(delete(QcFinding).where(QcFinding.list_id.in_(chunk)))
    versions = pl.DataFrame(
        {
            "list_id": ids,
            "version": [r.version for r in rows],
            "raw": [prepared.raws[i] for i, _, _ in kept],
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
        for f in prepared.findings[i]
    ]
    if found:
        cols = ["list_id", "rule_id", "severity", "field", "value", "message"]
        insert_frame(session, QcFinding.__table__, pl.DataFrame(found, schema=cols, orient="row"))
    return rows


def _load_cases(
    session: Session,
    prepared: PreparedBatch,
    accepted: list[tuple[int, ListRow]],
    hospitals: dict[str, Hospital],
    registry: PlanRegistry,
    actor: Actor,
    outcomes: list[ListOutcome],
) -> None:
    """Accepted lists → cases (bulk) → stored grouping → pricing → list state.

    Rows are keyed by the list's position in the batch (``list_index``), not by the
    settlement id: two hospitals may use the same id (each its own namespace).  The
    grouping and pricing engines key cases by settlement id, so such a batch is
    grouped and priced in rounds in which every id occurs once."""
    at = pl.Series([i for i, _ in accepted], dtype=pl.Int64)
    cases, diagnoses, procedures = (
        f.filter(pl.col("list_index").is_in(at.implode()))
        for f in (prepared.cases, prepared.diagnoses, prepared.procedures)
    )
    new_ids = reserve_ids(session, Case.__table__, cases.height)
    ids = pl.DataFrame(
        {"hospital_code": list(hospitals), "hospital_id": [h.id for h in hospitals.values()]}
    )
    cases = cases.with_columns(
        pl.Series("id", new_ids, dtype=pl.Int64),
        source=pl.lit("upload"),
        created_at=pl.lit(utcnow()),
    ).join(ids, on="hospital_code", how="left")
    keys = cases.select("list_index", pl.col("id").alias("case_id"))
    insert_frame(session, Case.__table__, cases.drop("list_index"))
    for model, codes in ((CaseDiagnosis, diagnoses), (CaseProcedure, procedures)):
        rows = codes.join(keys, on="list_index").drop("setl_id", "list_index")
        insert_frame(session, model.__table__, rows)
    case_of = dict(keys.iter_rows())
    cols = ("list_index", "drg", "payment_class", "drg_payment", "fund_amount")
    by_index: dict[int, dict[str, Any]] = {}
    rounds = cases.with_columns(pl.col("setl_id").cum_count().over("setl_id").alias("_round"))
    for (_,), part in rounds.group_by("_round", maintain_order=True):
        part = part.drop("_round")
        in_part = part["list_index"].implode()
        dx, px = (f.filter(pl.col("list_index").is_in(in_part)) for f in (diagnoses, procedures))
        grouped = _group(session, registry, part.drop("list_index"), dx, px, actor)
        priced = _price(session, part.drop("list_index"), grouped, hospitals)
        if priced.height:
            priced = priced.join(part.select("id", "list_index"), on="id")
            by_index.update((r["list_index"], r) for r in priced.select(cols).iter_rows(named=True))
    updates = []
    for i, row in accepted:
        p = by_index.get(i)
        out = outcomes[i]
        state = State.PRICED if p is not None else State.GROUPED
        updates.append({"b_id": row.id, "b_case": case_of[i], "b_state": state})
        out.state = row.state = state
        if p is not None:
            out.drg, out.payment_class = p["drg"], p["payment_class"]
            out.drg_payment, out.fund_amount = str(p["drg_payment"]), str(p["fund_amount"])
    _set_case_and_state(session, updates)
    _flag_duplicates(session, cases, accepted, outcomes)
    for _, row in accepted:
        if row.orm is not None:
            session.expire(row.orm)


def _set_case_and_state(session: Session, updates: list[dict[str, Any]]) -> None:
    """Point the lists at their new cases and set their state, in one statement on
    PostgreSQL (``UPDATE … FROM unnest(…)``), by ``executemany`` elsewhere."""
    table = cast(Table, SettlementList.__table__)
    if session.connection().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE settlement_lists AS s SET case_id = v.case_id, state = v.state "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:cases AS integer[]), "
                "CAST(:states AS varchar[])) AS v(id, case_id, state) WHERE s.id = v.id"
            ),
            {
                "ids": [u["b_id"] for u in updates],
                "cases": [u["b_case"] for u in updates],
                "states": [str(u["b_state"]) for u in updates],
            },
        )
        return
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(case_id=bindparam("b_case"), state=bindparam("b_state")),
        updates,
    )


def _group(
    session: Session,
    registry: PlanRegistry,
    cases: pl.DataFrame,
    diagnoses: pl.DataFrame,
    procedures: pl.DataFrame,
    actor: Actor,
) -> pl.DataFrame:
    """Group the new cases from the frames in hand (plan by discharge date), store results.

    Returns ``id, plan_id, status, drg`` of the grouped cases (none without a plan).
    """
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
    results = [pl.DataFrame(schema=GROUPED_SCHEMA)]
    for (pid,), part in frame.group_by("plan_id", maintain_order=True):
        if pid is None:
            continue  # no plan valid on that discharge date: the case stays ungrouped
        info = plan_info(registry, str(pid))
        grouped = group_batch(compiled_plan(registry, info), part)
        store_groupings(session, info, grouped, now, new_cases=True)
        counts[str(pid)] = grouped.height
        results.append(grouped.select(list(GROUPED_SCHEMA)).cast(GROUPED_SCHEMA))
    record(session, actor, "grouping.intake", "case_groupings", None, after={"plans": counts})
    return pl.concat(results)


#: column → Polars type (keys typed Any: Polars' ``cast`` takes selectors as keys too)
GROUPED_SCHEMA: dict[Any, Any] = {
    "id": pl.Int64,
    "plan_id": pl.String,
    "status": pl.String,
    "drg": pl.String,
}


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


def _price(
    session: Session, cases: pl.DataFrame, grouped: pl.DataFrame, hospitals: dict[str, Hospital]
) -> pl.DataFrame:
    """Price the new cases with the standards valid on their discharge date; store the result.

    ``cases`` are the inserted case rows, ``grouped`` their grouping (:func:`_group`).
    Cases are priced in one batch per standard set (not per day), and the results are
    bulk-inserted.
    """
    frame = cases.select(CASE_COLUMNS).join(grouped, on="id", how="inner")
    if frame.height == 0:
        return pl.DataFrame()
    frame = frame.with_columns(pl.col("region_code").str.slice(0, 4).alias("city"))
    keys = frame.select("city", "discharge_date").unique()
    sets = _standard_sets(session, set(keys["city"].drop_nulls()))
    choice = pl.DataFrame(
        [(c, d, None if c is None or d is None else _set_for(sets, c, d)) for c, d in keys.rows()],
        schema={"city": pl.String, "discharge_date": pl.Date, "set_id": pl.Int64},
        orient="row",
    )
    frame = frame.join(choice, on=["city", "discharge_date"], how="left", nulls_equal=True)
    levels = pl.DataFrame(
        {
            "code": [h.code for h in hospitals.values()],
            "level": [h.level for h in hospitals.values()],
        }
    )
    policies = policy_set(session)
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
    """Insert the pricing of cases created in this transaction (none stored yet)."""
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


#: the same visit already billed under another settlement id: a warning for the reviewer
DUPLICATE_RULE = "INTAKE07"


def _flag_duplicates(
    session: Session,
    cases: pl.DataFrame,
    accepted: list[tuple[int, ListRow]],
    outcomes: list[ListOutcome],
) -> None:
    """A list whose visit (the hospital's 就诊ID mdtrt_id and the person's psn_no) is
    already on another of the hospital's lists, under another settlement id, gets a
    warning finding naming that list: a probable duplicate for the reviewer (it is not
    held: a corrected list legitimately gets a new id once the old one is withdrawn or
    closed out, which are not counted)."""
    if cases.height == 0:
        return
    mine = {
        (r["hospital_id"], r["mdtrt_id"], r["psn_no"]): (r["list_index"], r["setl_id"])
        for r in cases.select(
            "hospital_id", "mdtrt_id", "psn_no", "list_index", "setl_id"
        ).iter_rows(named=True)
        if r["mdtrt_id"] and r["psn_no"]
    }
    people = sorted({k[2] for k in mine})
    others: dict[tuple[int, str, str], list[tuple[str, str]]] = {}
    for start in range(0, len(people), 5000):
        for hid, mdtrt, psn, setl_id, state in session.execute(
            select(
                Case.hospital_id,
                Case.mdtrt_id,
                Case.psn_no,
                SettlementList.setl_id,
                SettlementList.state,
            )
            .join(SettlementList, SettlementList.case_id == Case.id)
            .where(
                Case.psn_no.in_(people[start : start + 5000]),
                SettlementList.state.not_in([State.CLOSED_OUT.value, State.WITHDRAWN.value]),
            )
        ):
            key = (hid, mdtrt, psn)
            if key in mine and setl_id != mine[key][1]:
                others.setdefault(key, []).append((setl_id, state))
    if not others:
        return
    from yibao.settlement.review import state_label

    list_of = dict(accepted)
    found, warned = [], []
    for key, twins in others.items():
        i, _ = mine[key]
        named = "、".join(f"{s}（{state_label(st)}）" for s, st in sorted(twins)[:5])
        message = (
            f"同一就诊（就诊ID mdtrt_id = {key[1]!r}，人员编号 psn_no = {key[2]!r}）"
            f"已有结算清单 {named}：可能重复结算，请审核人员核对（规则 {DUPLICATE_RULE}）"
        )
        row = list_of[i]
        found.append((row.id, DUPLICATE_RULE, "warning", "setlinfo.mdtrt_id", key[1], message))
        warned.append(row.id)
        outcomes[i].findings.append(
            {
                "rule_id": DUPLICATE_RULE,
                "severity": "warning",
                "field": "setlinfo.mdtrt_id",
                "value": key[1],
                "message": message,
            }
        )
    cols = ["list_id", "rule_id", "severity", "field", "value", "message"]
    insert_frame(session, QcFinding.__table__, pl.DataFrame(found, schema=cols, orient="row"))
    session.execute(
        update(SettlementList)
        .where(SettlementList.id.in_(warned))
        .values(warnings=SettlementList.warnings + 1)
        .execution_options(synchronize_session=False)
    )
