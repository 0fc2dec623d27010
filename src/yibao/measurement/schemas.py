"""What the measurement (测算) API takes and answers: the contract bureau integrators
code against for runs, weight plans, rate plans, simulations, indices and payment
standards.

Decimal figures (weights, yuan, rates, scales) are strings ("26.3093", "12000.00"),
never floats; dates are ISO strings ("2026-01-01").  Parameters, summaries and results
whose keys depend on the measurement are free-form objects (``dict``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from yibao.kit.bounds import Day, DbId, Number, Year

# --------------------------------------------------------------------- requests


class RunCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    plan_id: str = Field("chs-drg-1.1", max_length=40)
    years: list[Year] = Field(min_length=1, max_length=10)
    exclusions: dict[str, Any] = {}
    trim: dict[str, Any] = {}
    weights: dict[str, Any] = {}


class WeightPlanCreate(BaseModel):
    run_id: DbId
    code: str = Field(min_length=1, max_length=40)
    name: str = Field("", max_length=100)
    adjustments: dict[str, Any] = {}


class WeightPlanUpdate(BaseModel):
    adjustments: dict[str, Any]


class RatePlanCreate(BaseModel):
    weight_plan_id: DbId
    name: str = Field("", max_length=100)
    volume_year: Year
    params: dict[str, Any] = {}


class RatesSet(BaseModel):
    level_rates: dict[str, Number]


class SimulationCreate(BaseModel):
    weight_plan_id: DbId
    rate_plan_id: DbId
    year: Year
    name: str = Field("", max_length=100)
    params: dict[str, Any] = {}
    solve_budget: bool = False


class StandardsPublish(BaseModel):
    weight_plan_id: DbId
    rate_plan_id: DbId
    valid_from: Day
    valid_to: Day | None = None
    name: str = Field("", max_length=100)
    confirm_budget_gap: bool = Field(
        False, description="模拟支付与预算偏差超过允许范围时，确认仍按此费率发布"
    )
    payment_rules: dict[str, Any] = Field(
        {},
        description="结算支付规则：high_multipliers、low_multiplier、high_payment、rules"
        "（rw_bands 权重分段倍率、qy_fraction 歧义组支付比例、long_stay_days 与 per_diem"
        " 超长住院床日付费、high_share_cap 高倍率病例比例上限）",
    )


# --------------------------------------------------------------------- runs


class RunOut(BaseModel):
    """A base run (基础测算): its parameters, state and result summary."""

    id: int
    name: str
    plan_id: str = Field(description="分组方案，如 chs-drg-1.1")
    plan_version: str | None = Field(description="分组方案版本")
    years: list[int] = Field(description="所用病例年度")
    status: str = Field(description="queued 排队 · running 运行中 · succeeded 完成 · failed 失败")
    error: str | None = Field(description="失败原因（中文）")
    job_id: int | None = Field(description="后台任务编号（/api/jobs/{job_id}）")
    params: dict[str, Any] = Field(
        description="排除、裁剪与相对权重参数（exclusions、trim、weights）"
    )
    summary: dict[str, Any] | None = Field(description="结果概要：病例数、排除、裁剪、质量指标")
    created_by: str
    created_at: str = Field(description="创建时间（ISO 8601）")


class RunStarted(RunOut):
    """A run just queued, with where to follow its job."""

    job_url: str = Field(description="后台任务的地址，如 /api/jobs/12")


class JobAccepted(BaseModel):
    """A rate plan, simulation or indices computation queued as a background job: follow
    ``job_url``; when it has succeeded its ``summary.url`` names the result."""

    job_id: int = Field(description="后台任务编号")
    job_url: str = Field(description="后台任务的地址，如 /api/jobs/12")
    status: str = Field(description="queued 排队中")
    message: str | None = Field(description="任务说明")


class IndicesCreate(BaseModel):
    weight_plan_id: DbId
    year: Year
    by: Literal["hospital", "department"] = "hospital"


class RunWeightRow(BaseModel):
    """One DRG's relative weight in a base run."""

    mdc: str
    adrg: str
    drg: str
    cases: int = Field(description="裁剪后病例数")
    volume: int = Field(description="最近年度病例量")
    mean_cost: str | None = Field(description="例均费用（元）")
    cv: float | None = Field(description="变异系数")
    relative_weight: str | None = Field(description="相对权重（RW）")
    rw_source: str = Field(description="权重来源：drg、drg_few、adrg …")
    needs_review: bool = Field(description="须人工复核")
    note: str | None = Field(description="中文说明")


class RunFenceRow(BaseModel):
    """The trim fences (裁剪界值) of one DRG in one year."""

    drg: str
    year: int
    lower: float | None = Field(description="下界（元）")
    upper: float | None = Field(description="上界（元）")
    below: int = Field(description="低于下界被裁剪的病例数")
    above: int = Field(description="高于上界被裁剪的病例数")
    kept: int = Field(description="保留的病例数")
    applied: bool = Field(description="是否实际裁剪（病例太少时不裁剪）")


# --------------------------------------------------------------------- weight plans


class WeightPlanOut(BaseModel):
    """A weight plan (权重方案): its state, adjustments and totals."""

    id: int
    code: str
    version: int
    name: str
    run_id: int = Field(description="所基于的基础测算")
    status: str = Field(
        description="draft 草稿 · approved 已审批 · published 已发布 · retired 已停用"
    )
    adjustments: dict[str, Any] = Field(description="调整：人工权重、倾斜、是否总量中性")
    total_before: str | None = Field(description="调整前总权重")
    total_after: str | None = Field(description="调整后总权重")
    scale: str | None = Field(description="总量中性的缩放系数")


class WeightPlanItemRow(BaseModel):
    """One DRG's weight in a weight plan."""

    mdc: str
    adrg: str
    drg: str
    cases: int
    base_relative_weight: str | None = Field(description="基础测算的相对权重")
    relative_weight: str | None = Field(description="调整后的相对权重")
    rw_source: str = Field(description="权重来源")
    adjustment: str | None = Field(description="所做调整（中文）")


# --------------------------------------------------------------------- rate plans


class RatePlanOut(BaseModel):
    """A rate plan (费率方案): its parameters, budget and level rates."""

    id: int
    name: str
    weight_plan_id: int
    volume_year: int = Field(description="病例量年度")
    params: dict[str, Any] = Field(description="测算参数：方式、预算、增长率、系数、取整")
    plan: dict[str, Any] = Field(
        description="测算结果：各级费率、基准费率、系数、预算（金额为字符串）"
    )
    status: str = Field(description="draft 草稿 · published 已发布")


# --------------------------------------------------------------------- simulations


class SimulationOut(BaseModel):
    """A simulation (模拟测算) and its results."""

    id: int
    name: str
    weight_plan_id: int
    rate_plan_id: int
    year: int = Field(description="模拟的病例年度")
    params: dict[str, Any] = Field(description="模拟参数：高低倍率、统筹基金比例等")
    rates: dict[str, Any] = Field(description="实际使用的费率（按预算求解时为求解结果）")
    results: dict[str, Any] = Field(
        description="结果：合计（totals）、各级（by_level）、各类病例等"
    )


class ScenarioOut(BaseModel):
    """One simulation's figures in a comparison."""

    id: int
    name: str
    year: int
    rates: dict[str, Any] = Field(description="所用费率")
    totals: dict[str, Any] | None = Field(description="合计：病例数、费用、DRG 支付、结余等")
    by_level: list[dict[str, Any]] | None = Field(description="各医院等级的合计")
    by_class: list[dict[str, Any]] | None = Field(description="各支付类别（正常、高倍率…）的合计")


class SimulationComparison(BaseModel):
    """Several simulations side by side (in the order asked)."""

    scenarios: list[ScenarioOut]


# --------------------------------------------------------------------- indices


class IndexRow(BaseModel):
    """One hospital's (or department's) indices in a year."""

    hospital_code: str
    discharge_dept: str | None = Field(None, description="出院科室（按科室时才有）")
    cases: int
    total_weight: str = Field(description="总权重")
    cmi: str = Field(description="病例组合指数 CMI")
    cost_index: float | None = Field(description="费用消耗指数")
    time_index: float | None = Field(description="时间消耗指数")
    low_risk_cases: int = Field(description="低风险组病例数")
    low_risk_deaths: int = Field(description="低风险组死亡数")
    low_risk_mortality: float | None = Field(description="低风险组死亡率（无低风险病例时为空）")


# --------------------------------------------------------------------- standards


class StandardSetOut(BaseModel):
    """A payment standard table (支付标准)."""

    id: int
    name: str
    plan_id: str = Field(description="分组方案")
    source: str = Field(description="measured 测算发布 · imported 导入")
    weight_plan_id: int | None
    rate_plan_id: int | None
    valid_from: str = Field(description="生效日期（ISO）")
    valid_to: str | None = Field(description="失效日期（ISO，空 = 长期有效）")
    status: str = Field(description="pending 待批准 · published 已发布")
    checksum: str = Field(description="表内容的 SHA-256 校验值")
    payment_rules: dict[str, Any] = Field(description="结算按此标准计价时的分类与支付规则")


class StandardItemRow(BaseModel):
    """One DRG's payment standard at one hospital level."""

    drg: str
    hospital_level: str = Field(description="医院等级：1、2、3")
    relative_weight: str = Field(description="相对权重")
    base_rate: str = Field(description="费率（元）")
    payment_standard: str = Field(description="支付标准（元）")


class StandardSetDetail(StandardSetOut):
    """A payment standard table with its items."""

    items: list[StandardItemRow]
