"""Load and validate a grouping plan folder (``plan.json`` + TSV tables + ``meta.json``).

The format is described in the plan's README (``plans/chs-drg-1.1/README.md``).
:func:`load_plan` reads everything byte-exact, checks every table against the
SHA-256 and row count in ``plan.json``, and checks that every name a condition
uses exists.  Anything wrong raises :class:`PlanError` naming the place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from yibao.engines.grouper.conditions import ConditionContext, parse_condition
from yibao.engines.grouper.model import (
    AdrgSpec,
    CcEntry,
    DrgSpec,
    MdcSpec,
    Plan,
    PlanMeta,
    QySpec,
    TraumaSite,
)
from yibao.engines.grouper.planext import (
    SPLITS,
    check_keys,
    drg_split,
    if_no_drg,
    no_group_retry,
    result_codes,
    sex_accepted,
)
from yibao.engines.grouper.tables import Checker, cc_mcc_table, read_tables, to_dict
from yibao.kit import jsonerrors

PLAN_FORMAT = "chs-drg-plan"
PLAN_FORMAT_VERSION = 1
PLAN_STATUSES = ("draft", "published", "retired")

__all__ = [
    "SPLITS",
    "AdrgSpec",
    "CcEntry",
    "DrgSpec",
    "MdcSpec",
    "Plan",
    "PlanMeta",
    "QySpec",
    "TraumaSite",
    "load_plan",
    "read_meta",
]

#: input check name → the status it produces (plan README, "Grouping algorithm" step 4).
INPUT_CHECKS: Mapping[str, str] = {
    "dx_codes_mapped": "dx_not_mapped",
    "proc_codes_mapped": "proc_not_mapped",
    "sex_valid": "check_failed",
    "age_years_present": "check_failed",
    "age_days_present_if_age_0": "check_failed",
    "birth_weight_present_if_newborn": "check_failed",
    "dx_list_not_empty": "check_failed",
}


# long: each plan file is read and validated in turn, with the place named in every error
def load_plan(path: Path) -> Plan:
    """Read and validate the plan folder ``path`` (or its ``plan.json``).

    Raises :class:`PlanError` (a ``ValueError``) for a missing file, a checksum or
    row-count mismatch, an unknown code list / tag table / trauma-site table, an
    unknown condition primitive or parameter, or a dangling MDC / ADRG / DRG code.
    """
    folder = path.parent if path.name == "plan.json" else path
    ck = Checker(folder.name)
    plan_file = folder / "plan.json"
    if not plan_file.is_file():
        raise ck.error("plan.json", f"找不到方案文件 {plan_file}", f"{plan_file} not found")
    try:
        raw = json.loads(plan_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ck.error(
            "plan.json", f"plan.json 不是有效的 JSON（{jsonerrors.describe(exc)}）", "invalid JSON"
        ) from exc
    raw = ck.obj(raw, "plan.json")
    check_keys(ck, raw, "plan.json", "plan.json")
    if raw.get("format") != PLAN_FORMAT or raw.get("format_version") != PLAN_FORMAT_VERSION:
        raise ck.error(
            "format",
            f"不支持的方案格式 {raw.get('format')!r} 版本 {raw.get('format_version')!r}",
            f"expected format {PLAN_FORMAT!r} version {PLAN_FORMAT_VERSION}",
        )
    head = ck.obj(ck.key(raw, "plan", "plan.json"), "plan")
    ck.plan_id = ck.str_(ck.key(head, "id", "plan"), "plan.id")
    check_keys(ck, head, "plan", "plan")
    code_lists = {
        name: ck.str_list(codes, f"code_lists.{name}")
        for name, codes in ck.obj(ck.key(raw, "code_lists", "plan.json"), "code_lists").items()
    }
    tag_tables = _tag_tables(ck, raw.get("proc_tag_tables", {}))
    trauma = _trauma_sites(ck, raw.get("trauma_sites", {}), code_lists)
    cctx = ConditionContext(ck.plan_id, code_lists, tag_tables, trauma)
    mdcs, order = _mdcs(ck, raw, cctx)
    adrgs = _adrgs(ck, raw, cctx, mdcs)
    drgs = _drgs(ck, raw, adrgs, cctx)
    _check_links(ck, mdcs, adrgs, drgs)
    _check_counts(ck, head, mdcs, adrgs, drgs)
    inp = ck.obj(ck.key(raw, "input", "plan.json"), "input")
    check_keys(ck, inp, "input", "input")
    codes = result_codes(ck, raw)
    sex_values = ck.obj(ck.key(inp, "sex_values", "input"), "input.sex_values")
    if not all(re.fullmatch(r"[0-9]+", k) for k in sex_values):
        raise ck.error("input.sex_values", "性别取值应为数字", "sex values must be digits")
    separators = ck.str_list(ck.key(inp, "code_separators", "input"), "input.code_separators")
    if not separators or not all(separators):
        raise ck.error("input.code_separators", "编码分隔符不能为空", "empty separator")
    meta = read_meta(folder, ck.plan_id, ck.str_(head.get("title", ck.plan_id), "plan.title"))
    input_checks, accepted = _input_checks(ck, raw.get("input_checks"), sex_values)
    # the tables last: the checks above are cheap, hashing 6 MB is not
    tables = read_tables(ck, folder, ck.obj(ck.key(raw, "tables", "plan.json"), "tables"))
    return Plan(
        id=ck.plan_id,
        title=meta.title,
        meta=meta,
        path=folder,
        code_separators=separators,
        sex_values=tuple(int(k) for k in sex_values),
        newborn_max_age_days=ck.int_(
            ck.key(inp, "newborn_max_age_days", "input"), "input.newborn_max_age_days"
        ),
        input_checks=input_checks,
        no_group=codes["no_group"],
        qy_adrg=codes["qy_adrg"],
        mdc_order=order,
        mdcs=mdcs,
        adrgs=adrgs,
        drgs=drgs,
        code_lists=code_lists,
        proc_tag_tables=tag_tables,
        trauma_sites=trauma,
        dx_names=to_dict(ck, "diagnoses", tables["diagnoses"]),
        proc_names=to_dict(ck, "procedures", tables["procedures"]),
        dx_map=to_dict(ck, "dx_map", tables["dx_map"]),
        proc_map=to_dict(ck, "proc_map", tables["proc_map"]),
        or_procedures=frozenset(r[0] for r in tables["or_procedures"]),
        cc_mcc=cc_mcc_table(ck, tables["cc_mcc"]),
        cc_exclusion=to_dict(ck, "cc_exclusion", tables["cc_exclusion"]),
        sex_accepted=accepted,
        no_group_raw=codes["no_group_raw"],
        mdc_no_group=codes["mdc_no_group"],
        input_failure=codes["input_failure"],
        retry_single_procedures=no_group_retry(ck, raw),
    )


def _tag_tables(ck: Checker, raw: Any) -> dict[str, tuple[tuple[str, str], ...]]:
    out = {}
    for name, pairs in ck.obj(raw, "proc_tag_tables").items():
        where = f"proc_tag_tables.{name}"
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
            for p in pairs
        ):
            raise ck.error(
                where, f"{where} 应为 [编码, 标签] 对的数组", "expected [code, tag] pairs"
            )
        out[name] = tuple((p[0], p[1]) for p in pairs)
    return out


def _trauma_sites(
    ck: Checker, raw: Any, code_lists: Mapping[str, object]
) -> dict[str, tuple[TraumaSite, ...]]:
    out = {}
    for name, sites in ck.obj(raw, "trauma_sites").items():
        where = f"trauma_sites.{name}"
        if not isinstance(sites, list):
            raise ck.error(where, f"{where} 应为数组", "expected an array")
        parsed = []
        for i, item in enumerate(sites):
            obj = ck.obj(item, f"{where}[{i}]")
            lst = ck.str_(ck.key(obj, "list", f"{where}[{i}]"), f"{where}[{i}].list")
            if lst not in code_lists:
                raise ck.error(
                    f"{where}[{i}].list",
                    f'创伤部位表 {name} 引用了不存在的编码表 "{lst}"',
                    f'unknown code list "{lst}"',
                )
            parsed.append(TraumaSite(ck.str_(obj.get("site", lst), f"{where}[{i}].site"), lst))
        out[name] = tuple(parsed)
    return out


def _mdcs(
    ck: Checker, raw: dict[str, Any], cctx: ConditionContext
) -> tuple[dict[str, MdcSpec], tuple[str, ...]]:
    order = ck.str_list(ck.key(raw, "mdc_order", "plan.json"), "mdc_order")
    mdcs_raw = ck.obj(ck.key(raw, "mdcs", "plan.json"), "mdcs")
    if len(set(order)) != len(order):
        raise ck.error("mdc_order", "mdc_order 中有重复的 MDC", "duplicate MDC in mdc_order")
    for letter in order:
        if letter not in mdcs_raw:
            raise ck.error("mdc_order", f"mdc_order 引用了不存在的 MDC {letter}", "unknown MDC")
    for letter in mdcs_raw:
        if letter not in order:
            raise ck.error(f"mdcs.{letter}", f"MDC {letter} 不在 mdc_order 中", "MDC not ordered")
    adrg_codes = ck.obj(ck.key(raw, "adrgs", "plan.json"), "adrgs")
    out = {}
    for letter in order:
        where = f"mdcs.{letter}"
        spec = ck.obj(mdcs_raw[letter], where)
        check_keys(ck, spec, "mdcs", where)
        entry = parse_condition(
            ck.key(spec, "entry", where), cctx, f"{where}.entry", f"MDC {letter} 的入组条件"
        )
        adrgs = ck.str_list(ck.key(spec, "adrgs", where), f"{where}.adrgs")
        for code in adrgs:
            if code not in adrg_codes:
                raise ck.error(
                    f"{where}.adrgs", f"MDC {letter} 引用了不存在的 ADRG {code}", "unknown ADRG"
                )
        qy = ck.obj(spec.get("qy", {"enabled": False, "position": 0, "drg": ""}), f"{where}.qy")
        check_keys(ck, qy, "mdcs.qy", f"{where}.qy")
        qy_cond = qy.get("condition", {"op": "any_proc_is_or"})
        position = ck.int_(qy.get("position", 0), f"{where}.qy.position")
        if not 0 <= position <= len(adrgs):
            raise ck.error(f"{where}.qy.position", f"MDC {letter} 的 QY 位置越界", "out of range")
        out[letter] = MdcSpec(
            letter,
            entry,
            adrgs,
            QySpec(
                enabled=bool(qy.get("enabled", False)),
                position=position,
                condition=parse_condition(
                    qy_cond, cctx, f"{where}.qy.condition", f"MDC {letter} 的 QY 条件"
                ),
                drg=ck.str_(qy.get("drg", f"{letter}QY"), f"{where}.qy.drg"),
            ),
        )
    return out, order


def _adrgs(
    ck: Checker, raw: dict[str, Any], cctx: ConditionContext, mdcs: Mapping[str, MdcSpec]
) -> dict[str, AdrgSpec]:
    drg_codes = ck.obj(ck.key(raw, "drgs", "plan.json"), "drgs")
    out = {}
    for code, spec_raw in raw["adrgs"].items():
        where = f"adrgs.{code}"
        spec = ck.obj(spec_raw, where)
        check_keys(ck, spec, "adrgs", where)
        mdc = ck.str_(ck.key(spec, "mdc", where), f"{where}.mdc")
        if mdc not in mdcs:
            raise ck.error(f"{where}.mdc", f"ADRG {code} 属于不存在的 MDC {mdc}", "unknown MDC")
        # an ADRG may have no DRG (some regional plans): its result is the ADRG code
        drgs = ck.str_list(ck.key(spec, "drgs", where), f"{where}.drgs")
        for drg in drgs:
            if drg not in drg_codes:
                raise ck.error(
                    f"{where}.drgs", f"ADRG {code} 引用了不存在的 DRG {drg}", "unknown DRG"
                )
        cond = parse_condition(
            ck.key(spec, "condition", where), cctx, f"{where}.condition", f"ADRG {code} 的条件"
        )
        out[code] = AdrgSpec(code, mdc, cond, drgs, if_no_drg(ck, spec, where))
    return out


def _drgs(
    ck: Checker, raw: dict[str, Any], adrgs: Mapping[str, AdrgSpec], cctx: ConditionContext
) -> dict[str, DrgSpec]:
    out = {}
    for code, spec_raw in raw["drgs"].items():
        where = f"drgs.{code}"
        spec = ck.obj(spec_raw, where)
        check_keys(ck, spec, "drgs", where)
        adrg = ck.str_(ck.key(spec, "adrg", where), f"{where}.adrg")
        if adrg not in adrgs:
            raise ck.error(f"{where}.adrg", f"DRG {code} 属于不存在的 ADRG {adrg}", "unknown ADRG")
        split, cond = drg_split(ck, spec, cctx, code)
        name = ck.str_(spec.get("name", ""), f"{where}.name")
        out[code] = DrgSpec(code, adrg, split, name, cond)
    return out


def _check_links(
    ck: Checker,
    mdcs: Mapping[str, MdcSpec],
    adrgs: Mapping[str, AdrgSpec],
    drgs: Mapping[str, DrgSpec],
) -> None:
    """An MDC lists only its own ADRGs, an ADRG only its own DRGs."""
    for letter, mdc in mdcs.items():
        for code in mdc.adrgs:
            if adrgs[code].mdc != letter:
                raise ck.error(
                    f"mdcs.{letter}.adrgs",
                    f"MDC {letter} 列出的 ADRG {code} 属于 MDC {adrgs[code].mdc}",
                    "ADRG listed under another MDC",
                )
    for code, adrg in adrgs.items():
        for drg in adrg.drgs:
            if drgs[drg].adrg != code:
                raise ck.error(
                    f"adrgs.{code}.drgs",
                    f"ADRG {code} 列出的 DRG {drg} 属于 ADRG {drgs[drg].adrg}",
                    "DRG listed under another ADRG",
                )


def _check_counts(
    ck: Checker,
    head: Mapping[str, Any],
    mdcs: Mapping[str, object],
    adrgs: Mapping[str, object],
    drgs: Mapping[str, object],
) -> None:
    for key, actual in (("mdc_count", mdcs), ("adrg_count", adrgs), ("drg_count", drgs)):
        if key in head and head[key] != len(actual):
            raise ck.error(
                f"plan.{key}", f"plan.{key} 为 {head[key]}，实际为 {len(actual)}", "count mismatch"
            )


def _input_checks(
    ck: Checker, raw: Any, sex_values: Mapping[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    if raw is None:
        return tuple(INPUT_CHECKS), None
    if not isinstance(raw, list):
        raise ck.error("input_checks", "input_checks 应为数组", "expected an array")
    items = [ck.obj(x, f"input_checks[{i}]") for i, x in enumerate(raw)]
    items.sort(key=lambda x: x.get("order", 0))
    names: list[str] = []
    accepted = None
    for i, item in enumerate(items):
        check_keys(ck, item, "input_checks", f"input_checks[{i}]")
        name = ck.str_(item.get("check"), f"input_checks[{i}].check")
        accepted = sex_accepted(ck, item, f"input_checks[{i}]", sex_values) or accepted
        if INPUT_CHECKS.get(name) != item.get("status") or name in names:
            raise ck.error(
                f"input_checks[{i}]",
                f'未知、重复或状态不符的输入校验 "{name}"',
                f'unknown, repeated or mis-statused input check "{name}"',
            )
        names.append(name)
    missing = [name for name in INPUT_CHECKS if name not in names]
    if missing:
        raise ck.error(
            "input_checks", f'input_checks 缺少输入校验 "{missing[0]}"', f"missing {missing[0]}"
        )
    return tuple(names), accepted


def read_meta(folder: Path, plan_id: str | None = None, title: str | None = None) -> PlanMeta:
    """Read ``folder/meta.json`` (optional) into a :class:`PlanMeta`.

    Defaults: version from the id's trailing number, no validity limits, status
    ``published``.  Without ``plan_id`` the id and title come from ``meta.json``, or
    else from ``plan.json``.  Raises :class:`PlanError` for bad values.
    """
    ck = Checker(plan_id or folder.name)
    file = folder / "meta.json"
    raw: dict[str, Any] = {}
    if file.is_file():
        try:
            raw = ck.obj(json.loads(file.read_text(encoding="utf-8")), "meta.json")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ck.error(
                "meta.json",
                f"meta.json 不是有效的 JSON（{jsonerrors.describe(exc)}）",
                "invalid JSON",
            ) from exc
    if plan_id is None and "id" not in raw:
        try:
            head = json.loads((folder / "plan.json").read_text(encoding="utf-8"))["plan"]
            plan_id, title = str(head["id"]), str(head.get("title", head["id"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ck.error(
                "plan.json", "无法读取 plan.json 中的方案标识", "cannot read plan.id"
            ) from exc
    plan_id = plan_id or ck.str_(raw["id"], "meta.json.id")
    ck.plan_id = plan_id
    if raw.get("id", plan_id) != plan_id:
        raise ck.error("meta.json.id", "meta.json 的 id 与 plan.json 不符", "id mismatch")
    match = re.search(r"(\d+(?:\.\d+)*)$", plan_id)
    version = ck.str_(raw.get("version", match.group(1) if match else "0"), "meta.json.version")
    status = ck.str_(raw.get("status", "published"), "meta.json.status")
    if status not in PLAN_STATUSES:
        raise ck.error(
            "meta.json.status", f'状态 "{status}" 无效', f"status not in {PLAN_STATUSES}"
        )
    dates: list[date | None] = []
    for key in ("valid_from", "valid_to"):
        value = raw.get(key)
        try:
            dates.append(None if value is None else date.fromisoformat(value))
        except (TypeError, ValueError) as exc:
            raise ck.error(
                f"meta.json.{key}", f"{key} 应为 YYYY-MM-DD 日期", "expected an ISO date"
            ) from exc
    if dates[0] and dates[1] and dates[1] < dates[0]:
        raise ck.error("meta.json.valid_to", "valid_to 早于 valid_from", "valid_to < valid_from")
    title = ck.str_(raw.get("title", title or plan_id), "meta.json.title")
    region = raw.get("region")
    region = None if region is None else ck.str_(region, "meta.json.region")
    return PlanMeta(plan_id, version, title, dates[0], dates[1], status, region)
