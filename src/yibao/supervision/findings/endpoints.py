"""JSON API of post-audit runs and the findings workflow (智能审核疑点, ADR 0024).

* ``POST /api/supervision/findings/runs`` — start a post-audit of a month or range
  (bureau); ``GET …/runs/{job_id}`` — its status and summary;
* ``GET /api/supervision/findings`` — the list (filters: hospital, rule, state, period,
  severity, source, deducted_period); ``GET …/export.xlsx`` — the same as Excel;
* ``GET /api/supervision/findings/{id}`` — lines, evidence, decisions, history,
  attachments and the actions open to the caller;
* transitions: ``POST …/publish`` (bulk), ``…/{id}/drop``, ``…/{id}/accept``,
  ``…/{id}/appeal`` (multipart: reason + files; after 初审 维持 it asks for 复审),
  ``…/{id}/first-decision``, ``…/{id}/second-decision``; ``POST …/expire`` (bureau:
  finalise overdue findings now);
* ``GET …/{id}/attachments/{attachment_id}`` — download.

A hospital user sees and acts on its own hospital's findings only.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import CurrentUser, Db, request_actor, require, runner_of
from yibao.api.openapi import XLSX, download, file_answers
from yibao.jobs.service import get_job
from yibao.kit.bounds import DbId, PageNo, PageSize
from yibao.kit.errors import NotFound
from yibao.kit.paging import clamp_page
from yibao.supervision.findings import attachments, repository, run, service, views
from yibao.supervision.findings import tasks as _tasks  # noqa: F401  (registers the job kind)
from yibao.supervision.findings.auth import viewer
from yibao.supervision.findings.repository import FindingFilter
from yibao.supervision.findings.rules import FindingRules
from yibao.supervision.findings.schemas import (
    DecisionIn,
    ExpireOut,
    FindingDetail,
    FindingOut,
    FindingPage,
    PublishIn,
    PublishOut,
    ReasonIn,
    RunIn,
    RunOut,
)
from yibao.supervision.findings.states import Side

router = APIRouter(prefix="/api/supervision/findings", tags=["supervision 智能审核疑点"])
REVIEW = require(Permission.REVIEW_FINDINGS)
ANSWER = require(Permission.ANSWER_FINDINGS)


async def _viewer(user: CurrentUser) -> User:
    return viewer(user)


VIEW = Depends(_viewer)


def _filter(
    user: User,
    hospital: str | None,
    rule: str | None,
    state: str | None,
    period: str | None,
    severity: int | None,
    source: str | None,
    deducted_period: str | None,
) -> FindingFilter:
    return FindingFilter(
        hospital=hospital or None,
        rule=rule or None,
        state=state or None,
        period=period or None,
        severity=severity,
        source=source or None,
        deducted_period=deducted_period or None,
        published_only=service.side_of(user) == Side.HOSPITAL,
    )


def _detail(db: Db, finding_id: int, user: User) -> FindingDetail:
    hospital = service.side_of(user) == Side.HOSPITAL
    row = repository.get_finding(db, finding_id, published_only=hospital)
    return FindingDetail.model_validate(views.finding_detail(db, row, user))


@router.post("/runs", response_model=RunOut, status_code=202, summary="发起事后审核")
def start_run(request: Request, body: RunIn, db: Db, user: User = REVIEW) -> RunOut:
    """对本辖区一个月或连续多个月（最多 12 个月）的已存数据做事后审核（后台任务）。"""
    job = run.do_start_post_audit(
        db,
        runner_of(request),
        period_from=body.period_from,
        period_to=body.period_to,
        user=user,
        actor=request_actor(request, user),
    )
    return RunOut(
        job_id=job.id,
        status=job.status,
        message=job.message,
        months=job.params["months"],
        summary=None,
    )


@router.get("/runs/{job_id}", response_model=RunOut, summary="事后审核任务状态")
def run_status(job_id: DbId, db: Db, user: User = REVIEW) -> RunOut:
    job = get_job(db, job_id)
    if job.kind != run.POST_AUDIT_KIND:
        raise NotFound(f"任务 {job_id} 不是事后审核任务 / not found")
    return RunOut(
        job_id=job.id,
        status=job.status,
        message=job.message,
        months=list(job.params.get("months", [])),
        summary=job.summary,
    )


@router.get(
    "", response_model=FindingPage, summary="疑点列表（可导出 Excel）", responses=file_answers(XLSX)
)
def list_findings(
    db: Db,
    user: User = VIEW,
    format: Literal["json", "xlsx"] = Query(
        "json", description="json 列表 / xlsx 导出全部筛选结果"
    ),
    hospital: str | None = Query(None, max_length=12, description="医疗机构编码"),
    rule: str | None = Query(None, max_length=40, description="规则编号"),
    state: str | None = Query(None, max_length=16, description="状态"),
    period: str | None = Query(None, max_length=7, description="期间 YYYY-MM"),
    severity: int | None = Query(None, ge=1, le=3, description="严重程度"),
    source: str | None = Query(None, max_length=10, description="rule / detector"),
    deducted_period: str | None = Query(None, max_length=7, description="扣款结算期间"),
    page: PageNo = 1,
    size: PageSize = 50,
) -> FindingPage | Response:
    """本辖区（医院用户：本院）的疑点，可按医院、规则、状态、期间、严重程度筛选；
    ``format=xlsx`` 导出全部筛选结果（中文表头）。"""
    flt = _filter(user, hospital, rule, state, period, severity, source, deducted_period)
    if format == "xlsx":
        return download(repository.export_xlsx(db, flt), XLSX, "findings.xlsx", "疑点清单.xlsx")
    page, size = clamp_page(page, size)
    result = repository.list_findings(db, flt, page, size)
    return FindingPage(
        items=[FindingOut.model_validate(views.finding_row(f)) for f in result.items],
        total=result.total,
        page=result.page,
        size=result.size,
        totals=repository.totals(db, flt),
    )


@router.post("/publish", response_model=PublishOut, summary="公示疑点（批量）")
def publish(request: Request, body: PublishIn, db: Db, user: User = REVIEW) -> PublishOut:
    """把选中的待公示疑点公示给医院，设答复期限；有一条不是待公示则全部不公示。"""
    rows = service.do_publish(
        db, body.ids, reason=body.reason, user=user, actor=request_actor(request, user)
    )
    return PublishOut(published=len(rows), deadline=rows[0].deadline if rows else None)


@router.post("/expire", response_model=ExpireOut, summary="逾期疑点按规则维持")
def expire(request: Request, db: Db, user: User = REVIEW) -> ExpireOut:
    """本辖区已过答复期限的疑点：已公示的按原金额维持，初审维持的按初审金额维持，并计入扣款。"""
    return ExpireOut(expired=service.do_expire_overdue(db, actor=request_actor(request, user)))


@router.get("/{finding_id}", response_model=FindingDetail, summary="一条疑点")
def finding(finding_id: DbId, db: Db, user: User = VIEW) -> FindingDetail:
    return _detail(db, finding_id, user)


@router.post("/{finding_id}/drop", response_model=FindingDetail, summary="不予公示（撤销）")
def drop(
    finding_id: DbId, request: Request, body: ReasonIn, db: Db, user: User = REVIEW
) -> FindingDetail:
    service.do_drop(
        db, finding_id, reason=body.reason, user=user, actor=request_actor(request, user)
    )
    return _detail(db, finding_id, user)


@router.post("/{finding_id}/accept", response_model=FindingDetail, summary="医院认可")
def accept(
    finding_id: DbId, request: Request, body: ReasonIn, db: Db, user: User = ANSWER
) -> FindingDetail:
    """医院认可已公示的疑点（按疑点金额）或认可初审结果（按初审金额）；计入当月结算单扣款。"""
    service.do_accept(
        db, finding_id, reason=body.reason, user=user, actor=request_actor(request, user)
    )
    return _detail(db, finding_id, user)


@router.post(
    "/{finding_id}/appeal", response_model=FindingDetail, summary="医院申诉/答复或申请复审"
)
def appeal(
    finding_id: DbId,
    request: Request,
    db: Db,
    user: User = ANSWER,
    reason: str | None = Form(None, description="申诉理由（必填）"),
    files: list[UploadFile] = File(default_factory=list, description="附件"),
) -> FindingDetail:
    """答复期限内申诉（附理由与附件）；初审维持后，同一接口申请一次复审。"""
    rules = FindingRules()
    loaded: list[tuple[str, bytes]] = []
    for f in files[: rules.max_attachments + 1]:
        f.file.seek(0)
        loaded.append((f.filename or "", f.file.read(rules.max_attachment_bytes + 1)))
    if len(files) > len(loaded):
        loaded.append(("", b""))  # counted, refused by the limit on their number
    service.do_appeal(
        db,
        finding_id,
        reason=reason,
        files=loaded,
        user=user,
        actor=request_actor(request, user),
        rules=rules,
    )
    return _detail(db, finding_id, user)


@router.post("/{finding_id}/first-decision", response_model=FindingDetail, summary="初审")
def first_decision(
    finding_id: DbId, request: Request, body: DecisionIn, db: Db, user: User = REVIEW
) -> FindingDetail:
    """初审：维持（金额 0 至疑点金额）或撤销，原因必填。"""
    service.do_first_decision(
        db,
        finding_id,
        uphold=body.decision == "uphold",
        amount=body.amount,
        reason=body.reason,
        user=user,
        actor=request_actor(request, user),
    )
    return _detail(db, finding_id, user)


@router.post("/{finding_id}/second-decision", response_model=FindingDetail, summary="复审（终审）")
def second_decision(
    finding_id: DbId, request: Request, body: DecisionIn, db: Db, user: User = REVIEW
) -> FindingDetail:
    """复审：由初审以外的审核人员作出，维持（不超过初审金额）或撤销，为最终决定。"""
    service.do_second_decision(
        db,
        finding_id,
        uphold=body.decision == "uphold",
        amount=body.amount,
        reason=body.reason,
        user=user,
        actor=request_actor(request, user),
    )
    return _detail(db, finding_id, user)


@router.get("/{finding_id}/attachments/{attachment_id}", summary="下载附件")
def download_attachment(
    finding_id: DbId, attachment_id: DbId, db: Db, user: User = VIEW
) -> Response:
    repository.get_finding(db, finding_id, published_only=service.side_of(user) == Side.HOSPITAL)
    row = attachments.attachment(db, finding_id, attachment_id)
    suffix = PurePosixPath(row.name).suffix
    ascii_name = f"attachment-{row.id}" + (
        suffix if re.fullmatch(r"\.\w{1,8}", suffix, re.A) else ""
    )
    return download(
        row.data, row.content_type, ascii_name, row.name, {"x-content-type-options": "nosniff"}
    )
