"""Typed payment restrictions of a catalogue item (限定支付范围), stored as JSON.

The national catalogue restricts many items ("限女性"、"限二级及以上医疗机构"、"限
儿童"、"限…诊断"、"每日限…"); the audit rules that come next check fee lines against
them.  Each restriction is one JSON object with a ``kind`` and its own fields, read by a
discriminated union, so a new kind is a new class here and old entries stay as they
are (ADR 0016): nothing about an entry's row changes when a kind is added.

Classification (:mod:`yibao.engines.catalogue.classify`) does not apply them; the audit
rule engine (:mod:`yibao.engines.audit`, ADR 0020) does.  ``quantity.per_day`` is the
maximum daily quantity (the audit multiplies it by the days of supply); ``insutype``,
``frequency`` and ``course`` were added for the audit (issue 13).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

RESTRICTION_KINDS: Final[dict[str, str]] = {
    "sex": "限性别",
    "age": "限年龄",
    "hospital_level": "限医院等级",
    "setting": "限就医方式",
    "department": "限科室",
    "indication": "限适应症（诊断）",
    "quantity": "限数量",
    "insutype": "限险种",
    "frequency": "限频次",
    "course": "限疗程",
}
_SEX = {"1": "男性", "2": "女性"}
_SETTING = {"inpatient": "住院", "outpatient": "门诊"}
_LEVEL = {"1": "一级", "2": "二级", "3": "三级"}
_PER = {"day": "每日", "visit": "每次就诊", "month": "每自然月"}
#: insurance types (险种, insutype): three digits, e.g. 310 职工基本医疗保险, 390 城乡居民
#: 基本医疗保险, 510 生育保险
_INSUTYPE = r"^[0-9]{3}$"


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SexRule(_Rule):
    """Only for patients of one sex (GB/T 2261.1: 1 男, 2 女)."""

    kind: Literal["sex"]
    sex: Literal["1", "2"]


class AgeRule(_Rule):
    """Only for patients aged ``min_years`` ≤ age ≤ ``max_years`` (completed years)."""

    kind: Literal["age"]
    min_years: int | None = Field(None, ge=0, le=150)
    max_years: int | None = Field(None, ge=0, le=150)

    @model_validator(mode="after")
    def _bounds(self) -> AgeRule:
        if self.min_years is None and self.max_years is None:
            raise ValueError("年龄限制须给出 min_years 或 max_years")
        if (
            self.min_years is not None
            and self.max_years is not None
            and self.min_years > self.max_years
        ):
            raise ValueError("年龄下限不能大于上限")
        return self


class LevelRule(_Rule):
    """Only in hospitals of ``min_level`` and above."""

    kind: Literal["hospital_level"]
    min_level: Literal["1", "2", "3"]


class SettingRule(_Rule):
    """Only for inpatient or only for outpatient treatment."""

    kind: Literal["setting"]
    setting: Literal["inpatient", "outpatient"]


class DepartmentRule(_Rule):
    """Only when billed by one of these departments (科室代码 prefixes)."""

    kind: Literal["department"]
    departments: tuple[str, ...] = Field(min_length=1, max_length=50)


class IndicationRule(_Rule):
    """Only for patients with one of these diagnoses (ICD-10 医保版 code prefixes)."""

    kind: Literal["indication"]
    diagnoses: tuple[str, ...] = Field(min_length=1, max_length=100)


class QuantityRule(_Rule):
    """At most ``per_day`` units a day and ``per_stay`` units a stay."""

    kind: Literal["quantity"]
    per_day: Decimal | None = Field(None, gt=0)
    per_stay: Decimal | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _some(self) -> QuantityRule:
        if self.per_day is None and self.per_stay is None:
            raise ValueError("数量限制须给出 per_day 或 per_stay")
        return self


class InsutypeRule(_Rule):
    """Only for patients insured under one of these insurance types (insutype, e.g.
    ``510`` 生育保险 only)."""

    kind: Literal["insutype"]
    insutypes: tuple[Annotated[str, Field(pattern=_INSUTYPE)], ...] = Field(
        min_length=1, max_length=20
    )


class FrequencyRule(_Rule):
    """At most ``max_times`` times (the billed count, ``cnt``) per day, per visit or per
    natural month (``per``), e.g. "每日限 1 次"."""

    kind: Literal["frequency"]
    max_times: int = Field(ge=1, le=100_000)
    per: Literal["day", "visit", "month"]


class CourseRule(_Rule):
    """A course of treatment (疗程): at most ``max_sessions`` sessions (the billed count)
    and/or ``max_days`` distinct days of treatment per visit or per natural month."""

    kind: Literal["course"]
    per: Literal["visit", "month"]
    max_sessions: int | None = Field(None, ge=1, le=100_000)
    max_days: int | None = Field(None, ge=1, le=366)

    @model_validator(mode="after")
    def _some(self) -> CourseRule:
        if self.max_sessions is None and self.max_days is None:
            raise ValueError("疗程限制须给出 max_sessions 或 max_days")
        return self


Restriction = Annotated[
    SexRule
    | AgeRule
    | LevelRule
    | SettingRule
    | DepartmentRule
    | IndicationRule
    | QuantityRule
    | InsutypeRule
    | FrequencyRule
    | CourseRule,
    Field(discriminator="kind"),
]
_LIST: TypeAdapter[list[Restriction]] = TypeAdapter(list[Restriction])


def parse_restrictions(data: Any) -> tuple[Restriction, ...]:
    """Restrictions from JSON data (a list of objects, one object, or nothing).

    Raises ``ValueError`` with a Chinese message naming the restriction and field."""
    if data is None or data == [] or data == {}:
        return ()
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("使用限制须为 JSON 对象或对象列表")
    try:
        return tuple(_LIST.validate_python(items))
    except ValidationError as exc:
        raise ValueError("；".join(_explain(exc, items))) from None


def _explain(exc: ValidationError, items: Sequence[Any]) -> list[str]:
    out = []
    for err in exc.errors()[:5]:
        loc = list(err["loc"])
        where = f"第 {int(loc[0]) + 1} 条" if loc and isinstance(loc[0], int) else ""
        if err["type"] == "union_tag_invalid" or err["type"] == "union_tag_not_found":
            kinds = "、".join(RESTRICTION_KINDS)
            out.append(f"{where}限制的 kind 须为 {kinds} 之一")
            continue
        fields = [str(p) for p in loc[2:] if not isinstance(p, int)]
        name = f"字段 {'.'.join(fields)}" if fields else ""
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}限制{name}：{_words(msg)}")
    return out


def _words(message: str) -> str:
    lowered = message.lower()
    if "extra inputs" in lowered:
        return "有不认识的字段"
    if "field required" in lowered:
        return "缺少必填字段"
    if "pattern" in lowered:
        return "格式不合规定"
    if "input should be" in lowered or "valid" in lowered:
        return "取值不合规定"
    return message


def dump_restrictions(rules: Sequence[Restriction]) -> list[dict[str, Any]] | None:
    """The JSON stored for ``rules`` (None when there are none)."""
    if not rules:
        return None
    return [r.model_dump(mode="json", exclude_none=True) for r in rules]


def describe(rule: Restriction) -> str:
    """One restriction in the catalogue's own words (限女性、限 18 岁及以上 …)."""
    if isinstance(rule, SexRule):
        return f"限{_SEX[rule.sex]}"
    if isinstance(rule, AgeRule):
        if rule.min_years is not None and rule.max_years is not None:
            return f"限 {rule.min_years}–{rule.max_years} 岁"
        if rule.min_years is not None:
            return f"限 {rule.min_years} 岁及以上"
        return f"限 {rule.max_years} 岁及以下"
    if isinstance(rule, LevelRule):
        return f"限{_LEVEL[rule.min_level]}及以上医疗机构"
    if isinstance(rule, SettingRule):
        return f"限{_SETTING[rule.setting]}使用"
    if isinstance(rule, DepartmentRule):
        more = " 等" if len(rule.departments) > 5 else ""
        return f"限科室 {'、'.join(rule.departments[:5])}{more}"
    if isinstance(rule, IndicationRule):
        shown = "、".join(rule.diagnoses[:5])
        return f"限诊断 {shown}{' 等' if len(rule.diagnoses) > 5 else ''}"
    if isinstance(rule, InsutypeRule):
        return f"限险种 {'、'.join(rule.insutypes)}"
    if isinstance(rule, FrequencyRule):
        return f"{_PER[rule.per]}不超过 {rule.max_times} 次"
    if isinstance(rule, CourseRule):
        limits = []
        if rule.max_sessions is not None:
            limits.append(f"{rule.max_sessions} 次")
        if rule.max_days is not None:
            limits.append(f"{rule.max_days} 天")
        return f"疗程{_PER[rule.per]}不超过 {'、'.join(limits)}"
    parts = []
    if rule.per_day is not None:
        parts.append(f"每日不超过 {rule.per_day.normalize():f}")
    if rule.per_stay is not None:
        parts.append(f"每次住院不超过 {rule.per_stay.normalize():f}")
    return "，".join(parts)
