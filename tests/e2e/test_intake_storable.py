"""Lists QC accepts are stored, never a server error (SQLite and PostgreSQL).

``mdtrtarea_admvs`` (就医地医保区划) is not a field of 4101A ``setlinfo`` (domain.md
§3.2): it is an envelope field of every NHSA request (§4.1).  A list without it was
a NOT NULL failure of ``cases.region_code``, losing the whole request; now the
envelope's region is kept, or the case is the uploading hospital's region.  Lists
without psn_name or insuplc (QC002 warnings only) and a bare 4101A list without
iteminfo or payment fields are stored with empty name, the treating place as
insured place and zero amounts."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from tests.e2e.test_settlement_intake import world  # noqa: F401  (fixture)
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope


def _region_of(db, setl_id):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    return db.scalar(select(Case.region_code).where(Case.setl_id == setl_id))


def test_list_without_region_field_is_answered_not_a_server_error(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    """A clean 4101A list whose ``setlinfo`` has no mdtrtarea_admvs (as 表154 defines
    it): expected a 200 answer with the list either held by a finding or stored;
    actual: the case insert raises and the request fails."""
    client, lists, _other = world
    message = copy.deepcopy(lists[0])
    del message["setlinfo"]["mdtrtarea_admvs"]
    r = client.post("/api/settlement/lists", json=message)
    assert r.status_code == 200, r.text
    out = r.json()["lists"][0]
    assert out["state"] in ("qc_failed", "grouped", "priced"), out


def test_enveloped_list_keeps_its_treatment_region(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    """The same list sent as an NHSA request ``{"infno": "4101A", "mdtrtarea_admvs":
    "…", …, "input": {"setlinfo": …}}``: the envelope is unwrapped (ADR 0005) but its
    mdtrtarea_admvs is dropped, so the case has no region (and the insert fails)."""
    client, lists, _other = world
    message = copy.deepcopy(lists[1])
    setl = message.pop("setlinfo")
    region = setl.pop("mdtrtarea_admvs")
    body = {
        "infno": "4101A",
        "mdtrtarea_admvs": region,
        "fixmedins_code": setl["fixmedins_code"],
        "input": {"setlinfo": setl, **message},
    }
    r = client.post("/api/settlement/lists", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["lists"][0]["state"] == "priced", r.text
    assert _region_of(db, setl["setl_id"]) == region


def _without_name(m):  # type: ignore[no-untyped-def]
    del m["setlinfo"]["psn_name"]  # QC002: a warning only


def _without_insured_place(m):  # type: ignore[no-untyped-def]
    del m["setlinfo"]["insuplc"]  # QC002: a warning only


def _bare_4101a(m):  # type: ignore[no-untyped-def]
    """4101A has no iteminfo and no payment fields (domain.md §3.2); ADR 0005: QC021 and
    QC022 are then skipped and QC002 only warns."""
    m["iteminfo"] = []
    for name in (
        "fund_pay_sumamt",
        "hifp_pay",
        "acct_pay",
        "psn_cash_pay",
        "fulamt_ownpay_amt",
        "preselfpay_amt",
    ):
        m["setlinfo"].pop(name, None)


@pytest.mark.parametrize("change", [_without_name, _without_insured_place, _bare_4101a])
def test_list_accepted_with_warnings_only_is_stored(world, db, change):  # type: ignore[no-untyped-def]  # noqa: F811
    """Lists whose only findings are warnings are accepted (ADR 0005: "a list with only
    warnings is grouped"), but their case rows miss values of NOT NULL ``cases`` columns
    (psn_name, insured_region_code, fee_* / payments): the insert raises instead of the
    list being stored (grouped/priced) with its warnings."""
    client, lists, _other = world
    message = copy.deepcopy(lists[2])
    change(message)
    r = client.post("/api/settlement/lists", json=message)
    assert r.status_code == 200, r.text
    out = r.json()["lists"][0]
    assert all(f["severity"] == "warning" for f in out["findings"]), out
    assert out["state"] in ("grouped", "priced"), out


def test_a_list_treated_in_another_pooling_region_is_refused(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    """The case is grouped and priced by its 就医地's plan and standards: a hospital
    of 9901 declaring 9902 (no standards there) had its case paid by items instead of
    its DRG standard, and the list then sat outside the month's settlement.  Refused,
    naming the field; nothing stored.  Another district of the same city is taken."""
    client, lists, _other = world
    message = copy.deepcopy(lists[2])
    setl = message["setlinfo"]
    assert setl["mdtrtarea_admvs"][:4] == "9901"
    far = {**message, "setlinfo": {**setl, "mdtrtarea_admvs": "990202"}}
    r = client.post("/api/settlement/lists", json=far)
    assert r.status_code == 200, r.text
    out = r.json()["lists"][0]
    assert out["state"] == "refused", out
    finding = out["findings"][0]
    assert finding["rule_id"] == "INTAKE08" and finding["field"] == "setlinfo.mdtrtarea_admvs"
    assert "不是本机构所在统筹区" in finding["message"], finding
    assert _region_of(db, setl["setl_id"]) is None
    near = {**message, "setlinfo": {**setl, "mdtrtarea_admvs": "990103"}}
    r = client.post("/api/settlement/lists", json=near)
    assert r.json()["lists"][0]["state"] == "priced", r.text
    assert _region_of(db, setl["setl_id"]) == "990103"
