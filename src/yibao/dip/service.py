"""DIP catalogues (issue 14 items 1 and 3, ADR 0029): build one from the region's
cases of its years in a background job, read it, compare two versions, publish it.

:func:`start_build` validates the request, makes the next version of the catalogue's
code and submits its job; the job (:mod:`yibao.dip.tasks`) runs :func:`execute_build`:
combinations of the cases, core and comprehensive groups, scores, stored as the
draft's groups.  :func:`do_publish` makes a draft immutable; a published catalogue
is never rebuilt or changed (a new build is the next version)."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.db.bulk import insert_frame
from yibao.dip.models import STATUS_LABELS, DipCatalogue, DipGroup, DipSimulation
from yibao.engines import dip
from yibao.engines.caseframe import MONEY
from yibao.engines.dip.catalogue import category
from yibao.engines.grouper import PlanRegistry
from yibao.engines.measure import parse_params
from yibao.grouping.plans import plan_info
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner
from yibao.jobs.service import do_submit_job
from yibao.kit.errors import Conflict, NotFound, ValidationFailed
from yibao.kit.exports import labelled, write_xlsx
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital, region_prefix

BUILD_KIND = "dip.catalogue"
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
KIND_LABELS = {"core": "核心病种", "comprehensive": "综合病种"}
LEVEL_LABELS = {"combination": "诊断+手术操作组合", "prefix": "诊断类目", "chapter": "诊断章"}
TYPE_LABELS = {t: name for t, (_, name) in dip.PROC_TYPES.items()}
GROUP_LABELS = {
    "code": "病种编码",
    "name": "病种名称",
    "kind": "类别",
    "level": "层级",
    "dx_key": "诊断分类",
    "procedures": "手术操作",
    "proc_type": "治疗方式",
    "cases": "历史病例数",
    "kept": "计入均值病例数",
    "mean_cost": "加权均次费用（元）",
    "score": "病种分值",
    "standard_3": "三级医院标准费用（元）",
    "standard_2": "二级医院标准费用（元）",
    "standard_1": "一级医院标准费用（元）",
}


#: decimals of a stored group's score (``dip_groups.score``)
STORED_SCORE_PLACES = 2


def parse_build_params(data: dict[str, Any]) -> dict[str, Any]:
    """The catalogue's and the scores' parameters, checked; JSON-safe."""
    scores = parse_params(dip.ScoreParams, data.get("scores") or {})
    if scores.places > STORED_SCORE_PLACES:
        # the engine scores to 6 places, but a stored catalogue keeps scores (and every
        # payment computed from them) to the fen-like 2: more would be cut off silently
        raise ValidationFailed(
            f"scores.places：保存的 DIP 目录分值最多 {STORED_SCORE_PLACES} 位小数"
            f"（收到 {scores.places}）",
            field="scores.places",
        )
    out = {
        "catalogue": parse_params(dip.CatalogueParams, data.get("catalogue") or {}),
        "scores": scores,
    }
    return {k: v.model_dump(mode="json") for k, v in out.items()}


def _get(session: Session, catalogue_id: int, region: str) -> DipCatalogue:
    row = session.get(DipCatalogue, catalogue_id)
    if row is None or not row.region_code.startswith(region):
        raise NotFound(f"DIP 目录 {catalogue_id} 不存在 / not found")
    return row


def get_catalogue(session: Session, catalogue_id: int, region: str) -> DipCatalogue:
    return _get(session, catalogue_id, region)


def list_catalogues(session: Session, region: str) -> list[DipCatalogue]:
    return list(
        session.scalars(
            select(DipCatalogue)
            .where(DipCatalogue.region_code.startswith(region))
            .order_by(DipCatalogue.id.desc())
        )
    )


def check_code_and_name(code: str, name: str) -> str:
    code = code.strip()
    if not _CODE.fullmatch(code):
        raise ValidationFailed(
            "code：目录编码须为 1–40 位字母、数字、点、下划线或连字符，以字母或数字开头",
            field="code",
        )
    if not name.strip():
        raise ValidationFailed("name：目录名称不能为空", field="name")
    return code


def _checked(
    code: str, name: str, years: list[int], params: dict[str, Any]
) -> tuple[str, list[int], dict[str, Any]]:
    """The request's code, years (sorted) and parameters, or the first problem."""
    code = check_code_and_name(code, name)
    if not years or len(set(years)) != len(years) or any(y < 1990 or y > 2100 for y in years):
        raise ValidationFailed("years：历史年度须为不重复的四位年份，至少一个", field="years")
    clean = parse_build_params(params)
    weights = clean["scores"]["year_weights"]
    if clean["scores"].get("years") is None and len(weights) != len(years):
        raise ValidationFailed(
            f"scores.year_weights：年度 {len(years)} 个，年度权重 {len(weights)} 个，"
            "须一一对应（从早到晚）",
            field="scores.year_weights",
        )
    return code, sorted(years), clean


def next_version(session: Session, region_code: str, code: str) -> int:
    latest = session.scalar(
        select(func.max(DipCatalogue.version)).where(
            DipCatalogue.region_code == region_code, DipCatalogue.code == code
        )
    )
    return int(latest or 0) + 1


def start_build(
    session: Session,
    runner: JobRunner,
    registry: PlanRegistry,
    *,
    region_code: str,
    code: str,
    name: str,
    plan_id: str,
    years: list[int],
    params: dict[str, Any],
    actor: Actor,
) -> tuple[DipCatalogue, Job]:
    """A new version of catalogue ``code`` and the job that builds it."""
    code, years, clean = _checked(code, name, years, params)
    info = plan_info(registry, plan_id)
    row = DipCatalogue(
        region_code=region_code,
        code=code,
        version=next_version(session, region_code, code),
        name=name.strip(),
        plan_id=info.id,
        years=years,
        params=clean,
        status="queued",
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "dip.catalogue.create",
        "dip_catalogue",
        row.id,
        after={"code": code, "version": row.version, "years": years, "params": clean},
        region_code=region_code,
    )
    job = do_submit_job(
        session,
        runner,
        kind=BUILD_KIND,
        params={"catalogue_id": row.id},
        actor=actor,
        message=f"排队中：建立 DIP 目录 {code} 第 {row.version} 版",
    )
    row.job_id = job.id
    return row, job


def case_tables(
    session: Session, region_code: str, years: list[int]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The cases of region ``region_code`` (a city: its districts too) of ``years``
    (``setl_id`` = the case's id, ``year``, ``total_cost``), their principal diagnoses
    and their procedures."""
    where = (
        Case.region_code.startswith(region_prefix(region_code)),
        Case.discharge_date >= date(min(years), 1, 1),
        Case.discharge_date <= date(max(years), 12, 31),
    )
    rows = session.execute(select(Case.id, Case.discharge_date, Case.total_cost).where(*where))
    cases = pl.DataFrame(
        [(str(i), d.year, c) for i, d, c in rows],
        schema={"setl_id": pl.String, "year": pl.Int32, "total_cost": MONEY},
        orient="row",
    ).filter(pl.col("year").is_in(years))
    ids = select(Case.id).where(*where)
    dx = pl.DataFrame(
        [
            (str(i), s, c)
            for i, s, c in session.execute(
                select(CaseDiagnosis.case_id, CaseDiagnosis.seq, CaseDiagnosis.code).where(
                    CaseDiagnosis.case_id.in_(ids), CaseDiagnosis.is_principal
                )
            )
        ],
        schema={"setl_id": pl.String, "seq": pl.Int16, "code": pl.String},
        orient="row",
    )
    px = pl.DataFrame(
        [
            (str(i), c)
            for i, c in session.execute(
                select(CaseProcedure.case_id, CaseProcedure.code).where(
                    CaseProcedure.case_id.in_(ids)
                )
            )
        ],
        schema={"setl_id": pl.String, "code": pl.String},
        orient="row",
    )
    return cases, dx, px


@dataclass(frozen=True)
class Dictionaries:
    """What a catalogue takes from its plan's dictionaries: procedure types, and the
    names of diagnosis categories and procedures (for readable group names)."""

    proc_types: dict[str, str]
    dx_names: dict[str, str]
    proc_names: dict[str, str]


def case_levels(session: Session, region_code: str, years: list[int]) -> pl.DataFrame:
    """``setl_id`` (the case's id), ``hospital_code``, ``hospital_level`` of the region's
    cases of ``years``."""
    rows = session.execute(
        select(Case.id, Case.hospital_code, Hospital.level)
        .join(Hospital, Hospital.id == Case.hospital_id)
        .where(
            Case.region_code.startswith(region_prefix(region_code)),
            Case.discharge_date >= date(min(years), 1, 1),
            Case.discharge_date <= date(max(years), 12, 31),
        )
    )
    return pl.DataFrame(
        [(str(i), h, lv) for i, h, lv in rows],
        schema={"setl_id": pl.String, "hospital_code": pl.String, "hospital_level": pl.String},
        orient="row",
    )


def level_costs(members: pl.DataFrame, levels: pl.DataFrame, year: int) -> pl.DataFrame:
    """Per group (``code``): ``level_costs`` — hospital level → its standard cost
    (:func:`~yibao.engines.dip.scores.level_standards`) as JSON text."""
    out: dict[str, dict[str, str]] = {}
    standards = dip.level_standards(members, levels, year)
    for code, level, cost in standards.iter_rows():
        out.setdefault(code, {})[level] = str(cost)
    return pl.DataFrame(
        {"code": list(out), "level_costs": [json.dumps(v, sort_keys=True) for v in out.values()]},
        schema={"code": pl.String, "level_costs": pl.String},
    )


def plan_dictionaries(
    registry: PlanRegistry, plan_id: str, params: dip.CatalogueParams
) -> Dictionaries:
    folder = plan_info(registry, plan_id).path
    read: dict[str, Any] = {"separator": "\t", "infer_schema": False, "quote_char": None}
    procedures = pl.read_csv(folder / "procedures.tsv", **read)
    or_codes = pl.read_csv(folder / "or_procedures.tsv", **read)["code"].to_list()
    dx_names: dict[str, str] = {}
    diagnoses = pl.read_csv(folder / "diagnoses.tsv", **read).sort("code")
    for code, name in diagnoses.select("code", "name").iter_rows():
        # the first code of a category (A08.400 before A08.400x003) names it
        dx_names.setdefault(category(code, params.dx_chars), name)
        dx_names.setdefault(category(code, params.comprehensive_chars), name)
    return Dictionaries(
        dip.procedure_types(procedures, or_codes, params),
        dx_names,
        dict(procedures.select("code", "name").iter_rows()),
    )


def _readable(groups: pl.DataFrame, names: Dictionaries) -> pl.DataFrame:
    """Core groups named by their diagnosis category and procedures
    (``C90.0 多发性骨髓瘤 · 外阴切除术``); the comprehensive ones keep the engine's."""
    out = []
    for kind, key, procs, name in groups.select("kind", "dx_key", "procedures", "name").iter_rows():
        if kind != "core":
            out.append(name)
            continue
        codes = [c for c in procs.split("+") if c]
        shown = "、".join(names.proc_names.get(c, c) for c in codes[:2])
        if len(codes) > 2:
            shown += f" 等 {len(codes)} 项"
        dx = names.dx_names.get(key, "")
        out.append(f"{key} {dx} · {shown or '保守治疗'}".replace("  ", " "))
    return groups.with_columns(pl.Series("name", out, dtype=pl.String))


def execute_build(session: Session, row: DipCatalogue, registry: PlanRegistry) -> dict[str, Any]:
    """Build the catalogue ``row`` from its region's cases and store its groups."""
    cparams = dip.CatalogueParams.model_validate(row.params["catalogue"])
    sparams = dip.ScoreParams.model_validate(
        {**row.params["scores"], "years": row.params["scores"].get("years") or row.years}
    )
    cases, dx, px = case_tables(session, row.region_code, row.years)
    if cases.height == 0:
        raise ValidationFailed(
            f"年度 {'、'.join(map(str, row.years))} 没有本辖区的病例，无法建立 DIP 目录",
            field="years",
        )
    names = plan_dictionaries(registry, row.plan_id, cparams)
    combos = dip.case_combinations(cases, dx, px, names.proc_types, cparams)
    catalogue = dip.build_catalogue(combos, names.proc_types, cparams)
    members = catalogue.members.join(
        combos.select("setl_id", "year", "total_cost"), on="setl_id", how="inner"
    )
    scored = dip.group_scores(members, sparams)
    # the score's year-weighted mean is the group's 加权均次费用 (the catalogue's own
    # mean_cost is the plain mean it breaks grouping ties with)
    weighted = scored.scores.drop("cases").rename({"mean_cost": "weighted_mean"})
    groups = (
        catalogue.groups.join(weighted, on="code", how="left")
        .with_columns(pl.coalesce("weighted_mean", "mean_cost").alias("mean_cost"))
        .drop("weighted_mean")
        .join(
            level_costs(members, case_levels(session, row.region_code, row.years), max(row.years)),
            on="code",
            how="left",
        )
    )
    store_groups(session, row.id, _readable(groups, names))
    primary = catalogue.members.filter(pl.col("primary"))
    core_cases = int(
        primary["code"]
        .is_in(catalogue.groups.filter(pl.col("kind") == "core")["code"].implode())
        .sum()
    )
    summary = {
        "cases": cases.height,
        "without_diagnosis": int(combos["dx_cat"].is_null().sum()),
        "grouped": primary.height,
        "core_groups": int((catalogue.groups["kind"] == "core").sum()),
        "comprehensive_groups": int((catalogue.groups["kind"] == "comprehensive").sum()),
        "core_cases": core_cases,
        "core_share": round(core_cases / primary.height, 4) if primary.height else 0.0,
        "trimmed": scored.trimmed.height,
        "by_type": {t: int(n) for t, n in combos.group_by("proc_type").len().iter_rows()},
        **dip.budget_point_value_of(members, scored, sparams),
    }
    row.summary = summary
    row.overall_mean = scored.overall_mean
    row.status = "draft"
    row.error = None
    row.built_at = utcnow()
    return summary


def store_groups(session: Session, catalogue_id: int, groups: pl.DataFrame) -> None:
    session.execute(delete(DipGroup).where(DipGroup.catalogue_id == catalogue_id))
    insert_frame(
        session,
        DipGroup.__table__,
        groups.select(
            pl.lit(catalogue_id).alias("catalogue_id"),
            "code",
            "kind",
            "level",
            "dx_key",
            "procedures",
            "proc_type",
            "name",
            "cases",
            pl.col("kept").fill_null(0),
            "mean_cost",
            "score",
            "level_costs",
        ),
    )


def do_publish(session: Session, row: DipCatalogue, actor: Actor) -> DipCatalogue:
    """Publish a built draft; a published catalogue never changes again."""
    if row.status != "draft":
        status = STATUS_LABELS.get(row.status, row.status)
        raise Conflict(
            f"DIP 目录 {row.code} 第 {row.version} 版状态为“{status}”，"
            "只有已建立的草稿可以发布（已发布的目录不可更改，请新建版本）"
        )
    row.status = "published"
    row.published_at = utcnow()
    record(
        session,
        actor,
        "dip.catalogue.publish",
        "dip_catalogue",
        row.id,
        before={"status": "draft"},
        after={"status": "published", "code": row.code, "version": row.version},
        region_code=row.region_code,
    )
    return row


LEVEL_COST_COLUMNS = {"3": "standard_3", "2": "standard_2", "1": "standard_1"}


def groups_frame(session: Session, catalogue_id: int) -> pl.DataFrame:
    """The catalogue's groups, with each level's standard cost (``standard_3`` …)."""
    rows = session.execute(
        select(
            DipGroup.code,
            DipGroup.name,
            DipGroup.kind,
            DipGroup.level,
            DipGroup.dx_key,
            DipGroup.procedures,
            DipGroup.proc_type,
            DipGroup.cases,
            DipGroup.kept,
            DipGroup.mean_cost,
            DipGroup.score,
            DipGroup.level_costs,
        )
        .where(DipGroup.catalogue_id == catalogue_id)
        .order_by(DipGroup.kind.desc(), DipGroup.code)
    )
    out = []
    for *values, by_level in rows:
        costs = by_level or {}
        out.append((*values, *(costs.get(level) for level in LEVEL_COST_COLUMNS)))
    return pl.DataFrame(
        out,
        schema={
            "code": pl.String,
            "name": pl.String,
            "kind": pl.String,
            "level": pl.String,
            "dx_key": pl.String,
            "procedures": pl.String,
            "proc_type": pl.String,
            "cases": pl.Int64,
            "kept": pl.Int64,
            "mean_cost": MONEY,
            "score": pl.Decimal(18, 2),
            **dict.fromkeys(LEVEL_COST_COLUMNS.values(), pl.String),
        },
        orient="row",
    ).with_columns(pl.col(c).cast(MONEY) for c in LEVEL_COST_COLUMNS.values())


def export_xlsx(session: Session, row: DipCatalogue) -> bytes:
    """The catalogue's groups as a workbook with Chinese headers and words."""
    words: dict[str, dict[Any, str]] = {
        "kind": KIND_LABELS,
        "level": LEVEL_LABELS,
        "proc_type": TYPE_LABELS,
    }
    frame = groups_frame(session, row.id)
    buf = io.BytesIO()
    write_xlsx({"DIP目录": labelled(frame, GROUP_LABELS, words)}, buf, autofit=True)
    return buf.getvalue()


def state(session: Session, row: DipCatalogue | DipSimulation) -> tuple[str, str | None]:
    """A catalogue's or a simulation's status and error as the analyst sees them: while
    its job is queued or running, or after it failed (its work rolled back), the job's."""
    status, error = row.status, row.error
    if status in ("queued", "running") and row.job_id:
        job = session.get(Job, row.job_id)
        if job is not None and job.status in ("queued", "running", "failed"):
            status = job.status
            if job.status == "failed":
                error = job.error or error
    return status, error
