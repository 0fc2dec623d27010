"""DIP API bodies and answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from yibao.kit.bounds import Year


class CatalogueCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40, description="目录编码，如 DIP-2025")
    name: str = Field(min_length=1, max_length=100, description="目录名称")
    plan_id: str = Field("chs-drg-1.1", max_length=40, description="取其手术操作字典的分组方案")
    years: list[Year] = Field(min_length=1, max_length=10, description="历史年度（从早到晚）")
    catalogue: dict[str, Any] = Field(
        {}, description="建目录参数：dx_chars、threshold、comprehensive_chars、diagnostic_words"
    )
    scores: dict[str, Any] = Field({}, description="分值参数：scale、year_weights、places、trim")


class CatalogueOut(BaseModel):
    """A DIP catalogue version: parameters, state and summary."""

    id: int
    code: str
    version: int
    name: str
    plan_id: str
    years: list[int]
    status: str = Field(
        description="queued 排队 · running 建立中 · draft 草稿 · published 已发布 · failed 失败"
    )
    status_label: str
    error: str | None = Field(description="失败原因（中文）")
    job_id: int | None
    params: dict[str, Any]
    summary: dict[str, Any] | None = Field(
        description="病例数、核心/综合病种数、核心病种覆盖病例比例、各治疗方式病例数"
    )
    overall_mean: str | None = Field(description="全部病例加权均次费用（元）")
    created_by: str
    created_at: str
    built_at: str | None
    published_at: str | None


class CatalogueStarted(CatalogueOut):
    job_url: str = Field(description="后台任务的地址，如 /api/jobs/12")


class GroupOut(BaseModel):
    code: str = Field(description="病种编码")
    name: str
    kind: str = Field(description="core 核心病种 · comprehensive 综合病种")
    level: str = Field(description="combination 组合 · prefix 诊断类目 · chapter 诊断章")
    dx_key: str
    procedures: str = Field(description="手术操作编码，以 + 连接")
    proc_type: str = Field(description="surgery 相关手术 · therapeutic 治疗性操作 · …")
    cases: int = Field(description="历史病例数")
    kept: int = Field(description="裁剪后计入均值的病例数")
    mean_cost: str | None = Field(description="加权均次费用（元）")
    score: str | None = Field(description="病种分值")
    standard_3: str | None = Field(None, description="三级医院标准费用（最近历史年度同级均次，元）")
    standard_2: str | None = Field(None, description="二级医院标准费用（元）")
    standard_1: str | None = Field(None, description="一级医院标准费用（元）")


class GroupPage(BaseModel):
    total: int
    page: int
    size: int
    items: list[GroupOut]


class ChangedGroup(BaseModel):
    code: str
    name: str
    score_before: str | None
    score_after: str | None
    cases_before: int
    cases_after: int


class DiffOut(BaseModel):
    base_id: int
    other_id: int
    added: list[GroupOut]
    removed: list[GroupOut]
    changed: list[ChangedGroup]


class SimulationCreate(BaseModel):
    year: Year = Field(description="模拟年度（该年出院病例）")
    point_value: str | None = Field(
        None, max_length=30, description="点值（元/分）；与 budget 二选一"
    )
    budget: str | None = Field(
        None, max_length=30, description="预算（元），求解点值；两者都不填则费用中性"
    )
    coefficients: dict[str, str] | None = Field(
        None, description='各等级基础系数，如 {"3": "0.93", "2": "0.72", "1": "0.55"}'
    )
    add_ons: dict[str, str] = Field({}, description='医院加成系数，如 {"H001": "0.03"}')
    deviation: dict[str, Any] = Field({}, description="偏差病例界限：low、high、extreme")
    dynamic_add_ons: bool = Field(
        False,
        description="按厦门办法由该年病例计算各医院动态加成（难度、年龄、中医），显式加成优先",
    )


class SimulationOut(BaseModel):
    """A DIP simulation: its year, parameters, state, point value and totals."""

    id: int
    catalogue_id: int
    year: int
    status: str
    status_label: str
    error: str | None
    job_id: int | None
    params: dict[str, Any]
    point_value: str | None = Field(description="点值（元/分）")
    summary: dict[str, Any] | None = Field(
        description="病例、核心/综合/按项目病例、偏差病例、总费用、支付、差额、点值来源"
    )
    created_by: str
    created_at: str


class SimulationStarted(SimulationOut):
    job_url: str


class SimulationHospitalOut(BaseModel):
    hospital_code: str
    hospital_level: str
    coefficient: str
    cases: int
    by_items: int
    low: int
    high: int
    extreme: int
    total_cost: str
    total_score: str
    payment: str
    balance: str


class SimulationDetail(SimulationOut):
    hospitals: list[SimulationHospitalOut]


class CompareRow(BaseModel):
    hospital_code: str
    hospital_level: str | None
    dip_cases: int
    drg_cases: int
    total_cost: str | None = Field(description="医疗总费用（元，DIP 模拟的病例）")
    drg_payment: str | None = Field(description="DRG 支付（元）")
    dip_payment: str | None = Field(description="DIP 支付（元）")
    difference: str | None = Field(description="DIP − DRG（元）")
    change: float | None = Field(description="差额占 DRG 支付的比例")


class CompareDrgRow(BaseModel):
    drg: str = Field(description="DRG 病组（空：病例在该方案下未分组）")
    drg_name: str
    dip_cases: int
    drg_cases: int
    total_cost: str | None = Field(description="医疗总费用（元，DIP 模拟的病例）")
    drg_payment: str | None = Field(description="DRG 支付（元）")
    dip_payment: str | None = Field(description="DIP 支付（元）")
    difference: str | None = Field(description="DIP − DRG（元）")
    change: float | None = Field(description="差额占 DRG 支付的比例")


class CompareOut(BaseModel):
    dip_simulation_id: int
    drg_simulation_id: int
    year: int
    hospitals: list[CompareRow]
    diseases: list[CompareDrgRow] = Field(description="各病组（DRG）两种方式的支付，差额从大到小")
    note: str | None = Field(description="口径说明（两侧分组方案不同等）")


class SchemeCreate(BaseModel):
    catalogue_id: int = Field(ge=1, le=2**31 - 1, description="已发布的 DIP 目录")
    name: str = Field("", max_length=100, description="方案名称")
    valid_from: date = Field(description="生效日期（按出院日期）")
    valid_to: date | None = Field(None, description="失效日期（含）；空为长期有效")
    point_value: Decimal | None = Field(
        None, description="预算点值（元/分，月度预拨）；空则取目录计算的预算点值"
    )
    coefficients: dict[str, str] | None = Field(
        None, description='各等级基础系数，如 {"3": "0.93", "2": "0.72", "1": "0.55"}'
    )
    add_ons: dict[str, str] = Field({}, description='医院加成系数，如 {"H001": "0.03"}')
    deviation: dict[str, Any] = Field({}, description="偏差病例界限：low、high、extreme")


class SchemeOut(BaseModel):
    """A DIP payment scheme: the catalogue a region settles by, its budget point value,
    coefficients, deviation bounds and validity."""

    id: int
    catalogue_id: int
    catalogue: str = Field(description="目录编码与版本")
    name: str
    valid_from: str
    valid_to: str | None
    point_value: str = Field(description="预算点值（元/分）")
    params: dict[str, Any]
    status: str = Field(description="pending 待批准 · published 已发布")
    status_label: str
    created_by: str
    created_at: str
    published_by: str | None
    published_at: str | None
