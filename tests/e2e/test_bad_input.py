"""Bad input answers 4xx with a Chinese message, never a server error (issue 9, item 10).

One explicit request for each cause the issue names, on SQLite and PostgreSQL:
integers beyond 32 and 64 bits in a path, a query and a JSON body; year 0 and year
149710 in a query, a path and a body; page numbers of 20 digits; JSON nested 50,000
deep; a lone surrogate ("\\ud800") and NUL in a JSON string; and numbers no computation
survives (1e999999999).  :mod:`tests.e2e.test_api_fuzz` covers the whole API at random.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.builders.settlement import demo_world, login
from yibao.demo.seed import DEMO_PASSWORD

CJK = re.compile(r"[\u4e00-\u9fff]")
INT32 = 2**31  # one past PostgreSQL's integer
INT64 = 2**63  # one past SQLite's integer
DIGITS20 = 99_999_999_999_999_999_999  # 20 digits, beyond 64 bits


#: what a person should never read: TrimParams.sd_k, ExclusionRules.cost_floor
INTERNAL = re.compile(r"[A-Z][a-z]+(Params|Rules)\.|\b[a-z]+_[a-z_]+：")


def refused(r: Any, status: int = 422) -> dict[str, Any]:
    """The answer is ``status`` with the error shape and a Chinese message."""
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text[:400])
    error = r.json()["error"]
    assert CJK.search(error["message"]), error
    assert not INTERNAL.search(error["message"]), error  # no engine class or field path
    return error


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    demo_world(db)
    return client


def as_user(client, username: str):  # type: ignore[no-untyped-def]
    login(client, username, DEMO_PASSWORD)
    return client


def raw_json(client, method: str, url: str, text: str):  # type: ignore[no-untyped-def]
    return client.request(
        method, url, content=text.encode(), headers={"content-type": "application/json"}
    )


def test_integers_beyond_32_and_64_bits_in_paths(world):  # type: ignore[no-untyped-def]
    client = as_user(world, "reviewer")
    for value in (INT32, INT64, DIGITS20):
        for method, url in (
            ("GET", f"/api/settlement/lists/{value}"),
            ("GET", f"/api/settlement/lists/{value}/history"),
            ("GET", f"/api/cases/{value}"),
            ("GET", f"/api/grouping/cases/{value}"),
            ("GET", f"/api/jobs/{value}"),
            ("POST", f"/api/settlement/review/{value}/start"),
            ("POST", f"/api/settlement/special-cases/{value}/decide"),
        ):
            error = refused(client.request(method, url, json={"decision": "reject"}))
            assert "路径参数" in error["message"] and "2147483647" in error["message"], error
    # the bound itself is a valid id: not found, not refused
    assert client.get(f"/api/settlement/lists/{INT32 - 1}").status_code == 404
    client = as_user(world, "analyst")
    for url in ("runs", "weight-plans", "rate-plans", "simulations", "standards"):
        refused(client.get(f"/api/measurement/{url}/{DIGITS20}"))


def test_integers_beyond_32_and_64_bits_and_20_digit_pages_in_queries(world):  # type: ignore[no-untyped-def]
    client = as_user(world, "reviewer")
    for url in (
        "/api/cases",
        "/api/hospitals",
        "/api/settlement/lists",
        "/api/settlement/review",
        "/api/settlement/special-cases",
        "/api/settlement/appeals",
        "/api/settlement/periods/2025-01/confirmations",
    ):
        for query in (f"page={DIGITS20}", f"page={INT32}", f"size={INT64}", "page=0"):
            error = refused(client.get(f"{url}?{query}"))
            assert "查询参数" in error["message"], error
        assert client.get(f"{url}?page=1000000&size=500").status_code == 200
    client = as_user(world, "analyst")
    for body in ({"weight_plan_id": INT32, "year": 2024}, {"weight_plan_id": 1, "year": INT64}):
        refused(client.post("/api/measurement/indices", json=body))
    refused(client.get(f"/api/measurement/indices/{DIGITS20}"))
    for ids in (f"1,{INT32}", str(DIGITS20)):
        error = refused(client.get("/api/measurement/simulations", params={"ids": ids}))
        assert error["field"] == "ids" and "编号" in error["message"]


def test_integers_beyond_32_and_64_bits_in_bodies(world):  # type: ignore[no-untyped-def]
    client = as_user(world, "reviewer")
    for value in (INT32, INT64, DIGITS20, -INT64):
        refused(client.post("/api/settlement/review/bulk-approve", json={"ids": [1, value]}))
        refused(client.post("/api/grouping/cases/regroup", json={"case_ids": [value]}))
        refused(client.post("/api/settlement/periods/2025-01/confirm", json={"chunk_size": value}))
    client = as_user(world, "analyst")
    for value in (INT32, DIGITS20):
        error = refused(
            client.post("/api/measurement/weight-plans", json={"run_id": value, "code": "x"})
        )
        assert error["field"] == "run_id" and "请求体 测算运行" in error["message"], error
        refused(
            client.post(
                "/api/measurement/simulations",
                json={"weight_plan_id": 1, "rate_plan_id": value, "year": 2024},
            )
        )
        refused(client.post("/api/measurement/rate-plans", json={"weight_plan_id": value}))


def test_year_0_and_149710(world):  # type: ignore[no-untyped-def]
    client = as_user(world, "reviewer")
    for year in (0, 149710, -1):
        error = refused(client.get(f"/api/cases?year={year}"))
        assert error["field"] == "year" and "查询参数 年度：应不" in error["message"], error
        refused(client.get(f"/api/settlement/periods?year={year}"))
        refused(client.post("/api/grouping/cases/regroup", json={"year": year}))
        refused(
            client.post(
                f"/api/settlement/years/{year}/clearing",
                json={"budget": "1000000", "assessment_scores": {}},
            )
        )
    for day in ("0000-01-01", "149710-01-01", "0001-01-01", "9999-12-31"):
        refused(client.get("/api/cases", params={"date_from": day}))
        refused(client.get("/api/cases", params={"date_to": day}))
    assert client.get("/api/cases?year=2023&date_from=2023-01-01").status_code == 200
    client = as_user(world, "analyst")
    for year in (0, 149710):
        refused(client.post("/api/measurement/runs", json={"name": "x", "years": [year]}))
        refused(client.post("/api/measurement/indices", json={"weight_plan_id": 1, "year": year}))
    for day in ("0000-01-01", "149710-01-01"):
        body = {"weight_plan_id": 1, "rate_plan_id": 1, "valid_from": day}
        error = refused(client.post("/api/measurement/standards", json=body))
        assert error["field"] == "valid_from" and "生效日期" in error["message"], error
        body = {"weight_plan_id": 1, "rate_plan_id": 1, "valid_from": "2024-01-01", "valid_to": day}
        refused(client.post("/api/measurement/standards", json=body))


def test_json_nested_50000_deep(world):  # type: ignore[no-untyped-def]
    deep_array = "[" * 50_000 + "]" * 50_000
    deep_object = '{"a":' * 50_000 + "1" + "}" * 50_000
    client = as_user(world, "hosp01")
    for text in (deep_array, deep_object):
        error = refused(raw_json(client, "POST", "/api/settlement/lists", text))
        assert "嵌套过深" in error["message"], error
        # a request model's body (parsed by the framework)
        refused(raw_json(client, "POST", "/api/grouping/group", text), status=400)
        refused(raw_json(client, "POST", "/api/settlement/lists/1/appeal", text), status=400)
    client = as_user(world, "reviewer")
    ids = '{"ids": ' + deep_array + "}"
    refused(raw_json(client, "POST", "/api/settlement/review/bulk-approve", ids), status=400)


def test_lone_surrogates_and_nul_in_json_strings(world):  # type: ignore[no-untyped-def]
    client = as_user(world, "admin")
    user = {"username": "fuzz01", "password": "Longenough1", "role": "bureau_analyst"}
    for bad in ("\ud800", "x\udfffy", "\udc00\ud800", "a\u0000b"):
        # json.dumps escapes them: the text is valid JSON, its string is not storable
        text = json.dumps({**user, "display_name": bad})
        error = refused(raw_json(client, "POST", "/api/users", text))
        assert "代理字符" in error["message"] or "NUL" in error["message"], error
    # a proper pair, an escaped backslash and plain text are accepted
    ok = json.dumps({**user, "display_name": "\U0001f600 \\ud800 测试"})
    assert raw_json(client, "POST", "/api/users", ok).status_code == 201
    client = as_user(world, "hosp01")
    # settlement-list intake checks each list's strings itself (QC030 / identity): the
    # batch is answered, the list with the bad settlement id is refused on its own
    intake = json.dumps({"setlinfo": {"setl_id": "S\ud800", "fixmedins_code": "H1"}})
    answer = raw_json(client, "POST", "/api/settlement/lists", intake)
    assert answer.status_code == 200, answer.text
    (only,) = answer.json()["lists"]
    assert only["state"] == "refused" and only["list_id"] is None
    assert any("代理字符" in f["message"] for f in only["findings"]), only
    refused(client.post("/api/settlement/lists/1/appeal", content=b'{"reason": "\\u0000"}'))
    client = as_user(world, "reviewer")
    refused(raw_json(client, "POST", "/api/settlement/review/1/return", '{"reason": "\\udbff"}'))
    # NUL in a query or a path: PostgreSQL refuses it in any text
    for url in ("/api/settlement/lists?hospital=%00", "/api/cases?q=a%00b"):
        error = refused(client.get(url))
        assert "NUL" in error["message"], error
    refused(client.get("/api/settlement/periods/2025-01/statements/H%00"))


def test_numbers_no_computation_survives(world):  # type: ignore[no-untyped-def]
    client = as_user(world, "reviewer")
    for value in ("1e999999999", "NaN", "Infinity", "-1e-999999999"):
        refused(client.get(f"/api/settlement/periods/2025-01/statements?deposit_rate={value}"))
        body = {"budget": value, "assessment_scores": {}}
        refused(client.post("/api/settlement/years/2025/clearing", json=body))
        body = {"budget": "1000", "assessment_scores": {"H1": value}}
        refused(client.post("/api/settlement/years/2025/clearing", json=body))
    advances = json.dumps({"H1": "1e999999999"})
    error = refused(
        client.get("/api/settlement/periods/2025-01/statements", params={"advances": advances})
    )
    assert error["field"] == "advances" and "已预付金额" in error["message"], error
    client = as_user(world, "analyst")
    refused(
        client.put(
            "/api/measurement/rate-plans/1/rates", json={"level_rates": {"3": "1e999999999"}}
        )
    )
