"""Special cases (特例单议) and appeals (申诉) against the money house rule.

Each test drives the service functions in the order the HTTP endpoints do, on a list
built by the test builders, and checks the rows (list, application, appeal, audit)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import builders as b
from tests.builders.settlement import approved_list
from yibao.audit.service import Actor
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import session_factory
from yibao.kit.errors import DomainError
from yibao.settlement import special
from yibao.settlement.models import (
    SettlementAdjustment,
    SettlementConfirmation,
    SettlementList,
    SpecialCaseApplication,
)
from yibao.settlement.review import do_adjust_list, do_revert_adjustment
from yibao.settlement.special import (
    do_apply_special_case,
    do_decide_appeal,
    do_decide_special_case,
    do_file_appeal,
)
from yibao.settlement.tasks import confirm_period

REVIEWER = Actor(None, "审核员甲")
REVIEWER_B = Actor(None, "审核员乙")
DISCHARGE = date(2024, 3, 10)


@pytest.fixture()
def setup(db: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    b.region(db)
    h = b.hospital(db)
    row = approved_list(db, h, discharge_date=DISCHARGE, payment="8000.00", state="priced")
    users = [
        b.user(db, "bureau_reviewer", username="rev_a"),
        b.user(db, "bureau_reviewer", username="rev_b"),
        b.user(db, "hospital_user", hospital=h, username="hosp_a"),
    ]
    db.commit()
    global REVIEWER, REVIEWER_B
    REVIEWER = Actor(users[0].id, "审核员甲", region_code="990100")
    REVIEWER_B = Actor(users[1].id, "审核员乙", region_code="990100")
    # the special-case clock: inside the application window of a March discharge
    monkeypatch.setattr(special, "CLOCK", lambda: datetime(2024, 3, 20, 2, tzinfo=UTC))
    hosp = Actor(users[2].id, "医院经办", hospital_id=h.id, region_code=h.region_code)
    return {"hospital": h, "list_id": row.id, "hosp": hosp, "var": tmp_path}


def _apply(db: Session, s: dict) -> SpecialCaseApplication:  # type: ignore[type-arg]
    app = do_apply_special_case(
        db,
        s["list_id"],
        reason="使用新技术",
        new_tech=True,
        files=[],
        user_role="hospital_user",
        actor=s["hosp"],
        var_dir=s["var"],
    )
    db.commit()
    return app


def _special_rejected_twice(db: Session, s: dict) -> None:  # type: ignore[type-arg]
    """A special case applied and rejected, its appeal filed and rejected: the list
    ends in ``appeal_rejected``."""
    app = _apply(db, s)
    do_decide_special_case(
        db,
        app.id,
        approve=False,
        method=None,
        amount=None,
        reason="不符合条件",
        user_role="bureau_reviewer",
        actor=REVIEWER,
    )
    appeal = do_file_appeal(
        db, s["list_id"], reason="有新技术证明", user_role="hospital_user", actor=s["hosp"]
    )
    do_decide_appeal(
        db,
        appeal.id,
        uphold=False,
        reason="维持不通过",
        method=None,
        amount=None,
        user_role="bureau_reviewer",
        actor=REVIEWER_B,
    )
    db.commit()


def test_special_approval_without_reason_moves_money(db, setup):  # type: ignore[no-untyped-def]
    """Approving a special case re-prices the list (here to the case's total cost,
    10,000 instead of 8,000): money changes, so a reason must be required."""
    app = _apply(db, setup)
    with pytest.raises(DomainError):
        do_decide_special_case(
            db,
            app.id,
            approve=True,
            method="items",
            amount=None,
            reason=None,
            user_role="bureau_reviewer",
            actor=REVIEWER,
        )


def test_special_amount_has_no_upper_bound(db, setup):  # type: ignore[no-untyped-def]
    """按核定金额 accepts any amount up to 10^16 yuan: a case that cost 10,000 yuan
    is paid 9,000,000 yuan and its fund part scaled to 6.3 million — far above the
    whole bill.  The decided amount must be bounded (at most the case's total cost)."""
    app = _apply(db, setup)
    with pytest.raises(DomainError):
        do_decide_special_case(
            db,
            app.id,
            approve=True,
            method="amount",
            amount="9000000.00",
            reason="专家组核定",
            user_role="bureau_reviewer",
            actor=REVIEWER,
        )


def test_upheld_appeal_without_reason_restores_payment(db, setup):  # type: ignore[no-untyped-def]
    """Upholding an appeal of a deduction pays the list its pricing again (money
    moves up by the deduction) but takes no reason."""
    lid = setup["list_id"]
    do_adjust_list(
        db,
        lid,
        reason="高套分组",
        drg_payment="7000.00",
        user_role="bureau_reviewer",
        actor=REVIEWER,
    )
    db.commit()
    appeal = do_file_appeal(
        db, lid, reason="分组正确", user_role="hospital_user", actor=setup["hosp"]
    )
    db.commit()
    with pytest.raises(DomainError):
        do_decide_appeal(
            db,
            appeal.id,
            uphold=True,
            reason=None,
            method=None,
            amount=None,
            user_role="bureau_reviewer",
            actor=REVIEWER_B,
        )


def test_decided_appeal_can_be_decided_again(db, setup):  # type: ignore[no-untyped-def]
    """An appeal already rejected is decided a second time (upheld) when a later
    appeal puts the list back in ``appealed``: the old appeal flips rejected →
    upheld, the pending new one is never decided."""
    lid = setup["list_id"]
    do_adjust_list(
        db,
        lid,
        reason="高套分组",
        drg_payment="7000.00",
        user_role="bureau_reviewer",
        actor=REVIEWER,
    )
    first = do_file_appeal(
        db, lid, reason="分组正确", user_role="hospital_user", actor=setup["hosp"]
    )
    do_decide_appeal(
        db,
        first.id,
        uphold=False,
        reason="理由不成立",
        method=None,
        amount=None,
        user_role="bureau_reviewer",
        actor=REVIEWER_B,
    )
    do_revert_adjustment(db, lid, reason="重新审核", user_role="bureau_reviewer", actor=REVIEWER)
    do_adjust_list(
        db,
        lid,
        reason="高套分组",
        drg_payment="7500.00",
        user_role="bureau_reviewer",
        actor=REVIEWER,
    )
    second = do_file_appeal(
        db, lid, reason="仍有异议", user_role="hospital_user", actor=setup["hosp"]
    )
    db.commit()
    first_id = first.id
    assert second.status == "pending"
    with pytest.raises(DomainError):
        do_decide_appeal(
            db,
            first_id,
            uphold=True,
            reason="改判",
            method=None,
            amount=None,
            user_role="bureau_reviewer",
            actor=REVIEWER_B,
        )


def test_rejected_special_appeal_blocks_confirmation(db, engine, setup):  # type: ignore[no-untyped-def]
    """A special case rejected, appealed and the appeal rejected ends in
    ``appeal_rejected`` without an adjustment.  The confirmation takes that state as
    an adjusted one and refuses the whole chunk: the period can never be confirmed."""
    lid = setup["list_id"]
    _special_rejected_twice(db, setup)
    assert db.scalar(select(SettlementList.state).where(SettlementList.id == lid)) == (
        "appeal_rejected"
    )
    confirm_period(
        session_factory(engine),
        region_code="990100",
        period_code="2024-03",
        actor=Actor(None, "system"),
    )
    db.expire_all()
    paid = db.scalars(select(SettlementConfirmation).where(SettlementConfirmation.list_id == lid))
    [row] = list(paid)
    assert row.amount_paid == Decimal("8000.00")


def test_decided_special_case_cannot_be_decided_again(db, setup):  # type: ignore[no-untyped-def]
    """A special case already rejected is not decided a second time, even when its
    list is ``special_applied`` again (here: put back by hand, as a data repair or a
    later application would): the old application is refused with 已处理 and nothing
    moves; a pending application of the same list is decided normally."""
    lid = setup["list_id"]
    first = _apply(db, setup)
    first_id = first.id
    do_decide_special_case(
        db,
        first_id,
        approve=False,
        method=None,
        amount=None,
        reason="不符合新技术条件",
        user_role="bureau_reviewer",
        actor=REVIEWER,
    )
    db.commit()
    db.get(SettlementList, lid).state = "special_applied"  # type: ignore[union-attr]
    db.commit()
    with pytest.raises(DomainError) as refused:
        do_decide_special_case(
            db,
            first_id,
            approve=True,
            method="items",
            amount=None,
            reason="改判",
            user_role="bureau_reviewer",
            actor=REVIEWER,
        )
    assert "已处理" in refused.value.message
    db.rollback()
    app = db.get(SpecialCaseApplication, first_id)
    assert app is not None and app.status == "rejected" and app.new_payment is None


def test_overturned_adjustment_is_not_paid_later(db, engine, setup):  # type: ignore[no-untyped-def]
    """A deduction (8,000 → 7,000) overturned by an upheld appeal is no longer in
    force: when the list later ends in ``appeal_rejected`` through a rejected special
    case, the confirmation pays the pricing (8,000), not the overturned 7,000; the
    adjustment row says 申诉成立 and who decided."""
    lid = setup["list_id"]
    adj = do_adjust_list(
        db,
        lid,
        reason="高套分组",
        drg_payment="7000.00",
        user_role="bureau_reviewer",
        actor=REVIEWER,
    )
    adj_id = adj.id
    appeal = do_file_appeal(
        db, lid, reason="分组正确", user_role="hospital_user", actor=setup["hosp"]
    )
    do_decide_appeal(
        db,
        appeal.id,
        uphold=True,
        reason="病历支持原分组",
        method=None,
        amount=None,
        user_role="bureau_reviewer",
        actor=REVIEWER_B,
    )
    db.commit()
    _special_rejected_twice(db, setup)
    confirm_period(
        session_factory(engine),
        region_code="990100",
        period_code="2024-03",
        actor=Actor(None, "system"),
    )
    db.expire_all()
    [row] = db.scalars(select(SettlementConfirmation).where(SettlementConfirmation.list_id == lid))
    assert row.amount_paid == Decimal("8000.00")
    overturned = db.get(SettlementAdjustment, adj_id)
    assert overturned is not None and overturned.status == "overturned"
    assert overturned.decided_by_name == "审核员乙"
    assert overturned.decision_reason == "病历支持原分组"
