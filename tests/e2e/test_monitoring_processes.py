"""应用监控 across server processes (issue 15 item 5, ADR 0034): each process publishes
its route figures at its check; the operations page and the threshold check read every
live process's figures merged (an alert for a route slow in another process, none
closed by a process that merely has not seen the route), stale processes left out."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.test_monitoring import HTML, admin  # noqa: F401  (fixture)
from yibao.kit.monitor import bucket_ms, bucket_of, merge
from yibao.kit.timeutil import utcnow
from yibao.monitoring import service
from yibao.monitoring.models import MonitorAlert, MonitorInstance

SLOW = "/api/settlement/lists"


def _other(db, name: str, seen_s_ago: float, ms: float, calls: int, errors: int = 0) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    db.add(
        MonitorInstance(
            instance=name,
            host=name.split(":")[0],
            pid=int(name.split(":")[1]),
            service="web",
            started_at=now - timedelta(hours=1),
            seen_at=now - timedelta(seconds=seen_s_ago),
            routes=[
                {
                    "method": "GET",
                    "route": SLOW,
                    "calls": calls,
                    "errors": errors,
                    "buckets": {str(bucket_of(ms)): calls},
                }
            ],
        )
    )
    db.commit()


def test_buckets_and_merge_by_hand() -> None:
    for i in (0, 1, 57, 180, 300):
        assert bucket_of(bucket_ms(i)) == i
        assert bucket_of(bucket_ms(i) * 1.001) == i + 1
    fast = [
        {
            "method": "GET",
            "route": "/a",
            "calls": 10,
            "errors": 0,
            "buckets": {str(bucket_of(10.0)): 10},
        }
    ]
    slow = [
        {
            "method": "GET",
            "route": "/a",
            "calls": 10,
            "errors": 1,
            "buckets": {str(bucket_of(200.0)): 10},
        }
    ]
    (row,) = merge([fast, slow])
    assert row["calls"] == 20 and row["errors"] == 1 and row["error_rate"] == 0.05
    assert 10.0 <= float(str(row["p50_ms"])) <= 10.5  # the 10th of 20 calls: 10 ms
    assert 200.0 <= float(str(row["p95_ms"])) <= 210.0  # within 5 % above


def test_a_route_slow_in_another_process_raises_one_alert(admin, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client = admin
    body = {"route": SLOW, "method": "GET", "metric": "p95_ms", "limit": "100", "min_calls": 5}
    assert client.post("/api/monitoring/thresholds", json=body).status_code == 201
    _other(db, "web-2:4242", seen_s_ago=1, ms=500, calls=20, errors=2)
    _other(db, "web-3:4343", seen_s_ago=3600, ms=5, calls=1000)  # stale: left out
    opened = client.post("/api/monitoring/check").json()["opened"]
    assert len(opened) == 1
    alert = db.get(MonitorAlert, opened[0])
    assert alert.route == SLOW and alert.calls == 20 and float(alert.value) >= 500
    assert client.post("/api/monitoring/check").json()["opened"] == []  # not twice
    db.expire_all()
    assert db.get(MonitorAlert, opened[0]).status == "open"  # this process did not close it

    overview = client.get("/api/monitoring").json()
    names = {i["instance"]: i for i in overview["instances"]}
    assert set(names) == {"web-2:4242", service.instance()} and names[service.instance()]["this"]
    merged = {r["route"]: r for r in overview["routes_all"]}
    assert merged[SLOW]["calls"] == 20 and merged[SLOW]["errors"] == 2
    page = client.get("/ops/monitoring", headers=HTML).text
    assert page.count('data-testid="ops-instance"') == 2 and "本进程" in page

    fast = db.get(MonitorInstance, "web-2:4242")  # the other process is fast again
    fast.routes = [{**fast.routes[0], "buckets": {str(bucket_of(20.0)): 20}}]
    db.commit()
    client.post("/api/monitoring/check")
    db.expire_all()
    assert db.get(MonitorAlert, opened[0]).status == "closed"


def test_publish_writes_this_process(admin, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    admin.get("/api/me")
    admin.post("/api/monitoring/check")
    row = db.get(MonitorInstance, service.instance())
    assert row is not None and any(r["route"] == "/api/me" for r in row.routes)
    assert (utcnow() - row.seen_at).total_seconds() < 30


def test_error_rate_is_compared_unrounded(admin, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """1 error in 10,000 calls is exactly the limit 0.0001: no alert.  1 in 9,616 is
    0.000104, shown as 0.0001 (4 decimals) but above the limit: an alert.  A limit
    finer than the 4 decimals kept is refused, not rounded to 0."""
    client = admin
    body = {"route": SLOW, "method": "GET", "metric": "error_rate", "limit": "0.00004"}
    refused = client.post("/api/monitoring/thresholds", json=body)
    assert refused.status_code == 422 and "最多 4 位小数" in refused.json()["error"]["message"]
    body["limit"] = "0.0001"
    assert client.post("/api/monitoring/thresholds", json=body).status_code == 201
    _other(db, "web-2:4242", seen_s_ago=1, ms=5, calls=10000, errors=1)
    assert client.post("/api/monitoring/check").json()["opened"] == []
    other = db.get(MonitorInstance, "web-2:4242")
    route = other.routes[0]
    other.routes = [{**route, "calls": 9616, "buckets": {str(bucket_of(5.0)): 9616}}]
    db.commit()
    (opened,) = client.post("/api/monitoring/check").json()["opened"]
    assert db.get(MonitorAlert, opened).metric == "error_rate"
