"""Settlement-list intake over HTTP: QC with field-level errors, grouping, pricing,
versions without duplicates, locked lists, scoping (SQLite / PostgreSQL)."""

from __future__ import annotations

import io

import polars as pl
import pytest
from sqlalchemy import func, select

from tests.builders.settlement import PLAN_ID, demo_world, login, plan_registry
from tests.e2e.test_http_scoping import _login
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.engines.qc import lists_to_flat
from yibao.engines.qc.bench import inject_errors, synthetic_lists
from yibao.settlement.models import SettlementList

SEED = 9


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    """The demo region with a flat published standard; hosp01 logged in.  Returns the
    client, 20 clean lists of hosp01 and one list of another hospital."""
    code = demo_world(db, seed=SEED)["hosp01"]
    plan = plan_registry().get(PLAN_ID)
    lists = [
        m
        for m in synthetic_lists(600, plan, seed=SEED, year=2024)
        if m["setlinfo"]["fixmedins_code"] == code
    ]
    other = next(
        m
        for m in synthetic_lists(60, plan, seed=SEED, year=2024)
        if m["setlinfo"]["fixmedins_code"] != code
    )
    assert len(lists) >= 20
    login(client, "hosp01", DEMO_PASSWORD)
    return client, lists[:20], other


def test_intake_qc_group_price(world, db):  # type: ignore[no-untyped-def]
    client, lists, other = world
    messages, expected = inject_errors(lists, share=0.3, seed=4)
    assert expected
    r = client.post("/api/settlement/lists", json={"lists": [*messages, other]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["received"] == 21
    results = body["lists"]
    for i, rule in expected.items():
        out = results[i]
        rules = {f["rule_id"] for f in out["findings"]}
        assert rule in rules, (rule, out)
        blocking = [f for f in out["findings"] if f["severity"] == "blocking"]
        if blocking:
            assert out["state"] == "qc_failed" and out["drg"] is None
            f = blocking[0]
            assert f["field"] and any("\u4e00" <= ch <= "\u9fff" for ch in f["message"])
    clean = [results[i] for i in range(20) if i not in expected]
    assert clean and all(o["state"] == "priced" and o["drg"] for o in clean)
    assert {o["payment_class"] for o in clean} <= {"normal", "high", "low", "no_standard"}
    assert results[20]["state"] == "refused" and results[20]["findings"][0]["rule_id"] == "INTAKE01"
    # detail: explanation and formula terms
    first = clean[0]
    detail = client.get(f"/api/settlement/lists/{first['list_id']}").json()
    assert detail["pricing"]["payment_standard"] == "10000.00"
    assert detail["pricing"]["explanation"] and "term_deductible" in detail["pricing"]["terms"]
    held = next(o for o in results[:20] if o["state"] == "qc_failed")
    held_detail = client.get(f"/api/settlement/lists/{held['list_id']}").json()
    assert held_detail["findings"] and held_detail["pricing"] is None


def test_resubmission_versions_and_locking(world, db):  # type: ignore[no-untyped-def]
    client, lists, _other = world
    one = lists[0]
    setl_id = one["setlinfo"]["setl_id"]
    first = client.post("/api/settlement/lists", json=one).json()["lists"][0]
    second = client.post("/api/settlement/lists", json=one).json()["lists"][0]
    assert (first["version"], second["version"]) == (1, 2)
    assert first["list_id"] == second["list_id"]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    assert db.scalar(select(func.count()).select_from(Case).where(Case.setl_id == setl_id)) == 1
    row = db.get(SettlementList, first["list_id"])
    case_id = row.case_id
    row.state = "confirmed"
    db.commit()
    third = client.post("/api/settlement/lists", json=one).json()["lists"][0]
    assert third["state"] == "refused" and third["findings"][0]["rule_id"] == "INTAKE02"
    assert "已在确认的结算中" in third["findings"][0]["message"]
    db.expire_all()
    assert db.get(SettlementList, first["list_id"]).case_id == case_id  # nothing replaced


@pytest.mark.parametrize(
    ("state", "replaced"),
    [("approved", False), ("adjusted", False), ("special_applied", False), ("returned", True)],
)
def test_resubmission_follows_the_review_state(world, db, state, replaced):  # type: ignore[no-untyped-def]
    """A list in review (approved, adjusted, in a special-case application …) is not
    silently replaced; a returned list is corrected and re-sent as a new version."""
    client, lists, _other = world
    one = lists[1]
    first = client.post("/api/settlement/lists", json=one).json()["lists"][0]
    set_scope(db, SYSTEM_SCOPE)
    row = db.get(SettlementList, first["list_id"])
    row.state = state
    db.commit()
    again = client.post("/api/settlement/lists", json=one).json()["lists"][0]
    db.expire_all()
    if replaced:
        assert (again["state"], again["version"]) == ("priced", 2)
        return
    assert again["state"] == "refused" and again["findings"][0]["rule_id"] == "INTAKE05"
    assert "正在审核流程中" in again["findings"][0]["message"]
    stored = db.get(SettlementList, first["list_id"])
    assert (stored.state, stored.version) == (state, 1)


def test_file_upload_and_bad_bodies(world, db):  # type: ignore[no-untyped-def]
    client, lists, _other = world
    flat = lists_to_flat(lists[:5])
    buf = io.BytesIO()
    pl.DataFrame(flat).write_csv(buf)
    r = client.post("/api/settlement/lists/upload", files={"file": ("lists.csv", buf.getvalue())})
    assert r.status_code == 200, r.text
    assert r.json()["by_state"] == {"priced": 5} and r.json()["notes"] == []
    # a column the flat form does not know is named in the answer and on the page
    extra = pl.DataFrame(flat).with_columns(pl.lit("1").alias("院内编号"))
    buf = io.BytesIO()
    extra.write_csv(buf)
    files = {"file": ("lists.csv", buf.getvalue())}
    (note,) = client.post("/api/settlement/lists/upload", files=files).json()["notes"]
    assert "院内编号" in note and "已忽略" in note
    page = client.post("/settlement/lists/upload", files=files, headers={"accept": "text/html"})
    assert page.status_code == 200 and 'data-testid="upload-note"' in page.text
    assert "院内编号" in page.text
    bad = client.post(
        "/api/settlement/lists", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 422 and "JSON" in bad.json()["error"]["message"]
    wrong = client.post("/api/settlement/lists/upload", files={"file": ("x.docx", b"abc")})
    assert wrong.status_code == 422 and "文件类型" in wrong.json()["error"]["message"]
    # a file field with an empty file name reaches the API as text: said in Chinese
    # (pydantic's "Expected UploadFile, received: <class 'str'>" was shown)
    nameless = client.post("/api/settlement/lists/upload", files={"file": ("", b"a,b\n1,2\n")})
    message = nameless.json()["error"]["message"]
    assert nameless.status_code == 422 and "文件" in message, message
    assert "Expected" not in message and "class" not in message


def test_scoping_of_lists(world, db):  # type: ignore[no-untyped-def]
    client, lists, _other = world
    out = client.post("/api/settlement/lists", json=lists[1]).json()["lists"][0]
    client.post("/logout")
    _login(client, "hosp02", DEMO_PASSWORD)
    assert client.get(f"/api/settlement/lists/{out['list_id']}").status_code == 404
    assert client.get("/api/settlement/lists").json()["total"] == 0
    client.post("/logout")
    _login(client, "reviewer", DEMO_PASSWORD)
    assert client.get(f"/api/settlement/lists/{out['list_id']}").status_code == 200
    assert client.post("/api/settlement/lists", json=lists[2]).status_code == 403


def test_setl_id_already_used_is_refused(world, db):  # type: ignore[no-untyped-def]
    """An id of one of the hospital's own stored cases (not from a list) is refused;
    an id another hospital uses is this hospital's to use — and the answer says
    nothing about the other hospital."""
    client, lists, _other = world
    set_scope(db, SYSTEM_SCOPE)
    code = lists[0]["setlinfo"]["fixmedins_code"]
    own = db.scalar(select(Case.setl_id).where(Case.hospital_code == code).limit(1))
    theirs_case = db.scalar(select(Case).where(Case.hospital_code != code).limit(1))
    message = {**lists[3], "setlinfo": {**lists[3]["setlinfo"], "setl_id": own}}
    r = client.post("/api/settlement/lists", json=message)
    assert r.status_code == 200, r.text
    out = r.json()["lists"][0]
    assert out["state"] == "refused" and out["findings"][0]["rule_id"] == "INTAKE04"
    assert "本机构" in out["findings"][0]["message"]
    message = {**lists[4], "setlinfo": {**lists[4]["setlinfo"], "setl_id": theirs_case.setl_id}}
    r = client.post("/api/settlement/lists", json=message)
    assert r.status_code == 200, r.text
    out = r.json()["lists"][0]
    assert out["state"] == "priced", out
    assert theirs_case.hospital_code not in r.text


def test_intake_records_grouping_and_pricing_steps(world, db):  # type: ignore[no-untyped-def]
    """Each accepted list's history shows the machine's grouping step (with its plan
    and DRG) and pricing step (with the payment); a list QC held has neither."""
    client, lists, _ = world
    messages, _ = inject_errors(lists, share=0.3, seed=4)
    results = client.post("/api/settlement/lists", json={"lists": messages}).json()["lists"]
    priced = next(o for o in results if o["state"] == "priced")
    history = client.get(f"/api/settlement/lists/{priced['list_id']}/history").json()
    steps = {e["action"]: e for e in history["events"]}
    assert [e["action"] for e in history["events"]] == ["receive", "group", "price"]
    group, price = steps["group"], steps["price"]
    assert (group["from_state"], group["to_state"]) == ("intake", "grouped")
    assert (price["from_state"], price["to_state"]) == ("grouped", "priced")
    assert group["role"] == price["role"] == "system"
    assert group["details"]["drg"] == priced["drg"] and group["details"]["plan_id"] == PLAN_ID
    assert price["details"] == {
        "drg_payment": priced["drg_payment"],
        "fund_amount": priced["fund_amount"],
    }
    assert group["action_label"] == "分组" and price["action_label"] == "计价"
    held = next(o for o in results if o["state"] == "qc_failed")
    held_history = client.get(f"/api/settlement/lists/{held['list_id']}/history").json()
    assert [e["action"] for e in held_history["events"]] == ["receive"]


def test_list_page_shows_the_grouping_and_pricing_steps(world, db):  # type: ignore[no-untyped-def]
    client, lists, _ = world
    out = client.post("/api/settlement/lists", json={"lists": lists[:3]}).json()["lists"]
    priced = next(o for o in out if o["state"] == "priced")
    page = client.get(f"/settlement/lists/{priced['list_id']}").text
    assert 'data-action="group"' in page and 'data-action="price"' in page
    assert f"<code>{priced['drg']}</code>" in page and "DRG 支付" in page


def test_excel_date_serials_are_read_as_dates(world, db):  # type: ignore[no-untyped-def]
    """A date column saved without its date format holds Excel serial numbers
    (45356.35 = 2024-03-05 08:24): read as dates, with a note naming the column."""
    from datetime import datetime

    import openpyxl

    from yibao.engines.qc.serial_dates import EPOCH
    from yibao.kit.timeutil import local

    client, lists, _other = world
    flat = pl.DataFrame(lists_to_flat(lists[:3]))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(flat.columns)
    wanted = {}
    for row in flat.iter_rows(named=True):
        cells = []
        for name, value in row.items():
            if name in ("adm_time", "dscg_time") and value:
                when = datetime.fromisoformat(str(value))
                cells.append((when - EPOCH).total_seconds() / 86400)  # a plain number
            else:
                cells.append(value)
        wanted[row["setl_id"]] = datetime.fromisoformat(str(row["dscg_time"]))
        sheet.append(cells)
    buf = io.BytesIO()
    book.save(buf)
    files = {"file": ("lists.xlsx", buf.getvalue())}
    r = client.post("/api/settlement/lists/upload", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["by_state"] == {"priced": 3}, r.json()
    notes = r.json()["notes"]
    assert any("入院时间" in n and "Excel 日期序号" in n for n in notes), notes
    assert any("出院时间" in n for n in notes), notes
    set_scope(db, SYSTEM_SCOPE)
    cases = db.scalars(select(Case).where(Case.setl_id.in_(list(wanted)))).all()
    assert len(cases) == 3
    for case in cases:  # to the second, in business time
        assert local(case.discharge_time).replace(tzinfo=None) == wanted[case.setl_id]
