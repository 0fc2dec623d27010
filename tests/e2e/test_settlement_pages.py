"""结算清单上传/质控 pages: upload with the intake summary, the list (filters, counts),
the detail (findings, grouping, pricing, versions), the template CSV and scoping."""

from __future__ import annotations

import copy
import html
import io
import json
import re

import polars as pl
from sqlalchemy import func, select

from tests.e2e.test_http_scoping import _login
from tests.e2e.test_settlement_intake import world  # noqa: F401  (fixture)
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.engines.qc import lists_to_flat, read_flat
from yibao.engines.qc.bench import inject_errors
from yibao.kit.money import format_yuan
from yibao.settlement.models import SettlementList

HTML = {"accept": "text/html"}


def _csv(messages) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    lists_to_flat(messages).write_csv(buf)
    return buf.getvalue()


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/", headers=HTML)
    return page.text.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]


def _switch(client, username: str) -> None:  # type: ignore[no-untyped-def]
    client.post("/logout", data={"csrf_token": client.headers.get("x-csrf-token", "")})
    client.headers.pop("x-csrf-token", None)
    _login(client, username, DEMO_PASSWORD)
    client.headers["x-csrf-token"] = _csrf(client)


def _upload(client, name: str, content: bytes):  # type: ignore[no-untyped-def]
    token = client.headers.pop("x-csrf-token")  # a plain form post: token in the form
    try:
        return client.post(
            "/settlement/lists/upload",
            data={"csrf_token": token},
            files={"file": (name, content)},
            headers=HTML,
        )
    finally:
        client.headers["x-csrf-token"] = token


def _count(text: str, testid: str) -> int:
    return int(re.search(rf'data-testid="{testid}">(\d+)<', text).group(1))


def _uploaded(client, lists):  # type: ignore[no-untyped-def]
    # 2–3 errors that survive the flat form (QC015, the principal flag, does not:
    # the first code of a flat row is the principal one)
    for seed in range(100):  # pragma: no branch
        messages, expected = inject_errors(lists[:10], share=0.25, seed=seed)
        if 2 <= len(expected) <= 3 and "QC015" not in expected.values():
            break
    r = _upload(client, "lists.csv", _csv(messages))
    assert r.status_code == 200, r.text[-2000:]
    return r, messages, expected


def test_upload_summary_list_and_detail(world, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, lists, _other = world
    page = client.get("/settlement/lists", headers=HTML)
    assert page.status_code == 200 and 'data-testid="upload-form"' in page.text
    assert 'href="/settlement/lists"' in page.text and "结算清单上传/质控" in page.text

    r, messages, expected = _uploaded(client, lists)
    text = r.text
    assert _count(text, "n-received") == 10
    set_scope(db, SYSTEM_SCOPE)
    states = dict(
        db.execute(select(SettlementList.state, func.count()).group_by(SettlementList.state)).all()
    )
    held = states.get("qc_failed", 0)
    assert held >= 1 and _count(text, "n-held") == held
    assert _count(text, "n-priced") == states.get("priced", 0) == 10 - held
    assert _count(text, "n-refused") == 0
    for i, rule in expected.items():  # every injected error is reported with its rule
        setl_id = messages[i]["setlinfo"]["setl_id"]
        assert setl_id in text and f'data-rule="{rule}"' in text, (i, rule)
    problems = text.split('data-testid="upload-problems"', 1)[1].split("</table>", 1)[0]
    assert problems.count('data-testid="problem-row"') >= held
    assert re.search(r"<code>(setlinfo|diseinfo|iteminfo)[\w\[\]\.]*</code>", problems)
    assert re.search(r"[\u4e00-\u9fff]", problems)

    # the list: counts by state, filters
    page = client.get("/settlement/lists", headers=HTML).text
    assert page.count('data-testid="list-row"') == 10
    assert "质控未通过（挂起）" in page and "已计价" in page
    only_held = client.get("/settlement/lists?state=qc_failed", headers=HTML).text
    assert only_held.count('data-testid="list-row"') == held
    blocking = client.get("/settlement/lists?blocking=1", headers=HTML).text
    assert blocking.count('data-testid="list-row"') == held
    setl_id = messages[0]["setlinfo"]["setl_id"]
    one = client.get(f"/settlement/lists?q={setl_id}", headers={**HTML, "hx-request": "true"})
    assert one.text.count('data-testid="list-row"') == 1 and "<html" not in one.text

    # detail of a priced list and of a held one
    row = db.scalar(select(SettlementList).where(SettlementList.state == "priced"))
    d = client.get(f"/settlement/lists/{row.id}", headers=HTML)
    assert d.status_code == 200 and row.setl_id in d.text
    assert 'data-testid="drg-payment"' in d.text and "10,000.00" in d.text  # the standard
    assert "费用 ÷ 支付标准" in d.text and "起付线（D）" in d.text
    # the pricing's reasons and formula in words, not the engine's codes
    assert "按病组支付标准支付" in d.text and "PAY_STANDARD" not in d.text
    assert "（national）" not in d.text and "(A − B − C − D) × R" in d.text
    assert f'href="/cases/{row.case_id}"' in d.text and 'data-testid="drg"' in d.text
    total = db.scalar(select(Case.total_cost).where(Case.id == row.case_id))
    assert f"<th>医疗总费用</th><td>{format_yuan(total)} 元</td>" in d.text
    held_row = db.scalar(select(SettlementList).where(SettlementList.state == "qc_failed"))
    d = client.get(f"/settlement/lists/{held_row.id}", headers=HTML)
    assert 'data-testid="qc-findings"' in d.text and "阻断" in d.text and "未计价" in d.text
    assert "/cases/" not in d.text.split('data-testid="list-header"', 1)[1].split("</div>", 1)[0]

    # a new version of the same list shows in the history
    again = _upload(client, "again.json", json.dumps([lists[0]]).encode())
    assert again.status_code == 200 and _count(again.text, "n-received") == 1
    list_id = db.scalar(
        select(SettlementList.id).where(SettlementList.setl_id == lists[0]["setlinfo"]["setl_id"])
    )
    page = client.get(f"/settlement/lists/{list_id}", headers=HTML).text
    versions = page.split('data-testid="versions"', 1)[1].split("</table>", 1)[0]
    assert "<td>2 " in versions and "当前" in versions and "<td>1</td>" in versions


def test_bad_files_store_nothing(world, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, lists, _other = world
    cases = [
        ("x.docx", b"abc", "文件类型"),
        ("x.txt", "姓名\t年龄\n张三\t3\n".encode("utf-16"), "缺少结算清单ID列"),
        ("x.json", b"{not json", "JSON"),
        ("x.csv", "姓名,年龄\n张三,3\n".encode(), "缺少结算清单ID列"),
        ("x.csv", b"", "空的"),
    ]
    for name, content, message in cases:
        r = _upload(client, name, content)
        assert r.status_code == 422, (name, r.status_code)
        error = r.text.split('data-testid="upload-error"', 1)[1].split("</div>", 1)[0]
        assert message in html.unescape(error) and "未保存任何清单" in error
    # a setl_id already used by one of the hospital's stored cases (not from a list):
    # that list is refused
    set_scope(db, SYSTEM_SCOPE)
    code = lists[1]["setlinfo"]["fixmedins_code"]
    taken = db.scalar(select(Case.setl_id).where(Case.hospital_code == code).limit(1))
    clash = copy.deepcopy(lists[1])
    clash["setlinfo"]["setl_id"] = taken
    r = _upload(client, "clash.json", json.dumps([lists[0], clash]).encode())
    assert r.status_code == 200 and "INTAKE04" in r.text and "本机构的其他病例数据" in r.text
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    assert db.scalar(select(func.count()).select_from(SettlementList)) == 1  # the other list
    assert client.get("/settlement/lists", headers=HTML).status_code == 200


def test_template_csv_round_trips(world, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, _lists, _other = world
    r = client.get("/settlement/lists/template.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    frame = pl.read_csv(io.BytesIO(r.content), infer_schema=False)
    assert "setl_id" in frame.columns[0] and frame.height == 1
    assert "合成示例" in r.content.decode("utf-8-sig")
    assert read_flat(frame)[0]["setlinfo"]["setl_id"] == "SAMPLE0001"
    # the example row as downloaded is refused as an example (issue 10.7) …
    up = _upload(client, "template.csv", r.content)
    assert up.status_code == 200 and _count(up.text, "n-received") == 1
    assert _count(up.text, "n-refused") == 1 and "上传模板中的示例行" in up.text
    set_scope(db, SYSTEM_SCOPE)
    assert not db.scalar(
        select(func.count())
        .select_from(SettlementList)
        .where(SettlementList.setl_id == "SAMPLE0001")
    )
    # … and a row filled in from it is taken (the example is the user's own hospital)
    own = r.content.decode("utf-8-sig").replace("SAMPLE0001", "S2024000123456")
    up = _upload(client, "template.csv", own.encode("utf-8-sig"))
    assert up.status_code == 200 and _count(up.text, "n-refused") == 0


def test_scoping_and_permissions(world, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, lists, other = world
    _uploaded(client, lists)
    set_scope(db, SYSTEM_SCOPE)
    list_id = db.scalar(select(SettlementList.id).limit(1))
    hospital = db.scalar(select(SettlementList.hospital_code).limit(1))

    _switch(client, "hosp02")
    r = client.get(f"/settlement/lists/{list_id}", headers=HTML)
    assert r.status_code == 404 and 'data-testid="error"' in r.text
    assert client.get("/settlement/lists", headers=HTML).text.count('data-testid="list-row"') == 0

    _switch(client, "reviewer")
    page = client.get("/settlement/lists", headers=HTML)
    assert page.status_code == 200 and page.text.count('data-testid="list-row"') == 10
    assert 'data-testid="upload-form"' not in page.text
    assert 'data-testid="list-hospital"' in page.text
    by_hospital = client.get(f"/settlement/lists?hospital={hospital}", headers=HTML).text
    assert by_hospital.count('data-testid="list-row"') == 10
    assert client.get(f"/settlement/lists/{list_id}", headers=HTML).status_code == 200
    assert _upload(client, "x.csv", _csv([other])).status_code == 403

    _switch(client, "ruleadmin")
    assert client.get("/settlement/lists", headers=HTML).status_code == 403
    assert client.get(f"/settlement/lists/{list_id}", headers=HTML).status_code == 403
