"""The findings pages (ADR 0024): a reviewer's list with filters, a bulk publication
through the form, a hospital's answer with an attachment on the finding's page, the
reviewer's 初审 form, refusals shown on the page in Chinese, and the navigation entry."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import update

from tests.e2e.test_supervision_findings import _as, _at, _findings, _run, fworld  # noqa: F401
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.supervision.findings.models import Finding

PDF = b"%PDF-1.4\n% page test\n"


def _csrf(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"csrf_token": client.headers["x-csrf-token"]}


def test_reviewer_and_hospital_pages(fworld, db, monkeypatch):  # type: ignore[no-untyped-def]  # noqa: F811
    client, codes = fworld["client"], fworld["codes"]
    _at(monkeypatch, date(2025, 2, 16))
    _as(client, "reviewer")
    html = {"accept": "text/html"}
    page = client.get("/supervision/findings", headers=html)
    assert page.status_code == 200 and "发起事后审核" in page.text
    assert 'href="/supervision/findings"' in page.text  # the navigation entry
    # start a run through the form: redirected to the job's page
    r = client.post(
        "/supervision/findings/runs",
        data={**_csrf(client), "period_from": "2025-13"},
        headers=html,
    )
    assert r.status_code == 422 and "YYYY-MM" in r.text
    _run(client)
    page = client.get("/supervision/findings", params={"hospital": codes["hosp01"]}, headers=html)
    ids = re.findall(r'name="ids" value="(\d+)"', page.text)
    assert len(ids) == 3 and "DRG-READMIT" in page.text
    bad = client.get("/supervision/findings", params={"period": "2025-2"}, headers=html)
    assert bad.status_code == 422 and "YYYY-MM" in bad.text

    # bulk publication of two of them through the list's form
    r = client.post(
        "/supervision/findings/publish",
        data={**_csrf(client), "ids": ids[:2], "back": f"hospital={codes['hosp01']}"},
        headers=html,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith(f"hospital={codes['hosp01']}")
    states = {f["id"]: f["state"] for f in _findings(client)}
    assert [states[int(i)] for i in ids] == ["published", "published", "new"]
    again = client.post(
        "/supervision/findings/publish", data={**_csrf(client), "ids": ids[:1]}, headers=html
    )
    assert again.status_code == 409 and "已公示" in again.text

    # the hospital answers on the finding's page, with an attachment
    _as(client, "hosp01")
    listing = client.get("/supervision/findings", headers=html)
    assert listing.status_code == 200 and 'name="ids"' not in listing.text
    assert f'/supervision/findings/{ids[2]}"' not in listing.text  # not published
    # the rule filter offers only the rules of its published findings (the unpublished
    # one given a rule of its own, so that a leak would show)
    set_scope(db, SYSTEM_SCOPE)
    db.execute(update(Finding).where(Finding.id == int(ids[2])).values(rule_id="UNPUBLISHED-1"))
    db.commit()
    listing = client.get("/supervision/findings", headers=html)
    select = listing.text.split('id="f-rule"', 1)[1].split("</select>", 1)[0]
    offered = set(re.findall(r'<option value="([^"]+)"', select))
    assert offered and offered == {f["rule_id"] for f in _findings(client)}
    assert "UNPUBLISHED-1" not in offered
    assert client.get(f"/supervision/findings/{ids[2]}", headers=html).status_code == 404
    detail = client.get(f"/supervision/findings/{ids[0]}", headers=html)
    assert "提交申诉" in detail.text and "认可疑点" in detail.text
    empty = client.post(
        f"/supervision/findings/{ids[0]}/appeal", data={**_csrf(client), "reason": ""}, headers=html
    )
    assert empty.status_code == 422 and "原因" in empty.text
    r = client.post(
        f"/supervision/findings/{ids[0]}/appeal",
        data={**_csrf(client), "reason": "计划内分期治疗"},
        files=[("files", ("说明.pdf", PDF, "application/pdf"))],
        headers=html,
        follow_redirects=False,
    )
    assert r.status_code == 303
    shown = client.get(f"/supervision/findings/{ids[0]}", headers=html).text
    assert "说明.pdf" in shown and "已申诉" in shown
    _as(client, "hosp02")
    assert client.get(f"/supervision/findings/{ids[0]}", headers=html).status_code == 404

    # the reviewer's 初审 form: an amount above the finding's is refused on the page
    _as(client, "reviewer")
    shown = client.get(f"/supervision/findings/{ids[0]}", headers=html).text
    assert "初审" in shown and "说明.pdf" in shown
    over = client.post(
        f"/supervision/findings/{ids[0]}/first-decision",
        data={**_csrf(client), "decision": "uphold", "amount": "99999999", "reason": "维持"},
        headers=html,
    )
    assert over.status_code == 422 and "维持金额" in over.text
    r = client.post(
        f"/supervision/findings/{ids[0]}/first-decision",
        data={**_csrf(client), "decision": "dismiss", "reason": "材料充分，撤销"},
        headers=html,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已撤销" in client.get(f"/supervision/findings/{ids[0]}", headers=html).text
