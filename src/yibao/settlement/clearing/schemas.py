"""What a year-end clearing takes: the budget, the method and each hospital's
assessment score (the API's body; the clearing page builds the same model)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from yibao.kit.bounds import Money, Number


class ClearingIn(BaseModel):
    budget: Money = Field(gt=0, description="年度预算（元）")
    method: Literal["rate", "point", "dip"] = Field(
        "rate", description="rate 费率法 / point 点数法 / dip 按病种分值（结算点值）"
    )
    assessment_scores: dict[str, Number] = Field(description="医院编码 → 年度考核得分")
    region: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="其他清算参数")

    @field_validator("assessment_scores")
    @classmethod
    def _scores(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, score in v.items():
            if not 0 <= score <= 100:
                raise ValueError(f"{code} 的年度考核得分须在 0 到 100 之间（收到 {score}）")
        return v
