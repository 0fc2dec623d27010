"""A settlement id belongs to its hospital (issue 9, item 5), over HTTP on SQLite and
PostgreSQL: one hospital can never take, block or learn about another's ids, and a
resubmission never answers 500."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from tests.builders.settlement import PLAN_ID, demo_world, login, plan_registry
from yibao.demo.seed import DEMO_PASSWORD
from yibao.engines.qc.bench import synthetic_lists


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    codes = demo_world(db, seed=9)
    plan = plan_registry().get(PLAN_ID)
    pool = synthetic_lists(900, plan, seed=9, year=2024)
    mine = {
        user: [m for m in pool if m["setlinfo"]["fixmedins_code"] == code]
        for user, code in codes.items()
    }
    other = TestClient(client.app)
    login(client, "hosp01", DEMO_PASSWORD)
    login(other, "hosp02", DEMO_PASSWORD)
    return {"hosp01": client, "hosp02": other}, codes, mine


def _as(message: dict, code: str, setl_id: str, *, broken: bool = False) -> dict:  # type: ignore[type-arg]
    out = copy.deepcopy(message)
    out["setlinfo"]["fixmedins_code"] = code
    out["setlinfo"]["setl_id"] = setl_id
    if broken:
        out["setlinfo"]["gend"] = "7"  # not a sex code: held by QC (blocking)
    return out


def _post(http: TestClient, lists: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    r = http.post("/api/settlement/lists", json=lists)
    assert r.status_code == 200, r.text[:500]
    return r.json()["lists"]


def test_another_hospital_cannot_take_a_held_id(world):  # type: ignore[no-untyped-def]
    """The reported 500: hosp01 posts hosp02's held id, then hosp02's corrected
    resubmission (alone and inside a batch) must go through."""
    http, codes, mine = world
    sid = "S2024HELD0001"
    held = _post(http["hosp02"], [_as(mine["hosp02"][0], codes["hosp02"], sid, broken=True)])[0]
    assert held["state"] == "qc_failed", held
    # hosp01 uses the same id for its own list: accepted in its own name, and the
    # answer says nothing about hosp02
    r = http["hosp01"].post(
        "/api/settlement/lists", json=[_as(mine["hosp01"][0], codes["hosp01"], sid)]
    )
    assert r.status_code == 200 and r.json()["lists"][0]["state"] == "priced", r.text[:500]
    assert codes["hosp02"] not in r.text and "其他" not in r.text
    # hosp02 corrects its list: a new version, priced
    fixed = _post(http["hosp02"], [_as(mine["hosp02"][0], codes["hosp02"], sid)])[0]
    assert (fixed["state"], fixed["version"], fixed["list_id"]) == ("priced", 2, held["list_id"])
    # and in a batch of 30 with other lists: every list answered, nothing refused
    batch = [_as(m, codes["hosp02"], f"S2024B{i:07d}") for i, m in enumerate(mine["hosp02"][1:30])]
    batch.insert(10, _as(mine["hosp02"][0], codes["hosp02"], sid))
    out = _post(http["hosp02"], batch)
    assert len(out) == 30 and "refused" not in {o["state"] for o in out}
    assert out[10]["version"] == 3
    # each sees only its own list with that id
    for user in ("hosp01", "hosp02"):
        items = http[user].get("/api/settlement/lists", params={"size": 500}).json()["items"]
        assert [i["hospital_code"] for i in items if i["setl_id"] == sid] == [codes[user]]


def test_an_id_used_first_elsewhere_does_not_block_its_owner(world):  # type: ignore[no-untyped-def]
    http, codes, mine = world
    sid = "S2024FIRST001"
    squatted = _post(http["hosp01"], [_as(mine["hosp01"][1], codes["hosp01"], sid)])[0]
    assert squatted["state"] == "priced"
    own = _post(http["hosp02"], [_as(mine["hosp02"][1], codes["hosp02"], sid)])[0]
    assert own["state"] == "priced" and own["list_id"] != squatted["list_id"], own
    # each hospital's list has its own case, grouped from its own diagnoses
    for user, list_id in (("hosp01", squatted["list_id"]), ("hosp02", own["list_id"])):
        detail = http[user].get(f"/api/settlement/lists/{list_id}").json()
        assert detail["hospital_code"] == codes[user] and detail["pricing"] is not None
    # a hospital cannot open the other's list
    assert http["hosp01"].get(f"/api/settlement/lists/{own['list_id']}").status_code == 404
