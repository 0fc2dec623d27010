"""Shapes of grouping input and output.

A single case arrives as JSON (API) or as form fields (web page); both go through
:func:`parse_case_input`, which names every bad field in Chinese and collects all of
them (HTTP 422).  Row-level *clinical* problems (a sex code 3, an unknown diagnosis
code) are not payload errors: the grouper reports them as a status with its trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from yibao.kit.bounds import DbId, Year
from yibao.kit.errors import ValidationFailed

#: field → (Chinese label, description) in form order
FIELDS: dict[str, str] = {
    "case_id": "病例标识",
    "sex": "性别",
    "age_years": "年龄（岁）",
    "age_days": "日龄（天）",
    "birth_weight_g": "出生体重（克）",
    "dept": "出院科室",
    "los_days": "住院天数",
    "icu_hours": "重症监护时长（小时）",
    "discharge_type": "离院方式",
    "discharge_date": "出院日期",
    "diagnoses": "诊断编码",
    "procedures": "手术操作编码",
    "plan": "分组方案",
}
#: allowed integer ranges (inclusive)
INT_RANGES: dict[str, tuple[int, int]] = {
    "age_years": (0, 150),
    "age_days": (0, 150 * 366),
    "birth_weight_g": (0, 10_000),
    "los_days": (0, 36_600),
    "icu_hours": (0, 36_600 * 24),
}
MAX_CODES = 60
MAX_CODE_LEN = 30
#: separators accepted between codes: | , ， ; ； and any white space (also new lines)
CODE_SPLIT = re.compile(r"[|,，;；\s]+")
_INT_TEXT = re.compile(r"-?[0-9]+(\.0*)?")


class CaseInputError(ValidationFailed):
    """A malformed case payload; ``details`` lists every bad field."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        first = details[0]
        text = "；".join(d["message"] for d in details)
        super().__init__(f"病例数据有误：{text}", field=first["field"])
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "details": self.details}


@dataclass(frozen=True)
class CaseInput:
    """A validated single case, ready for :func:`yibao.engines.grouper.group_one`."""

    diagnoses: tuple[str, ...]
    procedures: tuple[str, ...] = ()
    sex: str | int | None = None
    age_years: int | None = None
    age_days: int | None = None
    birth_weight_g: int | None = None
    dept: str | None = None
    los_days: int | None = None
    icu_hours: int | None = None
    discharge_type: str | None = None
    discharge_date: date | None = None
    plan: str | None = None
    case_id: str | None = None

    def to_engine(self) -> dict[str, Any]:
        return {
            "sex": self.sex,
            "age_years": self.age_years,
            "age_days": self.age_days,
            "birth_weight_g": self.birth_weight_g,
            "dept": self.dept,
            "los_days": self.los_days,
            "icu_hours": self.icu_hours,
            "discharge_type": self.discharge_type,
            "diagnoses": list(self.diagnoses),
            "procedures": list(self.procedures),
        }

    def form_values(self) -> dict[str, str]:
        """Text values for the web form."""

        def text(v: Any) -> str:
            return "" if v is None else str(v)

        return {
            "sex": text(self.sex),
            "age_years": text(self.age_years),
            "age_days": text(self.age_days),
            "birth_weight_g": text(self.birth_weight_g),
            "dept": text(self.dept),
            "los_days": text(self.los_days),
            "icu_hours": text(self.icu_hours),
            "discharge_type": text(self.discharge_type),
            "discharge_date": self.discharge_date.isoformat() if self.discharge_date else "",
            "diagnoses": "\n".join(self.diagnoses),
            "procedures": "\n".join(self.procedures),
            "plan": text(self.plan),
        }


def _label(name: str) -> str:
    return f"{FIELDS[name]} [{name}] "


def _int(name: str, value: Any, errors: list[dict[str, str]]) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        number = int(float(value.strip())) if "." in value else int(value.strip())
    if number is None:
        errors.append({"field": name, "message": f"{_label(name)}必须是整数，收到 {value!r}"})
        return None
    lo, hi = INT_RANGES[name]
    if not lo <= number <= hi:
        errors.append(
            {"field": name, "message": f"{_label(name)}应在 {lo}–{hi} 之间，收到 {number}"}
        )
        return None
    return number


def _text(name: str, value: Any, errors: list[dict[str, str]], max_len: int = 30) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors.append({"field": name, "message": f"{_label(name)}应为文本，收到 {value!r}"})
        return None
    value = value.strip()
    if len(value) > max_len:
        errors.append({"field": name, "message": f"{_label(name)}过长（最多 {max_len} 个字符）"})
        return None
    return value or None


def _codes(name: str, value: Any, errors: list[dict[str, str]]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = CODE_SPLIT.split(value)
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        errors.append(
            {
                "field": name,
                "message": f"{_label(name)}应为以 | 或 , 分隔的编码文本，或编码列表",
            }
        )
        return ()
    codes = tuple(c for c in items if c)
    if len(codes) > MAX_CODES:
        errors.append({"field": name, "message": f"{_label(name)}最多 {MAX_CODES} 个"})
        return ()
    long = [c for c in codes if len(c) > MAX_CODE_LEN]
    if long:
        errors.append(
            {
                "field": name,
                "message": f"{_label(name)}中的编码 {long[0]!r} 过长（最多 {MAX_CODE_LEN} 个字符）",
            }
        )
        return ()
    return codes


def parse_case_input(data: Any) -> CaseInput:
    """Validate one case (JSON object or form fields); raises :class:`CaseInputError`."""
    if not isinstance(data, Mapping):
        raise CaseInputError([{"field": "body", "message": "请求体应为一个病例 JSON 对象"}])
    errors: list[dict[str, str]] = []
    unknown = [k for k in data if k not in FIELDS]
    for key in unknown:
        errors.append(
            {
                "field": str(key),
                "message": f"不支持的字段 {key!r}（可用字段：{'、'.join(FIELDS)}）",
            }
        )
    sex = data.get("sex")
    if isinstance(sex, str):
        sex = sex.strip() or None
    elif sex is not None and (isinstance(sex, bool) or not isinstance(sex, int)):
        errors.append({"field": "sex", "message": f"{_label('sex')}应为 1（男）或 2（女）"})
        sex = None
    elif sex is not None:
        sex = str(sex)  # 1 → "1": plans compare the code as text
    ints = {name: _int(name, data.get(name), errors) for name in INT_RANGES}
    diagnoses = _codes("diagnoses", data.get("diagnoses"), errors)
    if not diagnoses and not any(e["field"] == "diagnoses" for e in errors):
        errors.append(
            {"field": "diagnoses", "message": f"{_label('diagnoses')}必填：至少填写主要诊断"}
        )
    procedures = _codes("procedures", data.get("procedures"), errors)
    discharge_date = None
    raw_date = data.get("discharge_date")
    if raw_date not in (None, ""):
        try:
            discharge_date = date.fromisoformat(str(raw_date).strip())
        except ValueError:
            errors.append(
                {
                    "field": "discharge_date",
                    "message": f"{_label('discharge_date')}格式应为 YYYY-MM-DD，收到 {raw_date!r}",
                }
            )
    plan = _text("plan", data.get("plan"), errors, max_len=40)
    case = CaseInput(
        diagnoses=diagnoses,
        procedures=procedures,
        sex=sex,
        age_years=ints["age_years"],
        age_days=ints["age_days"],
        birth_weight_g=ints["birth_weight_g"],
        dept=_text("dept", data.get("dept"), errors),
        los_days=ints["los_days"],
        icu_hours=ints["icu_hours"],
        discharge_type=_text("discharge_type", data.get("discharge_type"), errors, max_len=2),
        discharge_date=discharge_date,
        plan=plan,
        case_id=_text("case_id", data.get("case_id"), errors, max_len=50),
    )
    if errors:
        raise CaseInputError(errors)
    return case


class CaseIn(BaseModel):
    """One case for pre-grouping (documentation of ``POST /api/grouping/group``)."""

    sex: str | int | None = Field(None, description="性别：1 男，2 女")
    age_years: int | None = Field(None, description="年龄（岁）")
    age_days: int | None = Field(None, description="日龄（天），0 岁时必填")
    birth_weight_g: int | None = Field(None, description="新生儿出生体重（克）")
    dept: str | None = Field(None, description="出院科室")
    los_days: int | None = Field(None, description="住院天数")
    discharge_type: str | None = Field(None, description="离院方式 1–5、9")
    discharge_date: date | None = Field(None, description="出院日期：未指定方案时据此选方案")
    diagnoses: str | list[str] = Field(description="诊断编码，主要诊断在前；| 或 , 分隔，或列表")
    procedures: str | list[str] | None = Field(None, description="手术操作编码，主要手术在前")
    plan: str | None = Field(None, description="分组方案标识，如 chs-drg-1.1")
    case_id: str | None = Field(None, description="病例标识（原样返回）")


class TraceStepOut(BaseModel):
    code: str
    ok: bool
    text: str
    data: dict[str, str]


class GroupOut(BaseModel):
    case_id: str | None = None
    plan_id: str
    plan_version: str
    plan_checksum: str | None = None
    plan_title: str
    plan_reason: str = Field(description="requested / region / discharge_date / default")
    status: str
    status_label: str
    mdc: str
    adrg: str
    drg: str
    drg_name: str | None
    message: str
    trace: list[TraceStepOut]


class PlanOut(BaseModel):
    id: str
    title: str
    version: str
    valid_from: date | None
    valid_to: date | None
    status: str
    status_label: str
    counts: dict[str, int]


class StoredGroupingOut(BaseModel):
    plan_id: str
    plan_version: str
    plan_checksum: str | None = None
    status: str
    mdc: str
    adrg: str
    drg: str
    drg_name: str | None
    grouped_at: str


class StoredCaseGroupOut(GroupOut):
    case_pk: int
    setl_id: str
    stored: list[StoredGroupingOut]


class RegroupIn(BaseModel):
    plan: str | None = Field(
        None, max_length=40, description="分组方案；不填则按每例出院日期选方案"
    )
    year: Year | None = Field(None, description="出院年度")
    hospital: str | None = Field(None, max_length=12, description="医疗机构编码（医保局用户）")
    case_ids: list[DbId] | None = Field(None, max_length=100_000, description="结算清单 id 列表")


class JobAccepted(BaseModel):
    job_id: int
    status: str
    status_url: str
    page_url: str


class RegionPlanIn(BaseModel):
    region_code: str | None = Field(None, max_length=6, description="区划（默认本人区划）")
    plan_id: str = Field(max_length=40, description="分组方案")
    valid_from: date = Field(description="起始日期（按出院日期）")
    valid_to: date | None = Field(None, description="结束日期（空为长期）")
    reason: str = Field(max_length=500, description="设定依据，如文件号")


class RegionPlanOut(BaseModel):
    id: int
    region_code: str
    plan_id: str
    valid_from: date
    valid_to: date | None
    reason: str
    set_by: str


class PlanTrialIn(BaseModel):
    year: Year | None = Field(None, description="出院年度；不填则为全部已存病例（至多 50 万例）")
    hospital: str | None = Field(None, max_length=12, description="医疗机构编码")


class ReasonIn(BaseModel):
    reason: str = Field(..., min_length=2, max_length=500, description="依据（如文件号）")


class LocalPlanOut(BaseModel):
    plan_id: str
    title: str
    base_plan_id: str | None
    region_code: str
    status: str
    status_label: str
    checksum: str = Field(description="方案内容校验和（SHA-256），记录于每条分组结果")
    workbook_name: str
    changes: dict[str, Any] = Field(description="与基础方案的差异（text 为中文摘要）")
    trial: dict[str, Any] | None = Field(description="最近一次已存病例试算结果")
    reason: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
