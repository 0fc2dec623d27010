"""4101A 医疗保障基金结算清单信息上传: the list goes to settlement-list intake, exactly
as one sent to ``POST /api/settlement/lists`` (QC, versions, grouping, pricing); the
output reports the list's state and findings."""

from __future__ import annotations

from yibao.engines.exchange import Refused
from yibao.engines.exchange.messages import ListFinding, ListUploadIn, ListUploadOut
from yibao.engines.settlement.states import STATE_LABELS
from yibao.exchange.registry import Call
from yibao.grouping.plans import plan_registry
from yibao.settlement.intake import do_intake_lists

#: the lists' ``source``: received through the HIS gateway
SOURCE = "his"
#: findings reported in the output (the list's page has them all)
MAX_FINDINGS = 20
STATE_NAMES = {state.value: name for state, name in STATE_LABELS.items()}


def upload_list(call: Call, data: ListUploadIn) -> ListUploadOut:
    """Receive one settlement list.  Held (qc_failed) is an answer (infcode 0, with
    its findings); refused by intake (another institution's list, a list in a
    confirmed settlement …) is a refusal, and nothing is stored."""
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
