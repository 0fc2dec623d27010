"""Pre-settlement, settlement and reversal of a visit: 2303 / 2304 / 2305 (inpatient),
2206 / 2207 / 2208 (outpatient), and the settlement half of 2601 冲正.

A settlement sums the visit's open fee lines (as classified at upload against the
treating place's catalogue), applies the **insured** place's benefit policy valid on
the settlement day (discharge day for a stay) with the person's annual figures
(5206), and — for 2304 / 2207 — in the message's own database transaction stores the
settlement, marks the lines settled, posts the figures and pays from the personal
account (:func:`yibao.insured.service.do_post_settlement`).  The person's row is
locked first, so parallel settlements of one person see each other's deductible and
cap.  A reversal restores figures and balance exactly and returns the same
figures negated with ``setl_type`` 2 (ADRs 0017, 0018).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.audit.service import record, record_now
from yibao.engines.catalogue import FeeSplit
from yibao.engines.exchange import Refused, wall_time
from yibao.engines.exchange.settling import (
    SetlDetail,
    SetlInfo,
    SettleIn,
    SettlementRefIn,
    SettleNode,
    SettleOut,
)
from yibao.engines.insured import age_on
from yibao.engines.settlement import SettlementError
from yibao.engines.settlement.policy import pooling_region, scope_of
from yibao.engines.settlement.realtime import PersonFacts, Settled, settle_visit
from yibao.exchange.models import Fee, Settlement, Visit
from yibao.exchange.policies import usable_policies
from yibao.exchange.registry import Call
from yibao.exchange.settle_rows import (
    LineRow,
    PersonRow,
    VisitRow,
    open_lines,
    store_settlement,
)
from yibao.exchange.visit_checks import certificate, same_med_type
from yibao.exchange.visits import (
    STATES,
    business_time,
    new_id,
    own_visit,
    own_visit_and_person,
)
from yibao.insured.models import InsuredPerson
from yibao.insured.repository import settlement_facts
from yibao.insured.service import do_post_settlement, do_reverse_settlement
from yibao.kit.errors import Conflict
from yibao.kit.timeutil import local

ZERO = Decimal("0.00")
#: 清算类别 (clr_type) [M]: 11 门诊, 21 住院
CLR_TYPES = {"otp": "11", "ipt": "21"}
#: 清算方式 (clr_way) [M]: 1 按项目
CLR_WAY = "1"
#: setlinfo money fields (negated in a reversal)
MONEY = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "hosp_part_amt",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "acct_mulaid_pay",
)


@dataclass(frozen=True)
class Computed:
    visit: VisitRow
    person: PersonRow
    fees: list[LineRow]
    settled: Settled
    day: date
    balance: Decimal | None


def _lock_person(session: Session, person_id: int) -> InsuredPerson:
    person = session.scalar(
        select(InsuredPerson).where(InsuredPerson.id == person_id).with_for_update()
    )
    assert person is not None  # a foreign key holds it
    return person


def fee_split(fees: Sequence[LineRow]) -> FeeSplit:
    """The four parts of the lines' total (sums of the lines, exact)."""
    return FeeSplit(
        medfee_sumamt=sum((f.det_item_fee_sumamt for f in fees), ZERO),
        fulamt_ownpay_amt=sum((f.fulamt_ownpay_amt for f in fees), ZERO),
        overlmt_selfpay=sum((f.overlmt_amt for f in fees), ZERO),
        preselfpay_amt=sum((f.preselfpay_amt for f in fees), ZERO),
        inscp_scp_amt=sum((f.inscp_scp_amt for f in fees), ZERO),
    )


#: the parts of a settlement's total a HIS may send its own figures of
SPLIT_NAMES = {
    "fulamt_ownpay_amt": "全自费金额",
    "overlmt_selfpay": "超限价自费费用",
    "preselfpay_amt": "先行自付金额",
    "inscp_scp_amt": "符合政策范围金额",
}


def _settleable(call: Call, node: SettleNode, kind: str, final: bool) -> tuple[VisitRow, PersonRow]:
    """The visit and its person, checked to be in a state that may be (pre-)settled.
    Both rows are locked (parallel settlements of one person see each other's
    deductible and cap) in the statement that reads them."""
    visit, person = own_visit_and_person(call, node.mdtrt_id, node.psn_no, kind)
    certificate(call, person.psn_no, person.certno, node.mdtrt_cert_type, node.mdtrt_cert_no)
    same_med_type(node.med_type, visit.med_type)
    if visit.state == "settled" and kind == "ipt":
        raise Refused(
            "mdtrt_id",
            "就诊ID（mdtrt_id）：就诊已结算，不能重复结算；如需重新结算，请先撤销结算（2305）",
        )
    if kind == "ipt":
        if node.mid_setl_flag == "1":
            raise Refused(
                "mid_setl_flag", "中途结算标志（mid_setl_flag）：暂不办理中途结算，请出院后结算"
            )
        if final and visit.state != "discharged":
            raise Refused(
                "mdtrt_id",
                f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，住院结算须先办理出院（2402）",
            )
        if visit.state not in ("open", "discharged"):
            raise Refused("mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能结算")
    elif visit.state not in ("open", "settled"):  # 门诊分次结算: another batch (ADR 0044)
        raise Refused("mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能结算")
    if node.insutype and node.insutype != visit.insutype:
        raise Refused(
            "insutype", f"险种类型（insutype）：{node.insutype} 与就诊登记的 {visit.insutype} 不符"
        )
    return visit, person


def _lines(call: Call, node: SettleNode, visit: VisitRow) -> tuple[list[LineRow], FeeSplit]:
    """The open lines to settle and their sums, checked against the message's total."""
    batch = node.chrg_bchno if visit.kind == "otp" else None
    fees = open_lines(call.session.connection(), visit.id, batch)
    if not fees and batch:
        raise Refused(
            "chrg_bchno",
            f"收费批次号（chrg_bchno）：就诊 {visit.mdtrt_id} 没有收费批次 {batch}"
            " 的待结算费用明细",
        )
    if not fees:
        raise Refused("mdtrt_id", f"就诊ID（mdtrt_id）：就诊 {visit.mdtrt_id} 没有待结算的费用明细")
    split = fee_split(fees)
    if node.medfee_sumamt != split.medfee_sumamt:
        raise Refused(
            "medfee_sumamt",
            f"医疗费总额（medfee_sumamt）：{node.medfee_sumamt} 与已上传的 {len(fees)} 条费用明细"
            f"之和 {split.medfee_sumamt} 不符",
        )
    for name in SPLIT_NAMES:
        given = getattr(node, name)
        if given is not None and given != getattr(split, name):
            call.warnings.append(
                f"{SPLIT_NAMES[name]}（{name}）：HIS 计算为 {given}，"
                f"按医保目录计算为 {getattr(split, name)}，以后者为准"
            )
    return fees, split


def _same_discharge(call: Call, node: SettleNode, visit: VisitRow) -> None:
    """A stay is settled by the discharge its 2402 recorded (the policy of that day);
    a ``dscg_time`` the settlement message sends otherwise is said, not used."""
    if node.dscg_time is None or visit.endtime is None:
        return
    sent = business_time(node.dscg_time)
    day_only = sent.time() == time.min and sent.date() == local(visit.endtime).date()
    if sent != visit.endtime and not day_only:  # many HIS send the day alone
        call.warnings.append(
            f"出院时间（dscg_time）：{wall_time(sent)} 与出院登记"
            f"（2402）的 {wall_time(visit.endtime)} 不符，按出院登记结算"
        )


def _compute(call: Call, data: SettleIn, kind: str, final: bool) -> Computed:
    node = data.data
    visit, person = _settleable(call, node, kind, final)
    fees, split = _lines(call, node, visit)
    if kind == "ipt":
        _same_discharge(call, node, visit)
    end = visit.endtime if kind == "ipt" and visit.endtime is not None else call.received_at
    day = local(end).date()
    policy = usable_policies(call.session).find(person.insuplc_admdvs, visit.insutype, day)
    if policy is None:
        raise Refused(
            "insuplc_admdvs",
            f"参保地 {person.insuplc_admdvs} 险种 {visit.insutype} 在 {day} 没有生效的待遇政策，"
            "请参保地医保局发布待遇政策",
        )
    known = settlement_facts(call.session, person.id, day)
    balance = known.balance
    facts = PersonFacts(
        insutype=visit.insutype,
        cvlserv_flag=person.cvlserv_flag == "1",
        identities=known.identities,
        balance=balance,
    )
    try:
        settled = settle_visit(
            split,
            policy,
            hospital_level=call.institution.level,
            scope=scope_of(person.insuplc_admdvs, call.institution.region_code),
            inpatient=kind == "ipt",
            person=facts,
            ytd=known.ytd,
            acct_used=node.acct_used_flag == "1",
        )
    except SettlementError as exc:
        raise Refused(exc.field, exc.message) from None
    return Computed(visit, person, fees, settled, day, balance)


def _setlinfo(
    call: Call, c: Computed, *, setl_id: str, when: datetime, setl_type: str = "1"
) -> SetlInfo:
    person, visit = c.person, c.visit
    figures: dict[str, Any] = c.settled.setlinfo()
    return SetlInfo(
        setl_id=setl_id,
        mdtrt_id=visit.mdtrt_id,
        psn_no=person.psn_no,
        psn_name=person.psn_name,
        psn_cert_type=person.psn_cert_type,
        certno=person.certno,
        gend=person.gend,
        naty=person.naty,
        brdy=person.brdy,
        age=Decimal(age_on(person.brdy, c.day)),
        insutype=visit.insutype,
        psn_type=person.psn_type,
        cvlserv_flag=person.cvlserv_flag,
        setl_time=wall_time(when),
        mdtrt_cert_type=visit.mdtrt_cert_type,
        med_type=visit.med_type,
        setl_type=setl_type,
        **{k: figures[k] for k in (*MONEY, "pool_prop_selfpay")},
        balc=Decimal(str(figures.get("balc") or ZERO)),
        medins_setl_id=call.envelope.msgid,
        clr_optins=pooling_region(person.insuplc_admdvs),
        clr_way=CLR_WAY,
        clr_type=CLR_TYPES[visit.kind],
        insuplc_admdvs=person.insuplc_admdvs,
        mdtrtarea_admvs=visit.mdtrtarea_admvs,
        out_setl_flag="0" if c.settled.scope == "local" else "1",
    )


def _details(settled: Settled) -> list[SetlDetail]:
    return [
        SetlDetail(
            fund_pay_type=d.fund_pay_type,
            fund_pay_type_name=d.fund_pay_type_name,
            inscp_scp_amt=d.inscp_scp_amt,
            crt_payb_lmt_amt=d.crt_payb_lmt_amt,
            fund_payamt=d.fund_payamt,
            setl_proc_info=d.setl_proc_info,
        )
        for d in settled.details
    ]


def presettle(call: Call, data: SettleIn, kind: str) -> SettleOut:
    """2303 / 2206: what the settlement would be now; nothing is written."""
    c = _compute(call, data, kind, final=False)
    return SettleOut(
        setlinfo=_setlinfo(call, c, setl_id="", when=call.received_at),
        setldetail=_details(c.settled),
    )


# long: the settlement's writes in the one order that keeps them together (row, lines, visit,
# figures and account, audit), each a few lines; split, the order would be hidden
def settle(call: Call, data: SettleIn, kind: str) -> SettleOut:
    """2304 / 2207: settle the visit once (see the module docstring)."""
    c = _compute(call, data, kind, final=True)
    setl_id = new_id(call, "S")
    info = _setlinfo(call, c, setl_id=setl_id, when=call.received_at)
    details = _details(c.settled)
    row: dict[str, Any] = {
        "hospital_id": c.visit.hospital_id,
        "region_code": c.visit.region_code,
        "setl_id": setl_id,
        "visit_id": c.visit.id,
        "person_id": c.person.id,
        "psn_no": c.person.psn_no,
        "kind": kind,
        "insutype": c.visit.insutype,
        "clr_type": CLR_TYPES[kind],
        "insuplc_admdvs": c.person.insuplc_admdvs,
        "mdtrtarea_admvs": c.visit.mdtrtarea_admvs,
        "scope": c.settled.scope,
        "policy_key": c.settled.policy_key,
        "msgid": call.envelope.msgid,
        "setl_time": call.received_at,
        "clr_month": f"{local(call.received_at):%Y%m}",
        "medfee_sumamt": info.medfee_sumamt,
        "fund_pay_sumamt": info.fund_pay_sumamt,
        "hifp_pay": info.hifp_pay,
        "psn_part_amt": info.psn_part_amt,
        "acct_pay": info.acct_pay,
        "psn_cash_pay": info.psn_cash_pay,
        "setlinfo": info.model_dump(mode="json"),
        "setldetail": [d.model_dump(mode="json") for d in details],
        "state": "settled",
        "message_id": call.message_id,
    }
    # No savepoint of its own: the visit is locked and was not settled, so the partial
    # unique index (one live settlement a visit) cannot fire but in a broken database;
    # if it does, the handler's savepoint undoes everything (a conflict, ADR 0015).
    store_settlement(call.session.connection(), row, c.fees, call.received_at)
    try:
        do_post_settlement(
            call.session,
            psn_no=c.person.psn_no,
            year=c.day.year,
            ref=setl_id,
            delta=c.settled.delta,
            actor=call.actor,
            hospital_id=c.visit.hospital_id,
            person=c.person,
            in_savepoint=True,
            balance=c.balance,
        )
    except Conflict as exc:
        raise Refused(exc.field, exc.message) from None
    record_now(
        call.session,
        call.actor,
        f"exchange.{kind}.settle",
        "exchange_settlement",
        setl_id,
        after={
            "mdtrt_id": c.visit.mdtrt_id,
            "medfee_sumamt": str(info.medfee_sumamt),
            "fund_pay_sumamt": str(info.fund_pay_sumamt),
            "acct_pay": str(info.acct_pay),
            "policy": c.settled.policy_key,
            "scope": c.settled.scope,
            "msgid": call.envelope.msgid,
        },
        hospital_id=c.visit.hospital_id,
        region_code=c.visit.region_code,
    )
    return SettleOut(setlinfo=info, setldetail=details)


def _negated(stored: dict[str, Any]) -> dict[str, Any]:
    out = dict(stored)
    for key in MONEY:
        out[key] = str(-Decimal(str(stored[key])))
    return out


# long: the reversal's writes in order (posting, settlement, lines, visit) and its answer
def reverse(call: Call, row: Settlement, cause: str) -> SettleOut:
    """Reverse settlement ``row`` (2305 / 2208 / 2601): the person's figures and
    account are restored exactly, the lines and the visit are open to settle again."""
    if row.state != "settled":
        raise Refused(
            "setl_id",
            f"结算ID（setl_id）：结算 {row.setl_id} 已于"
            f" {wall_time(row.reversed_at or call.received_at)} 撤销",
        )
    _lock_person(call.session, row.person_id)
    try:
        posting = do_reverse_settlement(
            call.session, ref=row.setl_id, actor=call.actor, cause=call.envelope.msgid
        )
    except Conflict as exc:
        raise Refused(exc.field, exc.message) from None
    reversal_id = new_id(call, "R")
    row.state = "reversed"
    row.reversal_setl_id = reversal_id
    row.reversed_at = call.received_at
    row.reversal_msgid = call.envelope.msgid
    row.reversal_infno = call.envelope.infno
    row.reversal_month = f"{local(call.received_at):%Y%m}"
    fees = call.session.scalars(select(Fee).where(Fee.settlement_id == row.id)).all()
    for fee in fees:
        fee.state, fee.settlement_id = "open", None
    visit = call.session.get(Visit, row.visit_id)
    assert visit is not None
    visit.state = "discharged" if visit.kind == "ipt" else _outpatient_state(call, row)
    visit.updated_at = call.received_at
    info = _negated(row.setlinfo)
    info.update(
        setl_id=reversal_id,
        setl_type="2",
        setl_time=wall_time(call.received_at),
        medins_setl_id=call.envelope.msgid,
        balc=str(posting.balc_after if posting.balc_after is not None else ZERO),
    )
    details = [
        {
            **d,
            "fund_payamt": str(-Decimal(str(d["fund_payamt"]))),
            "inscp_scp_amt": str(-Decimal(str(d["inscp_scp_amt"]))),
        }
        for d in row.setldetail
    ]
    record(
        call.session,
        call.actor,
        f"exchange.{row.kind}.reverse",
        "exchange_settlement",
        row.setl_id,
        before={"state": "settled"},
        after={"state": "reversed", "reversal_setl_id": reversal_id, "cause": cause},
        hospital_id=row.hospital_id,
        region_code=row.region_code,
    )
    return SettleOut(
        setlinfo=SetlInfo.model_validate(info),
        setldetail=[SetlDetail.model_validate(d) for d in details],
    )


def _outpatient_state(call: Call, reversed_row: Settlement) -> str:
    """An outpatient visit stays settled while another batch's settlement is live."""
    others = call.session.scalar(
        select(func.count()).where(
            Settlement.visit_id == reversed_row.visit_id,
            Settlement.state == "settled",
            Settlement.id != reversed_row.id,
        )
    )
    return "settled" if others else "open"


def reverse_settlement(call: Call, data: SettlementRefIn, kind: str) -> SettleOut:
    """2305 / 2208 结算撤销."""
    node = data.data
    visit = own_visit(call, node.mdtrt_id, node.psn_no, kind)
    row = call.session.scalar(
        select(Settlement)
        .where(Settlement.setl_id == node.setl_id, Settlement.visit_id == visit.id)
        .with_for_update()
    )
    if row is None:
        raise Refused(
            "setl_id", f"结算ID（setl_id）：就诊 {visit.mdtrt_id} 没有结算 {node.setl_id}"
        )
    return reverse(call, row, f"{call.envelope.infno} {call.envelope.msgid}")
