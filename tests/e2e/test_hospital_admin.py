"""Adding and editing hospitals (issue 10.11): a bureau admin registers an institution
in its own districts and edits name, level and district with a reason; the code is
fixed; lists priced after a level change use the new level; every change is audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests import builders as b
from tests.builders.settlement import login, publish_standards, settlement_list, standards_table
from yibao.accounts.roles import Role
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.regions.models import Hospital

HTML = {"accept": "text/html"}


@pytest.fixture()
def city(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    b.region(db, "990100")
    b.region(db, "990102")
    b.region(db, "990103")
    b.region(db, "990201")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    b.user(db, Role.BUREAU_ADMIN, region_code="990103", username="district")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    db.commit()
    login(client, "admin")
    return client


def _post(client, path: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(
        path,
        data={"csrf_token": client.headers["x-csrf-token"], **data},
        headers=HTML,
        follow_redirects=False,
    )


def test_register_and_edit_a_hospital(city, db):  # type: ignore[no-untyped-def]
    client = city
    page = client.get("/hospitals", headers=HTML)
    assert 'data-testid="hospital-create"' in page.text
    r = _post(
        client, "/hospitals", code="H99010200077", name="新区医院", level="2", region_code="990102"
    )
    assert r.status_code == 303, r.text[:500]
    r = _post(
        client, "/hospitals", code="H99010200077", name="重复", level="2", region_code="990102"
    )
    assert r.status_code == 409 and "已登记" in r.text
    for bad, word in (
        ({"code": "X123"}, "机构编码"),
        ({"level": "4"}, "医院等级"),
        ({"region_code": "990201"}, "不在您的辖区"),
        ({"region_code": "990100"}, "不是已登记的区县"),
    ):
        data = {"code": "H99010200078", "name": "某医院", "level": "1", "region_code": "990102"}
        r = _post(client, "/hospitals", **{**data, **bad})
        assert r.status_code in (403, 422) and word in r.text, (bad, r.status_code)

    r = _post(
        client, "/hospitals/H99010200077", name="新区人民医院", level="3", region_code="990103"
    )
    assert r.status_code == 422 and "原因" in r.text
    r = _post(
        client,
        "/hospitals/H99010200077",
        name="新区人民医院",
        level="3",
        region_code="990103",
        reason="评审升级为三级",
    )
    assert r.status_code == 303
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    h = db.scalar(select(Hospital).where(Hospital.code == "H99010200077"))
    assert (h.name, h.level, h.region_code) == ("新区人民医院", "3", "990103")
    audit = db.scalars(select(AuditLog).where(AuditLog.object_type == "hospital")).all()
    assert [a.action for a in audit] == ["hospital.create", "hospital.update"]
    assert audit[1].before["level"] == "2" and audit[1].after["reason"] == "评审升级为三级"


def test_a_code_must_carry_its_districts_region(city, db):  # type: ignore[no-untyped-def]
    """The walk registered H12345678901 in 990102: the code is H, the district's 6-digit
    医保区划 and a 5-digit serial, so a code of another shape or district is refused."""
    client = city
    data = {"name": "某医院", "level": "1", "region_code": "990102"}
    for code, words in (
        ("H12345678901", "中的医保区划 123456 与所在区县测试区划990102（990102）不符"),
        ("H99010300001", "该区县的机构编码须以 H990102 开头"),  # the next district's
        ("H9901020001", "须为 12 位"),
        ("H990102ABCDE", "须为 12 位"),
    ):
        r = _post(client, "/hospitals", code=code, **data)
        assert r.status_code == 422 and "机构编码：" in r.text and words in r.text, (
            code,
            r.text.split("form-error", 1)[-1][:300],
        )
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    assert db.scalar(select(Hospital.id)) is None
    r = _post(client, "/hospitals", code="h99010200001", **data)  # a lower-case h reads as H
    assert r.status_code == 303, r.text[:300]
    assert db.scalar(select(Hospital.code)) == "H99010200001"


def test_only_admins_of_the_region_manage_hospitals(city, db):  # type: ignore[no-untyped-def]
    client = city
    set_scope(db, SYSTEM_SCOPE)
    h = b.hospital(db, "990102", level="2")
    db.commit()
    login(client, "district")  # 990103 cannot see a 990102 hospital
    assert client.get(f"/hospitals/{h.code}", headers=HTML).status_code == 404
    r = _post(client, "/hospitals", code="H99010200079", name="x", level="1", region_code="990102")
    assert r.status_code == 403
    login(client, "analyst")
    assert "hospital-create" not in client.get("/hospitals", headers=HTML).text
    assert client.get(f"/hospitals/{h.code}", headers=HTML).status_code == 403


def test_a_level_change_prices_later_lists_by_the_new_level(city, db):  # type: ignore[no-untyped-def]
    """Standards differ by level (三级 12,000, 二级 9,000); a list priced before the
    upgrade keeps its standard, one priced after uses the new level's."""
    client = city
    set_scope(db, SYSTEM_SCOPE)
    h = b.hospital(db, "990102", level="2")
    b.user(db, Role.HOSPITAL_USER, hospital=h, username="hosp")
    rates = {"1": Decimal(8000), "2": Decimal(9000), "3": Decimal(12000)}
    publish_standards(db, standards_table(base_rates=rates), valid_from=date(2020, 1, 1))
    db.commit()

    def send() -> Decimal:
        login(client, "hosp")
        msg = settlement_list(
            h.code,
            discharge=date(2025, 6, 1),
            diagnoses=("F03.x00", "Q85.900x038"),
            total_cost="10000",
            los_days=6,
            age=65,
        )
        r = client.post("/api/settlement/lists", json=msg)
        assert r.status_code == 200, r.text
        return Decimal(r.json()["lists"][0]["drg_payment"])

    assert send() == Decimal("9000.00")
    login(client, "admin")
    r = _post(
        client, f"/hospitals/{h.code}", name=h.name, level="3", region_code="990102", reason="升级"
    )
    assert r.status_code == 303
    assert send() == Decimal("12000.00")


def test_the_edit_page_opens_with_the_hospital_filled_in(city, db):  # type: ignore[no-untyped-def]
    """The page an administrator reaches from the register (no form posted yet) shows
    the hospital's current name, level and district, and an empty reason."""
    client = city
    set_scope(db, SYSTEM_SCOPE)
    h = b.hospital(db, "990102", name="城南医院", level="2")
    db.commit()
    r = client.get(f"/hospitals/{h.code}", headers=HTML)
    assert r.status_code == 200, r.text[:300]
    assert 'value="城南医院"' in r.text
    assert '<option value="2" selected>' in r.text
    assert 'name="reason" maxlength="500" value=""' in r.text
