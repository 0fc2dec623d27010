"""Who may create whom (issue 9, no privilege escalation): for every pair of roles and
every place (own region, parent, sibling district, own / other hospital), over HTTP,
plus the rule itself (``check_can_create``) for every pair of roles."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests import builders as b
from tests.builders.settlement import login
from yibao.accounts.models import User
from yibao.accounts.roles import Permission, Role, has_permission
from yibao.accounts.service import ROLE_RANK, check_can_create
from yibao.accounts.tokens import do_create_api_token
from yibao.kit.errors import Forbidden

_names = itertools.count(1)
CITY, OWN, SIBLING = "990100", "990102", "990103"


@pytest.fixture()
def world(db):  # type: ignore[no-untyped-def]
    h_own = b.hospital(db, OWN, code="H99010200001")
    b.hospital(db, SIBLING, code="H99010300001")
    creators = {
        "city_admin": b.user(db, Role.BUREAU_ADMIN, region_code=CITY, username="city_admin"),
        "district_admin": b.user(db, Role.BUREAU_ADMIN, region_code=OWN, username="district_admin"),
        "analyst": b.user(db, Role.BUREAU_ANALYST, region_code=OWN, username="analyst"),
        "reviewer": b.user(db, Role.BUREAU_REVIEWER, region_code=OWN, username="reviewer"),
        "rule_admin": b.user(db, Role.RULE_ADMIN, region_code=OWN, username="rule_admin"),
        "hospital_user": b.user(db, Role.HOSPITAL_USER, hospital=h_own, username="hosp"),
        "his_client": b.user(db, Role.HIS_CLIENT, hospital=h_own, username="his"),
    }
    token = do_create_api_token(db, creators["his_client"], "t", actor=b.TEST_ACTOR)
    db.commit()
    return creators, token


def _places(role: Role) -> list[tuple[str, dict[str, str]]]:
    if role.is_hospital:
        return [("own_hospital", {"hospital_code": "H99010200001"}),
                ("other_hospital", {"hospital_code": "H99010300001"})]  # fmt: skip
    return [("city", {"region_code": CITY}), ("own", {"region_code": OWN}),
            ("sibling", {"region_code": SIBLING})]  # fmt: skip


def _expected(creator: str, role: Role, place: str) -> int:
    if creator not in ("city_admin", "district_admin"):
        return 403  # no permission to manage users at all
    if creator == "city_admin":
        return 201
    return 201 if place in ("own", "own_hospital") else 403


def test_every_creator_role_and_place(client, db, world):  # type: ignore[no-untyped-def]
    creators, token = world
    clients = {}
    for name in creators:
        if name == "his_client":
            c = TestClient(client.app)
            c.headers["Authorization"] = f"Bearer {token}"
        else:
            c = TestClient(client.app)
            login(c, creators[name].username, b.PASSWORD)
        clients[name] = c
    wrong = []
    for name, role in itertools.product(creators, Role):
        for place, where in _places(role):
            body = {"username": f"new{next(_names)}", "password": "Longpassw0rd",
                    "role": role.value, **where}  # fmt: skip
            r = clients[name].post("/api/users", json=body)
            want = _expected(name, role, place)
            if r.status_code != want:
                wrong.append((name, role.value, place, r.status_code, r.text[:120]))
            elif want == 403:
                assert "无权" in r.text or "辖区外" in r.text or "不能" in r.text, r.text
    assert not wrong, wrong


def test_the_reported_escalation_is_refused(client, db, world):  # type: ignore[no-untyped-def]
    """A district admin asking for a city admin, with a hospital code of its own district
    to skip the region check: refused, nothing stored."""
    login(client, "district_admin", b.PASSWORD)
    before = db.scalar(select(func.count()).select_from(User))
    body = {"username": "sneaky", "password": "Longpassw0rd", "role": "bureau_admin",
            "region_code": CITY, "hospital_code": "H99010200001"}  # fmt: skip
    r = client.post("/api/users", json=body)
    assert r.status_code == 403, r.text
    assert "辖区外" in r.json()["error"]["message"]
    assert db.scalar(select(func.count()).select_from(User)) == before
    # the same through the page
    page = client.get("/admin/users", headers={"accept": "text/html"}).text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {**body, "csrf_token": token, "display_name": ""}
    r = client.post("/admin/users", data=form, headers={"accept": "text/html"})
    assert r.status_code == 403 and "辖区外" in r.text
    assert db.scalar(select(func.count()).select_from(User)) == before


@pytest.mark.parametrize(("mine", "theirs"), list(itertools.product(Role, Role)))
def test_rank_rule_for_every_pair(db, mine: Role, theirs: Role) -> None:  # type: ignore[no-untyped-def]
    """The rule alone, for all 36 pairs: a role at or below one's own, never above."""
    hospital = b.hospital(db, OWN)
    creator = User(
        username="x",
        role=mine.value,
        region_code=None if mine.is_hospital else CITY,
        hospital_id=hospital.id if mine.is_hospital else None,
    )
    region = None if theirs.is_hospital else OWN
    target_hospital = hospital if theirs.is_hospital else None
    allowed = ROLE_RANK[theirs] <= ROLE_RANK[mine] and not (mine.is_hospital and theirs.is_bureau)
    if allowed:
        check_can_create(creator, theirs, region, target_hospital)
    else:
        with pytest.raises(Forbidden):
            check_can_create(creator, theirs, region, target_hospital)
    # only administrators reach the rule through the API at all
    assert has_permission(mine, Permission.MANAGE_USERS) == (mine is Role.BUREAU_ADMIN)
