"""The insured register at the service (SQLite / PostgreSQL, ADR 0016): the 1101 answer
for a certificate or a person number, and settlements posted to a person's figures and
account and reversed exactly — once, whatever runs in parallel."""

from __future__ import annotations

import re
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.builders.insured import person
from yibao.audit.models import AuditLog
from yibao.audit.service import Actor
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import session_factory, writer
from yibao.engines.insured import Delta, PersonQuery, settlement_delta, total_of
from yibao.insured import repository
from yibao.insured.models import InsuredPosting
from yibao.insured.service import do_post_settlement, do_reverse_settlement
from yibao.kit.errors import Conflict, NotFound, ValidationFailed

D = Decimal
ACTOR = Actor(None, "gateway-test")


def _delta(fee: str, fund: str, acct: str = "0", ded: str = "800.00") -> Delta:
    return settlement_delta(
        medfee_sumamt=D(fee),
        inscp_scp_amt=(D(fee) * D("0.9")).quantize(D("0.01")),
        act_pay_dedc=D(ded),
        funds={"310100": D(fund)},
        acct_pay=D(acct),
        psn_cash_pay=D(fee) - D(fund) - D(acct),
    )


@pytest.fixture()
def people(db: Session) -> dict[str, Any]:
    set_scope(db, SYSTEM_SCOPE)
    worker = person(db, "990102", balance="1000.00", name="测试甲", identity=None)
    resident = person(db, "980102", insutype="390", gend="2", identity="2102", name="测试乙")
    db.commit()
    return {"worker": worker, "resident": resident}


def test_1101_by_certificate_or_person_number(db: Session, people) -> None:  # type: ignore[no-untyped-def]
    worker, resident = people["worker"], people["resident"]
    q = PersonQuery(mdtrt_cert_type="02", mdtrt_cert_no=worker.certno, psn_name="测试甲")
    out = repository.person_info(db, q, on=date(2025, 5, 17))
    assert out.baseinfo.psn_no == worker.psn_no and out.baseinfo.certno == worker.certno
    assert out.baseinfo.age == 45 and out.baseinfo.gend == "1"
    (insu,) = out.insuinfo
    assert (insu.insutype, insu.balc, insu.insuplc_admdvs) == ("310", D("1000.00"), "990102")
    assert out.idetinfo == []
    # by psn_no, masked for a caller who may not see ID numbers; a resident has no account
    res = repository.person_info(db, psn_no=resident.psn_no, reveal_ids=False)
    assert res.baseinfo.certno == resident.certno[:6] + "********" + resident.certno[-4:]
    assert res.insuinfo[0].balc == D("0.00") and res.idetinfo[0].psn_idet_type == "2102"
    # the envelope's insured place must be the person's pooling region
    assert repository.person_info(db, psn_no=resident.psn_no, insuplc_admdvs="980100")
    with pytest.raises(ValidationFailed, match="参保地 990100 与该人员的参保地 980102 不符"):
        repository.person_info(db, psn_no=resident.psn_no, insuplc_admdvs="990100")


@pytest.mark.parametrize(
    ("query", "error", "words"),
    [
        ({"mdtrt_cert_type": "01", "mdtrt_cert_no": "x"}, ValidationFailed, "暂不支持"),
        ({"mdtrt_cert_type": "09"}, ValidationFailed, "须为 01、02 或 03"),
        ({"mdtrt_cert_type": "02"}, ValidationFailed, "不能为空"),
        (
            {"mdtrt_cert_type": "02", "mdtrt_cert_no": "110105194912310021"},
            ValidationFailed,
            "校验位",
        ),
        (
            {"mdtrt_cert_type": "02", "mdtrt_cert_no": "11010519491231002X"},
            NotFound,
            re.escape("110105********002X"),
        ),
        (
            {"mdtrt_cert_type": "02", "psn_name": "别人"},
            ValidationFailed,
            "人员姓名（psn_name）：与参保登记的姓名不符",
        ),
    ],
)
def test_1101_refusals(db: Session, people, query, error, words) -> None:  # type: ignore[no-untyped-def]
    if query.get("psn_name"):
        query["mdtrt_cert_no"] = people["worker"].certno
    with pytest.raises(error, match=words) as caught:
        repository.person_info(db, PersonQuery(**query))
    assert "11010519491231002X" not in caught.value.message  # never a full ID in a refusal


def test_post_and_reverse_restore_exactly(db: Session, people) -> None:  # type: ignore[no-untyped-def]
    worker = people["worker"]
    first, second = _delta("12000.00", "7360.00", "300.00"), _delta("500.00", "0.00", "20.50", "0")
    do_post_settlement(db, psn_no=worker.psn_no, year=2025, ref="S1", delta=first, actor=ACTOR)
    do_post_settlement(db, psn_no=worker.psn_no, year=2025, ref="S2", delta=second, actor=ACTOR)
    db.commit()
    assert repository.account_balance(db, worker.id) == D("679.50")
    both = repository.cumulative(db, worker.id, 2025)
    assert both == total_of(2025, [first, second])
    assert both.deductible_paid == D("800.00") and both.get("ipt_cnt") == 2
    posting = do_reverse_settlement(db, ref="S1", actor=ACTOR, cause="MSG-2305")
    db.commit()
    assert posting.balc_after == D("979.50") and posting.cause == "MSG-2305"
    assert repository.cumulative(db, worker.id, 2025) == total_of(2025, [second])
    do_reverse_settlement(db, ref="S2", actor=ACTOR)
    db.commit()
    assert repository.cumulative(db, worker.id, 2025).values == {}
    assert repository.account_balance(db, worker.id) == D("1000.00")
    ledger = db.scalars(select(InsuredPosting).order_by(InsuredPosting.id)).all()
    assert [(p.kind, p.ref) for p in ledger] == [
        ("settle", "S1"),
        ("settle", "S2"),
        ("reverse", "S1"),
        ("reverse", "S2"),
    ]
    assert total_of(2025, [Delta.from_json(p.deltas) for p in ledger]).values == {}
    actions = db.scalars(select(AuditLog.action).where(AuditLog.object_type == "insured_person"))
    assert sorted(actions) == ["insured.settlement.post"] * 2 + ["insured.settlement.reverse"] * 2


def test_refusals_change_nothing(db: Session, people) -> None:  # type: ignore[no-untyped-def]
    worker, resident = people["worker"], people["resident"]
    post = do_post_settlement
    post(
        db,
        psn_no=worker.psn_no,
        year=2025,
        ref="S1",
        delta=_delta("100.00", "10.00", "50.00"),
        actor=ACTOR,
    )
    db.commit()
    before = (repository.cumulative(db, worker.id, 2025), repository.account_balance(db, worker.id))
    cases = [
        (
            Conflict,
            "已计入参保人累计",
            {"psn_no": worker.psn_no, "ref": "S1", "delta": _delta("1.00", "0")},
        ),
        (
            Conflict,
            "余额不足：余额 950.00 元，本次支付 951.00 元",
            {"psn_no": worker.psn_no, "ref": "S2", "delta": _delta("2000.00", "0", "951.00")},
        ),
        (
            Conflict,
            "没有个人账户",
            {"psn_no": resident.psn_no, "ref": "S3", "delta": _delta("10.00", "0", "1.00")},
        ),
        (
            NotFound,
            "未找到人员编号",
            {"psn_no": "NOBODY", "ref": "S4", "delta": _delta("1.00", "0")},
        ),
        (
            ValidationFailed,
            "不能为负数",
            {"psn_no": worker.psn_no, "ref": "S5", "delta": _delta("1.00", "0").negated()},
        ),
    ]
    for error, words, kw in cases:
        with pytest.raises(error, match=words):
            post(db, year=2025, actor=ACTOR, **kw)
        db.rollback()
    assert (
        repository.cumulative(db, worker.id, 2025),
        repository.account_balance(db, worker.id),
    ) == before
    assert db.scalar(select(func.count()).select_from(InsuredPosting)) == 1
    do_reverse_settlement(db, ref="S1", actor=ACTOR)
    db.commit()
    with pytest.raises(Conflict, match="已撤销，不能重复撤销"):
        do_reverse_settlement(db, ref="S1", actor=ACTOR)
    db.rollback()
    with pytest.raises(NotFound, match="没有计入参保人累计的结算 S9"):
        do_reverse_settlement(db, ref="S9", actor=ACTOR)
    db.rollback()
    assert repository.account_balance(db, worker.id) == D("1000.00")


def test_parallel_postings_of_one_person_lose_nothing(engine: Engine, db: Session, people) -> None:  # type: ignore[no-untyped-def]
    worker = people["worker"]
    refs = [f"P{i}" for i in range(8)] + ["P0", "P1"]  # two retries of earlier settlements
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(refs))

    def settle(ref: str) -> None:
        session = session_factory(writer(engine))()
        set_scope(session, SYSTEM_SCOPE)
        try:
            start.wait()
            do_post_settlement(
                session,
                psn_no=worker.psn_no,
                year=2025,
                ref=ref,
                delta=_delta("100.00", "60.00", "25.00", "10.00"),
                actor=ACTOR,
            )
            session.commit()
            result = "ok"
        except Conflict:
            session.rollback()
            result = "conflict"
        finally:
            session.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=settle, args=(r,)) for r in refs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["conflict"] * 2 + ["ok"] * 8
    db.expire_all()
    figures = repository.cumulative(db, worker.id, 2025)
    assert figures.get("medfee_sumamt") == D("800.00") and figures.get("ipt_cnt") == 8
    assert figures.fund_paid("310100") == D("480.00")
    assert repository.account_balance(db, worker.id) == D("800.00")
