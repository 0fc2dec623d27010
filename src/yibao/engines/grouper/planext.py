"""The regional additions to the plan format (``PLAN-FORMAT-ADDITIONS.md``) and key checks.

:func:`yibao.engines.grouper.plan.load_plan` calls these helpers: every JSON object
of ``plan.json`` may only carry the keys listed in ``KNOWN_KEYS`` (an engine that
does not know a key must refuse the plan rather than ignore it), DRG splits may be
conditions, ADRGs may fall through (``if_no_drg``), result codes and the
no-group retry may be set.  Every problem raises :class:`PlanError` naming the place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yibao.engines.grouper.conditions import Condition, ConditionContext, parse_condition
from yibao.engines.grouper.tables import Checker

#: named DRG split kinds (plan README "DRG splits" + additions §1) and ``condition``
SPLITS = ("always", "mcc", "cc_or_mcc", "cc", "condition")
IF_NO_DRG = ("next_adrg",)
NO_GROUP_RETRY = ("each_other_procedure_alone",)

#: object (as named in errors) → the keys it may carry
KNOWN_KEYS: Mapping[str, frozenset[str]] = {
    "plan.json": frozenset(
        {
            "format",
            "format_version",
            "plan",
            "source",
            "statuses",
            "input",
            "tables",
            "input_checks",
            "result_codes",
            "mdc_order",
            "mdcs",
            "adrgs",
            "drgs",
            "trauma_sites",
            "proc_tag_tables",
            "code_lists",
            "no_group_retry",
        }
    ),
    "plan": frozenset({"id", "title", "mdc_count", "adrg_count", "drg_count"}),
    "input": frozenset({"code_separators", "sex_values", "newborn_max_age_days"}),
    "result_codes": frozenset({"no_group", "qy", "mdc_no_group", "input_failure"}),
    "result_codes.no_group": frozenset({"mdc", "adrg", "drg", "raw"}),
    "result_codes.qy": frozenset({"adrg", "drg"}),
    "result_codes.mdc_no_group": frozenset({"adrg", "drg"}),
    "result_codes.input_failure": frozenset({"mdc", "adrg", "drg"}),
    "input_checks": frozenset({"order", "check", "status", "accepted"}),
    "mdcs": frozenset({"entry", "adrgs", "qy"}),
    "mdcs.qy": frozenset({"enabled", "position", "condition", "drg"}),
    "adrgs": frozenset({"mdc", "condition", "drgs", "source_files", "if_no_drg"}),
    "drgs": frozenset({"adrg", "split", "name", "condition"}),
}


def check_keys(ck: Checker, obj: Mapping[str, Any], kind: str, where: str) -> None:
    """Refuse a key of ``obj`` that ``KNOWN_KEYS[kind]`` does not list."""
    extra = sorted(set(obj) - KNOWN_KEYS[kind])
    if extra:
        raise ck.error(
            f"{where}.{extra[0]}" if where != "plan.json" else extra[0],
            f'{where} 含有未知的键 "{extra[0]}"，本引擎不支持',
            f'unknown key "{extra[0]}"',
        )


def drg_split(
    ck: Checker, spec: Mapping[str, Any], cctx: ConditionContext, code: str
) -> tuple[str, Condition | None]:
    """``(split, condition)`` of the DRG ``code``; ``condition`` only for ``split: condition``."""
    where = f"drgs.{code}"
    split = ck.str_(ck.key(spec, "split", where), f"{where}.split")
    if split not in SPLITS:
        raise ck.error(
            f"{where}.split", f'DRG {code} 的细分规则 "{split}" 未知', f"split not in {SPLITS}"
        )
    if split != "condition":
        if "condition" in spec:
            raise ck.error(
                f"{where}.condition",
                f"DRG {code} 的细分规则为 {split}，不应有 condition",
                'only a "condition" split has a condition',
            )
        return split, None
    cond = parse_condition(
        ck.key(spec, "condition", where), cctx, f"{where}.condition", f"DRG {code} 的细分条件"
    )
    return split, cond


def if_no_drg(ck: Checker, spec: Mapping[str, Any], where: str) -> bool:
    """True for ``if_no_drg: next_adrg``; an absent key is the national rule."""
    if "if_no_drg" not in spec:
        return False
    value = ck.str_(spec["if_no_drg"], f"{where}.if_no_drg")
    if value not in IF_NO_DRG:
        raise ck.error(
            f"{where}.if_no_drg", f'if_no_drg 的取值 "{value}" 未知', f"expected one of {IF_NO_DRG}"
        )
    return True


def no_group_retry(ck: Checker, raw: Mapping[str, Any]) -> bool:
    """True for ``no_group_retry: each_other_procedure_alone`` (additions §7)."""
    if "no_group_retry" not in raw:
        return False
    value = ck.str_(raw["no_group_retry"], "no_group_retry")
    if value not in NO_GROUP_RETRY:
        raise ck.error(
            "no_group_retry",
            f'no_group_retry 的取值 "{value}" 未知',
            f"expected one of {NO_GROUP_RETRY}",
        )
    return True


def result_codes(ck: Checker, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The result codes (additions §6): no_group, its raw code, QY ADRG, the alternatives."""
    codes = ck.obj(ck.key(raw, "result_codes", "plan.json"), "result_codes")
    check_keys(ck, codes, "result_codes", "result_codes")

    def triple(name: str, keys: tuple[str, ...]) -> tuple[str, ...]:
        where = f"result_codes.{name}"
        obj = ck.obj(codes.get(name), where)
        check_keys(ck, obj, where, where)
        return tuple(ck.str_(ck.key(obj, k, where), f"{where}.{k}") for k in keys)

    no_group = triple("no_group", ("mdc", "adrg", "drg"))
    ng_obj = codes["no_group"]
    qy = ck.obj(codes.get("qy", {"adrg": "QY"}), "result_codes.qy")
    check_keys(ck, qy, "result_codes.qy", "result_codes.qy")
    return {
        "no_group": no_group,
        "no_group_raw": ck.str_(ng_obj.get("raw", no_group[2]), "result_codes.no_group.raw"),
        "qy_adrg": ck.str_(qy.get("adrg", "QY"), "result_codes.qy.adrg"),
        "mdc_no_group": triple("mdc_no_group", ("adrg", "drg"))
        if "mdc_no_group" in codes
        else None,
        "input_failure": (
            triple("input_failure", ("mdc", "adrg", "drg")) if "input_failure" in codes else None
        ),
    }


def sex_accepted(
    ck: Checker, item: Mapping[str, Any], where: str, sex_values: Mapping[str, Any]
) -> tuple[str, ...] | None:
    """``accepted`` of the ``sex_valid`` check (additions §5): texts among ``sex_values``."""
    if "accepted" not in item:
        return None
    if item.get("check") != "sex_valid":
        raise ck.error(
            f"{where}.accepted", "只有 sex_valid 校验可以有 accepted", "accepted only on sex_valid"
        )
    accepted = ck.str_list(item["accepted"], f"{where}.accepted")
    unknown = [v for v in accepted if v not in sex_values]
    if unknown or not accepted:
        raise ck.error(
            f"{where}.accepted",
            f'accepted 中的性别取值 "{unknown[0] if unknown else ""}" 不在 input.sex_values 中',
            "accepted values must be keys of input.sex_values",
        )
    return accepted
