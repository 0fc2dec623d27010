"""Bulk intake (parse + QC in a worker process, pipelined with the database writes)
gives the same result as the one-call intake; raw messages are stored as objects;
a settlement id sent by two institutions in one batch is taken once (SQLite / PG)."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from tests.builders.settlement import PLAN_ID, demo_world, plan_registry
from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import session_factory
from yibao.engines.qc.bench import inject_errors, synthetic_lists
from yibao.grouping.models import CaseGrouping
from yibao.settlement.intake import do_intake_lists
from yibao.settlement.intake.bulk import intake_stream
from yibao.settlement.models import CasePricing, SettlementList, SettlementListVersion

ACTOR = Actor(None, "bulk-test")


def _messages(n: int, prefix: str) -> list[dict]:
    plan = plan_registry().get(PLAN_ID)
    messages, expected = inject_errors(synthetic_lists(n, plan, seed=5, year=2024), 0.2, seed=3)
    assert expected
    for i, m in enumerate(messages):
        m["setlinfo"]["setl_id"] = f"{prefix}{i:06d}"
    return messages


def _summary(db, prefix: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    rows = db.execute(
        select(
            SettlementList.setl_id,
            SettlementList.state,
            SettlementList.blocking,
            SettlementList.warnings,
            CaseGrouping.drg,
            CasePricing.payment_class,
            CasePricing.drg_payment,
            CasePricing.fund_amount,
        )
        .outerjoin(CaseGrouping, CaseGrouping.case_id == SettlementList.case_id)
        .outerjoin(CasePricing, CasePricing.case_id == SettlementList.case_id)
        .where(SettlementList.setl_id.startswith(prefix))
        .order_by(SettlementList.setl_id)
    ).all()
    return [(r[0][len(prefix) :], *r[1:]) for r in rows]


@pytest.mark.parametrize("workers", [0, 1])
def test_stream_equals_single_call(db, engine, settings, workers):  # type: ignore[no-untyped-def]
    demo_world(db)
    messages = _messages(240, "A")
    twins = [copy.deepcopy(m) for m in messages]
    for m in twins:  # other ids and other visits: not duplicates of the A lists (INTAKE07)
        m["setlinfo"]["setl_id"] = "B" + m["setlinfo"]["setl_id"][1:]
        m["setlinfo"]["mdtrt_id"] = "N" + str(m["setlinfo"]["mdtrt_id"])[1:]
    set_scope(db, SYSTEM_SCOPE)
    single = do_intake_lists(db, messages, registry=plan_registry(), actor=ACTOR)
    db.commit()
    sessions = session_factory(engine)
    chunks = [twins[i : i + 70] for i in range(0, len(twins), 70)]
    streamed = [
        o
        for outcomes in intake_stream(
            sessions, chunks, settings=settings, actor=ACTOR, scope=SYSTEM_SCOPE, workers=workers
        )
        for o in outcomes
    ]
    assert len(streamed) == len(single) == 240
    assert [o.state for o in streamed] == [o.state for o in single]
    assert {o.state for o in single} >= {"priced", "qc_failed"}
    assert [o.findings for o in streamed] == [o.findings for o in single]
    db.expire_all()
    assert _summary(db, "A") == _summary(db, "B")
    # the message is stored as received, as a JSON object, with the list's version
    row = db.scalar(select(SettlementList).where(SettlementList.setl_id == "B000007"))
    versions = select(SettlementListVersion).where(SettlementListVersion.list_id == row.id)
    assert db.scalar(versions).raw == json.loads(json.dumps(twins[7], ensure_ascii=False))
    dscg = twins[7]["setlinfo"]["dscg_time"]
    assert row.discharge_month == dscg[:7]


def test_same_new_id_from_two_institutions_is_each_ones_own(db):  # type: ignore[no-untyped-def]
    """Settlement ids are per hospital: the same new id from two institutions in one
    batch gives two lists and two cases, each grouped and priced from its own codes."""
    demo_world(db)
    messages = [m for m in _messages(200, "C") if m["setlinfo"]["gend"] in {"1", "2"}]
    codes: dict[str, dict] = {}
    for m in messages:  # a clean list of two different institutions
        codes.setdefault(m["setlinfo"]["fixmedins_code"], m)
    first, second = list(codes.values())[:2]
    alone = [
        do_intake_lists(db, [copy.deepcopy(m)], registry=plan_registry(), actor=ACTOR)[0]
        for m in (first, second)
    ]
    db.rollback()
    second = copy.deepcopy(second)
    second["setlinfo"]["setl_id"] = first["setlinfo"]["setl_id"]
    set_scope(db, SYSTEM_SCOPE)
    out = do_intake_lists(db, [first, second], registry=plan_registry(), actor=ACTOR)
    db.commit()
    assert [o.state for o in out] == [a.state for a in alone]
    assert [(o.drg, o.drg_payment) for o in out] == [(a.drg, a.drg_payment) for a in alone]
    setl_id = first["setlinfo"]["setl_id"]
    stored = db.scalars(select(Case).where(Case.setl_id == setl_id).order_by(Case.id)).all()
    assert [c.hospital_code for c in stored] == [
        first["setlinfo"]["fixmedins_code"],
        second["setlinfo"]["fixmedins_code"],
    ]
    for case, message in zip(stored, (first, second), strict=True):
        sent = sorted(d["diag_code"] for d in message["diseinfo"] if d.get("diag_code"))
        assert sorted(d.code for d in case.diagnoses) == sent
    assert db.scalar(select(func.count()).select_from(SettlementList)) == 2
