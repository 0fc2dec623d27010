"""4101A 医疗保障基金结算清单信息上传: the list goes to settlement-list intake, exactly
as one sent to ``POST /api/settlement/lists`` (QC, versions, grouping, pricing); the
output reports the list's state and findings."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from yibao.engines.exchange import Refused
from yibao.engines.exchange.messages import ListFinding, ListUploadIn, ListUploadOut
from yibao.engines.settlement.states import STATE_LABELS
from yibao.exchange.models import Settlement, Visit
from yibao.exchange.registry import Call
from yibao.grouping.plans import plan_registry
from yibao.settlement.intake import do_intake_lists

#: the lists' ``source``: received through the HIS gateway
SOURCE = "his"
#: findings reported in the output (the list's page has them all)
MAX_FINDINGS = 20
STATE_NAMES = {state.value: name for state, name in STATE_LABELS.items()}


#: the list's figures that must agree with the gateway's settlement of the same id
AGREED = {
    "medfee_sumamt": "医疗费总额",
    "fund_pay_sumamt": "基金支付总额",
    "acct_pay": "个人账户支出",
    "psn_cash_pay": "个人现金支出",
}


def _not_anothers(call: Call, setlinfo: dict[str, Any]) -> None:
    """A settlement id or visit id the gateway gave another institution is that
    institution's stay: a list naming it would claim the stay a second time (the
    gateway's ids are unique across institutions; looked up across them, ids only)."""
    me = call.institution.id
    setl_id = str(setlinfo.get("setl_id") or "").strip()
    mdtrt_id = str(setlinfo.get("mdtrt_id") or "").strip()
    checks = (
        ("setl_id", setl_id, Settlement.hospital_id, Settlement.setl_id, "结算"),
        ("mdtrt_id", mdtrt_id, Visit.hospital_id, Visit.mdtrt_id, "就诊"),
    )
    for name, value, owner, column, what in checks:
        if not value:
            continue
        found = call.session.scalar(
            select(owner).where(column == value).execution_options(skip_scope=True)
        )
        if found is not None and found != me:
            raise Refused(
                f"setlinfo.{name}",
                f"结算清单被拒收：{what} {value} 是其他定点医疗机构经本平台办理的{what}，"
                "不能由本机构上传其结算清单",
            )


def _agrees_with_settlement(call: Call, setlinfo: dict[str, Any]) -> None:
    """A list of a stay settled through this gateway carries that settlement's
    person and figures, and the settlement is not reversed; a list of a stay settled
    elsewhere (a batch from before the gateway) is not checked here — unless the
    gateway settled it for another institution (:func:`_not_anothers`)."""
    _not_anothers(call, setlinfo)
    setl_id = str(setlinfo.get("setl_id") or "").strip()
    if not setl_id:
        return
    row = call.session.scalar(
        select(Settlement).where(
            Settlement.setl_id == setl_id, Settlement.hospital_id == call.institution.id
        )
    )
    if row is None:
        return
    if row.state != "settled":
        raise Refused(
            "setlinfo.setl_id", f"结算清单被拒收：结算 {setl_id} 已撤销，不能上传其结算清单"
        )
    psn_no = str(setlinfo.get("psn_no") or "").strip()
    if psn_no and psn_no != row.psn_no:
        raise Refused(
            "setlinfo.psn_no",
            f"结算清单被拒收：人员编号 {psn_no} 与结算 {setl_id} 的参保人 {row.psn_no} 不符",
        )
    for name in AGREED:
        given = setlinfo.get(name)
        if given is None or str(given).strip() == "":
            continue
        try:
            value = Decimal(str(given).strip())
        except InvalidOperation:
            continue  # intake's QC names a value that is no number
        stored = getattr(row, name)
        if value != stored:
            raise Refused(
                f"setlinfo.{name}",
                f"结算清单被拒收：{AGREED[name]}（setlinfo.{name}）为 {value}，"
                f"与实时结算 {setl_id} 的 {stored} 不符",
            )


def upload_list(call: Call, data: ListUploadIn) -> ListUploadOut:
    """Receive one settlement list.  Held (qc_failed) is an answer (infcode 0, with
    its findings); refused by intake (another institution's list, a list in a
    confirmed settlement …) or disagreeing with the gateway's settlement of the same
    stay is a refusal, and nothing is stored."""
    _agrees_with_settlement(call, data.setlinfo)
    message = data.model_dump(exclude_none=True)
    (outcome,) = do_intake_lists(
        call.session,
        [message],
        registry=plan_registry(call.settings),
        actor=call.actor,
        source=SOURCE,
    )
    if outcome.state == "refused" or outcome.list_id is None:
        first = outcome.findings[0] if outcome.findings else {}
        raise Refused(
            first.get("field") or "input.setlinfo",
            f"结算清单被拒收：{first.get('message') or '不能接收'}",
        )
    return ListUploadOut(
        setl_list_id=str(outcome.list_id),
        setl_id=outcome.setl_id,
        state=outcome.state,
        state_name=STATE_NAMES.get(outcome.state, outcome.state),
        version=outcome.version,
        drg=outcome.drg,
        findings=[
            ListFinding(
                rule_id=f["rule_id"],
                severity=f["severity"],
                field=f.get("field"),
                message=f["message"],
            )
            for f in outcome.findings[:MAX_FINDINGS]
        ],
    )
