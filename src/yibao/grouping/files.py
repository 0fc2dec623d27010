"""Case files (CSV / Parquet / XLSX): read, group in chunks, write; small uploads at
once, large ones as a ``grouping.batch`` job.  Nothing here commits."""

from __future__ import annotations

import io
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.engines.caseframe import GROUPER_INPUT
from yibao.engines.grouper import (
    RESULT_COLUMNS,
    CaseFileError,
    PlanInfo,
    PlanRegistry,
    group_batch,
    read_cases,
    with_messages,
)
from yibao.grouping.plans import compiled_plan, default_plan, plan_for_date, plan_info
from yibao.grouping.service import status_counts
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner
from yibao.jobs.service import do_submit_job
from yibao.kit.errors import ValidationFailed
from yibao.kit.exports import csv_safe, write_xlsx
from yibao.kit.tables import TableLimits, check_xlsx, table_limits

BATCH_KIND = "grouping.batch"
OUTPUT_FORMATS = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
READABLE_SUFFIXES = (".csv", ".txt", ".parquet", ".pq", ".xlsx", ".xlsm")
XLSX_MAX_ROWS = 1_048_575
BATCH_CHUNK_ROWS = 50_000


def read_case_file(
    path: Path, display_name: str | None = None, limits: TableLimits | None = None
) -> pl.DataFrame:
    """A case file as grouper input (extra columns kept as text); 422 when unreadable,
    when an Excel file would unpack beyond the limit or has too many rows."""
    limits = limits or TableLimits()
    shown = display_name or path.name
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        with path.open("rb") as fh:
            check_xlsx(fh, shown, limits)
    try:
        df = read_cases(path, keep_extra=True)
        if df.height > limits.max_rows:
            raise ValidationFailed(
                f"文件 {shown} 有 {df.height:,} 行，超过上限 {limits.max_rows:,} 行：请拆分后上传",
                code="case_file",
                field="file",
            )
        return df
    except CaseFileError as exc:
        message = str(exc)
        if display_name:
            message = message.replace(str(path), display_name)
        raise ValidationFailed(message, code="case_file", field="file") from None


#: columns the result adds; input columns of these names are kept as ``<name>_input``
ADDED_COLUMNS = (*RESULT_COLUMNS, "message", "plan_id")


def row_plans(registry: PlanRegistry, df: pl.DataFrame, plan: PlanInfo | None) -> pl.Series:
    """Plan id per row: ``plan``; else the plan valid on the row's ``discharge_date``
    (when the file has that column); rows without a date get the current plan."""
    if plan is not None:
        return pl.Series("plan_id", [plan.id] * df.height, dtype=pl.String)
    default = default_plan(registry).id
    if "discharge_date" not in df.columns:
        return pl.Series("plan_id", [default] * df.height, dtype=pl.String)
    days = df.get_column("discharge_date").cast(pl.String).str.to_date(strict=False)
    ids: dict[Any, str] = {}
    for day in days.drop_nulls().unique().to_list():
        found = plan_for_date(registry, day)
        if found is None:
            raise ValidationFailed(
                f"出院日期 {day} 没有有效的分组方案，请指定分组方案（plan）",
                code="plan_not_found",
                field="plan",
            )
        ids[day] = found.id
    return pl.Series(
        "plan_id", [ids.get(d, default) if d else default for d in days.to_list()], dtype=pl.String
    )


def group_frame(
    registry: PlanRegistry,
    df: pl.DataFrame,
    plan: PlanInfo | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int | None = None,
) -> pl.DataFrame:
    """Group a case frame (as ``read_cases``) in chunks, ``progress(done)`` after each.

    Adds ``plan_id``, ``status``, ``mdc``, ``adrg``, ``drg``, ``drg_name`` and a Chinese
    ``message`` per row (as ``yibao group`` does); input columns with those names are
    kept as ``<name>_input``.  Rows keep their order; a bad row never stops the batch.
    """
    size = max(1, chunk_rows or BATCH_CHUNK_ROWS)
    clash = {c: f"{c}_input" for c in ADDED_COLUMNS if c in df.columns}
    base = df.rename(clash).with_columns(row_plans(registry, df, plan)).with_row_index("_row")
    parts = []
    for start in range(0, base.height, size):
        chunk = base.slice(start, size)
        for (pid,), rows in chunk.group_by("plan_id", maintain_order=True):
            compiled = compiled_plan(registry, plan_info(registry, str(pid)))
            view = rows.select(list(GROUPER_INPUT))
            try:
                grouped = with_messages(compiled, view, group_batch(compiled, view))
            except CaseFileError as exc:
                raise ValidationFailed(str(exc), code="case_file", field="file") from None
            parts.append(rows.with_columns(grouped.select(*RESULT_COLUMNS, "message")))
        if progress:
            progress(min(base.height, start + size))
    if not parts:
        return base.drop("_row").with_columns(
            pl.lit(None, dtype=pl.String).alias(c) for c in (*RESULT_COLUMNS, "message")
        )
    return pl.concat(parts, how="diagonal_relaxed").sort("_row").drop("_row")


def check_format(fmt: str | None) -> str:
    fmt = (fmt or "csv").strip().lower()
    if fmt not in OUTPUT_FORMATS:
        raise ValidationFailed(
            f"输出格式（format）应为 {'、'.join(OUTPUT_FORMATS)} 之一，收到 {fmt!r}",
            field="format",
        )
    return fmt


def write_result(df: pl.DataFrame, fmt: str, target: Path | IO[bytes]) -> None:
    """Write a grouped frame as CSV (UTF-8 with BOM, for Excel), XLSX or Parquet; text
    stays text (:mod:`yibao.kit.exports`)."""
    if fmt == "csv":
        csv_safe(df).write_csv(target, include_bom=True)
    elif fmt == "parquet":
        df.write_parquet(target)
    else:
        if df.height > XLSX_MAX_ROWS:
            raise ValidationFailed(
                f"XLSX 最多 {XLSX_MAX_ROWS:,} 行，本批 {df.height:,} 行，请选择 CSV 或 Parquet",
                field="format",
            )
        write_xlsx(df, target, worksheet="分组结果")


def result_name(upload_name: str, plan_id: str, fmt: str) -> str:
    """Download name of a result file (ASCII, from the uploaded file's name)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload_name or "cases").stem).strip("._")
    return f"{stem[:60] or 'cases'}-grouped-{plan_id}{OUTPUT_FORMATS[fmt]}"


@dataclass
class UploadOutcome:
    """A grouped small file (``content``) or the job of a large one (``job``)."""

    plan: PlanInfo | None
    rows: int
    fmt: str
    filename: str
    content: bytes | None = None
    job: Job | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]


# long: small files are grouped at once, large ones queued; both paths share the checks above them
def do_group_upload(
    session: Session,
    runner: JobRunner,
    settings: Any,
    registry: PlanRegistry,
    *,
    filename: str,
    stream: IO[bytes],
    plan_id: str | None,
    fmt: str | None,
    actor: Actor,
) -> UploadOutcome:
    """Group an uploaded case file: at most ``settings.grouping_sync_max_rows`` rows at
    once (the result comes back), more as a ``grouping.batch`` job (its result file is
    downloaded from the job).  A missing required column is a 422 before any job."""
    fmt = check_format(fmt)
    info = plan_info(registry, plan_id) if plan_id else None
    suffix = Path(filename or "").suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        raise ValidationFailed(
            f"不支持的病例文件格式 {suffix or '（无扩展名）'}，应为 CSV、Parquet 或 XLSX",
            code="case_file",
            field="file",
        )
    uploads = Path(settings.var_dir) / "jobs" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    tmp = uploads / f"{uuid.uuid4().hex}{suffix}"
    try:
        with tmp.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        df = read_case_file(tmp, display_name=filename, limits=table_limits(settings))
        row_plans(registry, df, info)  # a discharge date without a plan: 422 now
        plan_label = info.id if info else "by-date"
        name = result_name(filename, plan_label, fmt)
        outcome = UploadOutcome(plan=info, rows=df.height, fmt=fmt, filename=name)
        if df.height <= settings.grouping_sync_max_rows:
            grouped = group_frame(registry, df, info)
            buf = io.BytesIO()
            write_result(grouped, fmt, buf)
            outcome.content = buf.getvalue()
            outcome.counts = status_counts(grouped)
            return outcome
        if fmt == "xlsx" and df.height > XLSX_MAX_ROWS:
            write_result(df, fmt, io.BytesIO())  # raises the Chinese 422
        outcome.job = do_submit_job(
            session,
            runner,
            kind=BATCH_KIND,
            params={
                "input_file": f"input{suffix}",
                "upload_name": Path(filename).name[:200],
                "plan_id": info.id if info else None,
                "format": fmt,
                "result_name": name,
            },
            actor=actor,
            total=df.height,
            message=f"排队中：{df.height:,} 例，方案 {info.id if info else '按出院日期选择'}",
            prepare=lambda _job, work_dir: _move(tmp, work_dir / f"input{suffix}"),
        )
        return outcome
    finally:
        tmp.unlink(missing_ok=True)


def _move(src: Path, dst: Path) -> None:
    shutil.move(src, dst)
