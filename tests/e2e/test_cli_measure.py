"""`yibao measure weights` and `yibao measure simulate` on a seeded database."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select

from tests.e2e.test_cli import env, runner  # noqa: F401  (fixture)
from yibao.cli.main import app
from yibao.db.scoping import SYSTEM_SCOPE, Scope, set_scope
from yibao.demo.seed import seed_demo
from yibao.measurement import service as svc
from yibao.measurement.models import MeasurementRun
from yibao.measurement.service import region_of


def test_measure_weights_and_simulate(env, db, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=3, years=[2023, 2024, 2025], cases_per_year=600)
    db.commit()
    out = tmp_path / "w.csv"
    result = runner.invoke(
        app,
        [
            "measure",
            "weights",
            "--years",
            "2023,2024,2025",
            "--weight-params",
            '{"min_cases": 2}',
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "测算运行 #" in result.output and "住院天数" in result.output
    weights = pl.read_csv(out)
    assert weights.height > 100 and "relative_weight" in weights.columns

    db.expire_all()
    set_scope(db, Scope(region_code="990100"))
    run = db.scalar(select(MeasurementRun).order_by(MeasurementRun.id.desc()))
    assert run is not None and run.status == "succeeded"
    from yibao.audit.service import Actor

    actor = Actor(None, "test")
    items = svc.run_weights_frame(db, run.id)
    manual = dict.fromkeys(items.filter(pl.col("relative_weight").is_null())["drg"], "1.0")
    plan = svc.do_create_weight_plan(
        db, run=run, code="CLI", name="cli", adjustments={"manual": manual}, actor=actor
    )
    from yibao.config import get_settings
    from yibao.grouping.plans import plan_registry
    from yibao.measurement.service import create_rate_plan

    rate = create_rate_plan(
        db,
        plan_registry(get_settings()),
        weight_plan=plan,
        run=run,
        name="r",
        volume_year=2025,
        params={"growth": "0.03"},
        actor=actor,
    )
    db.commit()
    assert region_of("990100") == "9901"
    sim = runner.invoke(
        app,
        [
            "measure",
            "simulate",
            "--weight-plan",
            str(plan.id),
            "--rate-plan",
            str(rate.id),
            "--year",
            "2025",
            "--solve",
            "-o",
            str(tmp_path / "h.xlsx"),
        ],
    )
    assert sim.exit_code == 0, sim.output
    assert "模拟 #" in sim.output and "求解结果" in sim.output and "三级" in sim.output
    bad = runner.invoke(
        app, ["measure", "simulate", "--weight-plan", "999", "--rate-plan", "1", "--year", "2025"]
    )
    assert bad.exit_code == 2 and "权重方案 999 不存在" in bad.output
