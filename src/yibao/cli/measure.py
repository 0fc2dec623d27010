"""``yibao measure``: scripted measurement runs on the database (as the web pages do)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import typer
from rich.table import Table

from yibao.audit.service import Actor
from yibao.cli.common import console, domain_errors, fail, progress_bar
from yibao.cli.demo import parse_years
from yibao.config import get_settings
from yibao.db.scoping import Scope, set_scope
from yibao.db.session import unit_of_work
from yibao.engines import measure as m
from yibao.grouping.plans import plan_info, plan_registry
from yibao.kit.exports import csv_safe, write_xlsx
from yibao.kit.money import format_yuan
from yibao.measurement import service as svc
from yibao.measurement.frames import case_frame, regroup_years
from yibao.regions.models import Region, region_prefix

app = typer.Typer(no_args_is_help=True)
CLI_ACTOR = Actor(None, "cli")


def _json_option(text: str | None, name: str) -> dict[str, object]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{name} 不是合法的 JSON：{exc}") from None
    if not isinstance(value, dict):
        raise fail(f'{name} 应为 JSON 对象，如 \'{{"method": "iqr"}}\'')
    return value


def _yuan(value: object) -> str:
    """A JSON money value (string or number) as 1,234.56."""
    return format_yuan(None if value is None else Decimal(str(value)))


def _write(frame: pl.DataFrame, output: Path) -> None:
    suffix = output.suffix.lower()
    if suffix == ".csv":
        csv_safe(frame).write_csv(output)
    elif suffix == ".xlsx":
        write_xlsx(frame, output, worksheet="测算结果")
    elif suffix == ".parquet":
        frame.write_parquet(output)
    else:
        raise fail(f"输出文件类型应为 .csv/.xlsx/.parquet：{output}")


# long: the command's options and its step-by-step console report
@app.command("weights")
def weights(
    years: str = typer.Option(..., help="历史年度，逗号分隔，如 2023,2024,2025"),
    region: str = typer.Option("990100", help="医保区划（测算范围）"),
    plan: str = typer.Option("chs-drg-1.1", help="分组方案 ID"),
    name: str = typer.Option("命令行测算", help="测算名称"),
    exclusions: str | None = typer.Option(None, help="排除规则 JSON，如 '{\"los_max_days\": 60}'"),
    trim: str | None = typer.Option(None, help='裁剪参数 JSON，如 \'{"method": "iqr"}\''),
    weight_params: str | None = typer.Option(
        None,
        "--weight-params",
        help='权重参数 JSON，如 \'{"year_weights": [1,2,7], "min_cases": 10}\'',
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="权重表输出（csv/xlsx/parquet）"
    ),
) -> None:
    """基础测算：分组、排除、裁剪、相对权重（保存为测算运行）/ base run."""
    year_list = parse_years(years)
    params = {
        "exclusions": _json_option(exclusions, "--exclusions"),
        "trim": _json_option(trim, "--trim"),
        "weights": _json_option(weight_params, "--weight-params"),
    }
    registry = plan_registry(get_settings())
    with domain_errors(), unit_of_work() as session:
        if session.get(Region, region) is None:
            raise fail(f"医保区划 {region} 不存在")
        set_scope(session, Scope(region_code=region))
        info = plan_info(registry, plan)
        run = svc.do_create_run(
            session,
            region_code=region,
            name=name,
            plan_id=info.id,
            plan_version=info.meta.version,
            years=year_list,
            params=params,
            actor=CLI_ACTOR,
        )
        with progress_bar("分组 / grouping", None) as bar:
            regroup_years(
                session,
                registry,
                info.id,
                year_list,
                CLI_ACTOR,
                progress=lambda d, t: bar.update(bar.task_ids[0], completed=d, total=t),
            )
        frame = case_frame(session, info.id, year_list)
        summary = svc.execute_run(session, run, frame)
        table = svc.run_weights_frame(session, run.id)
        run_id = run.id
    q = summary["quality"]
    console.print(
        f"测算运行 #{run_id}：病例 {summary['cases']:,}，排除 {summary['excluded']:,}，"
        f"裁剪 {summary['trimmed']:,}，入基数 {summary['base_cases']:,}；"
        f"DRG {summary['drgs']}（待人工设定 {summary['flagged']}），RIV {q.get('riv') or 0:.4f}"
    )
    ex = Table("排除原因", "病例数")
    for row in summary["exclusions"]:
        ex.add_row(row["reason"], f"{row['cases']:,}")
    console.print(ex)
    if output:
        _write(table, output)
        console.print(f"权重表已写出 {output}（{table.height} 个 DRG）")


@app.command("simulate")
def simulate(
    weight_plan: int = typer.Option(..., help="权重方案 ID"),
    rate_plan: int = typer.Option(..., help="费率方案 ID"),
    year: int = typer.Option(..., help="模拟年度（真实病例）"),
    region: str = typer.Option("990100", help="医保区划"),
    params: str | None = typer.Option(None, help='模拟参数 JSON，如 \'{"low_multiplier": "0.3"}\''),
    solve: bool = typer.Option(False, help="求解满足预算的费率"),
    name: str = typer.Option("命令行模拟", help="名称"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="按医院结果输出（csv/xlsx/parquet）"
    ),
) -> None:
    """模拟支付：按权重方案和费率方案对某年真实病例模拟 / simulate payment."""
    sim_params = _json_option(params, "--params")
    registry = plan_registry(get_settings())
    with domain_errors(), unit_of_work() as session:
        set_scope(session, Scope(region_code=region))
        prefix = region_prefix(region)
        wp = svc.get_weight_plan(session, weight_plan, prefix)
        rate_row = svc.get_rate_plan(session, rate_plan, prefix)
        if rate_row.weight_plan_id != wp.id:
            raise fail(f"费率方案 {rate_plan} 不是基于权重方案 {weight_plan}")
        sim = svc.create_simulation(
            session,
            registry,
            weight_plan=wp,
            rate_row=rate_row,
            run=svc.get_run(session, wp.run_id, prefix),
            name=name,
            year=year,
            params=sim_params,
            solve_budget=solve,
            actor=CLI_ACTOR,
        )
        sim_id, results = sim.id, sim.results
    t = results["totals"]
    console.print(
        f"模拟 #{sim_id}（{year} 年 {int(t['cases']):,} 例）："
        f"DRG 支付 {_yuan(t['drg_payment'])} 元，"
        f"项目费用 {_yuan(t['total_cost'])} 元，结余 {_yuan(t['balance'])} 元，"
        f"预算差 {_yuan(t['budget_gap'])} 元"
    )
    if "solved" in results:
        console.print(f"求解结果：{results['solved']}")
    levels = Table("等级", "病例", "DRG支付", "项目费用", "支付/费用")
    for row in results["by_level"]:
        levels.add_row(
            m.LEVEL_NAMES.get(row["hospital_level"], row["hospital_level"]),
            f"{int(row['cases']):,}",
            _yuan(row["drg_payment"]),
            _yuan(row["total_cost"]),
            f"{row['payment_ratio']}",
        )
    console.print(levels)
    if output:
        _write(pl.DataFrame(results["by_hospital"]), output)
        console.print(f"按医院结果已写出 {output}")
