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
