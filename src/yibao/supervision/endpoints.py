"""JSON API of intelligent-audit supervision (智能审核): knowledge versions (relations,
restrictions, Excel, publish), rule sets (rules, test against sample claims, publish,
retire, diff, Excel) and the compiled rule set a server process is using."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require
from yibao.api.openapi import XLSX, download
from yibao.kit.bounds import Day, DbId
from yibao.kit.tables import table_limits
from yibao.supervision import files, knowledge, repository, runtime, service
from yibao.supervision.auth import home_region
from yibao.supervision.models import KnowledgeRelation, KnowledgeVersion, RuleSetVersion
from yibao.supervision.schemas import (
    DiffOut,
    FindingOut,
    KnowledgeDetail,
    PublishIn,
    RelationIn,
    RelationOut,
    RestrictionIn,
    RestrictionOut,
    RuleIn,
    RuleOut,
    RuleSetDetail,
    RuntimeOut,
    TestIn,
    TestOut,
    VersionIn,
    VersionList,
    VersionOut,
)

router = APIRouter(prefix="/api/supervision", tags=["supervision 智能审核知识库与规则库"])
VIEW = require(Permission.VIEW_RULES)
MANAGE = require(Permission.MANAGE_RULES)
RuleId = Query(..., min_length=1, max_length=40)


def _relation(r: KnowledgeRelation) -> RelationOut:
    return RelationOut(
        id=r.id, kind=r.kind, body=r.body, note=r.note, text=knowledge.relation_text(r)
    )


def _knowledge(db: Db, row: KnowledgeVersion) -> KnowledgeDetail:
    return KnowledgeDetail(
        **VersionOut.model_validate(row).model_dump(),
        relations=[_relation(r) for r in repository.relations_of(db, row.id)],
        restrictions=[
            RestrictionOut(
                code=r.code,
                name=r.name,
                restrictions=r.restrictions,
                text=knowledge.restriction_text(r.restrictions),
            )
            for r in repository.restrictions_of(db, row.id)
        ],
    )


def _rule_set(db: Db, row: RuleSetVersion) -> RuleSetDetail:
    rules = [RuleOut.model_validate(r) for r in repository.rules_of(db, row.id)]
    return RuleSetDetail(**VersionOut.model_validate(row).model_dump(), rules=rules)


# ------------------------------------------------------------------------ knowledge


@router.get("/knowledge", response_model=VersionList, summary="知识库各版本")
def list_knowledge(db: Db, user: User = VIEW) -> VersionList:
    rows = repository.list_versions(db, KnowledgeVersion, home_region(user))
    return VersionList(items=[VersionOut.model_validate(r) for r in rows])


@router.post("/knowledge", response_model=VersionOut, status_code=201, summary="新建知识库草稿版本")
def create_knowledge(request: Request, body: VersionIn, db: Db, user: User = MANAGE) -> VersionOut:
    row = service.do_create_version(db, KnowledgeVersion, body, actor=request_actor(request, user))
    return VersionOut.model_validate(row)


@router.get("/knowledge/{version_id}", response_model=KnowledgeDetail, summary="一个知识库版本")
def get_knowledge(version_id: DbId, db: Db, user: User = VIEW) -> KnowledgeDetail:
    return _knowledge(
        db, repository.get_version(db, KnowledgeVersion, version_id, home_region(user))
    )


@router.post(
    "/knowledge/{version_id}/relations",
    response_model=RelationOut,
    status_code=201,
    summary="添加项目关系（草稿）",
)
def add_relation(
    version_id: DbId, request: Request, body: RelationIn, db: Db, user: User = MANAGE
) -> RelationOut:
    rel = knowledge.do_add_relation(db, version_id, body, actor=request_actor(request, user))
    return _relation(rel)


@router.put(
    "/knowledge/{version_id}/relations/{relation_id}",
    response_model=RelationOut,
    summary="修改项目关系（草稿）",
)
def edit_relation(
    version_id: DbId,
    relation_id: DbId,
    request: Request,
    body: RelationIn,
    db: Db,
    user: User = MANAGE,
) -> RelationOut:
    rel = knowledge.do_edit_relation(
        db, version_id, relation_id, body, actor=request_actor(request, user)
    )
    return _relation(rel)


@router.delete(
    "/knowledge/{version_id}/relations/{relation_id}",
    status_code=204,
    summary="删除项目关系（草稿）",
)
def delete_relation(
    version_id: DbId, relation_id: DbId, request: Request, db: Db, user: User = MANAGE
) -> Response:
    knowledge.do_delete_relation(db, version_id, relation_id, actor=request_actor(request, user))
    return Response(status_code=204)


@router.put(
    "/knowledge/{version_id}/restrictions",
    response_model=RestrictionOut,
    summary="设置项目的使用限制（草稿；替换目录中该项目的限制）",
)
def put_restrictions(
    version_id: DbId,
    request: Request,
    body: RestrictionIn,
    db: Db,
    user: User = MANAGE,
    code: str = Query(..., min_length=1, max_length=50, description="医保编码"),
) -> RestrictionOut:
    r = knowledge.do_put_restrictions(
        db, version_id, code, body, actor=request_actor(request, user)
    )
    return RestrictionOut(
        code=r.code,
        name=r.name,
        restrictions=r.restrictions,
        text=knowledge.restriction_text(r.restrictions),
    )


@router.delete(
    "/knowledge/{version_id}/restrictions", status_code=204, summary="删除项目的使用限制（草稿）"
)
def delete_restrictions(
    version_id: DbId,
    request: Request,
    db: Db,
    user: User = MANAGE,
    code: str = Query(..., min_length=1, max_length=50, description="医保编码"),
) -> Response:
    knowledge.do_delete_restrictions(db, version_id, code, actor=request_actor(request, user))
    return Response(status_code=204)


@router.post(
    "/knowledge/{version_id}/import",
    response_model=VersionOut,
    summary="导入知识库（Excel：项目限制、项目关系两张表；替换草稿的全部内容，有错误时不导入）",
)
def import_knowledge(
    version_id: DbId, request: Request, db: Db, user: User = MANAGE, file: UploadFile = File(...)
) -> VersionOut:
    row = files.do_import_knowledge(
        db,
        version_id,
        file.file.read(),
        file.filename or "",
        actor=request_actor(request, user),
        limits=table_limits(request.app.state.settings),
    )
    return VersionOut.model_validate(row)


@router.get(
    "/knowledge/{version_id}/export",
    summary="导出知识库版本（Excel，可修改后导入草稿）",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_knowledge(version_id: DbId, db: Db, user: User = VIEW) -> Response:
    row = repository.get_version(db, KnowledgeVersion, version_id, home_region(user))
    return download(
        files.export_knowledge(db, row), XLSX, f"knowledge-{row.id}.xlsx", f"知识库-{row.id}.xlsx"
    )


@router.post(
    "/knowledge/{version_id}/publish",
    response_model=VersionOut,
    summary="发布知识库版本（发布后不能修改）",
)
def publish_knowledge(
    version_id: DbId, request: Request, body: PublishIn, db: Db, user: User = MANAGE
) -> VersionOut:
    row = service.do_publish(
        db, KnowledgeVersion, version_id, actor=request_actor(request, user), reason=body.reason
    )
    return VersionOut.model_validate(row)


@router.delete("/knowledge/{version_id}", status_code=204, summary="删除知识库草稿")
def delete_knowledge(version_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    service.do_delete_draft(db, KnowledgeVersion, version_id, actor=request_actor(request, user))
    return Response(status_code=204)


# ---------------------------------------------------------------------------- rules


@router.get("/rule-sets", response_model=VersionList, summary="规则库各版本")
def list_rule_sets(db: Db, user: User = VIEW) -> VersionList:
    rows = repository.list_versions(db, RuleSetVersion, home_region(user))
    return VersionList(items=[VersionOut.model_validate(r) for r in rows])


@router.post("/rule-sets", response_model=VersionOut, status_code=201, summary="新建规则库草稿版本")
def create_rule_set(request: Request, body: VersionIn, db: Db, user: User = MANAGE) -> VersionOut:
    row = service.do_create_version(db, RuleSetVersion, body, actor=request_actor(request, user))
    return VersionOut.model_validate(row)


@router.get("/rule-sets/{set_id}", response_model=RuleSetDetail, summary="一个规则库版本及其规则")
def get_rule_set(set_id: DbId, db: Db, user: User = VIEW) -> RuleSetDetail:
    return _rule_set(db, repository.get_version(db, RuleSetVersion, set_id, home_region(user)))


@router.put("/rule-sets/{set_id}/rules", response_model=RuleOut, summary="添加或修改规则（草稿）")
def put_rule(set_id: DbId, request: Request, body: RuleIn, db: Db, user: User = MANAGE) -> RuleOut:
    return RuleOut.model_validate(
        service.do_put_rule(db, set_id, body, actor=request_actor(request, user))
    )


@router.delete("/rule-sets/{set_id}/rules", status_code=204, summary="删除规则（草稿）")
def delete_rule(
    set_id: DbId, request: Request, db: Db, user: User = MANAGE, rule_id: str = RuleId
) -> Response:
    service.do_delete_rule(db, set_id, rule_id, actor=request_actor(request, user))
    return Response(status_code=204)


@router.post(
    "/rule-sets/{set_id}/test",
    response_model=TestOut,
    summary="用样例单据测试规则（不保存任何内容）",
)
def test_rule_set(set_id: DbId, body: TestIn, db: Db, user: User = VIEW) -> TestOut:
    count, findings = service.test_rules(db, set_id, home_region(user), body)
    out: list[Any] = [FindingOut.model_validate(f, from_attributes=True) for f in findings]
    return TestOut(rule_set_id=set_id, rules=count, findings=out)


@router.post(
    "/rule-sets/{set_id}/publish",
    response_model=VersionOut,
    summary="发布规则库版本（各服务进程 5 秒内生效）",
)
def publish_rule_set(
    set_id: DbId, request: Request, body: PublishIn, db: Db, user: User = MANAGE
) -> VersionOut:
    row = service.do_publish(
        db, RuleSetVersion, set_id, actor=request_actor(request, user), reason=body.reason
    )
    return VersionOut.model_validate(row)


@router.post(
    "/rule-sets/{set_id}/retire", response_model=VersionOut, summary="停用已发布的规则库版本"
)
def retire_rule_set(
    set_id: DbId, request: Request, body: PublishIn, db: Db, user: User = MANAGE
) -> VersionOut:
    row = service.do_retire(db, set_id, actor=request_actor(request, user), reason=body.reason)
    return VersionOut.model_validate(row)


@router.delete("/rule-sets/{set_id}", status_code=204, summary="删除规则库草稿")
def delete_rule_set(set_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    service.do_delete_draft(db, RuleSetVersion, set_id, actor=request_actor(request, user))
    return Response(status_code=204)


@router.get("/rule-sets/{set_id}/diff", response_model=DiffOut, summary="两个规则库版本的差异")
def diff_rule_sets(
    set_id: DbId, db: Db, user: User = VIEW, against: int = Query(..., ge=1, le=2_147_483_647)
) -> DiffOut:
    return DiffOut(**service.diff(db, against, set_id, home_region(user)))


@router.post(
    "/rule-sets/{set_id}/import",
    response_model=VersionOut,
    summary="导入规则（Excel“规则”表；替换草稿的全部规则，有错误时不导入）",
)
def import_rules(
    set_id: DbId, request: Request, db: Db, user: User = MANAGE, file: UploadFile = File(...)
) -> VersionOut:
    row = files.do_import_rules(
        db,
        set_id,
        file.file.read(),
        file.filename or "",
        actor=request_actor(request, user),
        limits=table_limits(request.app.state.settings),
    )
    return VersionOut.model_validate(row)


@router.get(
    "/rule-sets/{set_id}/export",
    summary="导出规则库版本（Excel）",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_rules(set_id: DbId, db: Db, user: User = VIEW) -> Response:
    row = repository.get_version(db, RuleSetVersion, set_id, home_region(user))
    return download(
        files.export_rules(db, row), XLSX, f"rules-{row.id}.xlsx", f"规则库-{row.id}.xlsx"
    )


@router.get(
    "/runtime", response_model=RuntimeOut, summary="本服务进程正在使用的规则库版本（编译后）"
)
def runtime_status(
    db: Db,
    user: User = VIEW,
    admdvs: str = Query(..., pattern=r"^\d{6}$", description="就医地区划"),
    on: Day = Query(..., description="日期"),
) -> RuntimeOut:
    cur = runtime.current(db, admdvs, on)
    return RuntimeOut(
        admdvs=admdvs,
        on=on,
        rule_set_id=cur.rule_set_id,
        rule_set_version=cur.rule_set_version,
        knowledge_id=cur.knowledge_id,
        rules=len(cur.ruleset.rules),
        generation=runtime.generation(),
        pid=os.getpid(),
    )
