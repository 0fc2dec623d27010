"""Rules (规则库): every rule an instance of a family with parameters, as versioned data.

A rule names its family (domain.md §5.2), its parameters, the stages it runs in (事前
``pre``, 事中 ``mid``, 事后 ``post``), the trigger scenarios (``trig_scen`` 1–10,
domain.md §4.2; none listed: every scenario of its stages), its window (``visit`` 当次就诊,
``day`` 自然日, ``month`` 自然月), result type (可疑 ``suspicious`` / 明确 ``definite``),
severity (``sev_deg`` 1 提示, 2 警告, 3 严重 [M]), whether it is enabled and its validity
dates.  Parameters either point to the knowledge base (no ``codes``: every item with the
family's restriction, every relation of the family) or narrow it (``codes``, and for the
counting families a threshold that replaces the knowledge base's for those codes).

>>> r = Rule.from_data({"rule_id": "SEX01", "version": 1, "name": "限性别项目",
...     "family": "sex", "stages": ["pre", "mid", "post"]})
>>> r.window, r.sev_deg, r.params_model()
('visit', 2, ScopeParams(codes=None))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yibao.engines.audit.errors import explain
from yibao.engines.audit.knowledge import Code

Stage = Literal["pre", "mid", "post"]
Window = Literal["visit", "day", "month"]
ResultType = Literal["suspicious", "definite"]
Family = Literal[
    "sex",
    "age",
    "indication",
    "care_mode",
    "institution",
    "insutype",
    "specialty",
    "price",
    "quantity",
    "frequency",
    "course",
    "phantom",
    "duplicate",
    "linkage",
    "unbundling",
]
STAGES: Final[dict[str, str]] = {"pre": "事前", "mid": "事中", "post": "事后"}
WINDOWS: Final[dict[str, str]] = {"visit": "当次就诊", "day": "自然日", "month": "自然月"}
RESULT_TYPES: Final[dict[str, str]] = {"suspicious": "可疑", "definite": "明确"}
SEVERITIES: Final[dict[int, str]] = {1: "提示", 2: "警告", 3: "严重"}
#: trig_scen → its stage (domain.md §4.2: 1–5 事前, 6–10 事中)
TRIG_STAGE: Final[dict[int, Stage]] = {n: "pre" if n <= 5 else "mid" for n in range(1, 11)}


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScopeParams(_Params):
    """``codes``: only these items (absent: every item the family concerns)."""

    codes: tuple[Code, ...] | None = Field(None, min_length=1, max_length=10_000)


class IndicationParams(ScopeParams):
    """``principal_only``: only the principal diagnosis qualifies."""

    principal_only: bool = False


Quantity = Annotated[Decimal, Field(gt=0, lt=10**9, decimal_places=4)]


class QuantityParams(ScopeParams):
    """``max_per_day`` (window day) / ``max_per_visit`` (window visit) replace the
    knowledge base's ``quantity.per_day`` / ``per_stay`` for ``codes``."""

    max_per_day: Quantity | None = None
    max_per_visit: Quantity | None = None


class FrequencyParams(ScopeParams):
    """``max_times`` replaces the knowledge base's frequency for ``codes``."""

    max_times: int | None = Field(None, ge=1, le=100_000)


class CourseParams(ScopeParams):
    """``max_sessions`` / ``max_days`` replace the knowledge base's course for ``codes``."""

    max_sessions: int | None = Field(None, ge=1, le=100_000)
    max_days: int | None = Field(None, ge=1, le=366)


class PhantomParams(ScopeParams):
    """``units``: the billing units counted (window day: hourly units, default 小时;
    window visit: daily units, default 日、天、床日)."""

    units: tuple[Annotated[str, Field(min_length=1, max_length=20)], ...] | None = Field(
        None, min_length=1, max_length=20
    )


class DuplicateParams(ScopeParams):
    """``types``: exclusive and/or inclusive pairs; ``codes``: pairs naming one of them."""

    types: tuple[Literal["exclusive", "inclusive"], ...] = Field(
        ("exclusive", "inclusive"), min_length=1, max_length=2
    )


class UnbundlingParams(ScopeParams):
    """``mode``: components billed with the package, components billed instead of it
    (``min_components`` or more), or both; ``codes``: these packages only."""

    mode: Literal["with_package", "instead", "both"] = "both"


@dataclass(frozen=True, slots=True)
class FamilyInfo:
    """A family's Chinese name, its windows, parameters and restriction kind."""

    name: str
    windows: tuple[Window, ...]
    params: type[ScopeParams]
    restriction: str | None


_LINE: Final[tuple[Window, ...]] = ("visit",)
_ALL: Final[tuple[Window, ...]] = ("visit", "day", "month")
FAMILIES: Final[dict[str, FamilyInfo]] = {
    "sex": FamilyInfo("超性别", _LINE, ScopeParams, "sex"),
    "age": FamilyInfo("超年龄", _LINE, ScopeParams, "age"),
    "indication": FamilyInfo("超适应症", _LINE, IndicationParams, "indication"),
    "care_mode": FamilyInfo("超就医方式", _LINE, ScopeParams, "setting"),
    "institution": FamilyInfo("超机构范围", _LINE, ScopeParams, "hospital_level"),
    "insutype": FamilyInfo("超险种范围", _LINE, ScopeParams, "insutype"),
    "specialty": FamilyInfo("超专科范围", _LINE, ScopeParams, "department"),
    "price": FamilyInfo("超支付价格", _LINE, ScopeParams, None),
    "quantity": FamilyInfo("超用量", ("day", "visit"), QuantityParams, "quantity"),
    "frequency": FamilyInfo("超频次", _ALL, FrequencyParams, "frequency"),
    "course": FamilyInfo("超疗程", ("visit", "month"), CourseParams, "course"),
    "phantom": FamilyInfo("虚记项目", ("day", "visit"), PhantomParams, None),
    "duplicate": FamilyInfo("重复收费", _ALL, DuplicateParams, None),
    "linkage": FamilyInfo("关联缺失", _ALL, ScopeParams, None),
    "unbundling": FamilyInfo("分解项目", _ALL, UnbundlingParams, None),
}
_OVERRIDES: Final = ("max_per_day", "max_per_visit", "max_times", "max_sessions", "max_days")


class Rule(BaseModel):
    """One version of one rule.  Build with :meth:`from_data` for Chinese errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
    version: int = Field(ge=1, le=1_000_000)
    name: str = Field(min_length=1, max_length=100)
    family: Family
    params: Mapping[str, Any] = Field(default_factory=dict)
    stages: tuple[Stage, ...] = Field(min_length=1, max_length=3)
    trig_scen: tuple[Annotated[int, Field(ge=1, le=10)], ...] = ()
    window: Window = "visit"
    result_type: ResultType = "suspicious"
    sev_deg: int = Field(2, ge=1, le=3)
    enabled: bool = True
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        info = FAMILIES[self.family]
        if self.window not in info.windows:
            allowed = "、".join(info.windows)
            raise ValueError(f"window：{info.name}规则的窗口须为 {allowed}（收到 {self.window}）")
        for n in self.trig_scen:
            if TRIG_STAGE[n] not in self.stages:
                raise ValueError(
                    f"trig_scen：触发场景 {n} 属于{STAGES[TRIG_STAGE[n]]}，stages 须包含 "
                    f"{TRIG_STAGE[n]}"
                )
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("valid_to：失效日期不能早于生效日期")
        params = self.params_model()
        set_overrides = [f for f in _OVERRIDES if getattr(params, f, None) is not None]
        if set_overrides and params.codes is None:
            raise ValueError(f"params.{set_overrides[0]}：替换知识库阈值时须同时给出 codes")
        if self.window != "day" and getattr(params, "max_per_day", None) is not None:
            raise ValueError("params.max_per_day：仅用于 window 为 day 的规则")
        if self.window != "visit" and getattr(params, "max_per_visit", None) is not None:
            raise ValueError("params.max_per_visit：仅用于 window 为 visit 的规则")
        return self

    def params_model(self) -> ScopeParams:
        """The parameters read by the family's model (raises ``ValueError`` in Chinese,
        naming ``params.<field>``)."""
        try:
            return FAMILIES[self.family].params.model_validate(dict(self.params))
        except ValidationError as exc:
            raise ValueError(
                explain(exc, "参数", "params").message.removeprefix("参数：")
            ) from None

    def active_on(self, day: date) -> bool:
        """Enabled and valid on ``day``."""
        return (
            self.enabled
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_to is None or day <= self.valid_to)
        )

    @classmethod
    def from_data(cls, data: Mapping[str, Any], where: str = "") -> Rule:
        """A rule from plain data; :class:`AuditError` names the rule and the field."""
        head = where or f"规则 {data.get('rule_id', '?')}（第 {data.get('version', '?')} 版）"
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise explain(exc, head) from None


#: the DRG detectors' families (post-audit, ADR 0024) in Chinese
DETECTOR_FAMILIES: Final[dict[str, str]] = {
    "readmission": "分解住院",
    "upcoding": "高套分组",
    "under_treatment": "服务不足",
    "cost_shifting": "转嫁费用",
    "self_pay": "自费比例",
    "anomaly": "综合异常",
}


def family_name(family: str) -> str:
    """A rule family's or a detector family's Chinese name (the code if unknown)."""
    info = FAMILIES.get(family)
    return info.name if info is not None else DETECTOR_FAMILIES.get(family, family)
