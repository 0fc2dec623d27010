"""Intake's database half: screen, store lists and versions, create cases, group, price.

:func:`do_intake_lists` receives a batch of 4101A messages in the caller's
transaction (prepare, then :func:`store_prepared`).  Storing writes new lists in bulk
or new versions of the stored ones, their versions and findings, the cases of the
lists QC let through (grouped and priced by :mod:`~yibao.settlement.intake.pricing`),
points the lists at their cases; a second list of one stay is held
(:mod:`~yibao.settlement.intake.twins`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import polars as pl
from sqlalchemy import Table, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.db.bulk import insert_frame, reserve_ids
from yibao.engines.grouper import PlanRegistry
from yibao.engines.qc.intake import gc_paused
from yibao.engines.settlement import Action, Role, State, transition
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital
from yibao.settlement.intake.prepare import PreparedBatch, prepare_lists
from yibao.settlement.intake.pricing import _group, _price
from yibao.settlement.intake.screen import ListOutcome, keep_passed_versions, screen_lists
from yibao.settlement.intake.twins import hold_duplicate_stays
from yibao.settlement.models import (
    QcFinding,
    SettlementList,
    SettlementListEvent,
    SettlementListVersion,
)


@dataclass
class ListRow:
    """A stored list as the intake sees it (new rows are bulk-inserted, not ORM objects)."""

    id: int
    setl_id: str
    version: int
    state: str
    orm: SettlementList | None = None
    hospital: Hospital | None = None


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
    outcomes, kept = screen_lists(session, prepared, hospitals)
    hold_duplicate_stays(session, prepared, kept, outcomes)
    kept = keep_passed_versions(prepared, kept, outcomes)
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


# long: one pass over the kept lists builds the new rows and the new versions together
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
            rows.append(ListRow(list_id, setl_id, 1, state, hospital=hospital))
            continue
        if row.case_id is not None:  # the earlier version's case is replaced
            old_cases.append(row.case_id)
            row.case_id = None
        row.version += 1
        row.state, row.source, row.received_at = state, source, now
        row.discharge_month = prepared.months[i]
        row.blocking, row.warnings = blocking, len(findings) - blocking
        rows.append(ListRow(row.id, setl_id, row.version, state, row, hospital))
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


# long: one straight pipeline (cases, codes, rounds of grouping and pricing, list states)
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
        {
            "hospital_code": list(hospitals),
            "hospital_id": [h.id for h in hospitals.values()],
            "_home": [h.region_code for h in hospitals.values()],
        }
    )
    cases = (
        cases.with_columns(
            pl.Series("id", new_ids, dtype=pl.Int64),
            source=pl.lit("upload"),
            created_at=pl.lit(utcnow()),
        )
        .join(ids, on="hospital_code", how="left")
        # a list that does not say where it was treated (mdtrtarea_admvs is an envelope
        # field of 4101A) was treated at its hospital; one without its insured place
        # (a QC002 warning) is taken as local
        .with_columns(pl.coalesce("region_code", "_home").alias("region_code"))
        .with_columns(
            pl.coalesce("insured_region_code", "region_code").alias("insured_region_code")
        )
        .drop("_home")
    )
    keys = cases.select("list_index", pl.col("id").alias("case_id"))
    insert_frame(session, Case.__table__, cases.drop("list_index"))
    for model, codes in ((CaseDiagnosis, diagnoses), (CaseProcedure, procedures)):
        rows = codes.join(keys, on="list_index").drop("setl_id", "list_index")
        insert_frame(session, model.__table__, rows)
    case_of = dict(keys.iter_rows())
    cols = ("list_index", "drg", "payment_class", "drg_payment", "fund_amount")
    by_index: dict[int, dict[str, Any]] = {}
    groups: dict[int, dict[str, Any]] = {}
    rounds = cases.with_columns(pl.col("setl_id").cum_count().over("setl_id").alias("_round"))
    for (_,), part in rounds.group_by("_round", maintain_order=True):
        part = part.drop("_round")
        in_part = part["list_index"].implode()
        dx, px = (f.filter(pl.col("list_index").is_in(in_part)) for f in (diagnoses, procedures))
        grouped = _group(session, registry, part.drop("list_index"), dx, px, actor)
        in_groups = grouped.join(part.select("id", "list_index"), on="id")
        groups.update(
            (r["list_index"], r) for r in in_groups.select(GROUP_COLS).iter_rows(named=True)
        )
        priced = _price(session, registry, part.drop("list_index"), grouped, hospitals, (dx, px))
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
    _record_steps(session, accepted, groups, by_index, actor)
    for _, row in accepted:
        if row.orm is not None:
            session.expire(row.orm)


#: what the grouping step of a list records (its plan, grouping status and DRG)
GROUP_COLS = ("list_index", "plan_id", "status", "drg")


def _record_steps(
    session: Session,
    accepted: list[tuple[int, ListRow]],
    groups: dict[int, dict[str, Any]],
    priced: dict[int, dict[str, Any]],
    actor: Actor,
) -> None:
    """The state history of the accepted lists: the grouping step of each, and the
    pricing step of those a payment standard priced (steps asked of the state
    machine, written in bulk like the lists)."""
    group = transition(State.INTAKE, Action.GROUP, Role.SYSTEM)
    price = transition(group, Action.PRICE, Role.SYSTEM)
    now = utcnow()
    events: list[dict[str, Any]] = []
    for i, row in accepted:
        assert row.hospital is not None  # every accepted list was screened to a hospital
        p = priced.get(i)
        g = groups.get(i)
        grouping = None if g is None else {k: g[k] for k in GROUP_COLS if k != "list_index"}
        steps = [(Action.GROUP, State.INTAKE, group, grouping)]
        if p is not None:
            money = {"drg_payment": str(p["drg_payment"]), "fund_amount": str(p["fund_amount"])}
            steps.append((Action.PRICE, group, price, money))
        events += [
            {
                "list_id": row.id,
                "hospital_id": row.hospital.id,
                "region_code": row.hospital.region_code,
                "version": row.version,
                "action": action.value,
                "from_state": source.value,
                "to_state": target.value,
                "role": Role.SYSTEM.value,
                "reason": None,
                "details": details,
                "actor_id": actor.user_id,
                "actor_name": actor.name,
                "created_at": now,
            }
            for action, source, target, details in steps
        ]
    session.execute(insert(SettlementListEvent), events)


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
