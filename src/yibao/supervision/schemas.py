"""Request and response models of the supervision API: versions, rules, relations,
sample claims (the engine's shape) and findings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yibao.engines.audit import Claim, Encounter, Line, Patient
from yibao.kit.bounds import Day, DbId

Code = Annotated[str, Field(min_length=1, max_length=50)]
Qty = Annotated[Decimal, Field(max_digits=14, decimal_places=4, allow_inf_nan=False)]
Price = Annotated[Decimal, Field(max_digits=16, decimal_places=6, allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=2, allow_inf_nan=False)]


class VersionIn(BaseModel):
    """A new draft version: a copy of ``based_on`` (default: the region's newest
    published or retired version), to be edited and published."""

    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(pattern=r"^\d{4}00$", description="统筹区（xxxx00）或省（xx0000）")
    name: str = Field(min_length=1, max_length=100, description="版本名称")
    valid_from: Day = Field(description="生效日期（含）")
    valid_to: Day | None = Field(None, description="失效日期（含），空为长期")
    note: str = Field("", max_length=500, description="说明")
    based_on: DbId | None = Field(None, description="以哪个版本为基础（复制其内容）")
    empty: bool = Field(False, description="不复制任何内容，从空白开始")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("版本名称不能为空")
        return v.strip()

    @model_validator(mode="after")
    def _window(self) -> VersionIn:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"失效日期 {self.valid_to} 早于生效日期 {self.valid_from}")
        return self


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    region_code: str
    version: int = Field(description="版本号（区划内递增）")
    name: str
    valid_from: date
    valid_to: date | None
    status: str = Field(description="draft 草稿 / published 已发布 / retired 已停用")
    status_label: str
    checksum: str | None = Field(description="内容的 SHA-256（发布时固定）")
    based_on_id: int | None
    note: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None


class VersionList(BaseModel):
    items: list[VersionOut]


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500, description="发布（停用）说明")


class RuleIn(BaseModel):
    """A rule as the engine reads it (ADR 0020); its version is kept by the service."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str = Field(min_length=1, max_length=40, description="规则编码")
    name: str = Field(min_length=1, max_length=100, description="规则名称")
    family: str = Field(min_length=1, max_length=20, description="规则族（sex、age …）")
    params: dict[str, Any] = Field(default_factory=dict, description="参数（JSON）")
    stages: list[str] = Field(
        min_length=1, max_length=3, description="pre 事前 / mid 事中 / post 事后"
    )
    trig_scen: list[int] = Field(default_factory=list, max_length=10, description="触发场景 1–10")
    window: str = Field("visit", max_length=10, description="visit / day / month")
    result_type: str = Field(
        "suspicious", max_length=12, description="suspicious 可疑 / definite 明确"
    )
    sev_deg: int = Field(2, ge=1, le=3, description="1 提示 / 2 警告 / 3 严重")
    enabled: bool = True
    valid_from: Day | None = None
    valid_to: Day | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule_id: str
    version: int
    name: str
    family: str
    params: dict[str, Any]
    stages: list[str]
    trig_scen: list[int]
    window: str
    result_type: str
    sev_deg: int
    enabled: bool
    valid_from: date | None
    valid_to: date | None


class RuleSetDetail(VersionOut):
    rules: list[RuleOut]


class RelationIn(BaseModel):
    """An item relation (知识库): ``kind`` and the fields of that kind."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["exclusive", "inclusive", "requires", "package"]
    codes: list[Code] | None = Field(None, max_length=2, description="exclusive：两个互斥项目")
    whole: Code | None = Field(None, description="inclusive：包含方")
    part: Code | None = Field(None, description="inclusive：被包含方")
    item: Code | None = Field(None, description="requires：须有关联的项目")
    any_of: list[Code] | None = Field(None, max_length=200, description="requires：关联项目")
    package: Code | None = Field(None, description="package：打包项目")
    components: list[Code] | None = Field(None, max_length=200, description="package：组成项目")
    min_components: int | None = Field(None, ge=2, le=200, description="package：分解的最少项数")
    note: str = Field("", max_length=200, description="说明")


class RelationOut(BaseModel):
    id: int
    kind: str
    body: dict[str, Any]
    note: str
    text: str = Field(description="关系的中文说明")


class RestrictionIn(BaseModel):
    """An item's restrictions in this knowledge version (replace the catalogue's)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200)
    restrictions: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class RestrictionOut(BaseModel):
    code: str
    name: str
    restrictions: list[dict[str, Any]]
    text: str


class KnowledgeDetail(VersionOut):
    relations: list[RelationOut]
    restrictions: list[RestrictionOut]


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    psn_no: str = Field(min_length=1, max_length=40)
    sex: Literal["0", "1", "2", "9"]
    birth_date: Day


class EncounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mdtrt_id: str = Field(min_length=1, max_length=40)
    care_mode: Literal["ipt", "otp"]
    hospital_level: Literal["1", "2", "3"]
    begin_date: Day
    end_date: Day | None = None
    dept_code: str = Field("", max_length=30)
    insutype: str = Field("", max_length=3)
    diagnoses: list[Annotated[str, Field(max_length=30)]] = Field(
        default_factory=list, max_length=50
    )
    operations: list[Annotated[str, Field(max_length=30)]] = Field(
        default_factory=list, max_length=50
    )


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rx_id: str = Field(min_length=1, max_length=40)
    item_code: Code
    quantity: Qty
    price: Price
    amount: Amount
    day: Day
    name: str = Field("", max_length=200)
    days: int | None = Field(None, ge=1, le=366)
    frequency: str = Field("", max_length=30)
    dept_code: str = Field("", max_length=30)


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient: PatientIn
    encounter: EncounterIn
    lines: list[LineIn] = Field(min_length=1, max_length=500)

    def to_engine(self) -> Claim:
        e = self.encounter
        return Claim(
            Patient(**self.patient.model_dump()),
            Encounter(
                **{
                    **e.model_dump(),
                    "diagnoses": tuple(e.diagnoses),
                    "operations": tuple(e.operations),
                }
            ),
            tuple(Line(**ln.model_dump()) for ln in self.lines),
        )


class TestIn(BaseModel):
    """Sample claims audited with a version's rules; nothing is stored."""

    model_config = ConfigDict(extra="forbid")

    claims: list[ClaimIn] = Field(min_length=1, max_length=100)
    stage: Literal["pre", "mid", "post"] = "mid"
    trig_scen: int | None = Field(None, ge=1, le=10)
    rule_ids: list[Annotated[str, Field(max_length=40)]] | None = Field(None, max_length=500)
    on: Day | None = Field(None, description="按哪天的规则（默认第一张单据的就诊日期）")


class FindingLineOut(BaseModel):
    rx_id: str
    vola_item_type: int
    vola_amt: Decimal


class FindingOut(BaseModel):
    jr_id: str
    rule_id: str
    rule_version: int
    rule_name: str
    family: str
    psn_no: str
    mdtrt_id: str
    vola_cont: str
    vola_amt: Decimal
    sev_deg: int
    vola_evid: str
    vola_bhvr_type: str
    result_type: str
    lines: list[FindingLineOut]


class TestOut(BaseModel):
    rule_set_id: int
    rules: int = Field(description="参与审核的规则数")
    findings: list[FindingOut]


class DiffOut(BaseModel):
    base_id: int
    other_id: int
    added: list[str]
    removed: list[str]
    changed: dict[str, list[str]] = Field(description="规则编码 → 改动的字段")


class RuntimeOut(BaseModel):
    admdvs: str
    on: date
    rule_set_id: int
    rule_set_version: int
    knowledge_id: int | None
    rules: int
    generation: int = Field(description="本进程收到的变更次数")
    pid: int
