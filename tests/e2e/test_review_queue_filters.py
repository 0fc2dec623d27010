"""The review queue (issue 10.8): filters survive every action (an error, a bulk
approve), DRG and hospital names beside their codes, search by settlement id."""

from __future__ import annotations

import html
import re

from tests.e2e.test_settlement_review import _as, world  # noqa: F401  (fixture)

HTML = {"accept": "text/html"}


def _rows(text: str) -> list[str]:
    return re.findall(r'data-testid="review-row" data-list="(\d+)"', text)


def _attr(text: str, name: str, contains: str) -> list[str]:
    """Values of attribute ``name`` containing ``contains``, as the browser reads them."""
    return [html.unescape(v) for v in re.findall(rf'{name}="([^"]*)"', text) if contains in v]


def test_search_by_settlement_id_and_names(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    setl_ids = [m["setlinfo"]["setl_id"] for m in world["messages"]]
    r = client.get("/api/settlement/review", params={"setl_id": setl_ids[2]})
    assert [i["id"] for i in r.json()["items"]] == [a[2]]
    prefix = setl_ids[2][:-2]
    found = {
        i["setl_id"]
        for i in client.get(
            "/api/settlement/review", params={"setl_id": prefix, "size": 100}
        ).json()["items"]
    }
    assert setl_ids[2] in found and all(s.startswith(prefix) for s in found)
    for wild in ("S%", "____%", "%%%%"):  # LIKE wildcards are text, not patterns
        r = client.get("/api/settlement/review", params={"setl_id": wild})
        assert r.status_code == 200 and r.json()["total"] == 0, wild
    r = client.get("/api/settlement/review", params={"setl_id": "x" * 41})
    assert r.status_code == 422

    page = client.get("/settlement/review", params={"setl_id": setl_ids[2]}, headers=HTML).text
    assert _rows(page) == [str(a[2])]
    assert 'data-testid="filter-setl-id"' in page and setl_ids[2] in page
    row = page.split(f'data-list="{a[2]}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="drg-name"' in row  # the DRG's name from the plan, beside its code
    assert world["codes"]["hosp01"] in row  # the hospital's code beside its name


def test_filters_survive_errors_and_bulk_approve(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a, codes = world["client"], world["a"], world["codes"]
    _as(client, "reviewer")
    query = f"hospital={codes['hosp01']}&period={world['month_a']}"
    csrf = client.headers["x-csrf-token"]

    # an error on one row: the page keeps the filter in its address and its forms
    r = client.post(
        f"/settlement/review/{a[0]}/return?{query}",
        data={"reason": "  ", "csrf_token": csrf},
        headers=HTML,
    )
    assert r.status_code == 422
    assert _attr(r.text, "data-replace-url", "/settlement/review") == [
        f"/settlement/review?{query}"
    ]
    assert f"/settlement/review/bulk-approve?{query}" in _attr(r.text, "action", "bulk-approve")
    assert sorted(map(int, _rows(r.text))) == sorted(a)  # still the filtered queue

    # a bulk approve of the filter: the result and the same filter, period included
    r = client.post(
        f"/settlement/review/bulk-approve?{query}",
        data={"mode": "filter", "csrf_token": csrf},
        headers=HTML,
    )
    assert r.status_code == 200, r.text[:500]
    assert _attr(r.text, "data-replace-url", "/settlement/review") == [
        f"/settlement/review?{query}"
    ]
    assert "&amp;amp;" not in r.text
    assert f'value="{world["month_a"]}"' in r.text  # the period field keeps its value
