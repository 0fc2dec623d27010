"""Benefit policies as a worksheet (the bureau edits policies in Excel).

One row per policy version × hospital level; the policy's own columns (code, version,
region, dates, cap, cross-region rules) repeat on its three rows and must agree.  A flat
ratio goes in 支付比例; a ratio by cost band goes in 分段比例 as ``上限:比例`` pairs
separated by ``;`` with the last band open (``以上:0.95`` or ``:0.95``), e.g.
``10000:0.85;50000:0.90;以上:0.95``.  Ratios are decimals (0.85) or percentages (85%).

The optional parts of ADR 0017 (the basic fund's code, deductible per year or stay, the
大额 / 公务员 / 医疗救助 / 门诊统筹 layers) are nested and would need a sheet each; they
travel as one JSON object in the column 其他待遇（JSON）, repeated on the policy's rows,
with the engine's field names (``{"large_amount": {...}, "outpatient": {...}}``).  An
export imports back unchanged; a workbook without the column imports as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from yibao.benefits.models import POLICY_STATUSES
from yibao.engines.measure.params import LEVEL_NAMES, LEVELS
from yibao.engines.settlement import BenefitPolicy, SettlementError, parse_policy
from yibao.engines.settlement.policy import INSUTYPE_NAMES
from yibao.kit.errors import ValidationFailed

#: column → Chinese header, in sheet order
COLUMNS: dict[str, str] = {
    "code": "政策编码",
    "version": "版本",
    "name": "政策名称",
    "region_code": "参保地区划",
    "region_name": "参保地名称",
    "insutype": "险种类型",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
    "annual_cap": "年度封顶线（元）",
    "level": "医院等级",
    "deductible": "起付线（元）",
    "ratio": "支付比例",
    "bands": "分段比例",
    "in_province_deductible": "省内异地起付线（元）",
    "in_province_cut": "省内异地比例下调",
    "out_of_province_deductible": "跨省异地起付线（元）",
    "out_of_province_cut": "跨省异地比例下调",
    "layers": "其他待遇（JSON）",
    "status": "状态",
    "source": "来源",
}
HEADERS = {v: k for k, v in COLUMNS.items()}
#: columns every row of one policy must repeat with the same value
POLICY_COLUMNS = (
    "name",
    "region_code",
    "region_name",
    "insutype",
    "valid_from",
    "valid_to",
    "annual_cap",
    "in_province_deductible",
    "in_province_cut",
    "out_of_province_deductible",
    "out_of_province_cut",
    "layers",
    "source",
)
#: the policy fields carried by the 其他待遇（JSON） column, with their defaults
LAYER_DEFAULTS: dict[str, Any] = {
    "fund_pay_type": None,
    "deductible_per": "year",
    "large_amount": None,
    "civil_servant": None,
    "medical_aid": None,
    "outpatient": None,
}
_LAYER_WORDS = {
    "large_amount": "大额（大病）保险",
    "civil_servant": "公务员医疗补助",
    "medical_aid": "医疗救助",
    "outpatient": "门诊统筹",
    "deductible_per": "起付线计算方式",
    "fund_pay_type": "基金编码",
}
REQUIRED: tuple[str, ...] = (
    "code",
    "version",
    "name",
    "region_code",
    "insutype",
    "valid_from",
    "annual_cap",
    "level",
    "deductible",
)
_LEVEL_WORDS = {name: code for code, name in LEVEL_NAMES.items()} | {
    f"{name}医院": code for code, name in LEVEL_NAMES.items()
}
#: engine field paths → the sheet's words, so an error names the column a user sees
_FIELD_WORDS = (
    (
        re.compile(r"\b(large_amount|civil_servant|medical_aid|outpatient)\.?"),
        lambda m: f"“{COLUMNS['layers']}”·{_LAYER_WORDS[m.group(1)]}·",
    ),
    (re.compile(r"\bthreshold\b"), lambda m: "起付标准"),
    (re.compile(r"\bidentities\b"), lambda m: "救助对象身份"),
    (re.compile(r"\bdeductible_per\b"), lambda m: _LAYER_WORDS["deductible_per"]),
    (re.compile(r"\bfund_pay_type\b"), lambda m: _LAYER_WORDS["fund_pay_type"]),
    (
        re.compile(r"须给出统一比例 ratio 或分段比例 bands 之一（只能一个）"),
        lambda m: "“支付比例”与“分段比例”须填写且只填写一个",
    ),
    (re.compile(r"levels\.(\d)\.ratio / bands"), lambda m: _level_word(m.group(1))),
    (
        re.compile(r"levels\.(\d)\.bands(?:\.\d+)?(?:\.(?:ratio|upper))?"),
        lambda m: f"{_level_word(m.group(1))}·分段比例",
    ),
    (re.compile(r"levels\.(\d)\.ratio"), lambda m: f"{_level_word(m.group(1))}·支付比例"),
    (re.compile(r"levels\.(\d)\.deductible"), lambda m: f"{_level_word(m.group(1))}·起付线"),
    (re.compile(r"levels\.(\d)"), lambda m: _level_word(m.group(1))),
    (re.compile(r"cross_region\.in_province\.deductible"), lambda m: "省内异地起付线"),
    (re.compile(r"cross_region\.out_of_province\.deductible"), lambda m: "跨省异地起付线"),
    (re.compile(r"cross_region\.in_province\.ratio_cut"), lambda m: "省内异地比例下调"),
    (re.compile(r"cross_region\.out_of_province\.ratio_cut"), lambda m: "跨省异地比例下调"),
    (re.compile(r"\bratio_cut\b"), lambda m: "比例下调"),
    (re.compile(r"\bannual_cap\b"), lambda m: "年度封顶线"),
    (re.compile(r"\bvalid_to\b"), lambda m: "失效日期"),
    (re.compile(r"\bvalid_from\b"), lambda m: "生效日期"),
    (re.compile(r"\bregion_code\b"), lambda m: "参保地区划"),
    (re.compile(r"\binsutype\b"), lambda m: "险种类型"),
    (re.compile(r"\bversion\b"), lambda m: "版本"),
    (re.compile(r"\bbands\b"), lambda m: "分段比例"),
    (re.compile(r"\bratio\b"), lambda m: "支付比例"),
    (re.compile(r"\bupper\b"), lambda m: "分段上限"),
    (re.compile(r"\bdeductible\b"), lambda m: "起付线"),
    (re.compile(r"\bcode\b"), lambda m: "政策编码"),
    (re.compile(r"\bname\b"), lambda m: "政策名称"),
)


def _level_word(code: str) -> str:
    return f"{LEVEL_NAMES.get(code, code)}医院"


def in_words(message: str) -> str:
    """An engine message with its field paths replaced by the sheet's column words."""
    for pattern, words in _FIELD_WORDS:
        message = pattern.sub(words, message)
    return message.lstrip(".")


# ------------------------------------------------------------------------- export


def _money(value: Any) -> str:
    return "" if value is None else f"{Decimal(str(value)):.2f}"


def _bands(level: dict[str, Any]) -> str:
    parts = []
    for band in level.get("bands") or ():
        upper = band.get("upper")
        parts.append(f"{'以上' if upper is None else _money(upper)}:{Decimal(str(band['ratio']))}")
    return ";".join(parts)


def policies_frame(policies: Iterable[BenefitPolicy]) -> pl.DataFrame:
    """The worksheet of ``policies`` (Chinese headers, one row per level)."""
    rows = []
    for p in policies:
        body = p.model_dump(mode="json")
        cross = body.get("cross_region") or {}
        for level in LEVELS:
            lv = body["levels"][level]
            rows.append(
                {
                    "code": p.code,
                    "version": p.version,
                    "name": p.name,
                    "region_code": p.region_code,
                    "region_name": p.region_name,
                    "insutype": p.insutype,
                    "valid_from": p.valid_from.isoformat(),
                    "valid_to": p.valid_to.isoformat() if p.valid_to else "",
                    "annual_cap": _money(p.annual_cap),
                    "level": LEVEL_NAMES[level],
                    "deductible": _money(lv["deductible"]),
                    "ratio": "" if lv.get("ratio") is None else str(Decimal(str(lv["ratio"]))),
                    "bands": _bands(lv),
                    **_cross_cells(cross),
                    "layers": _layers_cell(body),
                    "status": POLICY_STATUSES.get(p.status, p.status),
                    "source": p.source,
                }
            )
    frame = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    return frame.rename(COLUMNS)


def _layers_cell(body: dict[str, Any]) -> str:
    layers = {k: body[k] for k, default in LAYER_DEFAULTS.items() if body.get(k) != default}
    return json.dumps(layers, ensure_ascii=False) if layers else ""


def _cross_cells(cross: dict[str, Any]) -> dict[str, str]:
    out = {}
    for scope in ("in_province", "out_of_province"):
        rule = cross.get(scope) or {}
        out[f"{scope}_deductible"] = _money(rule.get("deductible"))
        cut = rule.get("ratio_cut")
        out[f"{scope}_cut"] = "" if cut is None or not rule else str(Decimal(str(cut)))
    return out


# ------------------------------------------------------------------------- import


def read_policies(frame: pl.DataFrame, filename: str) -> list[BenefitPolicy]:
    """Policies from an uploaded sheet (every cell text); every problem of every row is
    collected into one Chinese error naming the row and the column."""
    unknown = [c for c in frame.columns if c not in HEADERS]
    missing = [COLUMNS[c] for c in REQUIRED if COLUMNS[c] not in frame.columns]
    if missing:
        raise ValidationFailed(
            f"{filename}：缺少列 {'、'.join(missing)}（表头须与导出的模板一致）",
            field="file",
        )
    if unknown:
        raise ValidationFailed(
            f"{filename}：不认识的列 {'、'.join(unknown)}（表头须与导出的模板一致）",
            field="file",
        )
    rows = frame.rename({c: HEADERS[c] for c in frame.columns}).to_dicts()
    problems: list[str] = []
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for i, row in enumerate(rows, start=2):  # row 1 is the header
        if not any((v or "").strip() for v in row.values()):
            continue
        key = ((row.get("code") or "").strip(), (row.get("version") or "").strip())
        groups.setdefault(key, []).append((i, row))
    if not groups:
        raise ValidationFailed(f"{filename}：没有数据行", field="file")
    out = []
    for (code, version), items in groups.items():
        try:
            out.append(_policy(code, version, items))
        except _RowProblem as exc:
            problems.append(str(exc))
        except SettlementError as exc:
            rows_text = "、".join(str(i) for i, _ in items)
            problems.extend(
                f"第 {rows_text} 行（政策 {code} 第 {version} 版）：{in_words(p)}"
                for p in (exc.problems or [str(exc)])
            )
    if problems:
        raise ValidationFailed(
            f"{filename}：{len(problems)} 处错误，未导入任何政策：" + "；".join(problems[:20]),
            field="file",
        )
    return out


class _RowProblem(ValueError):
    pass


def _policy(code: str, version: str, items: list[tuple[int, dict[str, Any]]]) -> BenefitPolicy:
    first_row, first = items[0]
    where = f"第 {first_row} 行"
    problems = [f"{where}：“{COLUMNS[n]}”不能为空" for n in REQUIRED if not _cell(first, n)]
    for row_no, row in items[1:]:
        problems += [
            f"第 {row_no} 行：政策 {code} 第 {version} 版的“{COLUMNS[name]}”与第 {first_row} 行"
            "不一致（同一政策的各行须相同）"
            for name in POLICY_COLUMNS
            if _cell(row, name) != _cell(first, name)
        ]
    if version and not version.isdigit():
        problems.append(f"{where}：“版本”须为正整数（收到 {version!r}）")
    levels: dict[str, Any] = {}
    for row_no, row in items:
        try:
            level = _level(row_no, row.get("level") or "")
            if level in levels:
                raise _RowProblem(
                    f"第 {row_no} 行：政策 {code} 第 {version} 版的{_level_word(level)}重复"
                )
            levels[level] = _level_terms(row_no, row)
        except _RowProblem as exc:
            problems.append(str(exc))
    try:
        data = {
            "code": code,
            "version": int(version),
            "name": _cell(first, "name"),
            "region_code": _cell(first, "region_code"),
            "region_name": _cell(first, "region_name"),
            "insutype": _insutype(_cell(first, "insutype")),
            "valid_from": _date(first_row, first.get("valid_from"), "valid_from"),
            "valid_to": _date(first_row, first.get("valid_to"), "valid_to"),
            "status": "draft",
            "levels": levels,
            "annual_cap": _decimal(first_row, first.get("annual_cap"), "annual_cap"),
            "cross_region": _cross(first_row, first),
            "source": _cell(first, "source"),
            **_layers(first_row, _cell(first, "layers")),
        }
    except (_RowProblem, ValueError) as exc:
        if isinstance(exc, _RowProblem):
            problems.append(str(exc))
        data = {}
    if problems:
        raise _RowProblem("；".join(problems))
    return parse_policy(data, "")


def _cell(row: dict[str, Any], name: str) -> str:
    return (row.get(name) or "").strip()


def _level(row_no: int, text: str) -> str:
    text = text.strip()
    level = text if text in LEVELS else _LEVEL_WORDS.get(text)
    if level is None:
        raise _RowProblem(
            f"第 {row_no} 行：“医院等级”须为 一级、二级、三级 或 1、2、3（收到 {text!r}）"
        )
    return level


def _insutype(text: str) -> str:
    text = text.strip()
    names = {v: k for k, v in INSUTYPE_NAMES.items()}
    return names.get(text, text)


def _decimal(row_no: int, text: str | None, name: str, *, ratio: bool = False) -> Decimal | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    percent = ratio and text.endswith("%")
    try:
        value = Decimal(text[:-1] if percent else text)
    except InvalidOperation:
        raise _RowProblem(f"第 {row_no} 行：“{COLUMNS[name]}”须为数字（收到 {text!r}）") from None
    if not value.is_finite():
        raise _RowProblem(f"第 {row_no} 行：“{COLUMNS[name]}”须为数字（收到 {text!r}）")
    return value / 100 if percent else value


def _date(row_no: int, text: str | None, name: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10].replace("/", "-"))
    except ValueError:
        raise _RowProblem(
            f"第 {row_no} 行：“{COLUMNS[name]}”须为日期，如 2025-01-01（收到 {text!r}）"
        ) from None


def _level_terms(row_no: int, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"deductible": _decimal(row_no, row["deductible"], "deductible")}
    ratio = _decimal(row_no, row.get("ratio"), "ratio", ratio=True)
    if ratio is not None:
        out["ratio"] = ratio
    bands_text = (row.get("bands") or "").strip()
    if bands_text:
        bands = []
        for part in re.split(r"[;；]", bands_text):
            if not part.strip():
                continue
            upper, sep, rate = part.replace("：", ":").partition(":")
            if not sep:
                raise _RowProblem(
                    f"第 {row_no} 行：“分段比例”每段须写成 上限:比例，如 10000:0.85;以上:0.95"
                    f"（收到 {part.strip()!r}）"
                )
            upper = upper.strip()
            bands.append(
                {
                    "upper": None
                    if upper in ("", "以上", "其余")
                    else _decimal(row_no, upper, "bands"),
                    "ratio": _decimal(row_no, rate, "bands", ratio=True),
                }
            )
        out["bands"] = bands
    return out


def _layers(row_no: int, text: str) -> dict[str, Any]:
    if not text:
        return {}
    where = f"第 {row_no} 行：“{COLUMNS['layers']}”"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _RowProblem(f"{where}不是有效的 JSON（第 {exc.colno} 个字符：{exc.msg}）") from None
    if not isinstance(value, dict):
        raise _RowProblem(f'{where}须为 JSON 对象，如 {{"outpatient": {{…}}}}')
    unknown = [k for k in value if k not in LAYER_DEFAULTS]
    if unknown:
        raise _RowProblem(
            f"{where}只能含 {'、'.join(LAYER_DEFAULTS)}（收到 {'、'.join(map(str, unknown))}）"
        )
    return value


def _cross(row_no: int, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for scope in ("in_province", "out_of_province"):
        ded = _decimal(row_no, row.get(f"{scope}_deductible"), f"{scope}_deductible")
        cut = _decimal(row_no, row.get(f"{scope}_cut"), f"{scope}_cut", ratio=True)
        if ded is not None or cut is not None:
            rule: dict[str, Any] = {"ratio_cut": cut or Decimal(0)}
            if ded is not None:
                rule["deductible"] = ded
            out[scope] = rule
    return out
