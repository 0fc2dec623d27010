"""Warm-up at server start: every page template compiled, today's plan compiled."""

from __future__ import annotations

from datetime import date

from yibao.api.app import warm_up
from yibao.config import Settings
from yibao.grouping.plans import plan_registry
from yibao.web.render import templates


def test_warm_up_compiles_templates_and_todays_plan(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", var_dir=tmp_path)
    templates.env.cache.clear()
    warm_up(settings)
    names = templates.env.list_templates(extensions=["html"])
    assert len(names) > 20
    assert len(templates.env.cache) >= len(names)
    registry = plan_registry(settings)
    assert registry.info_for_date(date.today()).id in registry._compiled


def test_warm_up_resolves_every_route_before_the_first_request(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """FastAPI builds an included route's models when a request first reaches it; the
    first users after a restart paid for it (a few seconds of CPU per process under
    load).  After warm-up no request builds any."""
    from fastapi import routing
    from fastapi.testclient import TestClient

    from yibao.api.app import create_app

    if not hasattr(routing, "_EffectiveRouteContext"):  # pragma: no cover - other FastAPI
        return
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", var_dir=tmp_path)
    app = create_app(settings)
    warm_up(settings, app)
    built = []
    original = routing._EffectiveRouteContext.from_api_route.__func__

    def counting(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(1)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(routing._EffectiveRouteContext, "from_api_route", classmethod(counting))
    client = TestClient(app)
    for path in ("/login", "/api/me", "/settlement/lists", "/api/settlement/lists", "/cases"):
        client.get(path)
    client.post("/api/settlement/lists", json=[])
    assert built == []


def test_settling_for_serving_freezes_what_is_loaded() -> None:
    import gc

    from yibao.api.app import settle_for_serving

    try:
        settle_for_serving()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_ready_only_after_warm_up(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``/healthz?ready=1`` (a proxy's or a benchmark's readiness check) says 503 while
    the process warms up, 200 after; plain ``/healthz`` is liveness only."""
    from fastapi.testclient import TestClient

    from yibao.api import app as app_module

    monkeypatch.setattr(app_module, "settle_for_serving", lambda: None)  # no gc.freeze here
    monkeypatch.setattr(app_module, "warm_up", lambda settings, app=None: None)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}", var_dir=tmp_path, warm_up=True
    )
    app = app_module.create_app(settings)
    client = TestClient(app)  # no lifespan: the warm-up thread is not started
    assert client.get("/healthz").status_code == 200
    warming = client.get("/healthz?ready=1")
    assert warming.status_code == 503 and warming.json()["status"] == "warming"
    app_module.prepare_to_serve(settings, app)
    assert client.get("/healthz?ready=1").status_code == 200
    cold = app_module.create_app(settings.model_copy(update={"warm_up": False}))
    assert TestClient(cold).get("/healthz?ready=1").status_code == 200
