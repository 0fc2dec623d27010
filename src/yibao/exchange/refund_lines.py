"""The charges that an upload's refund lines take back (退费, ADR 0045).

A refund line (negative amount) that names its charge by ``init_feedetl_sn`` is split
like that charge (:func:`yibao.engines.catalogue.classify.mirror_refund`).  The charge
is a line of the same upload or one stored on the same visit; the earlier refunds of a
stored charge are read with it.  A named charge the visit does not have, or one that
was cancelled, is refused with the field named.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from yibao.engines.catalogue.classify import LineSplit, Refunded
from yibao.engines.catalogue.model import CLASS_C
from yibao.engines.exchange import Refused
from yibao.engines.exchange.visits import FeeNode
from yibao.exchange.models import Fee, Visit
from yibao.exchange.registry import Call

Charges = dict[str, tuple[LineSplit, Refunded]]


def refunded_charges(call: Call, visit: Visit, lines: list[FeeNode]) -> Charges:
    """The stored charges the refund lines of ``lines`` name, with what earlier
    refunds took from each; refuses a name that is neither stored nor in ``lines``."""
    own = {line.feedetl_sn for line in lines}
    named = {
        (line.init_feedetl_sn or "").strip(): i
        for i, line in enumerate(lines)
        if line.det_item_fee_sumamt < 0 and (line.init_feedetl_sn or "").strip()
    }
    wanted = [sn for sn in named if sn not in own]
    if not wanted:
        return {}
    rows = call.session.scalars(
        select(Fee).where(
            Fee.visit_id == visit.id,
            (Fee.feedetl_sn.in_(wanted)) | (Fee.init_feedetl_sn.in_(wanted)),
        )
    ).all()
    charges = {r.feedetl_sn: r for r in rows if r.feedetl_sn in wanted}
    out: Charges = {}
    for sn in wanted:
        where = f"feedetail[{named[sn]}].init_feedetl_sn"
        charge = charges.get(sn)
        if charge is None:
            raise Refused(where, f"原费用流水号（{where}）：本就诊没有流水号为 {sn} 的费用明细")
        if charge.state == "cancelled":
            raise Refused(where, f"原费用流水号（{where}）：费用明细 {sn} 已撤销，不能退费")
        before = Refunded()
        for r in rows:
            if r.init_feedetl_sn == sn and r.state != "cancelled":
                before = before.plus(_split(r))
        out[sn] = (_split(charge), before)
    return out


def _split(row: Fee) -> LineSplit:
    unknown = row.chrgitm_lv == CLASS_C and row.pric_uplmt_amt is None
    return LineSplit(
        ref=row.feedetl_sn,
        code=row.med_list_codg,
        name="",
        in_catalogue=not unknown,
        chrgitm_lv=row.chrgitm_lv,
        med_chrgitm_type=row.med_chrgitm_type,
        cnt=row.cnt,
        pric=row.pric,
        det_item_fee_sumamt=row.det_item_fee_sumamt,
        pric_uplmt_amt=row.pric_uplmt_amt,
        selfpay_prop=Decimal(row.selfpay_prop),
        fulamt_ownpay_amt=row.fulamt_ownpay_amt,
        overlmt_amt=row.overlmt_amt,
        preselfpay_amt=row.preselfpay_amt,
        inscp_scp_amt=row.inscp_scp_amt,
    )
