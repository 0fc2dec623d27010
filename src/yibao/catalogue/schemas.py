"""Request and response models of the catalogue API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yibao.engines.catalogue import CLASSES, FEE_TYPES, KINDS
from yibao.kit.bounds import Day


class VersionIn(BaseModel):
    """A new draft version (its entries come from an Excel import)."""

    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(
        pattern=r"^\d{4}00$", description="统筹区（xxxx00）或省（xx0000）的 6 位区划代码"
    )
    region_name: str = Field("", max_length=50, description="区划名称")
    name: str = Field(min_length=1, max_length=100, description="目录名称")
    valid_from: Day = Field(description="生效日期（含）")
    valid_to: Day | None = Field(None, description="失效日期（含），空为长期")
    source: str = Field("", max_length=200, description="来源，如发文文号")
    note: str = Field("", max_length=500, description="说明")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("目录名称不能为空")
        return v.strip()

    @model_validator(mode="after")
    def _window(self) -> VersionIn:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"失效日期 {self.valid_to} 早于生效日期 {self.valid_from}")
        return self


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    region_code: str = Field(description="区划")
    region_name: str
    name: str
    valid_from: date
    valid_to: date | None
    status: str = Field(description="draft 草稿 / published 已发布")
    status_label: str
    entry_count: int = Field(description="条目数")
    checksum: str | None = Field(description="条目的 SHA-256（发布时固定）")
    source: str
    note: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None


class VersionList(BaseModel):
    items: list[VersionOut]


class VersionDetail(VersionOut):
    by_kind: dict[str, int] = Field(description="各目录类别的条目数")
    by_class: dict[str, int] = Field(description="甲、乙、丙类各自的条目数")


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="医保编码")
    name: str
    kind: str = Field(description=f"目录类别：{'、'.join(f'{k} {v}' for k, v in KINDS.items())}")
    kind_label: str
    fee_type: str = Field(description="收费项目类别 med_chrgitm_type（01–14）")
    fee_type_label: str
    chrgitm_lv: str = Field(description="01 甲类、02 乙类、03 丙类")
    chrgitm_lv_label: str
    selfpay_prop: Decimal = Field(description="先自付比例（乙类）")
    cap_lv1: Decimal | None = Field(description="一级医院单价上限")
    cap_lv2: Decimal | None = Field(description="二级医院单价上限")
    cap_lv3: Decimal | None = Field(description="三级医院单价上限")
    unit: str
    spec: str
    limit_text: str = Field(description="限定支付范围（目录原文）")
    restrictions: list[dict[str, Any]] | None = Field(description="审核用的使用限制")

    @model_validator(mode="before")
    @classmethod
    def _labels(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            data = {name: getattr(data, name) for name in _ENTRY_FIELDS}
        return {
            **data,
            "kind_label": KINDS.get(data["kind"], data["kind"]),
            "fee_type_label": FEE_TYPES.get(data["fee_type"], data["fee_type"]),
            "chrgitm_lv_label": CLASSES.get(data["chrgitm_lv"], data["chrgitm_lv"]),
        }


_ENTRY_FIELDS = (
    "code",
    "name",
    "kind",
    "fee_type",
    "chrgitm_lv",
    "selfpay_prop",
    "cap_lv1",
    "cap_lv2",
    "cap_lv3",
    "unit",
    "spec",
    "limit_text",
    "restrictions",
)


class EntryPage(BaseModel):
    items: list[EntryOut]
    total: int
    page: int
    size: int


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500, description="发布说明（可选）")


ClassCode = Literal["01", "02", "03"]
KindCode = Literal["western", "patent", "herbal", "service", "material"]
