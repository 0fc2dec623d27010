"""Response and request models of the benefit-policy API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PolicyOut(BaseModel):
    """One stored policy version."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str = Field(description="编码@v版本，写在每个定价病例上")
    code: str
    version: int
    name: str
    region_code: str = Field(description="参保地统筹区")
    region_name: str
    insutype: str = Field(description="险种类型：310 职工 / 390 居民")
    valid_from: date
    valid_to: date | None
    status: str = Field(description="draft 草稿 / published 已发布 / retired 已停用")
    status_label: str
    source: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None


class PolicyDetail(PolicyOut):
    body: dict[str, Any] = Field(
        description="各级医院起付线与支付比例、年度封顶线、异地规则；大额（大病）、"
        "公务员医疗补助、医疗救助、门诊统筹各层（可选）"
    )


class PolicyList(BaseModel):
    items: list[PolicyOut]


class ImportResult(BaseModel):
    imported: list[PolicyOut] = Field(description="导入为草稿的政策版本")


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500, description="发布说明（可选）")
