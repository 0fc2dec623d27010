"""The settlement-list state machine: every move allowed or refused, with Chinese errors."""

from __future__ import annotations

import itertools

import pytest

from yibao.engines.settlement import (
    ACTION_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
    TRANSITIONS,
    Action,
    IllegalTransition,
    Role,
    SettlementError,
    State,
    Transition,
    allowed_actions,
    transition,
)

ALLOWED = {(t.source, t.action): t for t in TRANSITIONS}
REFUSED = [(s, a) for s, a in itertools.product(State, Action) if (s, a) not in ALLOWED]


def test_labels_cover_everything() -> None:
    assert set(STATE_LABELS) == set(State)
    assert set(ACTION_LABELS) == set(Action)
    assert set(ROLE_LABELS) == set(Role)
    assert len(ALLOWED) == len(TRANSITIONS)  # one target per (state, action)


@pytest.mark.parametrize("t", TRANSITIONS, ids=lambda t: f"{t.source}-{t.action}")
def test_every_allowed_transition(t: Transition) -> None:
    for role in t.roles:
        assert transition(t.source, t.action, role, reason="原因") == t.target
        assert transition(t.source.value, t.action.value, role.value, reason="x") == t.target
    for role in set(Role) - t.roles:
        with pytest.raises(IllegalTransition) as err:
            transition(t.source, t.action, role, reason="原因")
        assert f"角色「{ROLE_LABELS[role]}」不能在状态" in err.value.message
        assert "允许的角色" in err.value.message
        assert err.value.http_status == 409


@pytest.mark.parametrize(
    "t", [t for t in TRANSITIONS if t.needs_reason], ids=lambda t: f"{t.source}-{t.action}"
)
def test_reason_is_required(t: Transition) -> None:
    role = sorted(t.roles)[0]
    for reason in (None, "", "   "):
        with pytest.raises(IllegalTransition, match=r"必须填写原因（reason）"):
            transition(t.source, t.action, role, reason=reason)


def test_transitions_without_reason_need_none() -> None:
    for t in TRANSITIONS:
        if not t.needs_reason:
            assert transition(t.source, t.action, sorted(t.roles)[0]) == t.target


@pytest.mark.parametrize(("state", "action"), REFUSED, ids=lambda v: str(v))
def test_every_other_move_is_refused(state: State, action: Action) -> None:
    for role in Role:
        with pytest.raises(IllegalTransition) as err:
            transition(state, action, role, reason="原因")
        message = err.value.message
        assert message.startswith(f"结算清单当前状态为「{STATE_LABELS[state]}」")
        assert f"不能执行「{ACTION_LABELS[action]}」" in message
        assert f"({state.value})" not in message and f"({action.value})" not in message
        options, mine = allowed_actions(state), allowed_actions(state, role)
        if mine:  # only what this role may do is offered
            assert all(f"「{ACTION_LABELS[o.action]}」" in message for o in mine)
            others = {o.action for o in options} - {o.action for o in mine}
            assert not any(f"可执行的操作：「{ACTION_LABELS[a]}」" in message for a in others)
        elif options:
            assert "本角色没有可执行的操作" in message
        else:
            assert "终态" in message
        assert (err.value.state, err.value.action, err.value.role) == (
            state.value,
            action.value,
            role.value,
        )


def test_whole_lifecycle_paths() -> None:
    s = State.INTAKE
    for action, role, reason in (
        ("qc_fail", "system", "主要诊断为空"),
        ("resubmit", "hospital", None),
        ("group", "system", None),
        ("price", "system", None),
        ("apply_special", "hospital", None),
        ("reject_special", "expert", "不符合条件"),
        ("file_appeal", "hospital", "使用了新技术"),
        ("uphold_appeal", "bureau", None),
        ("confirm", "bureau", None),
        ("pay", "finance", None),
    ):
        s = transition(s, action, role, reason=reason)
    assert s is State.PAID
    s = State.UNDER_REVIEW
    for action, role, reason in (
        ("adjust", "reviewer", "超标准收费"),
        ("file_appeal", "hospital", "收费合规"),
        ("reject_appeal", "reviewer", "证据不足"),
        ("confirm", "system", None),
    ):
        s = transition(s, action, role, reason=reason)
    assert s is State.CONFIRMED


def test_allowed_actions_and_terminal_state() -> None:
    actions = {t.action for t in allowed_actions("under_review", "reviewer")}
    assert actions == {Action.APPROVE, Action.RETURN, Action.ADJUST}
    assert {t.action for t in allowed_actions("under_review", "hospital")} == {Action.APPLY_SPECIAL}
    assert allowed_actions(State.PAID) == ()
    assert TRANSITIONS[0].label == "已接收 —质控不通过→ 质控未通过（挂起）"


def test_unknown_names() -> None:
    with pytest.raises(SettlementError, match=r"state：不认识的取值 'nowhere'（可选：intake、"):
        transition("nowhere", "approve", "reviewer")
    with pytest.raises(SettlementError, match="action：不认识的取值"):
        transition("intake", "fly", "system")
    with pytest.raises(SettlementError, match="role：不认识的取值"):
        transition("intake", "group", "mayor")


def test_amounts_typed_as_the_pages_show_them_are_read() -> None:
    from decimal import Decimal

    from yibao.kit.errors import ValidationFailed
    from yibao.settlement.review import parse_amount

    assert parse_amount("20,000.00") == Decimal("20000.00")
    assert parse_amount("1,234,567.5") == Decimal("1234567.50")
    for bad in ("20,00.00", "2,0000", ",100"):  # not grouped by thousands: no one reading
        with pytest.raises(ValidationFailed):
            parse_amount(bad)
    with pytest.raises(ValidationFailed) as err:
        parse_amount("abc", "amount", "核定金额")
    assert err.value.message.startswith("核定金额 amount 应为数字")
