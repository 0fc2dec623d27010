"""The knowledge base (知识库) the audit rules read: catalogue items with their typed
restrictions, and relations between items that belong to no single item.

Relations (domain.md §5.2: 重复项目, 关联缺失, 分解项目), each one JSON object with a
``kind``:

* ``exclusive`` — ``codes: [a, b]``: not to be billed together within the rule's window
  (duplicate charging); the second code's lines are the duplicate.
* ``inclusive`` — ``whole`` includes ``part``: billing both is double charging; the
  part's lines are the duplicate.
* ``requires`` — ``item`` needs one of ``any_of`` billed in the same window (麻醉 needs a
  surgery).
* ``package`` — ``package`` covers ``components``: billing a component with the package,
  or ``min_components`` or more different components without it, is unbundling.

>>> k = Knowledge.from_data(
...     items=[{"code": "X1", "name": "前列腺特异抗原", "kind": "service", "fee_type": "04",
...             "chrgitm_lv": "01", "restrictions": [{"kind": "sex", "sex": "1"}]}],
...     relations=[{"kind": "inclusive", "whole": "P1", "part": "P2"}])
>>> k.items["X1"].restrictions[0].kind, k.relations[0].kind
('sex', 'inclusive')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from yibao.engines.audit.errors import AuditError, explain
from yibao.engines.catalogue.model import CatalogueError, CatalogueItem
from yibao.engines.catalogue.restrictions import Restriction, parse_restrictions

#: an item code in a relation: the catalogue's code rule
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")]
RELATION_KINDS: Final[dict[str, str]] = {
    "exclusive": "互斥项目",
    "inclusive": "包含项目",
    "requires": "关联项目",
    "package": "打包项目",
}
#: restriction kinds an item may carry more than once (one per period)
_PER_PERIOD: Final = ("frequency", "course")


class _Relation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Exclusive(_Relation):
    """Two items not to be billed together; the second is the duplicate."""

    kind: Literal["exclusive"]
    codes: tuple[Code, Code]

    @model_validator(mode="after")
    def _two(self) -> Exclusive:
        if self.codes[0] == self.codes[1]:
            raise ValueError("互斥的两个项目不能相同")
        return self


class Inclusive(_Relation):
    """``whole`` includes ``part`` (the part is not billed besides the whole)."""

    kind: Literal["inclusive"]
    whole: Code
    part: Code

    @model_validator(mode="after")
    def _two(self) -> Inclusive:
        if self.whole == self.part:
            raise ValueError("包含项目与被包含项目不能相同")
        return self


class Requires(_Relation):
    """``item`` is billed only with one of ``any_of`` (e.g. anaesthesia with a surgery)."""

    kind: Literal["requires"]
    item: Code
    any_of: tuple[Code, ...] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _other(self) -> Requires:
        if self.item in self.any_of:
            raise ValueError("关联项目不能包含项目本身")
        return self


class Package(_Relation):
    """A package item and the components it covers."""

    kind: Literal["package"]
    package: Code
    components: tuple[Code, ...] = Field(min_length=2, max_length=200)
    min_components: int = Field(2, ge=2)

    @model_validator(mode="after")
    def _sizes(self) -> Package:
        if self.package in self.components:
            raise ValueError("打包项目不能是自己的组成项目")
        if len(set(self.components)) != len(self.components):
            raise ValueError("组成项目有重复")
        if self.min_components > len(self.components):
            raise ValueError("min_components 不能大于组成项目个数")
        return self


Relation = Annotated[Exclusive | Inclusive | Requires | Package, Field(discriminator="kind")]
_RELATION: TypeAdapter[Relation] = TypeAdapter(Relation)


def describe_relation(rel: Relation) -> str:
    """A relation in Chinese (``A 与 B 互斥`` …)."""
    if isinstance(rel, Exclusive):
        return f"{rel.codes[0]} 与 {rel.codes[1]} 不得同时收费"
    if isinstance(rel, Inclusive):
        return f"{rel.whole} 已包含 {rel.part}"
    if isinstance(rel, Requires):
        more = " 等" if len(rel.any_of) > 5 else ""
        return f"{rel.item} 须与 {'、'.join(rel.any_of[:5])}{more} 之一同时发生"
    shown = "、".join(rel.components[:5]) + (" 等" if len(rel.components) > 5 else "")
    return f"{rel.package} 打包包含 {shown}"


@dataclass(frozen=True, slots=True)
class Knowledge:
    """Items by code (each with its restrictions) and the relations between items."""

    items: Mapping[str, CatalogueItem] = field(default_factory=dict)
    relations: tuple[Relation, ...] = ()

    @classmethod
    def from_data(
        cls,
        items: Iterable[CatalogueItem | Mapping[str, Any]] = (),
        relations: Iterable[Relation | Mapping[str, Any]] = (),
    ) -> Knowledge:
        """Build from plain data: items as :class:`CatalogueItem` or dicts with its field
        names (``restrictions`` as the catalogue's JSON), relations as models or dicts.

        Raises :class:`AuditError` naming the item or relation and the field."""
        table: dict[str, CatalogueItem] = {}
        for i, raw in enumerate(items):
            item = raw if isinstance(raw, CatalogueItem) else _item(raw, i)
            if item.code in table:
                raise AuditError(f"知识库：项目 {item.code} 重复", field=f"items[{i}].code")
            _check_kinds(item, i)
            table[item.code] = item
        rels: list[Relation] = []
        for j, raw_rel in enumerate(relations):
            if isinstance(raw_rel, Exclusive | Inclusive | Requires | Package):
                rels.append(raw_rel)
                continue
            try:
                rels.append(_RELATION.validate_python(raw_rel))
            except ValidationError as exc:
                head = f"知识库第 {j + 1} 条项目关系"
                raise explain(exc, head, f"relations[{j}]", RELATION_KINDS) from None
        return cls(items=table, relations=tuple(rels))


def _item(raw: Mapping[str, Any], i: int) -> CatalogueItem:
    where = f"知识库第 {i + 1} 个项目（{raw.get('code', '?')}）"
    known = set(CatalogueItem.__dataclass_fields__)
    extra = sorted(set(raw) - known)
    if extra:
        raise AuditError(f"{where}：有不认识的字段 {'、'.join(extra)}", field=f"items[{i}]")
    data = dict(raw)
    try:
        data["restrictions"] = parse_restrictions(data.get("restrictions"))
    except ValueError as exc:
        raise AuditError(f"{where}：使用限制{exc}", field=f"items[{i}].restrictions") from None
    try:
        if "selfpay_prop" in data:
            data["selfpay_prop"] = Decimal(str(data["selfpay_prop"]))
        data["caps"] = {str(k): Decimal(str(v)) for k, v in (data.get("caps") or {}).items()}
    except InvalidOperation:
        raise AuditError(f"{where}：先自付比例和限价须为数字", field=f"items[{i}]") from None
    try:
        return CatalogueItem(**data)
    except CatalogueError as exc:
        raise AuditError(f"{where}：{exc.message}", field=f"items[{i}]") from None
    except TypeError:
        raise AuditError(f"{where}：缺少必填字段", field=f"items[{i}]") from None


def _check_kinds(item: CatalogueItem, i: int) -> None:
    """One restriction per kind, except frequency and course: one per period."""
    seen: set[tuple[str, str]] = set()
    for r in item.restrictions:
        key = (r.kind, getattr(r, "per", "") if r.kind in _PER_PERIOD else "")
        if key in seen:
            raise AuditError(
                f"知识库项目 {item.code}：使用限制 {r.kind} 重复（每种限制只能有一条"
                "，频次和疗程每个周期一条）",
                field=f"items[{i}].restrictions",
            )
        seen.add(key)


def restriction_of(item: CatalogueItem, kind: str, per: str = "") -> Restriction | None:
    """The item's restriction of ``kind`` (for frequency and course: of period ``per``)."""
    for r in item.restrictions:
        if r.kind == kind and (not per or getattr(r, "per", "") == per):
            return r
    return None
