"""The post-audit's input frames, read from stored data in the session's scope.

* :func:`inpatient_cases`: the stored inpatient cases discharged in a date range with
  their grouping (MDC, ADRG, DRG; the plan the case was priced with, else the plan of
  the standard in force below, else the latest grouping) and pricing (payment class →
  multiplier high / low / normal), as the DRG detectors read them
  (:data:`yibao.engines.audit.CASE_COLUMNS`; CC / MCC from the DRG code's last digit,
  the detectors' fallback).  The relative weight ``rw`` is the DRG's
  in the payment standard the case was priced with; a case without one (not priced, or
  priced without a standard) takes it from the published standard in force for its
  region on its discharge date (:func:`yibao.measurement.service.standard_sets_in_force`,
  the lookup settlement prices with), preferring its grouping under that standard's plan.
  No weight found (no standard in force, the DRG not in it, or no grouping under its
  plan): ``rw`` is null, never 0, so the case does not count in the CMI;
* :func:`outpatient_visits`: the live outpatient settlements of the gateway (visit date
  = settlement date, amount = total medical fee);
* :func:`claim_frames`: the live settlements of the gateway settled in a date range as
  the rule engine's frames (patients, encounters, every diagnosis of the visit
  (:func:`visit_diagnoses`), fee lines with the days of supply the HIS sent
  (:func:`supply_days`)), with each encounter's hospital, treating place and month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.cases.models import Case, CaseDiagnosis
from yibao.engines.audit.claims import net_refunds
from yibao.exchange.models import Fee, Settlement, Visit
from yibao.grouping.models import CaseGrouping
from yibao.insured.models import InsuredPerson
from yibao.kit.timeutil import BUSINESS_TZ, local
from yibao.measurement.models import PaymentStandardItem, PaymentStandardSet
from yibao.measurement.service import standard_sets_in_force
from yibao.regions.models import Hospital
from yibao.settlement.models import CasePricing

MONEY = pl.Decimal(18, 2)
MULTIPLIERS = {"high": "high", "low": "low"}
CASE_SCHEMA: dict[str, Any] = {
    "setl_id": pl.String,
    "mdtrt_id": pl.String,
    "psn_no": pl.String,
    "hospital_code": pl.String,
    "hospital_level": pl.String,
    "insutype": pl.String,
    "admission_date": pl.Date,
    "discharge_date": pl.Date,
    "los_days": pl.Int64,
    "total_cost": MONEY,
    "self_pay_full": MONEY,
    "self_pay_first": MONEY,
    "mdc": pl.String,
    "adrg": pl.String,
    "drg": pl.String,
    "rw": pl.Float64,
    "multiplier": pl.String,
    "principal_dx": pl.String,
}
OUTPATIENT_SCHEMA: dict[str, Any] = {
    "psn_no": pl.String,
    "hospital_code": pl.String,
    "visit_date": pl.Date,
    "amount": MONEY,
}


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) business time, in UTC."""
    lo = datetime.combine(start, time(0), BUSINESS_TZ).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), BUSINESS_TZ).astimezone(UTC)
    return lo, hi


# long: one query and one row shape, column by column as the detectors read them
def inpatient_cases(session: Session, start: date, end: date) -> pl.DataFrame:
    """Grouped inpatient cases discharged from ``start`` through ``end`` (module docstring)."""
    stmt = (
        select(
            Case.id.label("case_id"),
            Case.setl_id,
            Case.mdtrt_id,
            Case.psn_no,
            Case.hospital_code,
            Hospital.level.label("hospital_level"),
            Case.insutype,
            Case.admission_time,
            Case.discharge_date,
            Case.region_code,
            Case.los_days,
            Case.total_cost,
            Case.self_pay_full,
            Case.self_pay_first,
            CaseGrouping.plan_id.label("group_plan"),
            CaseGrouping.grouped_at,
            CaseGrouping.mdc,
            CaseGrouping.adrg,
            CaseGrouping.drg,
            CasePricing.case_id.label("priced"),
            CasePricing.plan_id.label("priced_plan"),
            CasePricing.payment_class,
            CasePricing.standard_set_id,
        )
        .join(CaseGrouping, CaseGrouping.case_id == Case.id)
        .join(Hospital, Hospital.id == Case.hospital_id)
        .outerjoin(CasePricing, CasePricing.case_id == Case.id)
        .where(Case.discharge_date >= start, Case.discharge_date <= end)
        .order_by(Case.id)
    )
    found = session.execute(stmt).all()
    in_force = standard_sets_in_force(
        session, {(r.region_code, r.discharge_date) for r in found if r.standard_set_id is None}
    )
    chosen: dict[int, tuple[Any, _Source]] = {}
    for row in found:
        old = chosen.get(row.case_id)
        source = old[1] if old else _source(row, in_force)
        mine = row.group_plan == source.prefer
        better = old is None or (
            mine > (old[0].group_plan == source.prefer)
            or (mine == (old[0].group_plan == source.prefer) and row.grouped_at > old[0].grouped_at)
        )
        if better:
            chosen[row.case_id] = (row, source)
    key_of = {
        r.case_id: (src.set_id, r.drg, r.hospital_level)
        for r, src in chosen.values()
        if src.set_id is not None and src.plan in (None, r.group_plan)
    }
    weights = _weights(session, set(key_of.values()))
    principal = _principals(session, list(chosen))
    rows = []
    for r, _ in chosen.values():
        key = key_of.get(r.case_id)
        weight = weights.get(key) if key else None
        rows.append(
            (
                r.setl_id,
                r.mdtrt_id,
                r.psn_no,
                r.hospital_code,
                r.hospital_level,
                r.insutype,
                local(r.admission_time).date(),
                r.discharge_date,
                r.los_days,
                r.total_cost,
                r.self_pay_full,
                r.self_pay_first,
                r.mdc,
                r.adrg,
                r.drg,
                None if weight is None else float(weight),
                MULTIPLIERS.get(r.payment_class or "", "normal"),
                principal.get(r.case_id, ""),
            )
        )
    return pl.DataFrame(rows, schema=CASE_SCHEMA, orient="row")


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a case's weight comes from: the standard set (``set_id``; None: no weight),
    the grouping plan to prefer, and the plan the grouping must be of (None: any)."""

    set_id: int | None
    prefer: str | None
    plan: str | None


def _source(row: Any, in_force: dict[tuple[str, date], PaymentStandardSet]) -> _Source:
    """The set the case was priced with, else the set in force for its region on its
    discharge date (read for the DRGs of that set's grouping plan only)."""
    if row.standard_set_id is not None:
        return _Source(row.standard_set_id, row.priced_plan, None)
    found = in_force.get((row.region_code, row.discharge_date))
    if found is None:
        return _Source(None, row.priced_plan, None)
    prefer = row.priced_plan if row.priced is not None else found.plan_id
    return _Source(found.id, prefer, found.plan_id)


def _weights(
    session: Session, keys: set[tuple[int, str, str]]
) -> dict[tuple[int, str, str], Decimal]:
    if not keys:
        return {}
    sets = sorted({k[0] for k in keys})
    stmt = select(
        PaymentStandardItem.set_id,
        PaymentStandardItem.drg,
        PaymentStandardItem.hospital_level,
        PaymentStandardItem.relative_weight,
    ).where(PaymentStandardItem.set_id.in_(sets))
    return {(s, d, lv): w for s, d, lv, w in session.execute(stmt) if (s, d, lv) in keys}


def _principals(session: Session, case_ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for i in range(0, len(case_ids), 2000):
        chunk = case_ids[i : i + 2000]
        stmt = select(CaseDiagnosis.case_id, CaseDiagnosis.code).where(
            CaseDiagnosis.case_id.in_(chunk), CaseDiagnosis.is_principal.is_(True)
        )
        out.update({int(row[0]): str(row[1]) for row in session.execute(stmt)})
    return out


def outpatient_visits(session: Session, start: date, end: date) -> pl.DataFrame:
    """Live outpatient settlements from ``start`` through ``end`` (module docstring)."""
    lo, hi = utc_bounds(start, end)
    stmt = (
        select(Settlement.psn_no, Hospital.code, Settlement.setl_time, Settlement.medfee_sumamt)
        .join(Hospital, Hospital.id == Settlement.hospital_id)
        .where(
            Settlement.kind == "otp",
            Settlement.state == "settled",
            Settlement.setl_time >= lo,
            Settlement.setl_time < hi,
        )
        .order_by(Settlement.id)
    )
    rows = [(p, h, local(t).date(), a) for p, h, t, a in session.execute(stmt)]
    return pl.DataFrame(rows, schema=OUTPATIENT_SCHEMA, orient="row")


def visit_diagnoses(main: str | None, details: Any) -> list[str]:
    """A stored visit's diagnosis codes as 3102 reads the message's (principal first):
    the discharge's ``diseinfo`` (2402), else the admission's or the outpatient visit's
    (2401 / 2403 / 2203), the one flagged main first, then by ``diag_srt_no``; the
    visit's main diagnosis first when none is flagged, alone when no list was sent."""
    nodes: list[Any] = []
    if isinstance(details, dict):
        nodes = details.get("dscg_diseinfo") or details.get("diseinfo") or []

    def order(d: dict[str, Any]) -> tuple[int, int]:
        rank = d.get("diag_srt_no")
        return (0 if d.get("maindiag_flag") == "1" else 1, rank if isinstance(rank, int) else 999)

    listed = sorted((d for d in nodes if isinstance(d, dict) and d.get("diag_code")), key=order)
    codes = [str(d["diag_code"]) for d in listed]
    if main and not any(d.get("maindiag_flag") == "1" for d in listed):
        codes = [main, *codes]
    return list(dict.fromkeys(codes))


def supply_days(prd_days: Decimal | None) -> int | None:
    """A stored line's days of supply as the rule engine reads them: the 用药周期天数
    the HIS sent with the line (``prd_days``), rounded up and at most 366, as a 3102
    of the same line reads them (:func:`yibao.engines.audit.realtime.read_request`);
    None (one day) when it sent none."""
    if prd_days is None or prd_days <= 0:
        return None
    return min(math.ceil(prd_days), 366)


@dataclass(frozen=True)
class Claims:
    """The rule engine's frames and, per encounter, where and when it was settled."""

    patients: pl.DataFrame
    encounters: pl.DataFrame
    diagnoses: pl.DataFrame
    lines: pl.DataFrame
    #: mdtrt_id → (hospital_code, treating place admdvs, settlement month YYYY-MM)
    where: dict[str, tuple[str, str, str]]


# long: two queries (visits, fee lines) and the four frames of the rule engine
def claim_frames(session: Session, start: date, end: date) -> Claims:
    """The gateway's live settlements from ``start`` through ``end`` as claims."""
    lo, hi = utc_bounds(start, end)
    live = (
        Settlement.state == "settled",
        Settlement.setl_time >= lo,
        Settlement.setl_time < hi,
    )
    stmt = (
        select(
            Settlement.id,
            Settlement.setl_time,
            Visit.mdtrt_id,
            Visit.psn_no,
            Visit.kind,
            Visit.begntime,
            Visit.endtime,
            Visit.dept_code,
            Visit.insutype,
            Visit.diag_code,
            Visit.details,
            Visit.mdtrtarea_admvs,
            Hospital.code,
            Hospital.level,
            InsuredPerson.gend,
            InsuredPerson.brdy,
        )
        .join(Visit, Visit.id == Settlement.visit_id)
        .join(Hospital, Hospital.id == Settlement.hospital_id)
        .join(InsuredPerson, InsuredPerson.id == Settlement.person_id)
        .where(*live)
        .order_by(Settlement.id)
    )
    patients: dict[str, tuple[str, date]] = {}
    encounters, diagnoses = [], []
    where: dict[str, tuple[str, str, str]] = {}
    for (
        _sid,
        setl_time,
        mdtrt_id,
        psn_no,
        kind,
        begin,
        finish,
        dept,
        insutype,
        dx,
        details,
        admdvs,
        hcode,
        level,
        sex,
        birth,
    ) in session.execute(stmt):
        if mdtrt_id in where:  # an outpatient visit settled batch by batch: one encounter
            continue
        patients[psn_no] = (sex, birth)
        encounters.append(
            (
                mdtrt_id,
                psn_no,
                kind,
                level,
                local(begin).date(),
                local(finish).date() if finish else None,
                dept or "",
                insutype or "",
            )
        )
        codes = visit_diagnoses(dx, details)
        diagnoses += [(mdtrt_id, i + 1, code) for i, code in enumerate(codes)]
        where[mdtrt_id] = (hcode, admdvs, local(setl_time).strftime("%Y-%m"))
    fee_stmt = (
        select(
            Visit.mdtrt_id,
            Fee.feedetl_sn,
            Fee.med_list_codg,
            Fee.cnt,
            Fee.pric,
            Fee.det_item_fee_sumamt,
            Fee.fee_ocur_time,
            Fee.prd_days,
            Fee.bilg_dept_codg,
            Fee.init_feedetl_sn,
        )
        .join(Settlement, Settlement.id == Fee.settlement_id)
        .join(Visit, Visit.id == Fee.visit_id)
        .where(*live, Fee.state == "settled")
        .order_by(Fee.id)
    )
    # the billing department of a line, as 3102 reads an order's; empty: the visit's;
    # a refund taken into the charge it names (ADR 0045), as the real-time history is
    rows = session.execute(fee_stmt).all()
    kept = net_refunds([(r[0], r[1], r[9], r[3], r[5]) for r in rows])
    lines = [
        (m, sn, code, k[0], p, k[1], local(t).date(), supply_days(prd), dept or "")
        for (m, sn, code, _, p, _, t, prd, dept, _), k in zip(rows, kept, strict=True)
        if k is not None
    ]
    return Claims(
        patients=pl.DataFrame(
            [(k, s, b) for k, (s, b) in patients.items()],
            schema={"psn_no": pl.String, "sex": pl.String, "birth_date": pl.Date},
            orient="row",
        ),
        encounters=pl.DataFrame(
            encounters,
            schema={
                "mdtrt_id": pl.String,
                "psn_no": pl.String,
                "care_mode": pl.String,
                "hospital_level": pl.String,
                "begin_date": pl.Date,
                "end_date": pl.Date,
                "dept_code": pl.String,
                "insutype": pl.String,
            },
            orient="row",
        ),
        diagnoses=pl.DataFrame(
            diagnoses,
            schema={"mdtrt_id": pl.String, "dx_seq": pl.Int64, "dx_code": pl.String},
            orient="row",
        ),
        lines=pl.DataFrame(
            lines,
            schema={
                "mdtrt_id": pl.String,
                "rx_id": pl.String,
                "item_code": pl.String,
                "quantity": pl.Decimal(18, 4),
                "price": pl.Decimal(18, 6),
                "amount": MONEY,
                "day": pl.Date,
                "days": pl.Int64,
                "dept_code": pl.String,
            },
            orient="row",
        ),
        where=where,
    )
