"""The findings workflow's pure parts (ADR 0024): the state machine's shape, attachment
checks, amounts and deadlines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from yibao.kit.errors import ValidationFailed
from yibao.supervision.findings.attachments import check_files
from yibao.supervision.findings.rules import FindingRules, deadline_from, upheld_amount
from yibao.supervision.findings.states import (
    FINAL,
    TRANSITIONS,
    Action,
    InvalidTransition,
    Side,
    State,
    allowed,
    transition,
)


def test_machine_shape() -> None:
    sources = {t.source for t in TRANSITIONS}
    targets = {t.target for t in TRANSITIONS}
    assert set(State) == sources | targets  # every state is used
    # final states lead nowhere, except upheld → deducted, or → covered when its fee
    # lines were already deducted by other findings (by the system, ADR 0041)
    outgoing = {(t.source, t.action) for t in TRANSITIONS if t.source in FINAL}
    assert outgoing == {(State.UPHELD, Action.DEDUCT), (State.UPHELD, Action.COVER)}
    # 复审 once: nothing leads back to first_upheld from second_review
    assert not any(
        t.source == State.SECOND_REVIEW and t.target == State.FIRST_UPHELD for t in TRANSITIONS
    )
    assert transition("new", Action.PUBLISH, Side.BUREAU) == State.PUBLISHED
    with pytest.raises(InvalidTransition) as exc:
        transition("new", Action.ACCEPT, Side.HOSPITAL)
    assert "待公示" in exc.value.message and "医疗机构" in exc.value.message
    with pytest.raises(InvalidTransition):
        transition("published", Action.PUBLISH, Side.HOSPITAL)  # the wrong side


def test_cover_is_a_final_system_step() -> None:
    """ADR 0041: an upheld finding whose fee lines are already deducted is covered."""
    assert transition("upheld", Action.COVER, Side.SYSTEM) == State.COVERED
    assert State.COVERED in FINAL
    assert all(allowed(State.COVERED, side) == [] for side in Side)
    with pytest.raises(InvalidTransition) as exc:
        transition("covered", Action.DEDUCT, Side.SYSTEM)
    assert "已维持（同一明细已扣款）" in exc.value.message
    with pytest.raises(InvalidTransition):
        transition("upheld", Action.COVER, Side.BUREAU)  # only the system covers


def test_attachment_checks() -> None:
    rules = FindingRules(max_attachments=2, max_attachment_bytes=10)
    assert check_files([("a/b\\证明.pdf", b"%PDF-1.4")], rules) == [
        ("证明.pdf", "pdf", b"%PDF-1.4")
    ]
    bad = [
        ([("x.pdf", b"%PDF")] * 3, "最多 2 个"),
        ([("x.pdf", b"%PDF-1.4 123456")], "超过上限"),
        ([("x.exe", b"MZ")], "类型不允许"),
        ([("x.png", b"%PDF")], "不符"),
        ([("x.txt", b"\xff\xfe")], "UTF-8"),
        ([("x.txt", b"")], "空文件"),
        ([("noext", b"abc")], "类型不允许"),
    ]
    for files, words in bad:
        with pytest.raises(ValidationFailed) as exc:
            check_files(files, rules)
        assert words in exc.value.message and exc.value.field == "files"


def test_amounts_and_deadlines() -> None:
    ceiling = Decimal("100.00")
    assert upheld_amount("99.5", ceiling, "初审") == Decimal("99.50")
    assert upheld_amount("0", ceiling, "初审") == Decimal("0.00")
    for value in (None, "", "abc", "100.01", "-0.01", "1.001", "NaN", "Infinity"):
        with pytest.raises(ValidationFailed) as exc:
            upheld_amount(value, ceiling, "初审")
        assert exc.value.field == "amount"
    assert deadline_from(date(2025, 2, 16), FindingRules()) == date(2025, 2, 26)
    working = FindingRules(answer_days=10, day_kind="working")
    assert deadline_from(date(2025, 2, 14), working) == date(2025, 2, 28)
