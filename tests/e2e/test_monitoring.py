"""应用监控 (issue 15 item 5): a forced slow route crosses its latency threshold; the
alert appears on the operations page and at the webhook; it closes when the route is
fast again; switches turn a component off without a restart (SQLite, or PostgreSQL
with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from tests import builders as b
from tests.builders.settlement import login
from yibao.accounts.roles import Role
from yibao.cases import repository
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.kit.monitor import FLAGS, WINDOW

HTML = {"accept": "text/html"}


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def webhook():  # type: ignore[no-untyped-def]
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


@pytest.fixture()
def admin(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    b.region(db, "990100")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="ops")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    db.commit()
    WINDOW.clear()
    FLAGS.update(dict.fromkeys(FLAGS, True))
    login(client, "ops")
    return client


def _wait(predicate, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_slow_route_raises_an_alert_on_the_page_and_the_webhook(  # type: ignore[no-untyped-def]
    admin, webhook, monkeypatch
) -> None:
    client = admin
    assert client.put("/api/monitoring/webhook", json={"url": webhook}).status_code == 200
    body = {
        "route": "/api/cases",
        "method": "GET",
        "metric": "p95_ms",
        "limit": "40",
        "min_calls": 3,
    }
    assert client.post("/api/monitoring/thresholds", json=body).status_code == 201
    bad = client.post("/api/monitoring/thresholds", json={**body, "metric": "p42"})
    assert bad.status_code == 422 and "metric" in bad.json()["error"]["message"]

    real = repository.list_cases

    def slow(*args: Any, **kw: Any) -> Any:  # the forced slow route
        time.sleep(0.08)
        return real(*args, **kw)

    monkeypatch.setattr(repository, "list_cases", slow)
    for _ in range(4):
        assert client.get("/api/cases").status_code == 200
    opened = client.post("/api/monitoring/check").json()["opened"]
    assert len(opened) == 1
    _wait(lambda: bool(_Hook.received))
    hook = _Hook.received[0]
    assert hook["route"] == "/api/cases" and hook["metric"] == "p95_ms"
    assert float(hook["value"]) >= 80 and hook["limit"] == "40.0000"
    page = client.get("/ops/monitoring", headers=HTML).text
    assert 'data-testid="ops-alert"' in page and "GET /api/cases" in page and "告警中" in page
    _wait(lambda: "已发送（HTTP 204）" in client.get("/ops/monitoring", headers=HTML).text)
    # still slow: no second alert for the same route and threshold
    assert client.post("/api/monitoring/check").json()["opened"] == []

    monkeypatch.setattr(repository, "list_cases", real)
    WINDOW.clear()
    for _ in range(4):
        client.get("/api/cases")
    client.post("/api/monitoring/check")
    overview = client.get("/api/monitoring").json()
    assert overview["alerts"][0]["status"] == "closed"
    assert any(r["route"] == "/api/cases" for r in overview["routes"])
    assert overview["health"][0]["ok"] is True  # the database answers


def test_components_switch_without_restart(admin) -> None:  # type: ignore[no-untyped-def]
    client = admin
    switches = {"metrics": True, "route_stats": False, "request_log": True, "alerts": True}
    assert (
        client.put("/api/monitoring/components", json={"components": switches}).status_code == 200
    )
    WINDOW.clear()
    client.get("/healthz")
    client.get("/static/vendor/htmx/htmx.min.js")
    assert not any(r["route"] == "/healthz" for r in WINDOW.stats())  # not recorded now
    page = client.get("/ops/monitoring", headers=HTML).text
    assert 'name="c_route_stats" checked' not in page and 'name="c_metrics" checked' in page
    switches["route_stats"] = True
    client.put("/api/monitoring/components", json={"components": switches})
    client.get("/healthz")
    client.get("/static/vendor/htmx/htmx.min.js")  # static files are not routes
    routes = [r["route"] for r in WINDOW.stats()]
    assert "/healthz" in routes and "<unmatched>" not in routes
    bad = client.put("/api/monitoring/components", json={"components": {"radar": True}})
    assert bad.status_code == 422 and "radar" in bad.json()["error"]["message"]
    client.post("/logout")
    login(client, "analyst")
    assert client.get("/api/monitoring").status_code == 403
    assert client.get("/ops/monitoring", headers=HTML).status_code == 403
