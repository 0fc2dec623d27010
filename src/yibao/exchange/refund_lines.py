"""The charges that an upload's refund lines take back (退费, ADR 0045).

A refund line (negative amount) that names its charge by ``init_feedetl_sn`` is split
like that charge (:func:`yibao.engines.catalogue.classify.mirror_refund`).  The charge
is a line of the same upload or one stored on the same visit; the earlier refunds of a
stored charge are read with it.  A named charge the visit does not have, one that
was cancelled, or one already settled (a refund in a later charge batch could never be
settled: its batch would be negative; the settlement is reversed instead) is refused
with the field named.
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
    own = {line.feedetl_sn: line for line in lines}
    named = {
        (line.init_feedetl_sn or "").strip(): i
        for i, line in enumerate(lines)
        if line.det_item_fee_sumamt < 0 and (line.init_feedetl_sn or "").strip()
    }
    if visit.kind == "otp":
        for sn, i in named.items():
            if sn in own:
                _same_batch(lines[i], i, sn, own[sn].chrg_bchno)
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
        if charge.state == "settled":  # its settlement stands: taken back only with it
            raise Refused(
                where,
                f"原费用流水号（{where}）：费用明细 {sn} 已结算，不能单独退费；"
                "请先撤销该次结算（门诊 2208，住院 2305），再退费后重新结算",
            )
        if visit.kind == "otp":
            _same_batch(lines[named[sn]], named[sn], sn, charge.chrg_bchno)
        before = Refunded()
        for r in rows:
            if r.init_feedetl_sn == sn and r.state != "cancelled":
                before = before.plus(_split(r))
        out[sn] = (_split(charge), before)
    return out


def _same_batch(line: FeeNode, i: int, sn: str, batch: str | None) -> None:
    """An outpatient refund goes in its charge's batch (门诊分次结算, ADR 0044): in
    another, that batch would be settled whole and the refund's batch negative."""
    given, wanted = (line.chrg_bchno or "").strip(), (batch or "").strip()
    if given != wanted:
        where = f"feedetail[{i}].chrg_bchno"
        raise Refused(
            where,
            f"收费批次号（{where}）：退费明细须与所退的费用明细 {sn} 同一收费批次"
            f"（{wanted or '无批次号'}），收到 {given or '无批次号'}",
        )


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
