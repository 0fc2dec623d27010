"""/healthz, /metrics, error shapes."""

from __future__ import annotations


def test_healthz_checks_the_database(client):  # type: ignore[no-untyped-def]
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] in {"sqlite", "postgresql"}


def test_metrics_count_requests_per_route(client):  # type: ignore[no-untyped-def]
    client.get("/healthz")
    client.get("/api/cases")  # 401, still counted under its route template
    text = client.get("/metrics").text
    assert 'yibao_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/api/cases",status="401"' in text
    assert (
        'yibao_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"}'
        in text
    )


def test_api_errors_are_json_with_chinese_message(client):  # type: ignore[no-untyped-def]
    r = client.get("/api/cases")
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "unauthorized" and "请先登录" in err["message"]


def test_static_vendor_files_are_served(client):  # type: ignore[no-untyped-def]
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/bootstrap/bootstrap.min.css",
    ):
        assert client.get(path).status_code == 200, path
