"""One deduction per fee line (ADR 0041) over HTTP, on SQLite and PostgreSQL: several
rules that flag the same fee line of the same visit deduct it once, at most the largest
amount any of them claimed on it, whichever is finalised first and however much each
was upheld; other lines of the visit, the same line id in another visit and findings
without lines are not affected; a finding with nothing left is covered (已维持，同一
明细已扣款) with its history saying so; the expiry sweep and two hospital sessions
accepting at once respect the same cap."""

from __future__ import annotations

import itertools
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.builders.settlement import demo_world
from tests.e2e.test_supervision_findings import MONTH, _as, _at
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.regions.models import Hospital
from yibao.settlement.models import SettlementAuditDeduction
from yibao.supervision.findings.models import Finding, FindingEvent

D = Decimal
LINE = "947.02"
_seq = itertools.count(1)


class World:
    """The demo region and a way to store rule findings on chosen fee lines."""

    def __init__(self, client: Any, db: Any) -> None:
        self.client, self.db = client, db
        codes = demo_world(db)
        set_scope(db, SYSTEM_SCOPE)
        self.hospitals = {
            user: db.scalar(select(Hospital).where(Hospital.code == code))
            for user, code in codes.items()
        }

    def finding(
        self,
        lines: list[tuple[str, str]],
        *,
        mdtrt_id: str = "V1",
        user: str = "hosp01",
        source: str = "rule",
        rule_id: str | None = None,
    ) -> int:
        """A 待公示 finding with violating ``lines`` (rx_id, amount) and one involved line
        of 0.00; its amount is the sum of the violating lines."""
        n = next(_seq)
        h = self.hospitals[user]
        amount = sum((D(a) for _, a in lines), D("0.00"))
        set_scope(self.db, SYSTEM_SCOPE)
        row = Finding(
            jr_id=f"dedupe{n:026d}",
            source=source,
            rule_id=rule_id or f"LNK{n:02d}",
            rule_version=1,
            rule_name=f"关联缺失规则 {n}",
            family="linkage",
            result_type="definite",
            sev_deg=3,
            hospital_id=h.id,
            region_code=h.region_code,
            hospital_code=h.code,
            period=MONTH,
            psn_no="P1",
            mdtrt_id=mdtrt_id,
            vola_cont=f"测试疑点 {n}",
            vola_evid="测试依据",
            vola_amt=amount,
            lines=[
                *({"rx_id": rx, "vola_item_type": 1, "vola_amt": a} for rx, a in lines),
                {"rx_id": "INVOLVED", "vola_item_type": 2, "vola_amt": "0.00"},
            ]
            if source == "rule"
            else [],
        )
        self.db.add(row)
        self.db.commit()
        return row.id

    def publish(self, *ids: int) -> None:
        _as(self.client, "reviewer")
        r = self.client.post("/api/supervision/findings/publish", json={"ids": list(ids)})
        assert r.status_code == 200, r.text

    def accept(self, finding_id: int, user: str = "hosp01") -> dict[str, Any]:
        _as(self.client, user)
        r = self.client.post(f"/api/supervision/findings/{finding_id}/accept", json={})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def deductions(self) -> dict[int, SettlementAuditDeduction]:
        self.db.expire_all()
        set_scope(self.db, SYSTEM_SCOPE)
        return {d.finding_id: d for d in self.db.scalars(select(SettlementAuditDeduction))}

    def total(self) -> Decimal:
        return sum((d.amount for d in self.deductions().values()), D("0.00"))


@pytest.fixture()
def world(client, db, monkeypatch):  # type: ignore[no-untyped-def]
    _at(monkeypatch, date(2025, 2, 16))
    return World(client, db)


def test_four_rules_on_one_line_deduct_it_once(world):  # type: ignore[no-untyped-def]
    """The defect: four rules flag one 947.02 line; the hospital accepts all four.
    Before ADR 0041 each became its own deduction (3,788.08 元)."""
    ids = [world.finding([("R1", LINE)]) for _ in range(4)]
    world.publish(*ids)
    answers = [world.accept(i) for i in ids]

    assert world.total() == D(LINE)
    rows = world.deductions()
    assert list(rows) == [ids[0]] and rows[ids[0]].amount == D(LINE)
    assert rows[ids[0]].lines == [{"rx_id": "R1", "amount": LINE}]
    first = answers[0]
    assert first["state"] == "deducted" and D(str(first["deducted_amount"])) == D(LINE)
    for later in answers[1:]:
        # decided at its amount, deducted nothing, final and saying why
        assert later["state"] == "covered" and later["state_label"] == "已维持（同一明细已扣款）"
        assert D(str(later["final_amount"])) == D(LINE) and later["deducted_period"] is None
        assert later["deducted_amount"] is None and later["actions"] == []
        assert [e["action"] for e in later["events"]] == ["publish", "accept", "cover"]
        cover = later["events"][-1]
        assert cover["reason"].startswith("同一明细已扣款，本疑点不再扣款")
        assert f"同一费用明细已由疑点 {ids[0]} 扣款 {LINE} 元" in cover["reason"]
        assert cover["details"]["covered_by"] == [ids[0]]

    # the page says why nothing more was deducted
    page = world.client.get(f"/supervision/findings/{ids[1]}", headers={"accept": "text/html"}).text
    assert "已维持（同一明细已扣款）" in page and "本疑点不再扣款" in page

    # the statement's 智能审核扣款 is the line once
    _as(world.client, "reviewer")
    code = world.hospitals["hosp01"].code
    one = world.client.get(f"/api/settlement/periods/{MONTH}/statements/{code}")
    assert one.status_code == 200, one.text
    assert D(one.json()["statement"]["audit_deductions"]) == D(LINE)
    assert [a["finding_id"] for a in one.json()["audit_deductions"]] == [ids[0]]

    # the audit log records the cover step
    from yibao.audit.models import AuditLog

    logged = world.db.scalars(
        select(AuditLog).where(AuditLog.action == "finding.cover").order_by(AuditLog.id)
    ).all()
    assert [a.object_id for a in logged] == [str(i) for i in ids[1:]]


@pytest.mark.parametrize("order", ["price_first", "quantity_first"])
def test_different_portions_take_the_largest(world, order):  # type: ignore[no-untyped-def]
    """超标准收费 claims 30.00 of the line, 超用量 200.00: whichever comes first, 200.00
    is deducted in all; the second one's reason names the first."""
    price = world.finding([("R1", "30.00")])
    quantity = world.finding([("R1", "200.00")])
    world.publish(price, quantity)
    first, second = (price, quantity) if order == "price_first" else (quantity, price)
    world.accept(first)
    later = world.accept(second)

    rows = world.deductions()
    assert world.total() == D("200.00")
    if order == "price_first":
        assert rows[price].amount == D("30.00") and rows[quantity].amount == D("170.00")
        assert f"同一费用明细已由疑点 {price} 扣款 30.00 元，不重复扣款" in rows[quantity].reason
        assert "实扣 170.00 元" in rows[quantity].reason
        assert later["state"] == "deducted" and D(str(later["final_amount"])) == D("200.00")
        assert D(str(later["deducted_amount"])) == D("170.00")
        page = world.client.get(
            f"/supervision/findings/{quantity}", headers={"accept": "text/html"}
        ).text
        assert "实扣 170.00" in page
        deduct = later["events"][-1]
        assert deduct["action"] == "deduct" and D(str(deduct["amount"])) == D("170.00")
        assert deduct["details"]["decided"] == "200.00"
        assert deduct["details"]["covered_by"] == [price]
    else:
        assert list(rows) == [quantity] and rows[quantity].amount == D("200.00")
        assert later["state"] == "covered" and D(str(later["final_amount"])) == D("30.00")


def test_partial_upholding_stays_under_the_cap(world, monkeypatch):  # type: ignore[no-untyped-def]
    """A finding upheld at 初审 at 50 %, then two more on the same line: the line is
    never deducted above its largest claim."""
    half, full, again = (world.finding([("R1", LINE)]) for _ in range(3))
    world.publish(half, full, again)
    _as(world.client, "hosp01")
    r = world.client.post(f"/api/supervision/findings/{half}/appeal", data={"reason": "部分合理"})
    assert r.status_code == 200, r.text
    _as(world.client, "reviewer")
    r = world.client.post(
        f"/api/supervision/findings/{half}/first-decision",
        json={"decision": "uphold", "amount": "473.51", "reason": "维持一半"},
    )
    assert r.status_code == 200, r.text
    accepted = world.accept(half)
    assert accepted["state"] == "deducted" and D(str(accepted["deducted_amount"])) == D("473.51")
    assert world.deductions()[half].lines == [{"rx_id": "R1", "amount": "473.51"}]

    rest = world.accept(full)
    assert D(str(rest["deducted_amount"])) == D("473.51")  # the room left, not 947.02
    assert world.accept(again)["state"] == "covered"
    assert world.total() == D(LINE)


def test_other_lines_visits_and_lineless_findings_are_not_affected(world):  # type: ignore[no-untyped-def]
    first = world.finding([("R1", LINE)])
    other_line = world.finding([("R2", "300.00")])
    other_visit = world.finding([("R1", LINE)], mdtrt_id="V2")
    other_hospital = world.finding([("R1", LINE)], user="hosp02")
    lineless = world.finding([("R1", LINE)], source="detector", rule_id="DRG-SHIFT")
    two_lines = world.finding([("R1", LINE), ("R3", "52.98")])  # 1000.00 on two lines
    world.publish(first, other_line, other_visit, other_hospital, lineless, two_lines)
    for i in (first, other_line, other_visit, lineless, two_lines):
        world.accept(i)
    world.accept(other_hospital, user="hosp02")

    rows = world.deductions()
    got = {i: rows[i].amount for i in rows}
    assert got == {
        first: D(LINE),
        other_line: D("300.00"),
        other_visit: D(LINE),
        other_hospital: D(LINE),
        lineless: D(LINE),
        two_lines: D("52.98"),
    }
    assert rows[lineless].lines == []
    assert rows[two_lines].lines == [
        {"rx_id": "R1", "amount": "0.00"},
        {"rx_id": "R3", "amount": "52.98"},
    ]
    assert f"同一费用明细已由疑点 {first} 扣款 {LINE} 元" in rows[two_lines].reason
    assert all("不重复" not in rows[i].reason for i in rows if i != two_lines)


def test_expiry_sweep_caps_the_line(world, monkeypatch):  # type: ignore[no-untyped-def]
    """Three findings on one line pass their deadline: the sweep upholds all three,
    deducts the line once and covers the other two."""
    ids = [world.finding([("R1", LINE)]) for _ in range(3)]
    world.publish(*ids)
    _at(monkeypatch, date(2025, 2, 27))
    _as(world.client, "reviewer")
    assert world.client.post("/api/supervision/findings/expire").json() == {"expired": 3}
    assert world.total() == D(LINE)
    world.db.expire_all()
    states = [world.db.get(Finding, i).state for i in ids]
    assert states == ["deducted", "covered", "covered"]
    assert all(world.db.get(Finding, i).final_kind == "expired" for i in ids)


def test_racing_acceptances_share_the_line(world, engine):  # type: ignore[no-untyped-def]
    """Two hospital sessions accept two findings on the same line at once: the visit's
    findings are locked before the room is computed, so the line is deducted once."""
    from yibao.accounts.models import User
    from yibao.accounts.service import actor_of
    from yibao.db.scoping import Scope
    from yibao.db.session import session_factory, writer
    from yibao.supervision.findings.service import do_accept

    ids = [world.finding([("R1", LINE)]) for _ in range(2)]
    world.publish(*ids)
    make = session_factory(writer(engine))
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def accept(finding_id: int) -> None:
        with make() as s:
            user = s.scalar(select(User).where(User.username == "hosp01"))
            set_scope(s, Scope(hospital_id=user.hospital_id))
            s.commit()  # end the read (on SQLite it holds the write lock) before racing
            barrier.wait()
            row = do_accept(s, finding_id, reason=None, user=user, actor=actor_of(user))
            s.commit()
            outcomes.append(row.state)

    threads = [threading.Thread(target=accept, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["covered", "deducted"], outcomes
    assert world.total() == D(LINE)
    set_scope(world.db, SYSTEM_SCOPE)
    assert (
        world.db.scalar(select(func.count(FindingEvent.id)).where(FindingEvent.action == "cover"))
        == 1
    )


def test_migration_gives_existing_deductions_no_lines(tmp_path):  # type: ignore[no-untyped-def]
    """0039 adds ``lines`` to the deductions already written: an empty list each."""
    import json
    import sqlite3

    from yibao.db import migrate

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url, "0038")
    with sqlite3.connect(path) as conn:  # foreign keys off: the deduction row alone
        conn.execute(
            "INSERT INTO settlement_audit_deductions (id, finding_id, hospital_id, region_code,"
            " jr_id, rule_id, hospital_code, period_code, amount, reason, created_by,"
            " created_at) VALUES (1, 7, 1, '990100', 'jr', 'LNK01', 'H1', '2025-02', 947.02,"
            " '旧扣款', 'test', '2025-02-16 10:00:00')"
        )
    migrate.upgrade(url)
    with sqlite3.connect(path) as conn:
        (lines,) = conn.execute("SELECT lines FROM settlement_audit_deductions").fetchone()
    assert json.loads(lines) == []
