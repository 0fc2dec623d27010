"""2601 冲正交易: undo an earlier transaction of the institution by its msgid — the
HIS's answer to a message whose response it never received.

* The original was never received: its msgid is taken now with a refusal as its
  stored response ("已冲正"), so the original arriving late is answered with that and
  does nothing (exactly once, even against a slow network).
* The original was refused: nothing to undo.
* The original succeeded: its effect is undone — a settlement (2304 / 2207) is
  reversed exactly as 2305 / 2208 would; fee lines (2301 / 2204) are cancelled;
  an admission or registration (2401 / 2201) is cancelled; a discharge (2402) is
  taken back.  Queries (1101, 2303, 2206, 5206, 3201 …) change nothing and need no
  reversal; a reversal itself (2305, 2208, 2601) is not reversed.
"""

from __future__ import annotations

from sqlalchemy import select

from yibao.audit.service import record
from yibao.engines.exchange import Refused, ref_msgid, response
from yibao.engines.exchange.settling import (
    ReversalIn,
    ReversalOut,
)
from yibao.exchange.fees import cancel_lines
from yibao.exchange.models import ExchangeMessage, Fee, Settlement, Visit
from yibao.exchange.registry import Call
from yibao.exchange.settle import reverse
from yibao.exchange.visits import STATES, cancel_opened

NOTHING_TO_UNDO = frozenset(
    {"1101", "2303", "2206", "5206", "3201", "3202", "9001", "9002", "2203", "2403"}
)
NOT_REVERSIBLE = frozenset({"2305", "2208", "2601", "2302", "2205", "2404", "2405", "2202"})
#: transactions whose effect a 2601 undoes (:func:`_undo`)
UNDONE = frozenset({"2304", "2207", "2301", "2204", "2401", "2201", "2402"})


def _voided(call: Call, omsgid: str, oinfno: str) -> ReversalOut:
    text = f"该报文已于冲正交易 {call.envelope.msgid} 登记冲正，不再办理"
    row = ExchangeMessage(
        hospital_id=call.institution.id,
        region_code=call.institution.region_code,
        msgid=omsgid,
        infno=oinfno[:10],
        infcode=-1,
        inf_refmsgid="",
        err_msg=text,
        received_at=call.received_at,
        answered_at=call.received_at,
        request={"voided_by": call.envelope.msgid},
        response={},
    )
    call.session.add(row)
    call.session.flush()  # a parallel original makes this fail: the HIS retries 2601
    row.inf_refmsgid = ref_msgid(call.institution.admvs, call.received_at, row.id)
    row.response = response(
        ref=row.inf_refmsgid, received=call.received_at, responded=call.received_at, error=text
    )
    _audit(call, omsgid, oinfno, "voided")
    return ReversalOut(
        result={
            "omsgid": omsgid,
            "oinfno": oinfno,
            "rslt": "原交易未收到，已登记冲正，原报文以后到达也不再办理",
        }
    )


def _audit(call: Call, omsgid: str, oinfno: str, outcome: str) -> None:
    record(
        call.session,
        call.actor,
        "exchange.reversal",
        "exchange_message",
        omsgid,
        after={"oinfno": oinfno, "outcome": outcome, "msgid": call.envelope.msgid},
        hospital_id=call.institution.id,
        region_code=call.institution.region_code,
    )


def reverse_message(call: Call, data: ReversalIn) -> ReversalOut:
    """2601 (see the module docstring)."""
    omsgid, oinfno = data.data.omsgid, data.data.oinfno.strip().upper()
    if omsgid == call.envelope.msgid:
        raise Refused("omsgid", "原发送方报文ID（omsgid）：不能冲正本报文自身")
    original = call.session.scalar(
        select(ExchangeMessage).where(
            ExchangeMessage.hospital_id == call.institution.id, ExchangeMessage.msgid == omsgid
        )
    )
    if original is None:
        if oinfno not in UNDONE | NOTHING_TO_UNDO | NOT_REVERSIBLE:  # no such message to void
            raise Refused(
                "oinfno",
                f"原交易编号（oinfno）：{oinfno[:10]} 不是可冲正的交易（可冲正："
                f"{'、'.join(sorted(UNDONE))} 等）",
            )
        return _voided(call, omsgid, oinfno)
    if (original.infno or "").upper() != oinfno:
        raise Refused(
            "oinfno",
            f"原交易编号（oinfno）：报文 {omsgid} 的交易是 {original.infno}，不是 {oinfno}",
        )
    done = {"omsgid": omsgid, "oinfno": oinfno}
    if original.infcode != 0:
        _audit(call, omsgid, oinfno, "refused_before")
        return ReversalOut(result={**done, "rslt": "原交易未成功，无需冲正"})
    if oinfno in NOT_REVERSIBLE:
        raise Refused("oinfno", f"原交易编号（oinfno）：{oinfno} 是撤销类交易，不能冲正")
    if oinfno in NOTHING_TO_UNDO:
        _audit(call, omsgid, oinfno, "nothing")
        return ReversalOut(result={**done, "rslt": "原交易未改变任何数据，无需冲正"})
    if oinfno in ("2304", "2207"):
        return _undo_settlement(call, original, done)
    outcome = _undo(call, original, oinfno)
    _audit(call, omsgid, oinfno, outcome)
    return ReversalOut(result={**done, "rslt": outcome})


def _undo_settlement(call: Call, original: ExchangeMessage, done: dict[str, str]) -> ReversalOut:
    """2601 of a settlement: reversed as 2305 / 2208 would, answered with the
    reversal's figures (the HIS refunds the patient by them)."""
    row = call.session.scalar(
        select(Settlement).where(Settlement.message_id == original.id).with_for_update()
    )
    if row is None:
        raise Refused("omsgid", f"原发送方报文ID（omsgid）：找不到报文 {original.msgid} 的结算")
    if row.state != "settled":
        outcome = f"结算 {row.setl_id} 已撤销，无需再冲正"
        _audit(call, done["omsgid"], done["oinfno"], outcome)
        return ReversalOut(result={**done, "rslt": outcome})
    out = reverse(call, row, f"2601 {call.envelope.msgid}")
    outcome = f"已冲正结算 {row.setl_id}（撤销结算ID {out.setlinfo.setl_id}）"
    _audit(call, done["omsgid"], done["oinfno"], outcome)
    return ReversalOut(
        result={**done, "rslt": outcome}, setlinfo=out.setlinfo, setldetail=out.setldetail
    )


def _undo(call: Call, original: ExchangeMessage, oinfno: str) -> str:
    session = call.session
    if oinfno in ("2301", "2204"):
        fees = list(
            session.scalars(select(Fee).where(Fee.message_id == original.id).with_for_update())
        )
        if any(f.state == "settled" for f in fees):
            raise Refused("omsgid", "原发送方报文ID（omsgid）：这些费用明细已结算，请先撤销结算")
        open_lines = [f for f in fees if f.state == "open"]
        if not open_lines:
            return "费用明细已撤销，无需再冲正"
        visit = session.get(Visit, open_lines[0].visit_id)
        assert visit is not None
        cancel_lines(call, visit, open_lines)
        return f"已撤销 {len(open_lines)} 条费用明细"
    visit = session.scalar(select(Visit).where(Visit.message_id == original.id).with_for_update())
    if oinfno in ("2401", "2201") and visit is not None:
        if visit.state == "cancelled":
            return "就诊已撤销，无需再冲正"
        if visit.state != "open":
            raise Refused(
                "omsgid",
                f"原发送方报文ID（omsgid）：就诊{STATES[visit.state]}，不能冲正登记，"
                "请先撤销出院（2405）或结算（2305 / 2208）",
            )
        cancel_opened(call, visit)
        return f"已撤销就诊 {visit.mdtrt_id}"
    if oinfno == "2402":
        return _undo_discharge(call, original)
    raise Refused("oinfno", f"原交易编号（oinfno）：交易 {oinfno} 不能冲正")


def _undo_discharge(call: Call, original: ExchangeMessage) -> str:
    request = original.request if isinstance(original.request, dict) else {}
    node = (
        (request.get("input") or {}).get("dscginfo")
        if isinstance(request.get("input"), dict)
        else None
    )
    mdtrt_id = node.get("mdtrt_id") if isinstance(node, dict) else None
    visit = call.session.scalar(
        select(Visit)
        .where(Visit.mdtrt_id == str(mdtrt_id), Visit.hospital_id == call.institution.id)
        .with_for_update()
    )
    if visit is None:
        raise Refused("omsgid", "原发送方报文ID（omsgid）：找不到原出院办理的就诊")
    if visit.state == "open":
        return "出院已撤销，无需再冲正"
    by = visit.details.get("dscg_message_id") if isinstance(visit.details, dict) else None
    if by is not None and by != original.id:  # undone (2405), then discharged anew
        return "原出院办理已撤销，就诊现在的出院办理来自另一报文，无需再冲正"
    if visit.state != "discharged":
        raise Refused("omsgid", "原发送方报文ID（omsgid）：就诊已结算，请先撤销结算（2305）")
    visit.state, visit.endtime, visit.dscg_way = "open", None, None
    visit.updated_at = call.received_at
    return f"已撤销就诊 {visit.mdtrt_id} 的出院办理"
