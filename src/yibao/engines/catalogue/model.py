"""The medical-list catalogue (医保目录) as the engine reads it: items by code.

An item is a drug (西药, 中成药, 中药饮片), a medical service item (医疗服务项目) or a
medical consumable (医用耗材) with its NHSA code, the bill's fee category
(``med_chrgitm_type``, domain.md §3.3), its list class (``chrgitm_lv``: 01 甲类, 02 乙类,
03 丙类), the 先自付 ratio of a 乙类 item (``selfpay_prop``) and the unit-price caps
(``pric_uplmt_amt``) by hospital level.  ``restrictions`` carry the typed conditions
the audit rules read next (:mod:`yibao.engines.catalogue.restrictions`); classifying
fee lines does not apply them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from yibao.engines.catalogue.restrictions import Restriction

#: catalogue kinds (目录类别) → Chinese
KINDS: Final[dict[str, str]] = {
    "western": "西药",
    "patent": "中成药",
    "herbal": "中药饮片",
    "service": "医疗服务项目",
    "material": "医用耗材",
}
#: the bill's 14 fee categories (med_chrgitm_type), domain.md §3.3 [M] codes
FEE_TYPES: Final[dict[str, str]] = {
    "01": "床位费",
    "02": "诊察费",
    "03": "检查费",
    "04": "化验费",
    "05": "治疗费",
    "06": "手术费",
    "07": "护理费",
    "08": "卫生材料费",
    "09": "西药费",
    "10": "中药饮片费",
    "11": "中成药费",
    "12": "一般诊疗费",
    "13": "挂号费",
    "14": "其他费",
}
#: list classes (chrgitm_lv): 甲类 fully in scope, 乙类 after 先自付, 丙类 self-paid
CLASSES: Final[dict[str, str]] = {"01": "甲类", "02": "乙类", "03": "丙类"}
CLASS_A: Final = "01"
CLASS_B: Final = "02"
CLASS_C: Final = "03"
LEVELS: Final[tuple[str, ...]] = ("1", "2", "3")
LEVEL_NAMES: Final[dict[str, str]] = {"1": "一级", "2": "二级", "3": "三级"}
#: a catalogue code: the NHSA 医保编码 style, letters and digits (1–50)
CODE_RULE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
ONE: Final = Decimal(1)
ZERO: Final = Decimal(0)


class CatalogueError(ValueError):
    """A catalogue item or a fee line the engine cannot read; the message is Chinese
    and names the field (``field``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """One catalogue entry.  ``caps`` maps hospital level ``"1"``/``"2"``/``"3"`` to
    the highest unit price the funds accept (absent: no cap at that level);
    ``selfpay_prop`` is 0 for 甲类 and 1 for 丙类."""

    code: str
    name: str
    kind: str
    fee_type: str
    chrgitm_lv: str
    selfpay_prop: Decimal = ZERO
    caps: Mapping[str, Decimal] = field(default_factory=dict)
    unit: str = ""
    spec: str = ""
    limit_text: str = ""
    restrictions: tuple[Restriction, ...] = ()

    def __post_init__(self) -> None:
        problems = item_problems(self)
        if problems:
            raise CatalogueError(f"目录项 {self.code}：" + "；".join(problems), field="item")

    def cap(self, level: str) -> Decimal | None:
        """The unit-price cap at a hospital level (None: no cap)."""
        return self.caps.get(level)


def item_problems(item: CatalogueItem) -> list[str]:
    """Every rule an item breaks, in Chinese (empty when it is fine)."""
    out = []
    if not CODE_RULE.match(item.code):
        out.append(f"医保编码须为 1–50 位字母、数字（可含 . _ -）（收到 {item.code!r}）")
    if not item.name.strip():
        out.append("名称不能为空")
    if item.kind not in KINDS:
        out.append(f"目录类别须为 {'、'.join(KINDS.values())} 之一（收到 {item.kind!r}）")
    if item.fee_type not in FEE_TYPES:
        out.append(f"收费项目类别须为 01–14（收到 {item.fee_type!r}）")
    if item.chrgitm_lv not in CLASSES:
        out.append(f"甲乙类须为 甲类、乙类 或 丙类（收到 {item.chrgitm_lv!r}）")
    prop = item.selfpay_prop
    if not (ZERO <= prop <= ONE) or _places(prop) > 4:
        out.append(f"先自付比例须在 0 到 1 之间且最多 4 位小数（收到 {prop}）")
    elif item.chrgitm_lv == CLASS_A and prop != ZERO:
        out.append(f"甲类项目的先自付比例须为 0（收到 {prop}）")
    elif item.chrgitm_lv == CLASS_B and prop == ONE:
        out.append("乙类项目的先自付比例须小于 1（全部自付的项目请标为丙类）")
    elif item.chrgitm_lv == CLASS_C and prop != ONE:
        out.append(f"丙类项目全部自付，先自付比例须为 1 或不填（收到 {prop}）")
    for level, cap in item.caps.items():
        if level not in LEVELS:
            out.append(f"限价的医院等级须为 1、2、3（收到 {level!r}）")
        elif cap < 0 or _places(cap) > 2:
            out.append(f"{LEVEL_NAMES[level]}医院限价不能为负数且最多 2 位小数（收到 {cap}）")
    return out


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 99


class Catalogue(Mapping[str, CatalogueItem]):
    """Items of one catalogue version by code (a read-only mapping).

    ``key`` names the version (``"<id>"`` or any label) so that a classification can
    say which catalogue it used."""

    __slots__ = ("_items", "key", "region_code")

    def __init__(self, items: Iterable[CatalogueItem], *, key: str = "", region_code: str = ""):
        table: dict[str, CatalogueItem] = {}
        for item in items:
            if item.code in table:
                raise CatalogueError(f"目录中医保编码 {item.code} 重复", field="code")
            table[item.code] = item
        self._items = table
        self.key = key
        self.region_code = region_code

    def __getitem__(self, code: str) -> CatalogueItem:
        return self._items[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
