"""The CLI as a user runs it: help, wrong input gets a clear Chinese error."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from yibao.cli.main import app

runner = CliRunner()


@pytest.fixture()
def env(database_url, db, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    from yibao.config import get_settings
    from yibao.db.session import get_engine

    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    monkeypatch.setenv("YIBAO_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("serve", "db", "demo", "users", "bench", "cases"):
        assert cmd in result.output


def test_users_create_unknown_role_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        app,
        ["users", "create", "zed", "--role", "boss", "--region", "990100", "--password", "x" * 10],
    )
    assert result.exit_code == 2
    assert "未知角色" in result.output and "role" in result.output


def test_users_create_and_token(env, db) -> None:  # type: ignore[no-untyped-def]
    from tests import builders as b

    h = b.hospital(db, "990102")
    db.commit()
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "his9",
            "--role",
            "his_client",
            "--hospital",
            h.code,
            "--password",
            "Longpassw0rd",
            "--token",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ybt_" in result.output
    again = runner.invoke(
        app,
        [
            "users",
            "create",
            "his9",
            "--role",
            "his_client",
            "--hospital",
            h.code,
            "--password",
            "Longpassw0rd",
        ],
    )
    assert again.exit_code == 2 and "已存在" in again.output
    twin = runner.invoke(
        app,
        ["users", "create", "HIS9", "--role", "his_client", "--hospital", h.code,
         "--password", "Longpassw0rd"],
    )  # fmt: skip
    assert twin.exit_code == 2 and "已有用户 his9" in twin.output, twin.output
    token = runner.invoke(app, ["users", "token", "His9"])  # the lookup ignores case too
    assert token.exit_code == 0 and token.output.startswith("ybt_"), token.output


def test_users_create_keeps_the_password_rule(env, db) -> None:  # type: ignore[no-untyped-def]
    from tests import builders as b

    b.region(db, "990100")
    db.commit()
    weak = ["users", "create", "zed", "--role", "bureau_analyst", "--region", "990100"]
    result = runner.invoke(app, [*weak, "--password", "aaaaaaaa"])
    assert result.exit_code == 2 and "密码须包含" in result.output, result.output
    result = runner.invoke(app, [*weak, "--password", "Zed-2026x"])
    assert result.exit_code == 0, result.output


def test_demo_seed_rejects_bad_years(env) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["demo", "seed", "--years", "twenty"])
    assert result.exit_code == 2
    assert "--years" in result.output


def test_demo_seed_small_and_if_empty(env) -> None:  # type: ignore[no-untyped-def]
    first = runner.invoke(app, ["demo", "seed", "--cases-per-year", "30", "--years", "2025"])
    assert first.exit_code == 0, first.output
    assert "hosp01" in first.output and "Demo@2026" in first.output
    assert "结算演示：支付标准" in first.output and "待审核" in first.output
    _check_gateway_and_findings(first.output)
    second = runner.invoke(app, ["demo", "seed", "--if-empty"])
    assert second.exit_code == 0 and "跳过" in second.output
    # --reset removes the settlement workload too; --no-settlement seeds the history only
    third = runner.invoke(
        app,
        ["demo", "seed", "--reset", "--no-settlement", "--cases-per-year", "30", "--years", "2025"],
    )
    assert third.exit_code == 0, third.output
    assert "已删除演示数据" in third.output and "结算演示" not in third.output
    assert _counts() == {"settlements": 0, "messages": 0, "findings": 0, "deductions": 0}


def _counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from yibao.db.scoping import SYSTEM_SCOPE, set_scope
    from yibao.db.session import unit_of_work
    from yibao.exchange.models import ExchangeMessage, Settlement
    from yibao.settlement.models import SettlementAuditDeduction
    from yibao.supervision.findings.models import Finding

    tables = {
        "settlements": Settlement,
        "messages": ExchangeMessage,
        "findings": Finding,
        "deductions": SettlementAuditDeduction,
    }
    with unit_of_work() as session:
        set_scope(session, SYSTEM_SCOPE)
        return {
            k: int(session.scalar(select(func.count()).select_from(m)) or 0)
            for k, m in tables.items()
        }


def _check_gateway_and_findings(output: str) -> None:
    """The seed's HIS flows went through the gateway (local and cross-region, some
    reversed, reconciled) and the post-audit's findings were published and answered."""
    from sqlalchemy import select

    from yibao.db.scoping import SYSTEM_SCOPE, set_scope
    from yibao.db.session import unit_of_work
    from yibao.exchange.models import ExchangeMessage, Settlement
    from yibao.supervision.findings.models import Finding

    assert "实时结算演示（经交易接口）：流程 40，结算 40" in output, output
    assert "对总账 " in output and "不平" not in output
    counts = _counts()
    assert counts["settlements"] == 40 and counts["deductions"] == 1, counts
    with unit_of_work() as session:
        set_scope(session, SYSTEM_SCOPE)
        rows = session.scalars(select(Settlement)).all()
        assert {r.scope for r in rows} == {"local", "in_province", "out_of_province"}
        assert {r.kind for r in rows} == {"ipt", "otp"}
        assert sum(r.state == "reversed" for r in rows) == 5
        infnos = set(session.scalars(select(ExchangeMessage.infno)))
        assert {"9001", "1101", "2401", "2304", "2305", "2207", "2208", "3201"} <= infnos
        states = [f.state for f in session.scalars(select(Finding))]
        assert states.count("published") > 0 and states.count("deducted") == 1
        assert states.count("answered") == 1
