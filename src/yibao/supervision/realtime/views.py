"""Read models of the stored real-time audits, shared by the JSON API and the pages:
a list row, and one request with what the HIS sent (diagnoses, order lines), what it
was answered (the findings with their lines), the doctor's feedback on each, and the
post-audit findings of the same visit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from yibao.engines.audit.messages import STAGE_NAMES, TRIG_SCENES
from yibao.regions.models import Hospital
from yibao.supervision.findings.service import state_text
from yibao.supervision.realtime import repository
from yibao.supervision.realtime.models import AuditFeedback, AuditFinding, AuditRequest
from yibao.supervision.realtime.repository import DSPO_WORDS


def request_row(row: AuditRequest, hospital_code: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "task_id": row.task_id,
        "received_at": row.received_at,
        "hospital_code": hospital_code,
        "infno": row.infno,
        "stage": row.stage,
        "stage_name": STAGE_NAMES.get(row.stage, row.stage),
        "trig_scen": row.trig_scen,
        "trig_scen_name": TRIG_SCENES.get(row.trig_scen or 0, ""),
        "psn_no": row.psn_no,
        "mdtrt_id": row.mdtrt_id,
        "findings": row.findings,
        "vola_amt": row.vola_amt,
        "rule_set_version": row.rule_set_version,
        "via": row.via,
    }


def _feedback(fb: AuditFeedback) -> dict[str, Any]:
    return {
        "dspo_way": fb.dspo_way,
        "dspo_way_name": DSPO_WORDS.get(fb.dspo_way, fb.dspo_way),
        "reason": fb.reason,
        "opter": fb.opter,
        "received_at": fb.received_at,
    }


def _finding(f: AuditFinding, feedback: list[AuditFeedback]) -> dict[str, Any]:
    return {
        "id": f.id,
        "jr_id": f.jr_id,
        "rule_id": f.rule_id,
        "rule_version": f.rule_version,
        "rule_name": f.rule_name,
        "result_type": f.result_type,
        "sev_deg": f.sev_deg,
        "vola_cont": f.vola_cont,
        "vola_amt": f.vola_amt,
        "lines": f.lines or [],
        "feedback": [_feedback(fb) for fb in feedback if fb.finding_id == f.id],
    }


def _encounters(request: Any) -> list[dict[str, Any]]:
    """The encounters the HIS sent (diagnoses, orders, operations), as stored."""
    data = request.get("data", {}) if isinstance(request, dict) else {}
    out: list[dict[str, Any]] = []
    for patient in data.get("patient_dtos") or []:
        for enc in patient.get("fsi_encounter_dtos") or []:
            out.append(
                {
                    "mdtrt_id": enc.get("mdtrt_id"),
                    "current": enc.get("mdtrt_id") == patient.get("curr_mdtrt_id"),
                    "adm_date": enc.get("adm_date"),
                    "dept": enc.get("adm_dept_codg"),
                    "diagnoses": enc.get("fsi_diagnose_dtos") or [],
                    "orders": enc.get("fsi_order_dtos") or [],
                    "operations": enc.get("fsi_operation_dtos") or [],
                }
            )
    return out


def request_detail(
    session: Session, request_id: int, *, published_only: bool = False
) -> dict[str, Any]:
    """One stored request; ``published_only`` (a hospital) lists only the post-audit
    findings of the visit that were published to it."""
    row, hospital = repository.get_request(session, request_id)
    feedback = repository.feedback_of(session, row.id)
    patient = (row.request or {}).get("data", {}).get("patient_dtos") or [{}]
    return {
        **request_row(row, hospital.code),
        "hospital_name": hospital.name,
        "answered_at": row.answered_at,
        "msgid": row.msgid,
        "rule_set_id": row.rule_set_id,
        "knowledge_id": row.knowledge_id,
        "admdvs": row.admdvs,
        "rule_ids": row.rule_ids,
        "gend": patient[0].get("gend"),
        "brdy": patient[0].get("brdy"),
        "encounters": _encounters(row.request),
        "result": row.result,
        "found": [_finding(f, feedback) for f in repository.findings_of(session, row.id)],
        "post_findings": post_findings(session, hospital, row.mdtrt_id, published_only),
    }


def post_findings(
    session: Session, hospital: Hospital, visit: str, published_only: bool = False
) -> list[dict[str, Any]]:
    """The post-audit findings of the visit, for the link from a real-time request."""
    found = repository.post_findings_of_visit(session, hospital.code, visit)
    return [
        {
            "id": f.id,
            "rule_id": f.rule_id,
            "rule_name": f.rule_name,
            "period": f.period,
            "vola_amt": f.vola_amt,
            "state": f.state,
            "state_label": state_text(f),
            "published": f.published_at is not None,
        }
        for f in found
        if f.published_at is not None or not published_only
    ]


def warnings_of_visit(session: Session, hospital_id: int, visit: str) -> list[dict[str, Any]]:
    """What the doctors were told in real time about a visit and what they chose (for a
    post-audit finding's page: was this warned before, and continued anyway?)."""
    out = []
    for f, req, fb in repository.realtime_of_visit(session, hospital_id, visit):
        out.append(
            {
                "request_id": req.id,
                "received_at": req.received_at,
                "stage_name": STAGE_NAMES.get(req.stage, req.stage),
                "trig_scen_name": TRIG_SCENES.get(req.trig_scen or 0, ""),
                "rule_id": f.rule_id,
                "rule_name": f.rule_name,
                "vola_cont": f.vola_cont,
                "vola_amt": f.vola_amt,
                "feedback": _feedback(fb) if fb is not None else None,
            }
        )
    return out
