"""Data hygiene on intake (issue 10.7): a refused institution names its code, the same
visit under a new settlement id is held (never paid twice), a hospital withdraws a
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


def test_same_visit_under_a_new_id_is_held(world):  # type: ignore[no-untyped-def]  # noqa: F811
    """A second list of one stay is held (INTAKE07, blocking): never grouped, priced or
    approved, so the stay is not paid twice; once the first list is withdrawn, the
    second sent again is priced."""
    client, a = world["client"], world["a"]
    _as(client, "hosp01")
    original = world["messages"][0]
    copy_ = copy.deepcopy(original)
    copy_["setlinfo"]["setl_id"] = "S2024999000002"  # a new id for the same visit
    outcome = client.post("/api/settlement/lists", json=copy_).json()["lists"][0]
    assert outcome["state"] == "qc_failed" and outcome["drg_payment"] is None
    (flag,) = [f for f in outcome["findings"] if f["rule_id"] == "INTAKE07"]
    assert flag["severity"] == "blocking" and original["setlinfo"]["setl_id"] in flag["message"]
    assert original["setlinfo"]["mdtrt_id"] in flag["message"] and "挂起" in flag["message"]
    _as(client, "reviewer")
    detail = client.get(f"/api/settlement/lists/{outcome['list_id']}").json()
    assert any(f["rule_id"] == "INTAKE07" for f in detail["findings"])
    r = client.post(f"/api/settlement/review/{outcome['list_id']}/approve", json={})
    assert r.status_code == 409  # held: nothing to approve
    bulk = client.post(
        "/api/settlement/review/bulk-approve", json={"ids": [outcome["list_id"]]}
    ).json()
    assert bulk["approved"] == 0
    # the original sent again under its own id is a new version of itself: the held
    # copy has no case, so the original is not its twin and is priced again
    _as(client, "hosp01")
    again = client.post("/api/settlement/lists", json=original).json()["lists"][0]
    assert again["list_id"] == a[0] and again["state"] == "priced"
    assert not [f for f in again["findings"] if f["rule_id"] == "INTAKE07"]
    # two lists of one stay in one batch: both held, each naming the other
    pair = [copy.deepcopy(world["messages"][1]) for _ in range(2)]
    pair[0]["setlinfo"]["setl_id"], pair[1]["setlinfo"]["setl_id"] = (
        "S2024999000003",
        "S2024999000004",
    )
    for m in pair:
        m["setlinfo"]["mdtrt_id"] = "MDTRT-TWIN-1"
    both = client.post("/api/settlement/lists", json={"lists": pair}).json()["lists"]
    assert [o["state"] for o in both] == ["qc_failed", "qc_failed"]
    assert "S2024999000004（本批次）" in both[0]["findings"][-1]["message"]
    # withdrawn, the original no longer counts: the copy sent again is priced
    r = client.post(f"/api/settlement/lists/{a[0]}/withdraw", json={"reason": "改用新结算ID"})
    assert r.status_code == 200, r.text
    later = client.post("/api/settlement/lists", json=copy_).json()["lists"][0]
    assert later["list_id"] == outcome["list_id"] and later["state"] == "priced", later


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


def test_resend_that_qc_holds_keeps_the_priced_version(world):  # type: ignore[no-untyped-def]  # noqa: F811
    """A priced list sent again with a required field missing (a column renamed in
    the spreadsheet) is refused (INTAKE09): the priced version stays, with its case."""
    client, a = world["client"], world["a"]
    _as(client, "hosp01")
    before = client.get(f"/api/settlement/lists/{a[2]}").json()
    assert before["state"] == "priced"
    broken = copy.deepcopy(world["messages"][2])
    del broken["setlinfo"]["adm_time"]
    out = client.post("/api/settlement/lists", json=broken).json()["lists"][0]
    assert out["state"] == "refused" and out["findings"][0]["rule_id"] == "INTAKE09"
    assert "未替换原版本" in out["findings"][0]["message"]
    assert "adm_time" in out["findings"][0]["message"]
    after = client.get(f"/api/settlement/lists/{a[2]}").json()
    assert after["state"] == "priced" and after["version"] == before["version"]
    assert after["case_id"] is not None and after["case_id"] == before["case_id"]
    # a version QC lets through still replaces it
    fixed = copy.deepcopy(world["messages"][2])
    again = client.post("/api/settlement/lists", json=fixed).json()["lists"][0]
    assert again["state"] == "priced" and again["version"] == before["version"] + 1
