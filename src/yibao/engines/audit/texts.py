"""Findings in words: ``vola_cont`` (what is wrong, with the numbers) and ``vola_evid``
(the restriction and the claim's facts), one function per family, from the facts both
paths compute identically."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from yibao.engines.catalogue.model import LEVEL_NAMES

_SEX: Final = {"1": "男性", "2": "女性", "0": "未知", "9": "未说明"}
_MODE: Final = {"ipt": "住院", "otp": "门诊"}
_PAIR: Final = {"exclusive": "互斥", "inclusive": "包含"}
Facts = dict[str, Any]


def yuan(fen: int) -> str:
    """Fen as ``12.34`` (yuan, two places)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def num(value: Decimal) -> str:
    """A quantity without trailing zeros (``2.50`` → ``2.5``)."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def money(value: Decimal) -> str:
    """A price: two places at least (``10`` → ``10.00``, ``0.123456`` stays)."""
    exponent = value.normalize().as_tuple().exponent
    return f"{value:.2f}" if isinstance(exponent, int) and exponent >= -2 else num(value)


def _item(names: Mapping[str, str], code: str) -> str:
    name = names.get(code, "")
    return f"{name}（{code}）" if name else code


def _span(window: str, key: str) -> str:
    if window == "day":
        return f"{key} 当日"
    if window == "month":
        return f"{key} 月内"
    return "当次就诊"


def _some(values: tuple[str, ...], n: int = 5) -> str:
    return "、".join(values[:n]) + (" 等" if len(values) > n else "") if values else "无"


def _sex(f: Facts, item: str, amt: str, _w: str) -> tuple[str, str]:
    return (
        f"{item}限{_SEX[f['need']]}使用，患者为{_SEX[f['sex']]}：{f['n']} 条明细 {amt} 元",
        f"知识库：{item}限{_SEX[f['need']]}；就诊信息：患者性别 {_SEX[f['sex']]}",
    )


def _age(f: Facts, item: str, amt: str, _w: str) -> tuple[str, str]:
    lo, hi = f["min"], f["max"]
    if lo is not None and hi is not None:
        need = f"{lo}–{hi} 岁"
    elif lo is not None:
        need = f"{lo} 岁及以上"
    else:
        need = f"{hi} 岁及以下"
    return (
        f"{item}限 {need}，患者就诊时 {f['age']} 岁：{f['n']} 条明细 {amt} 元",
        f"知识库：{item}限 {need}；就诊信息：出生日期 {f['birth']}，就诊日期 {f['begin']}",
    )


def _indication(f: Facts, item: str, amt: str, _w: str) -> tuple[str, str]:
    which = "主要诊断" if f["principal_only"] else "诊断"
    return (
        f"{item}限{which} {_some(f['need'])}，本次就诊无符合的{which}：{f['n']} 条明细 {amt} 元",
        f"知识库：{item}限{which} {_some(f['need'], 10)}；就诊信息：诊断 {_some(f['dx'], 10)}",
    )


def _care_mode(f: Facts, item: str, amt: str, _w: str) -> tuple[str, str]:
    return (
        f"{item}限{_MODE[f['need']]}使用，本次为{_MODE[f['mode']]}：{f['n']} 条明细 {amt} 元",
        f"知识库：{item}限{_MODE[f['need']]}；就诊信息：就诊类型 {_MODE[f['mode']]}",
    )


def _institution(f: Facts, item: str, amt: str, _w: str) -> tuple[str, str]:
    need, level = LEVEL_NAMES[f["need"]], LEVEL_NAMES[f["level"]]
    return (
        f"{item}限{need}及以上医疗机构，本院为{level}：{f['n']} 条明细 {amt} 元",
        f"知识库：{item}限{need}及以上医疗机构；就诊信息：医院等级 {level}",
    )


def _insutype(f: Facts, item: str, amt: str, _w: str) -> tuple[str, str]:
    need = "、".join(f["need"])
    return (
        f"{item}限险种 {need}，患者险种为 {f['insutype']}：{f['n']} 条明细 {amt} 元",
        f"知识库：{item}限险种 {need}；就诊信息：险种 {f['insutype']}",
    )


def _specialty(f: Facts, item: str, amt: str, _w: str) -> tuple[str, str]:
    return (
        f"{item}限科室 {_some(f['need'])}，由科室 {_some(f['depts'])} 开具："
        f"{f['n']} 条明细 {amt} 元",
        f"知识库：{item}限科室 {_some(f['need'], 10)}；就诊信息：开单科室 {_some(f['depts'], 10)}",
    )


def _price(f: Facts, item: str, amt: str, _w: str) -> tuple[str, str]:
    level = LEVEL_NAMES[f["level"]]
    return (
        f"{item}单价 {money(f['price'])} 元超过{level}医院限价 {money(f['cap'])} 元，"
        f"数量 {num(f['qty'])}：超出 {amt} 元",
        f"知识库：{item}{level}医院限价 {money(f['cap'])} 元；就诊信息：{f['n']} 条明细单价最高 "
        f"{money(f['price'])} 元",
    )


def _quantity(f: Facts, item: str, amt: str, w: str) -> tuple[str, str]:
    span = _span(w, f["key"])
    if w == "day":
        limit = (
            f"每日限 {num(f['limit'])}，用药天数 {f['days']}，可用 {num(f['limit'] * f['days'])}"
        )
    else:
        limit = f"每次就诊限 {num(f['limit'])}"
    return (
        f"{item}{span}用量 {num(f['total'])}，{limit}，超出 {num(f['excess'])}：{amt} 元",
        f"知识库：{item}{limit.split('，')[0]}；就诊信息：{span}合计数量 {num(f['total'])}",
    )


def _frequency(f: Facts, item: str, amt: str, w: str) -> tuple[str, str]:
    span = _span(w, f["key"])
    per = {"day": "每日", "visit": "每次就诊", "month": "每自然月"}[w]
    return (
        f"{item}{span}计 {num(f['total'])} 次，{per}限 {num(f['limit'])} 次，"
        f"超出 {num(f['excess'])} 次：{amt} 元",
        f"知识库：{item}{per}不超过 {num(f['limit'])} 次；"
        f"就诊信息：{span}合计 {num(f['total'])} 次",
    )


def _course(f: Facts, item: str, amt: str, w: str) -> tuple[str, str]:
    span = _span(w, f["key"])
    unit = "次" if f["measure"] == "sessions" else "天"
    what = "治疗次数" if f["measure"] == "sessions" else "治疗天数"
    return (
        f"{item}{span}{what} {num(f['total'])} {unit}，疗程限 {num(f['limit'])} {unit}，"
        f"超出 {num(f['excess'])} {unit}：{amt} 元",
        f"知识库：{item}疗程不超过 {num(f['limit'])} {unit}；就诊信息：{span}{what} "
        f"{num(f['total'])} {unit}",
    )


def _phantom(f: Facts, item: str, amt: str, w: str) -> tuple[str, str]:
    span = _span(w, f["key"])
    if f["measure"] == "hours":
        limit, unit = "一日最多 24 小时", "小时"
    else:
        limit, unit = f"本次就诊共 {num(f['limit'])} 天", "天"
    return (
        f"{item}{span}计费 {num(f['total'])} {unit}，{limit}，"
        f"多计 {num(f['excess'])} {unit}：{amt} 元",
        f"按{unit}计费的项目不能超过{limit}；就诊信息：{span}合计 {num(f['total'])} {unit}",
    )


def _duplicate(f: Facts, _name: str, amt: str, w: str, names: Mapping[str, str]) -> tuple[str, str]:
    a, b = _item(names, f["a"]), _item(names, f["b"])
    span = _span(w, f["key"])
    if f["type"] == "inclusive":
        rule = f"{a}已包含{b}"
    else:
        rule = f"{a}与{b}互斥，不得同时收费"
    return (
        f"{span}同时收取{a}和{b}，{b}重复收费：{amt} 元",
        f"知识库：{rule}（{_PAIR[f['type']]}项目）；就诊信息：{span}两者均有收费",
    )


def _linkage(f: Facts, _name: str, amt: str, w: str, names: Mapping[str, str]) -> tuple[str, str]:
    item = _item(names, f["item"])
    span = _span(w, f["key"])
    need = _some(tuple(_item(names, c) for c in f["any_of"]))
    return (
        f"{item}须与 {need} 之一同时发生，{span}均未收费：{amt} 元",
        f"知识库：{item}须有关联项目 {need}；就诊信息：{span}无关联项目",
    )


def _unbundling(
    f: Facts, _name: str, amt: str, w: str, names: Mapping[str, str]
) -> tuple[str, str]:
    package = _item(names, f["package"])
    span = _span(w, f["key"])
    present = _some(tuple(_item(names, c) for c in f["present"]))
    whole = _some(tuple(_item(names, c) for c in f["components"]), 10)
    if f["mode"] == "with_package":
        return (
            f"{span}已收取打包项目{package}，又单独收取其组成项目 {present}：{amt} 元",
            f"知识库：{package}打包包含 {whole}；就诊信息：{span}打包项目与组成项目均有收费",
        )
    return (
        f"{span}未收打包项目{package}，分别收取其 {len(f['present'])} 个组成项目 {present}"
        f"（达到 {f['k']} 个即应按打包收费）：{amt} 元",
        f"知识库：{package}打包包含 {whole}；就诊信息：{span}组成项目分解收费",
    )


_ITEM_TEXT: Final[dict[str, Callable[[Facts, str, str, str], tuple[str, str]]]] = {
    "sex": _sex,
    "age": _age,
    "indication": _indication,
    "care_mode": _care_mode,
    "institution": _institution,
    "insutype": _insutype,
    "specialty": _specialty,
    "price": _price,
    "quantity": _quantity,
    "frequency": _frequency,
    "course": _course,
    "phantom": _phantom,
}
_RELATION_TEXT: Final[
    dict[str, Callable[[Facts, str, str, str, Mapping[str, str]], tuple[str, str]]]
] = {"duplicate": _duplicate, "linkage": _linkage, "unbundling": _unbundling}


def render(
    family: str, facts: Facts, names: Mapping[str, str], fen: int, window: str
) -> tuple[str, str]:
    """(``vola_cont``, ``vola_evid``) of a finding of ``family``."""
    amt = yuan(fen)
    if family in _RELATION_TEXT:
        return _RELATION_TEXT[family](facts, "", amt, window, names)
    return _ITEM_TEXT[family](facts, _item(names, facts["code"]), amt, window)
