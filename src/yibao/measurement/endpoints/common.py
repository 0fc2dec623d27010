"""What the measurement endpoints share: the analyst requirement, the user's region,
the export formats and a table answered as JSON rows, CSV or XLSX.
"""

from __future__ import annotations

import io
from typing import Literal

import polars as pl
from fastapi.responses import JSONResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import require
from yibao.api.openapi import CSV, XLSX, download
from yibao.jobs.models import Job
from yibao.kit.exports import csv_safe, labelled, write_xlsx
from yibao.measurement import service as svc
from yibao.measurement.schemas import JobAccepted

ANALYST = require(Permission.MEASURE)


def region_of(user: User) -> str:
    return svc.region_of(user.region_code)


def table_response(frame: pl.DataFrame, fmt: str, name: str) -> Response:
    """A frame as JSON rows, CSV or XLSX (every table can be exported; text stays text)."""
    if fmt == "csv":
        return download(csv_safe(frame).write_csv().encode("utf-8-sig"), CSV, f"{name}.csv")
    if fmt == "xlsx":
        buf = io.BytesIO()
        shown = labelled(frame, svc.EXPORT_LABELS, svc.EXPORT_VALUES)
        write_xlsx(shown, buf, worksheet=name[:31], autofit=True)
        return download(buf.getvalue(), XLSX, f"{name}.xlsx")
    return JSONResponse(svc._jsonable(frame.to_dicts()))


Fmt = Literal["json", "csv", "xlsx"]


def accepted(job: Job) -> JSONResponse:
    """202 with where to follow a queued job."""
    body = JobAccepted(
        job_id=job.id, job_url=f"/api/jobs/{job.id}", status=job.status, message=job.message
    )
    return JSONResponse(status_code=202, content=body.model_dump())
