"""Fee details of a visit: 2301 / 2204 upload (classified at once against the
treating place's catalogue, 就医地目录) and 2302 / 2205 cancel.

Each line keeps its classification (全自费, 超限价, 先自付, 政策范围内) as of its upload,
so the settlement sums what the HIS was told line by line.  A line's amount must be
its count × unit price (within one fen); a serial number is used once per visit.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import record
from yibao.catalogue.repository import classify
from yibao.engines.catalogue import FeeLine
from yibao.engines.catalogue.classify import LineSplit, remember
from yibao.engines.catalogue.model import CatalogueError
from yibao.engines.exchange import Refused
from yibao.engines.exchange.visits import (
    FeeCancelIn,
    FeeCancelOut,
    FeeIn,
    FeeNode,
    FeeOut,
    FeeResult,
)
from yibao.exchange.models import Fee, Visit
from yibao.exchange.refund_lines import Charges, refunded_charges
from yibao.exchange.registry import Call
from yibao.exchange.visits import STATES, business_time, own_visit
from yibao.kit.errors import NotFound
from yibao.kit.timeutil import local

#: |cnt × pric − det_item_fee_sumamt| allowed: the HIS's rounding to the fen (half a
#: fen); one fen more is a fen charged for nothing
TOLERANCE = Decimal("0.005")
ALL_LINES = {"", "0000"}


def _one_visit(call: Call, lines: list[FeeNode], kind: str) -> Visit:
    first = lines[0]
    for i, line in enumerate(lines[1:], 1):
        if (line.mdtrt_id, line.psn_no) != (first.mdtrt_id, first.psn_no):
            raise Refused(
                f"feedetail[{i}].mdtrt_id",
                f"费用明细（feedetail[{i}]）：一次上传的明细须属于同一就诊和同一人员",
            )
    visit = own_visit(call, first.mdtrt_id, first.psn_no, kind)
    # an outpatient visit takes another charge batch after one is settled (ADR 0044)
    allowed = ("open", "discharged") if kind == "ipt" else ("open", "settled")
    if visit.state not in allowed:
        raise Refused(
            "mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能上传费用明细"
        )
    return visit


def _check_line(i: int, line: FeeNode, visit: Visit, today: date) -> None:
    where = f"feedetail[{i}]"
    if line.cnt == 0:
        raise Refused(f"{where}.cnt", f"数量（{where}.cnt）：不能为 0")
    if line.cnt < 0 and not (line.init_feedetl_sn or "").strip():
        raise Refused(
            f"{where}.init_feedetl_sn",
            f"原费用流水号（{where}.init_feedetl_sn）：退费明细（数量为负）须填写所退的原费用流水号",
        )
    if abs(line.cnt * line.pric - line.det_item_fee_sumamt) > TOLERANCE:
        raise Refused(
            f"{where}.det_item_fee_sumamt",
            f"明细项目费用总额（{where}.det_item_fee_sumamt）：{line.det_item_fee_sumamt} 与"
            f" 数量 {line.cnt} × 单价 {line.pric} 不符",
        )
    day = business_time(line.fee_ocur_time).date()
    if day > today:
        raise Refused(
            f"{where}.fee_ocur_time",
            f"费用发生时间（{where}.fee_ocur_time）：{day} 晚于今天（{today}），"
            "不能上传尚未发生的费用",
        )
    if day < local(visit.begntime).date() or (
        visit.endtime is not None and day > local(visit.endtime).date()
    ):
        raise Refused(
            f"{where}.fee_ocur_time",
            f"费用发生时间（{where}.fee_ocur_time）：{day} 不在就诊期间内",
        )


def _check_serials(call: Call, visit: Visit, lines: list[FeeNode]) -> None:
    serials = [line.feedetl_sn for line in lines]
    twice = sorted({s for s in serials if serials.count(s) > 1})
    if twice:
        raise Refused(
            "feedetl_sn", f"费用明细流水号（feedetl_sn）：本次上传中重复 {'、'.join(twice)}"
        )
    used = call.session.scalars(
        select(Fee.feedetl_sn).where(Fee.visit_id == visit.id, Fee.feedetl_sn.in_(serials))
    ).all()
    if used:
        raise Refused(
            "feedetl_sn",
            f"费用明细流水号（feedetl_sn）：{'、'.join(sorted(used)[:10])} 已上传过"
            "（撤销后的流水号也不能再用）",
        )


def _classified(
    call: Call, visit: Visit, day: date, lines: list[FeeNode], charges: Charges
) -> list[LineSplit]:
    """The lines of one day against the treating place's catalogue in force that day;
    a refund naming a charge (of ``charges``, kept up to date) mirrors it."""
    fee_lines = [
        FeeLine(
            code=line.med_list_codg,
            quantity=line.cnt,
            price=line.pric,
            amount=line.det_item_fee_sumamt,
            ref=line.feedetl_sn,
            fee_type=line.med_chrgitm_type,
            init_ref=(line.init_feedetl_sn or "").strip() or None,
        )
        for line in lines
    ]
    try:
        split = classify(
            call.session,
            visit.mdtrtarea_admvs,
            day,
            call.institution.level,
            fee_lines,
            charges=charges,
        )
        for line, s in zip(fee_lines, split.lines, strict=True):
            remember(charges, line, s)
    except NotFound as exc:
        raise Refused("fee_ocur_time", exc.message) from None
    except CatalogueError as exc:
        raise Refused(exc.field, exc.message) from None
    return list(split.lines)


def _store(call: Call, visit: Visit, line: FeeNode, s: LineSplit) -> FeeResult:
    call.session.add(
        Fee(
            hospital_id=visit.hospital_id,
            region_code=visit.region_code,
            visit_id=visit.id,
            feedetl_sn=line.feedetl_sn,
            init_feedetl_sn=(line.init_feedetl_sn or "").strip() or None,
            chrg_bchno=line.chrg_bchno,
            med_list_codg=line.med_list_codg,
            medins_list_codg=line.medins_list_codg,
            fee_ocur_time=business_time(line.fee_ocur_time),
            cnt=s.cnt,
            pric=s.pric,
            det_item_fee_sumamt=s.det_item_fee_sumamt,
            fulamt_ownpay_amt=s.fulamt_ownpay_amt,
            overlmt_amt=s.overlmt_amt,
            preselfpay_amt=s.preselfpay_amt,
            inscp_scp_amt=s.inscp_scp_amt,
            chrgitm_lv=s.chrgitm_lv,
            med_chrgitm_type=s.med_chrgitm_type,
            selfpay_prop=s.selfpay_prop,
            pric_uplmt_amt=s.pric_uplmt_amt,
            prd_days=line.prd_days,
            bilg_dept_codg=(line.bilg_dept_codg or "").strip() or None,
            state="open",
            message_id=call.message_id,
        )
    )
    return FeeResult(
        feedetl_sn=line.feedetl_sn,
        det_item_fee_sumamt=s.det_item_fee_sumamt,
        cnt=s.cnt,
        pric=s.pric,
        pric_uplmt_amt=s.pric_uplmt_amt,
        selfpay_prop=s.selfpay_prop,
        fulamt_ownpay_amt=s.fulamt_ownpay_amt,
        overlmt_amt=s.overlmt_amt,
        preselfpay_amt=s.preselfpay_amt,
        inscp_scp_amt=s.inscp_scp_amt,
        chrgitm_lv=s.chrgitm_lv,
        med_chrgitm_type=s.med_chrgitm_type,
        memo="" if s.in_catalogue else "不在医保目录内，全自费",
    )


def upload_fees(call: Call, data: FeeIn, kind: str) -> FeeOut:
    """2301 / 2204: store and classify the lines; all or none."""
    lines = data.feedetail
    visit = _one_visit(call, lines, kind)
    _check_serials(call, visit, lines)
    by_day: dict[date, list[int]] = defaultdict(list)
    today = local(call.received_at).date()
    for i, line in enumerate(lines):
        _check_line(i, line, visit, today)
        by_day[business_time(line.fee_ocur_time).date()].append(i)
    results: dict[int, FeeResult] = {}
    charges = refunded_charges(call, visit, lines)
    for day, indexes in sorted(by_day.items()):
        split = _classified(call, visit, day, [lines[i] for i in indexes], charges)
        for i, s in zip(indexes, split, strict=True):
            results[i] = _store(call, visit, lines[i], s)
    call.session.flush()
    record(
        call.session,
        call.actor,
        f"exchange.{kind}.fees",
        "exchange_visit",
        visit.mdtrt_id,
        after={"lines": len(lines), "amount": str(sum(x.det_item_fee_sumamt for x in lines))},
        hospital_id=visit.hospital_id,
        region_code=visit.region_code,
    )
    return FeeOut(result=[results[i] for i in range(len(lines))])


def cancel_fees(call: Call, data: FeeCancelIn, kind: str) -> FeeCancelOut:
    """2302 / 2205: cancel one line (feedetl_sn), a charge batch (chrg_bchno) or all
    unsettled lines of the visit (feedetl_sn 0000 or empty)."""
    node = data.data
    visit = own_visit(call, node.mdtrt_id, node.psn_no, kind)
    if visit.state == "cancelled" or (visit.state == "settled" and kind == "ipt"):
        raise Refused(  # an outpatient visit's unsettled batches may go (ADR 0044)
            "mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能撤销费用明细"
        )
    stmt = select(Fee).where(Fee.visit_id == visit.id, Fee.state == "open")
    sn = (node.feedetl_sn or "").strip()
    if sn not in ALL_LINES:
        stmt = stmt.where(Fee.feedetl_sn == sn)
    if node.chrg_bchno:
        stmt = stmt.where(Fee.chrg_bchno == node.chrg_bchno)
    rows = list(call.session.scalars(stmt.with_for_update()))
    if not rows:
        what = f"流水号 {sn}" if sn not in ALL_LINES else "未结算的费用明细"
        if node.chrg_bchno and sn in ALL_LINES:  # the batch named is what is not there
            raise Refused(
                "chrg_bchno",
                f"收费批次号（chrg_bchno）：就诊 {visit.mdtrt_id} 没有收费批次"
                f" {node.chrg_bchno} 的未结算费用明细",
            )
        if node.chrg_bchno:
            what += f"（收费批次 {node.chrg_bchno}）"
        raise Refused(
            "feedetl_sn", f"费用明细流水号（feedetl_sn）：就诊 {visit.mdtrt_id} 没有{what}"
        )
    return FeeCancelOut(result=cancel_lines(call, visit, rows))


def _no_live_refunds(call: Call, visit: Visit, rows: list[Fee]) -> None:
    """A charge whose refund lines stay (not cancelled, not cancelled with it) cannot
    go: the refund would be left refunding nothing (ADR 0045)."""
    going = {r.feedetl_sn for r in rows}
    left = call.session.execute(
        select(Fee.feedetl_sn, Fee.init_feedetl_sn).where(
            Fee.visit_id == visit.id,
            Fee.state != "cancelled",
            Fee.init_feedetl_sn.in_(going),
            Fee.feedetl_sn.not_in(going),
        )
    ).first()
    if left is not None:
        raise Refused(
            "feedetl_sn",
            f"费用明细流水号（feedetl_sn）：费用明细 {left.init_feedetl_sn} 有未撤销的退费明细"
            f" {left.feedetl_sn}，请先撤销该退费明细或一并撤销",
        )


def cancel_lines(call: Call, visit: Visit, rows: list[Fee]) -> dict[str, str | int]:
    """Mark open lines cancelled (2302 / 2205 / 2601) with an audit row."""
    _no_live_refunds(call, visit, rows)
    amount = sum((r.det_item_fee_sumamt for r in rows), Decimal("0.00"))
    for r in rows:
        r.state = "cancelled"
    visit.updated_at = call.received_at
    record(
        call.session,
        call.actor,
        f"exchange.{visit.kind}.fees_cancel",
        "exchange_visit",
        visit.mdtrt_id,
        after={"lines": len(rows), "amount": str(amount)},
        hospital_id=visit.hospital_id,
        region_code=visit.region_code,
    )
    return {"mdtrt_id": visit.mdtrt_id, "cancelled": len(rows), "amount": str(amount)}


def open_fees(session: Session, visit: Visit, chrg_bchno: str | None = None) -> list[Fee]:
    """The visit's lines still to settle (of one charge batch when given)."""
    stmt = select(Fee).where(Fee.visit_id == visit.id, Fee.state == "open")
    if chrg_bchno:
        stmt = stmt.where(Fee.chrg_bchno == chrg_bchno)
    return list(session.scalars(stmt.order_by(Fee.id)))
