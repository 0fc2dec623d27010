"""Data hygiene on intake (issue 10.7): a refused institution names its code, the same
visit under a new settlement id is flagged for the reviewer, a hospital withdraws a
list before review (and may send it again)."""

from __future__ import annotations

import copy

from tests.e2e.test_settlement_review import _as, _error, world  # noqa: F401  (fixture)

HTML = {"accept": "text/html"}


def test_foreign_institution_finding_names_the_code(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client, codes = world["client"], world["codes"]
    _as(client, "hosp01")
    message = copy.deepcopy(world["messages"][0])
    message["setlinfo"]["setl_id"] = "S2024999000001"
    message["setlinfo"]["fixmedins_code"] = codes["hosp02"]
    outcome = client.post("/api/settlement/lists", json=message).json()["lists"][0]
    assert outcome["state"] == "refused"
    (finding,) = [f for f in outcome["findings"] if f["rule_id"] == "INTAKE01"]
    assert finding["value"] == codes["hosp02"] and finding["field"] == "setlinfo.fixmedins_code"


def test_same_visit_under_a_new_id_is_flagged(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "hosp01")
    original = world["messages"][0]
    copy_ = copy.deepcopy(original)
    copy_["setlinfo"]["setl_id"] = "S2024999000002"  # a new id for the same visit
    outcome = client.post("/api/settlement/lists", json=copy_).json()["lists"][0]
    assert outcome["state"] == "priced"  # flagged, not held
    (flag,) = [f for f in outcome["findings"] if f["rule_id"] == "INTAKE07"]
    assert flag["severity"] == "warning" and original["setlinfo"]["setl_id"] in flag["message"]
    assert original["setlinfo"]["mdtrt_id"] in flag["message"] and "重复" in flag["message"]
    _as(client, "reviewer")
    detail = client.get(f"/api/settlement/lists/{outcome['list_id']}").json()
    assert any(f["rule_id"] == "INTAKE07" for f in detail["findings"])
    queue = client.get("/api/settlement/review", params={"has_warnings": True, "size": 100})
    assert outcome["list_id"] in {i["id"] for i in queue.json()["items"]}
    # the original sent again under its own id is a new version of itself, flagged
    # against the copy (not against itself)
    _as(client, "hosp01")
    again = client.post("/api/settlement/lists", json=original).json()["lists"][0]
    assert again["list_id"] == a[0]
    (flag,) = [f for f in again["findings"] if f["rule_id"] == "INTAKE07"]
    assert "S2024999000002" in flag["message"]
    assert original["setlinfo"]["setl_id"] + "（" not in flag["message"]


def test_hospital_withdraws_before_review(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "hosp01")
    r = client.post(f"/api/settlement/lists/{a[3]}/withdraw", json={})
    assert r.status_code == 422 and "原因" in _error(r)
    page = client.get(f"/settlement/lists/{a[3]}", headers=HTML).text
    assert 'data-testid="withdraw-form"' in page
    r = client.post(f"/api/settlement/lists/{a[3]}/withdraw", json={"reason": "重复上传"})
    assert r.status_code == 200 and r.json()["state"] == "withdrawn", r.text
    assert r.json()["state_label"] == "已撤回（医疗机构）"
    r = client.post(f"/api/settlement/lists/{a[3]}/withdraw", json={"reason": "再撤"})
    assert r.status_code == 409

    _as(client, "reviewer")
    queue = client.get("/api/settlement/review", params={"size": 100}).json()["items"]
    assert a[3] not in {i["id"] for i in queue}
    r = client.post(f"/api/settlement/review/{a[3]}/approve", json={})
    assert r.status_code == 409
    r = client.post(f"/api/settlement/lists/{a[4]}/withdraw", json={"reason": "x"})
    assert r.status_code == 403  # a reviewer cannot withdraw a hospital's list
    history = client.get(f"/api/settlement/lists/{a[3]}/history").json()
    assert history["reason"]["text"] == "重复上传"

    # under review: too late to withdraw
    assert client.post(f"/api/settlement/review/{a[4]}/start", json={}).status_code == 200
    _as(client, "hosp01")
    r = client.post(f"/api/settlement/lists/{a[4]}/withdraw", json={"reason": "晚了"})
    assert r.status_code == 409
    # sent again later: a new version, priced and waiting for review
    outcome = client.post("/api/settlement/lists", json=world["messages"][3]).json()["lists"][0]
    assert outcome["list_id"] == a[3] and outcome["state"] == "priced"
