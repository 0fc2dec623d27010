"""Benefit policy (待遇政策) as versioned data: 起付线, fund ratio, 封顶线.

A :class:`BenefitPolicy` belongs to one insured place (参保地 pooling region) and one
insurance type (insutype ``310`` 职工 / ``390`` 居民), has a code, a version, validity
dates and a status (draft → published → retired, architecture house rule 1).  Per
hospital level it sets the deductible and the fund ratio, flat or by cost band; it sets
the annual cap and, optionally, what changes when the insured person is treated outside
the pooling region (异地就医: a higher deductible, a lower ratio).  Domain.md §4.4:
"就医地目录、参保地政策、就医地管理" — a cross-region case is settled with the benefit
policy of the **insured** place [L] S7, S32.

Policies are loaded from JSON (:func:`load_policies`); every problem is reported in
Chinese, naming the policy and the field.  :func:`demo_policies` loads the synthetic
policies of 演示市 990100 and 990200 shipped with the engine.

The pooling region of an admdvs code is its city: the first four digits + ``00``
(``990102`` → ``990100``).  Two codes are in the same province when their first two
digits agree.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from yibao.engines.measure.params import explain
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.layers import (
    CIVIL_SERVANT_FUND,
    LARGE_FUND_OF_INSUTYPE,
    LARGE_FUNDS,
    MEDICAL_AID_FUND,
    CivilServantLayer,
    LargeAmountLayer,
    MedicalAidLayer,
    OutpatientBenefit,
)
from yibao.engines.settlement.levels import (
    E4,
    CrossRegionRule,
    LevelBenefit,
    Segment,
    _fen,
    _Model,
    _places,
    check_levels,
)
from yibao.kit import jsonerrors

#: Where the insured person was treated, relative to the insured place.
Scope = Literal["local", "in_province", "out_of_province"]
SCOPES: Final[tuple[str, ...]] = ("local", "in_province", "out_of_province")
SCOPE_NAMES: Final[dict[str, str]] = {
    "local": "本地就医",
    "in_province": "省内异地就医",
    "out_of_province": "跨省异地就医",
}
INSUTYPE_NAMES: Final[dict[str, str]] = {"310": "职工医保", "390": "居民医保"}
DEMO_POLICY_DIR: Final = Path(__file__).resolve().parent / "policies"
#: the basic pooled fund of an insutype when the policy does not name it (§3.4 [S]/[M])
BASIC_FUNDS: Final[dict[str, str]] = {"310": "310100", "390": "390100"}
_FUND_CODE = re.compile(r"^\d{6}$")
#: codes the basic fund may not take: the layers' funds and the personal account's
#: setldetail row (a basic fund under one of them would merge with it)
RESERVED_FUNDS: Final[dict[str, str]] = {
    CIVIL_SERVANT_FUND: "公务员医疗补助",
    **dict.fromkeys(LARGE_FUNDS, "大额（大病）保险"),
    MEDICAL_AID_FUND: "医疗救助",
    "310200": "职工基本医疗保险个人账户",
}

_REGION = re.compile(r"^\d{6}$")
_INSUTYPE = re.compile(r"^\d{3}$")


def pooling_region(code: str) -> str:
    """The city-level pooling region (统筹区) of a 6-digit admdvs code."""
    return code[:4] + "00"


def scope_of(insured_region: str, treating_region: str | None) -> Scope:
    """``local`` when both codes are in one pooling region, else in/out of province."""
    if treating_region is None or pooling_region(insured_region) == pooling_region(treating_region):
        return "local"
    return "in_province" if insured_region[:2] == treating_region[:2] else "out_of_province"


class BenefitPolicy(_Model):
    """One version of the benefit policy of an insured place and insutype.

    ``valid_from`` / ``valid_to`` are inclusive (``valid_to=None``: open-ended); the
    policy applies to cases discharged in that window.  ``levels`` must cover 一级,
    二级 and 三级; ``annual_cap`` (封顶线) is the most the pooled fund pays a person in
    a year for inpatient care; ``cross_region`` has optional rules for ``in_province``
    and ``out_of_province`` treatment.

    Optional (ADR 0017; absent, the policy behaves as before): ``fund_pay_type`` of the
    basic pooled fund (default from insutype, :data:`BASIC_FUNDS`), ``deductible_per``
    (``year``: the deductible is counted against the year's deductible already paid;
    ``stay``: every inpatient settlement pays its own), and the layers
    ``large_amount``, ``civil_servant``, ``medical_aid`` and ``outpatient``
    (:mod:`.layers`).
    """

    code: str
    version: int
    name: str
    region_code: str
    region_name: str = ""
    insutype: str
    valid_from: date
    valid_to: date | None = None
    status: Literal["draft", "published", "retired"] = "published"
    levels: dict[str, LevelBenefit]
    annual_cap: Decimal
    cross_region: dict[str, CrossRegionRule] = Field(default_factory=dict)
    source: str = ""
    fund_pay_type: str | None = None
    deductible_per: Literal["year", "stay"] = "year"
    large_amount: LargeAmountLayer | None = None
    civil_servant: CivilServantLayer | None = None
    medical_aid: MedicalAidLayer | None = None
    outpatient: OutpatientBenefit | None = None

    @field_validator("code", "name")
    @classmethod
    def _text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("不能为空")
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"version：版本号须为正整数（收到 {v}）")
        return v

    @field_validator("region_code")
    @classmethod
    def _region(cls, v: str) -> str:
        if not _REGION.match(v) or not v.endswith("00"):
            raise ValueError(
                f"region_code：参保地统筹区须为以 00 结尾的 6 位区划代码（收到 {v!r}）"
            )
        return v

    @field_validator("insutype")
    @classmethod
    def _insutype(cls, v: str) -> str:
        if not _INSUTYPE.match(v):
            raise ValueError(f"insutype：险种类型须为 3 位数字，如 310、390（收到 {v!r}）")
        return v

    @field_validator("annual_cap")
    @classmethod
    def _cap(cls, v: Decimal) -> Decimal:
        if v <= 0 or _places(v) > 2:
            raise ValueError(f"annual_cap：封顶线须大于 0 且最多 2 位小数（收到 {v}）")
        return v

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: dict[str, LevelBenefit]) -> dict[str, LevelBenefit]:
        check_levels(v)
        return v

    @field_validator("cross_region")
    @classmethod
    def _cross(cls, v: dict[str, CrossRegionRule]) -> dict[str, CrossRegionRule]:
        unknown = [k for k in v if k not in SCOPES[1:]]
        if unknown:
            raise ValueError(
                f"cross_region：异地范围须为 in_province（省内）或 out_of_province（跨省）"
                f"（收到 {'、'.join(unknown)}）"
            )
        return v

    @field_validator("fund_pay_type")
    @classmethod
    def _fund(cls, v: str | None) -> str | None:
        if v is not None and not _FUND_CODE.match(v):
            raise ValueError(
                f"fund_pay_type：基本统筹基金编码须为 6 位数字，如 310100（收到 {v!r}）"
            )
        if v in RESERVED_FUNDS:
            raise ValueError(
                f"fund_pay_type：{v} 是{RESERVED_FUNDS[v]}的编码，不能作为基本统筹基金编码"
            )
        return v

    @field_validator("deductible_per", mode="before")
    @classmethod
    def _per(cls, v: object) -> object:
        if v not in ("year", "stay"):
            raise ValueError(
                "deductible_per：起付线计算方式须为 year（按年度累计）或 stay（每次住院）"
                f"（收到 {v!r}）"
            )
        return v

    @model_validator(mode="after")
    def _window(self) -> BenefitPolicy:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to：失效日期 {self.valid_to} 早于生效日期 {self.valid_from}")
        large = self.large_amount
        expected = LARGE_FUND_OF_INSUTYPE.get(self.insutype)
        if large is not None and expected is not None and large.fund_pay_type != expected:
            raise ValueError(
                f"large_amount：险种 {self.insutype} 的大额（大病）基金编码须为 {expected}"
                f"（收到 {large.fund_pay_type}）"
            )
        return self

    @property
    def basic_fund_type(self) -> str | None:
        """The basic pooled fund's fund_pay_type: as given, else from the insutype
        (310 → 310100, 390 → 390100); ``None`` for another insutype without one."""
        return self.fund_pay_type or BASIC_FUNDS.get(self.insutype)

    @property
    def key(self) -> str:
        """``<code>@v<version>``: the stable reference written on every priced case."""
        return f"{self.code}@v{self.version}"

    @property
    def label(self) -> str:
        """Chinese label: region, insutype and version."""
        kind = INSUTYPE_NAMES.get(self.insutype, self.insutype)
        return f"{self.region_name or self.region_code}{kind}待遇（{self.key}）"

    def valid_on(self, day: date) -> bool:
        """Whether ``day`` lies in the inclusive validity window."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def benefit(self, level: str, scope: str = "local", *, outpatient: bool = False) -> Benefit:
        """The effective deductible, ratio segments and cap for a level and scope (of
        the ``outpatient`` section when asked: its levels, cap and cross-region rules,
        the policy's own when it has none)."""
        if level not in self.levels or scope not in SCOPES:
            raise SettlementError(
                f"策略 {self.key}：医院等级须为 1、2、3，就医范围须为 {'、'.join(SCOPES)}"
                f"（收到 {level!r}、{scope!r}）",
                field="hospital_level",
            )
        levels, cap, rules = self.levels, self.annual_cap, self.cross_region
        if outpatient:
            if self.outpatient is None:
                raise SettlementError(
                    f"策略 {self.key}：没有门诊统筹待遇（outpatient），不能结算门诊",
                    field="outpatient",
                )
            levels, cap = self.outpatient.levels, self.outpatient.annual_cap
            if self.outpatient.cross_region is not None:
                rules = self.outpatient.cross_region
        rule = levels[level]
        deductible = rule.deductible
        segments = rule.segments()
        cross = rules.get(scope) if scope != "local" else None
        if cross is not None:
            if cross.deductible is not None:
                deductible = cross.deductible
            cut = int(cross.ratio_cut * E4)
            segments = tuple(Segment(s.lower, s.upper, max(0, s.ratio_e4 - cut)) for s in segments)
        return Benefit(self.key, level, scope, _fen(deductible), segments, _fen(cap))


@dataclass(frozen=True, slots=True)
class Benefit:
    """A policy resolved for one hospital level and scope (integers: fen, 1/10,000)."""

    policy_key: str
    level: str
    scope: str
    deductible_fen: int
    segments: tuple[Segment, ...]
    cap_fen: int

    @property
    def flat_ratio(self) -> Decimal | None:
        """The ratio when there is a single band, else ``None``."""
        if len(self.segments) == 1:
            return Decimal(self.segments[0].ratio_e4) / E4
        return None


class PolicySet:
    """Benefit policies of several insured places, checked for overlapping windows.

    Among policies that are not drafts, two of the same pooling region and insutype may
    not be valid on the same day; the same code and version may not appear twice.
    """

    def __init__(self, policies: Iterable[BenefitPolicy]) -> None:
        self.policies: tuple[BenefitPolicy, ...] = tuple(
            sorted(policies, key=lambda p: (p.region_code, p.insutype, p.valid_from, p.version))
        )
        problems = _overlaps(self.policies)
        if problems:
            raise SettlementError("；".join(problems), field="policies", problems=problems)

    def __len__(self) -> int:
        return len(self.policies)

    def usable(self, include_drafts: bool = False) -> tuple[BenefitPolicy, ...]:
        """Published and retired policies (retired ones still price their own window);
        drafts too when asked (simulation)."""
        return tuple(p for p in self.policies if include_drafts or p.status != "draft")

    def find(
        self, insured_region: str, insutype: str, on: date, *, include_drafts: bool = False
    ) -> BenefitPolicy | None:
        """The policy of the insured place's pooling region and insutype valid on ``on``
        (with drafts, a draft overlapping the published version wins, then the highest
        version)."""
        region = pooling_region(insured_region)
        found = [
            p
            for p in self.usable(include_drafts)
            if p.region_code == region and p.insutype == insutype and p.valid_on(on)
        ]
        return max(found, key=lambda p: (p.status == "draft", p.version)) if found else None


def _overlaps(policies: Sequence[BenefitPolicy]) -> list[str]:
    problems: list[str] = []
    keys = [p.key for p in policies]
    problems += [f"策略 {k} 重复出现" for k in sorted({k for k in keys if keys.count(k) > 1})]
    live = [p for p in policies if p.status != "draft"]
    for a, b in itertools.combinations(live, 2):
        if (a.region_code, a.insutype) != (b.region_code, b.insutype):
            continue
        a_end, b_end = a.valid_to or date.max, b.valid_to or date.max
        if a.valid_from <= b_end and b.valid_from <= a_end:
            problems.append(
                f"策略 {a.key} 与 {b.key} 的有效期重叠"
                f"（参保地 {a.region_code}，险种 {a.insutype}）：同一天只能有一个生效版本"
            )
    return problems


def parse_policy(data: Mapping[str, Any], where: str = "BenefitPolicy") -> BenefitPolicy:
    """Build one policy from a mapping; every problem → :class:`SettlementError`."""
    try:
        return BenefitPolicy.model_validate(dict(data))
    except ValidationError as exc:
        problems = explain(exc, where)
        raise SettlementError("；".join(problems), field="policy", problems=problems) from None


def load_policies(source: Path | str | bytes | Sequence[Path]) -> PolicySet:
    """Load benefit policies from JSON: a file, a directory of ``*.json`` files, several
    files, or JSON text.  A document is a list of policies or ``{"policies": [...]}``.

    All problems of all policies are collected into one :class:`SettlementError`, each
    naming the policy (``策略[i]（code）``) and the field in Chinese.
    """
    documents: list[tuple[str, Any]] = []
    for name, text in _texts(source):
        try:
            documents.append((name, json.loads(text)))
        except json.JSONDecodeError as exc:
            raise SettlementError(
                f"{name}：不是有效的 JSON（{jsonerrors.reason(exc)}）",
                field="policies",
            ) from None
    policies: list[BenefitPolicy] = []
    problems: list[str] = []
    for name, doc in documents:
        items = doc.get("policies") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            problems.append(f"{name}：须为策略列表或含 policies 列表的对象")
            continue
        for i, item in enumerate(items):
            code = item.get("code", "?") if isinstance(item, dict) else "?"
            where = f"{name} 策略[{i}]（{code}）"
            if not isinstance(item, dict):
                problems.append(f"{where}：每个策略须为对象")
                continue
            try:
                policies.append(parse_policy(item, where))
            except SettlementError as exc:
                problems.extend(exc.problems)
    if problems:
        raise SettlementError("；".join(problems), field="policies", problems=problems)
    return PolicySet(policies)


def _texts(source: Path | str | bytes | Sequence[Path]) -> list[tuple[str, str | bytes]]:
    if isinstance(source, bytes):
        return [("JSON", source)]
    if isinstance(source, str):
        if source.lstrip().startswith(("[", "{")):
            return [("JSON", source)]
        source = Path(source)
    paths = [source] if isinstance(source, Path) else list(source)
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise SettlementError(f"找不到待遇政策文件：{path}", field="policies")
    return [(f.name, f.read_text(encoding="utf-8")) for f in files]


def demo_policies() -> PolicySet:
    """The synthetic demo policies of 演示市 (990100) and 990200 (values [M], in the
    ranges of domain.md §4.4; province 99 does not exist)."""
    return load_policies(DEMO_POLICY_DIR)
