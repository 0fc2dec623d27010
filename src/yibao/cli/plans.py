"""``yibao plans`` and ``yibao group``: grouping plans and grouping case files."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import polars as pl
import typer
from rich.table import Table

from yibao.cli.common import console, fail, progress_bar
from yibao.config import get_settings
from yibao.engines.caseframe import GROUPER_INPUT
from yibao.engines.grouper import (
    RESULT_COLUMNS,
    CaseFileError,
    CompiledPlan,
    PlanError,
    PlanNotFoundError,
    PlanRegistry,
    diff_plans,
    group_batch,
    group_one,
    load_plan,
    read_cases,
    with_messages,
)
from yibao.grouping.plans import plan_registry
from yibao.kit.exports import csv_safe, write_xlsx

app = typer.Typer(no_args_is_help=True)
CHUNK_ROWS = 100_000
OUTPUT_TYPES = (".csv", ".parquet", ".xlsx")


def registry() -> PlanRegistry:
    """Package plans plus YIBAO_PLANS_DIR (searched first, so a bureau can override)."""
    return plan_registry(get_settings())


def _info(reg: PlanRegistry, plan_id: str):  # type: ignore[no-untyped-def]
    try:
        return reg.info(plan_id)
    except PlanNotFoundError as exc:
        raise fail(str(exc)) from None


@app.command("list")
def list_plans() -> None:
    """列出分组方案 / list grouping plans."""
    table = Table("方案", "版本", "名称", "有效期", "状态")
    for info in registry().list_plans():
        m = info.meta
        valid = f"{m.valid_from or '…'} — {m.valid_to or '至今'}"
        table.add_row(info.id, m.version, m.title, valid, m.status)
    console.print(table)


@app.command("show")
def show(plan_id: str = typer.Argument(..., help="方案 ID，如 chs-drg-1.1")) -> None:
    """显示方案概况：MDC、ADRG、DRG 数 / show a plan."""
    info = _info(registry(), plan_id)
    try:
        plan = load_plan(info.path)
    except PlanError as exc:
        raise fail(str(exc)) from None
    m = info.meta
    console.print(f"[bold]{m.title}[/]（{info.id}，版本 {m.version}，状态 {m.status}）")
    console.print(f"有效期 {m.valid_from or '…'} — {m.valid_to or '至今'}；目录 {info.path}")
    console.print(
        f"MDC {len(plan.mdc_order)}，ADRG {len(plan.adrgs)}，DRG {len(plan.drgs)}，"
        f"诊断 {len(plan.dx_names):,}，手术操作 {len(plan.proc_names):,}，"
        f"CC/MCC {len(plan.cc_mcc):,}"
    )
    table = Table("MDC", "ADRG 数", "DRG 数")
    for letter in plan.mdc_order:
        adrgs = plan.mdcs[letter].adrgs
        n_drg = sum(len(plan.adrgs[a].drgs) for a in adrgs)
        table.add_row(f"MDC{letter}", str(len(adrgs)), str(n_drg))
    console.print(table)


@app.command("diff")
def diff(
    plan_a: str = typer.Argument(..., help="旧方案 ID"),
    plan_b: str = typer.Argument(..., help="新方案 ID"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON / machine-readable"),
) -> None:
    """对比两个方案：DRG 增删改名、编码表、CC/MCC 与排除表变化 / diff two plans."""
    reg = registry()
    a, b = _info(reg, plan_a), _info(reg, plan_b)
    try:
        result = diff_plans(load_plan(a.path), load_plan(b.path))
    except PlanError as exc:
        raise fail(str(exc)) from None
    if as_json:
        import dataclasses

        print(json.dumps(dataclasses.asdict(result), ensure_ascii=False, indent=1))
    else:
        console.print(result.to_text(), highlight=False, markup=False)


def _pick_plans(reg: PlanRegistry, cases: pl.DataFrame, plan_id: str | None) -> pl.Series:
    """Plan id per row: the named plan, or the plan valid on each discharge date."""
    if plan_id:
        _info(reg, plan_id)
        return pl.Series("plan_id", [plan_id] * cases.height, dtype=pl.String)
    if "discharge_date" not in cases.columns:
        newest = reg.info_for_date(date.today()).id
        return pl.Series("plan_id", [newest] * cases.height, dtype=pl.String)
    days = cases.get_column("discharge_date").str.to_date(strict=False)
    ids = {}
    for day in days.drop_nulls().unique().to_list():
        try:
            ids[day] = reg.info_for_date(day).id
        except PlanNotFoundError as exc:
            raise fail(str(exc)) from None
    default = reg.info_for_date(date.today()).id
    return pl.Series(
        "plan_id", [ids.get(d, default) if d else default for d in days.to_list()], dtype=pl.String
    )


def _write(frame: pl.DataFrame, output: Path | None) -> None:
    if output is None:
        csv_safe(frame).write_csv(sys.stdout)
        return
    suffix = output.suffix.lower()
    if suffix not in OUTPUT_TYPES:
        raise fail(f"输出文件类型应为 {'/'.join(OUTPUT_TYPES)}：{output}")
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        csv_safe(frame).write_csv(output)
    elif suffix == ".parquet":
        frame.write_parquet(output)
    else:
        write_xlsx(frame, output, worksheet="分组结果")


def group(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="CSV / Parquet / XLSX 病例文件"),
    plan: str | None = typer.Option(None, help="方案 ID（默认按出院日期选取，无日期用现行方案）"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="输出文件（默认 CSV 到标准输出）"
    ),
    trace: bool = typer.Option(False, help="附加逐步分组过程（trace 列，JSON）"),
) -> None:
    """对病例文件分组 / group a case file (columns as cases-public.csv)."""
    if output is not None and output.suffix.lower() not in OUTPUT_TYPES:
        raise fail(f"输出文件类型应为 {'/'.join(OUTPUT_TYPES)}：{output}")
    try:
        cases = read_cases(input_path, keep_extra=True)
    except CaseFileError as exc:
        raise fail(str(exc)) from None
    if cases.height == 0:
        raise fail(f"病例文件 {input_path} 只有表头，没有病例：请在表头下每行填写一例")
    reg = registry()
    plan_ids = _pick_plans(reg, cases, plan)
    # input columns keep their names; clashing ones (e.g. expected results) get a suffix
    added = (*RESULT_COLUMNS, "message", "plan_id", "trace")
    clash = {c: f"{c}_input" for c in added if c in cases.columns}
    base = cases.rename(clash).with_columns(plan_ids)
    parts = []
    with progress_bar("分组 / grouping", cases.height) as bar:
        for offset in range(0, base.height, CHUNK_ROWS):
            chunk = base.slice(offset, CHUNK_ROWS)
            for (pid,), rows in chunk.group_by("plan_id", maintain_order=True):
                compiled = reg.get(str(pid))
                view = rows.select(list(GROUPER_INPUT))
                grouped = with_messages(compiled, view, group_batch(compiled, view))
                out = rows.with_columns(grouped.select(*RESULT_COLUMNS, "message"))
                if trace:
                    steps = [_trace_json(compiled, r) for r in view.iter_rows(named=True)]
                    out = out.with_columns(pl.Series("trace", steps, dtype=pl.String))
                parts.append(out)
            bar.advance(bar.task_ids[0], chunk.height)
    result = pl.concat(parts, how="diagonal_relaxed") if parts else base
    _write(result, output)
    if output is not None:
        counts = result.get_column("status").value_counts().sort("status").rows()
        summary = "，".join(f"{s} {n:,}" for s, n in counts)
        console.print(f"已分组 {result.height:,} 例 → {output}（{summary}）")


def _trace_json(compiled: CompiledPlan, case: dict[str, object]) -> str:
    res = group_one(compiled, case, trace=True)
    steps = [{"code": s.code, "ok": s.ok, "text": s.text} for s in res.trace or ()]
    return json.dumps(steps, ensure_ascii=False)


@app.command("export")
def export(
    plan_id: str = typer.Argument(..., help="方案 ID"),
    output: Path = typer.Option(..., "--output", "-o", help="工作簿文件（.xlsx）"),
) -> None:
    """导出方案为 Excel 工作簿（可修改后导入为本地方案）/ export a plan as a workbook."""
    from yibao.engines.grouper.workbook import export_workbook

    output.write_bytes(export_workbook(_info(registry(), plan_id).path))
    console.print(f"已导出 {plan_id} → {output}")


@app.command("check")
def check(
    workbook: Path = typer.Argument(..., exists=True, dir_okay=False, help="方案工作簿"),
) -> None:
    """检查方案工作簿：按工作表和行列出错误，或给出方案内容校验和 / check a workbook."""
    import tempfile

    from yibao.engines.grouper.workbook_read import (
        WorkbookError,
        build_plan_folder,
        read_workbook,
    )

    try:
        content = read_workbook(workbook.read_bytes())
        with tempfile.TemporaryDirectory() as tmp:
            plan_id = content.raw["plan"]["id"] or "check"
            title = content.raw["plan"]["title"]
            plan, checksum = build_plan_folder(content, Path(tmp) / "p", plan_id, title, {})
    except WorkbookError as exc:
        for issue in exc.issues:
            console.print(str(issue), highlight=False, markup=False)
        raise fail(f"工作簿有 {len(exc.issues)} 处错误") from None
    console.print(
        f"工作簿可以导入：MDC {len(plan.mdcs)} 个，ADRG {len(plan.adrgs)} 个，"
        f"DRG {len(plan.drgs)} 个；内容校验和 {checksum}",
        highlight=False,
    )
