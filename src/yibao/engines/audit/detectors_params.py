"""Parameters of the DRG post-audit detectors (事后审核, issue 13 item 5, ADR 0020
"Detectors").  Every default is [M] (domain.md §5.3 names the detectors, not their
thresholds): a bureau sets its own values.

>>> DetectorParams.from_data({"readmit_days": 30}).readmit_days
30
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from yibao.engines.audit.errors import explain

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class DetectorParams(BaseModel):
    """What the detectors flag.  Hospital-month signals compare a hospital with the
    other hospitals of its level in the same month (leave-one-out z-score) and, for
    upcoding, with its own previous months."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: rule_version of every detector finding (bump it when the parameters change)
    version: int = Field(default=1, ge=1)
    #: audited discharge months (YYYY-MM); empty: the latest month in ``cases``.
    #: Earlier months in the frame serve as history only.
    months: tuple[str, ...] = ()

    # 1 分解住院
    readmit_days: int = Field(default=15, ge=0, le=365)
    readmit_key: Literal["mdc", "adrg"] = "mdc"
    readmit_same_hospital_only: bool = False
    #: a readmission whose (later) stay is in one of these MDCs is exempt
    readmit_exempt_mdcs: tuple[str, ...] = ()
    #: … or whose DRG starts with one of these (an ADRG code is a prefix): e.g. RE1 化疗
    readmit_exempt_drg_prefixes: tuple[str, ...] = ()

    # hospital-month signals (2, 3, 4 rate, 5 rate, 6)
    min_cases: int = Field(default=30, ge=1)
    min_peers: int = Field(default=3, ge=2)
    peer_z: float = Field(default=2.0, gt=0)
    #: the peers' standard deviation is at least this share of their mean
    peer_std_floor: float = Field(default=0.05, ge=0)
    #: a rate must also exceed the peers' mean by this much (absolute)
    min_rate_excess: float = Field(default=0.02, ge=0)
    history_months: int = Field(default=6, ge=1, le=36)
    min_history_cases: int = Field(default=90, ge=1)

    # 2 高套 / 低码高编
    cmi_jump_ratio: float = Field(default=1.10, gt=1)
    cc_share_jump: float = Field(default=0.10, gt=0, le=1)

    # 4 转嫁费用
    shift_days_before: int = Field(default=7, ge=0, le=90)
    shift_days_after: int = Field(default=7, ge=0, le=90)
    shift_same_hospital: bool = True
    shift_min_amount: Decimal = Field(default=Decimal("500"), ge=0, decimal_places=2)
    #: per-case amount must also reach this multiple of the hospital's history mean
    shift_baseline_ratio: float = Field(default=3.0, gt=0)

    # 5 自费比例
    self_pay_include_first: bool = True
    self_pay_case_share: float = Field(default=0.30, gt=0, lt=1)
    self_pay_month_share: float = Field(default=0.10, gt=0, lt=1)

    # 6 异常评分
    anomaly: bool = True
    anomaly_trees: int = Field(default=200, ge=10, le=5000)
    anomaly_random_state: int = Field(default=0, ge=0)
    anomaly_contamination: float = Field(default=0.05, gt=0, le=0.5)
    anomaly_min_score: float = Field(default=0.55, ge=0, le=1)
    anomaly_min_rows: int = Field(default=10, ge=4)
    anomaly_top_features: int = Field(default=3, ge=1, le=8)

    @field_validator("months")
    @classmethod
    def _months(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in value if not _MONTH.match(m)]
        if bad:
            raise ValueError(f"months：月份须为 YYYY-MM，{bad[0]} 不是")
        return tuple(sorted(set(value)))

    @field_validator("readmit_exempt_mdcs", "readmit_exempt_drg_prefixes")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not c.strip() for c in value):
            raise ValueError("豁免编码不能为空文本")
        return tuple(c.strip() for c in value)

    @model_validator(mode="after")
    def _consistent(self) -> DetectorParams:
        if self.self_pay_month_share > self.self_pay_case_share:
            raise ValueError(
                "self_pay_month_share：月度自费比例阈值不能高于单例阈值 self_pay_case_share"
            )
        return self

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None = None) -> DetectorParams:
        """Parameters from plain data; bad values raise :class:`AuditError` in Chinese
        naming the field (``检测参数：字段 readmit_days：超出允许范围（须不小于 0）``)."""
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as exc:
            raise explain(exc, "检测参数") from None
