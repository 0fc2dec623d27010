"""Shared set-up of the 实时监控 scope tests (issue 15 item 1): the demo region with the
published test rules and two institutions talking to the platform — hosp01 (its HIS
his01) and a hospital of the other side of the district bureau's boundary (a HIS of
its own) — so that of the two, exactly one lies in ``district_reviewer``'s district.
Each sends real-time audits (3101 / 3102) and gateway visits (settled, open,
reversed) of today."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import builders as b
from tests.builders import audit as kit
from tests.builders.exchange import His, reverse_stay, token_of
from tests.builders.insured import person
from tests.builders.visits import make_world
from yibao.accounts.models import User
from yibao.accounts.roles import Role
from yibao.db.scoping import SYSTEM_SCOPE, region_prefix, set_scope
from yibao.exchange.models import Settlement, Visit
from yibao.regions.models import Hospital


def audit(client, his: His, who: Any, orders: list[dict[str, Any]], infno: str = "3101") -> Any:  # type: ignore[no-untyped-def]
    """A 3101 / 3102 of ``his``'s institution; its findings."""
    headers = {"Authorization": f"Bearer {his.token}"}
    body = kit.audit_input(
        who, orders, day=kit.today(), **({"trig_scen": "7"} if infno == "3102" else {})
    )
    r = client.post(f"/api/audit/{infno}", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["output"]["result"]


def settled_stay(db: Session, his: His, code: str, price: str, who: Any = None) -> dict[str, Any]:
    """An inpatient stay begun today at ``his``'s institution, settled now (2304), of
    ``who`` (a new insured person when not given: one stay at a time per person)."""
    if who is None:
        set_scope(db, SYSTEM_SCOPE)
        who = person(db, "990102", gend="2")  # the audit input's patient (a woman)
        db.commit()
    stay = kit.stay(his, who, [(code, "1", price, None)], days_ago=0, los=1)
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    setl = db.scalar(
        select(Settlement)
        .join(Visit, Visit.id == Settlement.visit_id)
        .where(Visit.mdtrt_id == stay["mdtrt_id"], Settlement.state == "settled")
    )
    assert setl is not None
    return {
        **stay,
        "who": who,
        "setl_id": setl.setl_id,
        "medfee": setl.medfee_sumamt,
        "fund": setl.fund_pay_sumamt,
    }


def _other_side(db: Session, home: Hospital, district: str) -> Hospital:
    """A hospital of the demo city on the other side of ``district``'s boundary."""
    inside = home.region_code.startswith(region_prefix(district))
    rows = db.scalars(
        select(Hospital).where(Hospital.region_code.startswith("9901")).order_by(Hospital.code)
    )
    return next(
        h
        for h in rows
        if h.id != home.id and h.region_code.startswith(region_prefix(district)) != inside
    )


def two_hospitals(client, db: Session, *, gateway: bool = True) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The world described above; ``gateway``: also today's visits (hosp01 one
    settled and one open stay, the other hospital one settled then reversed)."""
    w = make_world(client, db)
    it = kit.items(db)
    kit.publish_rules(db, it)
    w["items"] = it
    set_scope(db, SYSTEM_SCOPE)
    district = db.scalar(select(User.region_code).where(User.username == "district_reviewer"))
    assert district is not None
    home: Hospital = w["hospital"]
    other = _other_side(db, home, district)
    b.user(db, Role.HIS_CLIENT, hospital=other, username="his_other")
    other_user = db.scalar(
        select(User.username).where(User.hospital_id == other.id, User.role == Role.HOSPITAL_USER)
    )
    db.commit()
    his_other = His(client, token_of(db, "his_other"), other.code)
    his_other.sign_in()
    in_district = home if home.region_code.startswith(region_prefix(district)) else other
    w.update(
        home=home,
        other=other,
        his_other=his_other,
        other_user=other_user,
        district=district,
        in_district=in_district,
    )
    today, who = kit.today(), w["local"]
    audit(client, w["his"], who, [kit.order("R1", it.male_only, "1", "20.00", today)])
    audit(client, w["his"], who, [kit.order("R2", it.plain, "1", "10.00", today)], "3102")
    audit(client, his_other, who, [kit.order("R3", it.child_drug, "2", "5.00", today)])
    if gateway:  # today's stays, each of its own person (one stay at a time)
        w["settled"] = settled_stay(db, w["his"], it.plain, "6000.00", who)
        set_scope(db, SYSTEM_SCOPE)
        staying, back = person(db, "990102", gend="2"), person(db, "990102", gend="2")
        db.commit()
        w["open"] = kit.stay(
            w["his"], staying, [(it.plain, "1", "35.50", None)], days_ago=0, settle=False
        )
        w["reversed"] = settled_stay(db, his_other, it.plain, "900.00", back)
        reverse_stay(his_other, back, w["reversed"])
    return w
