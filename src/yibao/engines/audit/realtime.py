"""Real-time audit (issue 13 item 4, ADR 0023): a 3101 / 3102 input read into the
engine's claims (the audited encounter and the history the message carries), the
stage and scenario, the window of stored history the rules need, the findings as
``result[]``, and the 事前 reminder computed from a person's earlier visits (recent
visits, medication still on hand).  Pure: the database rows arrive as
:class:`PastVisit` / :class:`PastFee`; the messages are in
:mod:`yibao.engines.audit.messages`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from yibao.engines.audit.claims import Claim, Encounter, Line, Patient, check_line
from yibao.engines.audit.errors import AuditError
from yibao.engines.audit.findings import Finding
from yibao.engines.audit.knowledge import Knowledge
from yibao.engines.audit.messages import (
    STAGE_NAMES,
    STAGE_OF,
    TRIG_SCENES,
    AuditData,
    DetailOut,
    DiagnoseDto,
    DrugRemainingOut,
    EncounterDto,
    HistVisitOut,
    OrderDto,
    PatientDto,
    ResultOut,
)
from yibao.engines.audit.request_checks import dated_sanely, scene_fits, within_encounter
from yibao.engines.audit.rules import TRIG_STAGE
from yibao.engines.catalogue.restrictions import QuantityRule
from yibao.engines.exchange.lenient import Refused

#: catalogue kinds whose lines are medication (drug remaining days)
DRUG_KINDS: Final = frozenset({"western", "patent", "herbal"})
DRUG_FEE_TYPES: Final = frozenset({"09", "10", "11"})
#: the amount of a finding is always computed by its family (ADR 0020) [M] code
VOLA_AMT_COMPUTED: Final = "1"


# --------------------------------------------------------------------- reading input


@dataclass(frozen=True, slots=True)
class Request:
    """What an audit input says, read into the engine's terms."""

    stage: str
    trig_scen: int | None
    rule_ids: tuple[str, ...] | None
    claim: Claim
    #: claims the HIS sent besides the audited one (other encounters; orders marked
    #: ``curr_drord_flag`` 0), counted by the rules, never listed
    sent_history: tuple[Claim, ...]
    #: every mdtrt_id the message carries (stored visits with these ids are not history,
    #: but for those in ``stored_counts``)
    mdtrt_ids: frozenset[str]
    on: date
    #: the audited encounter when the message sent none of its earlier orders (no line
    #: with ``curr_drord_flag`` 0): its stored lines are its earlier part, counted
    #: except the lines the message sends again (:func:`claims.without_resent`)
    stored_counts: frozenset[str] = frozenset()


def stage_of(infno: str, data: AuditData) -> tuple[str, int | None]:
    """The stage of ``infno`` and the trigger scenario; refuses a scenario of the
    other stage, and a message with neither ``trig_scen`` nor ``rule_ids``."""
    stage = STAGE_OF[infno]
    if data.trig_scen is None:
        if not data.rule_ids:
            raise Refused(
                "data.trig_scen",
                "触发场景（data.trig_scen）：trig_scen 与 rule_ids 须指定其一（优先 trig_scen）",
            )
        return stage, None
    scene = int(data.trig_scen)
    if TRIG_STAGE[scene] != stage:
        wanted = "1–5（事前）" if stage == "pre" else "6–10（事中）"
        raise Refused(
            "data.trig_scen",
            f"触发场景（data.trig_scen）：{scene} {TRIG_SCENES[scene]} 属于"
            f"{STAGE_NAMES[TRIG_STAGE[scene]]}，交易 {infno}（{STAGE_NAMES[stage]}分析）须用 "
            f"{wanted} 的场景",
        )
    return stage, scene


def _refuse(where: str, exc: AuditError) -> Refused:
    field = f"{where}.{exc.field}" if exc.field else where
    return Refused(field, f"{exc.message}（{field}）")


def _diagnoses(enc: EncounterDto) -> tuple[str, ...]:
    def order(d: DiagnoseDto) -> tuple[int, int]:
        rank = int(d.dias_srt_no) if d.dias_srt_no and d.dias_srt_no.isdigit() else 999
        return (0 if d.maindise_flag == "1" else 1, rank)

    codes = [d.dise_codg for d in sorted(enc.fsi_diagnose_dtos, key=order)]
    main = enc.dscg_main_dise_codg
    if main and not any(d.maindise_flag == "1" for d in enc.fsi_diagnose_dtos):
        codes = [main, *[c for c in codes if c != main]]
    return tuple(dict.fromkeys(codes))


def _encounter(enc: EncounterDto, level: str, where: str) -> Encounter:
    try:
        return Encounter(
            mdtrt_id=enc.mdtrt_id,
            care_mode="ipt" if enc.med_mdtrt_type == "2" else "otp",
            hospital_level=level,
            begin_date=enc.adm_date.date(),
            end_date=enc.dscg_date.date() if enc.dscg_date else None,
            dept_code=enc.adm_dept_codg or "",
            insutype=enc.insutype or "",
            diagnoses=_diagnoses(enc),
            operations=tuple(o.oprn_code for o in enc.fsi_operation_dtos),
        )
    except AuditError as exc:
        raise _refuse(where, exc) from None


def _line(o: OrderDto, begin: date, i: int, where: str) -> Line:
    line = Line(
        rx_id=o.rx_id,
        item_code=o.hilist_code,
        quantity=o.cnt,
        price=o.pric,
        amount=o.sumamt,
        day=o.drord_begn_date.date() if o.drord_begn_date else begin,
        name=o.hilist_name or "",
        days=math.ceil(o.prd_days) if o.prd_days else None,
        frequency=(o.used_frqu_dscr or "")[:30],
        dept_code=o.drord_dept_codg or "",
    )
    try:
        check_line(line, i)
    except AuditError as exc:
        raise _refuse(where, exc) from None
    return line


def _current(patient_dto: PatientDto, base: str) -> tuple[int, dict[str, int]]:
    """The index of the audited encounter (``curr_mdtrt_id``, or the only one) and
    every encounter's index by mdtrt_id (unique)."""
    encounters = patient_dto.fsi_encounter_dtos
    seen: dict[str, int] = {}
    for i, enc in enumerate(encounters):
        if enc.mdtrt_id in seen:
            raise Refused(
                f"{base}.fsi_encounter_dtos[{i}].mdtrt_id",
                f"就诊标识（{base}.fsi_encounter_dtos[{i}].mdtrt_id）：{enc.mdtrt_id} 重复",
            )
        seen[enc.mdtrt_id] = i
    current = patient_dto.curr_mdtrt_id
    if current:
        if current not in seen:
            raise Refused(
                f"{base}.curr_mdtrt_id",
                f"当前就诊标识（{base}.curr_mdtrt_id）：{current} 不在 fsi_encounter_dtos 中",
            )
        return seen[current], seen
    if len(encounters) == 1:
        return 0, seen
    raise Refused(
        f"{base}.curr_mdtrt_id",
        f"当前就诊标识（{base}.curr_mdtrt_id）：有多个就诊时须指明本次审核的就诊",
    )


def _lines(
    enc: EncounterDto, encounter: Encounter, where: str, audited: bool, today: date | None
) -> tuple[list[Line], list[Line]]:
    """The encounter's lines to audit and those only counted (``curr_drord_flag`` 0,
    or every line of an encounter that is not the audited one)."""
    now: list[Line] = []
    past: list[Line] = []
    rx_seen: set[str] = set()
    for j, order in enumerate(enc.fsi_order_dtos):
        line = _line(order, encounter.begin_date, j, where)
        within_encounter(line, encounter, today, f"{where}.fsi_order_dtos[{j}]")
        if line.rx_id in rx_seen:
            raise Refused(
                f"{where}.fsi_order_dtos[{j}].rx_id",
                f"处方（医嘱）标识（{where}.fsi_order_dtos[{j}].rx_id）：{line.rx_id} 重复",
            )
        rx_seen.add(line.rx_id)
        (now if audited and order.curr_drord_flag != "0" else past).append(line)
    return now, past


def read_request(infno: str, data: AuditData, level: str, today: date | None = None) -> Request:
    """The claim to audit and the history the message carries; ``level`` is the
    institution's registered level (``medins_lv`` is not used).  Refuses naming the
    field what the engine cannot use: with ``today``, also an encounter or an order
    dated after it; always an order outside its encounter and a birth after it."""
    stage, scene = stage_of(infno, data)
    patient_dto = data.patient_dtos[0]
    base = "data.patient_dtos[0]"
    try:
        patient = Patient(patient_dto.patn_id, patient_dto.gend, patient_dto.brdy)
    except AuditError as exc:
        raise _refuse(base, exc) from None
    at, seen = _current(patient_dto, base)
    claim: Claim | None = None
    history: list[Claim] = []
    for i, enc in enumerate(patient_dto.fsi_encounter_dtos):
        where = f"{base}.fsi_encounter_dtos[{i}]"
        encounter = _encounter(enc, level, where)
        dated_sanely(patient_dto, encounter, today, base, where)
        now, past = _lines(enc, encounter, where, i == at, today)
        if i == at:
            claim = Claim(patient, encounter, tuple(now))
        if past:
            history.append(Claim(patient, encounter, tuple(past)))
    assert claim is not None
    scene_fits(scene, claim.encounter.care_mode, patient_dto.fsi_encounter_dtos[at])
    earlier = any(
        o.curr_drord_flag == "0" for o in patient_dto.fsi_encounter_dtos[at].fsi_order_dtos
    )
    return Request(
        stage=stage,
        trig_scen=scene,
        rule_ids=tuple(data.rule_ids) if data.rule_ids else None,
        claim=claim,
        sent_history=tuple(history),
        mdtrt_ids=frozenset(seen),
        on=claim.encounter.begin_date,
        stored_counts=frozenset() if earlier else frozenset({claim.encounter.mdtrt_id}),
    )


def history_since(request: Request, windows: Iterable[str]) -> date | None:
    """The first day the rules' windows reach back to (None: visit windows only, no
    stored history needed): the first of the month of the claim's first day for a
    month window, the claim's first day for a day window."""
    kinds = set(windows)
    first = min([request.claim.encounter.begin_date, *(ln.day for ln in request.claim.lines)])
    if "month" in kinds:
        return first.replace(day=1)
    if "day" in kinds:
        return first
    return None


# ----------------------------------------------------------------- output of findings


def results(findings: Sequence[Finding], task_id: str) -> list[ResultOut]:
    """``result[]`` of the findings; ``jrd_id`` is ``jr_id`` and the line's position."""
    return [
        ResultOut(
            jr_id=f.jr_id,
            rule_id=f.rule_id,
            rule_name=f.rule_name,
            rule_version=f.rule_version,
            vola_cont=f.vola_cont,
            patn_id=f.psn_no,
            mdtrt_id=f.mdtrt_id,
            judge_result_detail_dtos=[
                DetailOut(
                    jrd_id=f"{f.jr_id}-{n}",
                    patn_id=f.psn_no,
                    mdtrt_id=f.mdtrt_id,
                    rx_id=ln.rx_id,
                    vola_item_type=str(ln.vola_item_type),
                    vola_amt=ln.vola_amt,
                )
                for n, ln in enumerate(f.lines, 1)
            ],
            vola_amt=f.vola_amt,
            vola_amt_stas=VOLA_AMT_COMPUTED,
            sev_deg=str(f.sev_deg),
            vola_evid=f.vola_evid,
            vola_bhvr_type=f.vola_bhvr_type,
            result_type=f.result_type,
            task_id=task_id,
        )
        for f in findings
    ]


# ------------------------------------------------------------ history (stored visits)


@dataclass(frozen=True, slots=True)
class PastVisit:
    """A stored visit of the person (exchange_visits), with its hospital and whether
    it has a live settlement."""

    visit_id: int
    mdtrt_id: str
    kind: str  # ipt / otp
    hospital_code: str
    hospital_name: str
    hospital_level: str
    begin: date
    end: date | None
    diag_code: str
    diag_name: str
    dept_code: str
    insutype: str
    settled_amount: Decimal | None  # medfee_sumamt of the live settlement


@dataclass(frozen=True, slots=True)
class PastFee:
    """A stored fee line (exchange_fees) that is not cancelled."""

    visit_id: int
    feedetl_sn: str
    item_code: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    day: date
    settled: bool
    fee_type: str
    prd_days: Decimal | None
    #: the charge a refund line names (its feedetl_sn), if any
    init_feedetl_sn: str | None = None


def per_day_of(knowledge: Knowledge, code: str) -> Decimal | None:
    """The catalogue's (or knowledge's) most units a day of an item, if it has one."""
    item = knowledge.items.get(code)
    if item is None:
        return None
    for rule in item.restrictions:
        if isinstance(rule, QuantityRule) and rule.per_day:
            return rule.per_day
    return None


def days_supplied(fee: PastFee, per_day: Decimal | None) -> tuple[int, str] | None:
    """Days a dispensed line lasts, and on what basis (ADR 0023): the HIS's 用药周期天数
    (``prd_days``) when it sent one; else the quantity over the most units a day the
    catalogue allows, rounded up — the fewest days the supply can last at the highest
    allowed dose, so the remaining days are never overstated; else unknown (None)."""
    if fee.prd_days is not None and fee.prd_days > 0:
        return math.ceil(fee.prd_days), "prd_days"
    if per_day is not None and per_day > 0 and fee.quantity > 0:
        return math.ceil(fee.quantity / per_day), "per_day"
    return None


def is_drug(knowledge: Knowledge, fee: PastFee) -> bool:
    item = knowledge.items.get(fee.item_code)
    if item is not None:
        return item.kind in DRUG_KINDS
    return fee.fee_type in DRUG_FEE_TYPES


def history_claims(
    patient: Patient,
    visits: Sequence[PastVisit],
    fees: Sequence[PastFee],
    knowledge: Knowledge,
    since: date,
    until: date,
) -> list[Claim]:
    """The stored visits as claims for the rules' day and month windows: each visit
    with its lines dated ``since`` … ``until``, their days of supply the HIS's
    ``prd_days`` only, as the post-audit reads the same lines (a stored line's own
    quantity must not widen the daily limit it is checked against; the remaining
    days of 事前提醒 use :func:`days_supplied`).  Refund and correction lines
    (quantity, price or amount not above zero) are left out, as the engine ignores
    them (ADR 0020)."""
    by_visit: dict[int, list[Line]] = {}
    for f in fees:
        if since <= f.day <= until and f.quantity > 0 and f.price >= 0 and f.amount >= 0:
            supply = days_supplied(f, None)  # prd_days only
            by_visit.setdefault(f.visit_id, []).append(
                Line(
                    rx_id=f.feedetl_sn,
                    item_code=f.item_code,
                    quantity=f.quantity,
                    price=f.price,
                    amount=f.amount,
                    day=f.day,
                    days=min(supply[0], 366) if supply else None,
                )
            )
    out = []
    for v in visits:
        lines = by_visit.get(v.visit_id)
        if not lines:
            continue
        encounter = Encounter(
            mdtrt_id=v.mdtrt_id,
            care_mode="ipt" if v.kind == "ipt" else "otp",
            hospital_level=v.hospital_level if v.hospital_level in ("1", "2", "3") else "1",
            begin_date=v.begin,
            end_date=v.end if v.end and v.end >= v.begin else None,
            dept_code=v.dept_code,
            insutype=v.insutype[:3],
            diagnoses=(v.diag_code,) if v.diag_code else (),
        )
        out.append(Claim(patient, encounter, tuple(lines)))
    return out


def recent_visits(
    visits: Sequence[PastVisit], fees: Sequence[PastFee], on: date, days: int
) -> list[HistVisitOut]:
    """``hist_dtos``: the visits begun in the ``days`` days up to ``on`` (newest first);
    the amount of an unsettled visit is its uploaded lines'."""
    since = on - timedelta(days=days)
    uploaded: dict[int, Decimal] = {}
    for f in fees:
        uploaded[f.visit_id] = uploaded.get(f.visit_id, Decimal("0.00")) + f.amount
    shown = [v for v in visits if since <= v.begin <= on]
    shown.sort(key=lambda v: (v.begin, v.visit_id), reverse=True)
    return [
        HistVisitOut(
            mdtrt_date=v.begin,
            end_date=v.end,
            fixmedins_code=v.hospital_code,
            fixmedins_name=v.hospital_name,
            med_mdtrt_type="2" if v.kind == "ipt" else "1",
            med_mdtrt_type_name="住院" if v.kind == "ipt" else "门诊",
            dise_codg=v.diag_code,
            dise_name=v.diag_name,
            medfee_sumamt=(
                v.settled_amount
                if v.settled_amount is not None
                else uploaded.get(v.visit_id, Decimal("0.00"))
            ),
            setl_flag="1" if v.settled_amount is not None else "0",
        )
        for v in shown
    ]


def drugs_on_hand(
    visits: Sequence[PastVisit],
    fees: Sequence[PastFee],
    knowledge: Knowledge,
    on: date,
) -> list[DrugRemainingOut]:
    """``drug_remaining_dtos``: drugs of settled lines dispensed on or before ``on``
    whose supply (:func:`days_supplied`) reaches past ``on``: a line of day D lasting
    S days covers D … D + S − 1, so R = D + S − ``on`` days remain (ADR 0023).
    Lines whose days of supply are unknown are not listed.  Most days left first."""
    by_id: Mapping[int, PastVisit] = {v.visit_id: v for v in visits}
    out = []
    for f in fees:
        if not f.settled or f.quantity <= 0 or f.day > on or not is_drug(knowledge, f):
            continue
        supply = days_supplied(f, per_day_of(knowledge, f.item_code))
        if supply is None:
            continue
        days, basis = supply
        left = (f.day + timedelta(days=days) - on).days
        if left <= 0:
            continue
        visit = by_id.get(f.visit_id)
        item = knowledge.items.get(f.item_code)
        out.append(
            DrugRemainingOut(
                hilist_code=f.item_code,
                hilist_name=item.name if item else "",
                fixmedins_name=visit.hospital_name if visit else "",
                mdtrt_date=f.day,
                cnt=f.quantity,
                prd_days=days,
                days_basis=basis,
                rema_days=left,
                end_date=f.day + timedelta(days=days - 1),
            )
        )
    out.sort(key=lambda d: (-d.rema_days, d.hilist_code, d.mdtrt_date))
    return out
