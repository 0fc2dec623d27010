"""The demo's real-time audits (issue 13 item 4, seed requirement): synthetic 3101 /
3102 requests of the demo hospitals over the last month, answered and stored by the
real service — so each stored answer is what the rule set in force finds again — a
minority warned, doctors' feedback on some warnings, none dated in the future, all
removed by the reset."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from yibao.config import get_settings
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.audit_traffic import seed_realtime_audits
from yibao.demo.seed import CITY, reset_demo, seed_demo
from yibao.engines.audit.messages import AuditIn
from yibao.engines.audit.realtime import read_request
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital
from yibao.supervision import runtime
from yibao.supervision.realtime.models import AuditFeedback, AuditFinding, AuditRequest


def test_demo_requests_are_answered_by_the_service_and_removed_by_reset(db) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=11, years=[2024], cases_per_year=30)
    result = seed_realtime_audits(db, CITY, seed=11, settings=get_settings(), count=150)
    db.commit()
    assert result.refused == 0 and result.requests == 150
    requests = db.scalars(select(AuditRequest)).all()
    assert len(requests) == 150 and len({r.hospital_id for r in requests}) > 5
    assert 0 < result.warned < 75  # a minority of prescriptions warned
    findings = db.scalar(select(func.count()).select_from(AuditFinding))
    assert findings == result.findings == sum(r.findings for r in requests)
    assert db.scalar(select(func.count()).select_from(AuditFeedback)) == result.feedback > 0
    now = utcnow()
    today = local(now).date()
    for r in requests:
        assert r.received_at <= now and r.answered_at == r.received_at
        assert today - local(r.received_at).date() < timedelta(days=30)
        assert {r.stage, r.infno} in ({"pre", "3101"}, {"mid", "3102"})
    # each stored answer is what the rule set finds again for that request
    warned = next(r for r in requests if r.findings)
    data = AuditIn.model_validate(warned.request)
    hospital = db.get(Hospital, warned.hospital_id)
    req = read_request(warned.infno, data.data, str(hospital.level))
    current = runtime.current(db, CITY, req.on)
    assert current.rule_set_id == warned.rule_set_id
    again = current.ruleset.audit(
        req.claim, stage=req.stage, trig_scen=req.trig_scen, history=list(req.sent_history)
    )
    assert sorted(f.jr_id for f in again) == sorted(f["jr_id"] for f in warned.result["result"])
    assert {f["rule_id"] for f in warned.result["result"]} == set(
        db.scalars(select(AuditFinding.rule_id).where(AuditFinding.request_id == warned.id))
    )
    assert data.data.patient_dtos[0].fsi_encounter_dtos[0].mdtrt_id == warned.mdtrt_id
    reset_demo(db)
    db.commit()
    for model in (AuditRequest, AuditFinding, AuditFeedback):
        assert db.scalar(select(func.count()).select_from(model)) == 0
