"""The insured register over HTTP (ADR 0016): bureau users search the persons insured
under their region; ID numbers appear in full only for roles with "查看完整身份证号"
(bureau admins), masked for reviewers; other roles do not see the register."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests import builders as b
from tests.builders.insured import person
from tests.builders.settlement import login
from yibao.accounts.roles import Role
from yibao.audit.service import Actor
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.engines.insured import settlement_delta
from yibao.insured.service import do_post_settlement

HTML = {"accept": "text/html"}


@pytest.fixture()
def register(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    h = b.hospital(db, "990102")
    b.user(db, Role.HOSPITAL_USER, hospital=h, username="hosp")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    b.region(db, "990200")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990200", username="other")
    mine = person(db, "990103", name="测试本地", balance="880.00")
    far = person(db, "980102", insutype="390", name="测试外省")
    do_post_settlement(
        db,
        psn_no=mine.psn_no,
        year=2025,
        ref="S-API-1",
        delta=settlement_delta(
            medfee_sumamt=Decimal("5000.00"),
            inscp_scp_amt=Decimal("4500.00"),
            act_pay_dedc=Decimal("800.00"),
            funds={"310100": Decimal("2960.00")},
            acct_pay=Decimal("80.00"),
            psn_cash_pay=Decimal("1960.00"),
        ),
        actor=Actor(None, "test"),
    )
    db.commit()
    return {"client": client, "mine": mine, "far": far}


def test_admin_sees_full_numbers_reviewer_masked(register) -> None:  # type: ignore[no-untyped-def]
    client, mine = register["client"], register["mine"]
    masked = mine.certno[:6] + "********" + mine.certno[-4:]
    login(client, "admin")
    items = client.get("/api/insured/persons").json()["items"]
    assert [p["psn_no"] for p in items] == [mine.psn_no]  # 980102's person is not 990100's
    assert items[0]["certno"] == mine.certno and not items[0]["certno_masked"]
    assert Decimal(items[0]["balc"]) == Decimal("800.00")
    detail = client.get(f"/api/insured/persons/{mine.psn_no}?year=2025").json()
    figures = {r["cum_type_code"]: Decimal(r["cum"]) for r in detail["cumulative"]}
    assert figures["act_pay_dedc"] == Decimal("800.00") and figures["ipt_cnt"] == 1
    assert figures["fund:310100"] == Decimal("2960.00")
    assert [p["ref"] for p in detail["postings"]] == ["S-API-1"]
    page = client.get(f"/insured/{mine.psn_no}?year=2025", headers=HTML)
    assert mine.certno in page.text and "职工基本医疗保险统筹基金支付" in page.text
    login(client, "reviewer")
    items = client.get("/api/insured/persons").json()["items"]
    assert items[0]["certno"] == masked and items[0]["certno_masked"]
    detail = client.get(f"/api/insured/persons/{mine.psn_no}").json()
    assert detail["certno"] == masked
    for path in ("/insured", f"/insured/{mine.psn_no}"):
        text = client.get(path, headers=HTML).text
        assert masked in text and mine.certno not in text
    # the full number finds the person, but is not shown back
    found = client.get("/api/insured/persons", params={"q": mine.certno}).json()
    assert found["total"] == 1 and found["items"][0]["certno"] == masked


def test_region_and_role_scope(register) -> None:  # type: ignore[no-untyped-def]
    client, mine = register["client"], register["mine"]
    login(client, "other")  # 990200 sees neither 990100's nor 980100's people
    assert client.get("/api/insured/persons").json()["total"] == 0
    assert client.get(f"/api/insured/persons/{mine.psn_no}").status_code == 404
    for username in ("analyst", "hosp"):
        login(client, username)
        assert client.get("/api/insured/persons").status_code == 403
        assert client.get("/insured", headers=HTML).status_code == 403
