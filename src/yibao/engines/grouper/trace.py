"""Explained grouping: a direct interpreter of the plan README that records every step.

This path walks the condition trees of the plan as written (no bitsets), so it
doubles as the reference implementation that the tests compare the fast path
against.  Step codes are listed in :mod:`yibao.engines.grouper.results`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yibao.engines.grouper.compiler import MDC_PREFIX, OR_KEY, CompiledPlan
from yibao.engines.grouper.conditions import (
    AllOf,
    AnyOf,
    Condition,
    Not,
    Prim,
    describe_prim,
    in_range,
    range_text,
)
from yibao.engines.grouper.inputs import (
    CHECK_TRACE_CODES,
    as_int,
    as_text,
    check_message,
    getter,
    plan_sex,
    shown,
    split_codes,
)
from yibao.engines.grouper.results import (
    AMBIGUOUS_QY,
    CHECK_FAILED,
    DX_NOT_MAPPED,
    OK,
    PROC_NOT_MAPPED,
    UNGROUPABLE,
    GroupResult,
    TraceStep,
    ok_message,
    qy_message,
)

SPLIT_TEXT = {
    "always": "无条件",
    "mcc": "需有效 MCC",
    "cc_or_mcc": "需有效 CC 或 MCC",
    "cc": "需有效 CC",
}
_STATUS = {"dx_codes_mapped": DX_NOT_MAPPED, "proc_codes_mapped": PROC_NOT_MAPPED}


@dataclass(frozen=True, slots=True)
class _Case:
    compiled: CompiledPlan
    sex: int | None
    age: int | None
    age_days: int | None
    weight: int | None
    dx: list[str]
    px: list[str]
    get: Any  # the other input fields (los_days, icu_hours, dept, discharge_type)

    def _replace_px(self, px: list[str]) -> _Case:
        c = self
        return _Case(c.compiled, c.sex, c.age, c.age_days, c.weight, c.dx, px, c.get)


def trace_one(compiled: CompiledPlan, case: Any) -> GroupResult:
    """Group one case and return the result with ``trace`` filled in."""
    plan = compiled.plan
    get = getter(case)
    steps: list[TraceStep] = []
    dx_codes = split_codes(get("diagnoses"), plan.code_separators, empty_is_none=False)
    px_codes = split_codes(get("procedures"), plan.code_separators, empty_is_none=True)
    roles = ("主要诊断", "其他诊断")
    dx, bad_dx = _map_codes(steps, "MAP_DX", dx_codes, plan.dx_map, plan.dx_names, roles)
    roles = ("主要手术操作", "其他手术操作")
    px, bad_px = _map_codes(steps, "MAP_PROC", px_codes, plan.proc_map, plan.proc_names, roles)
    ev = _Case(
        compiled,
        plan_sex(get("sex"), plan.sex_values, plan.sex_accepted),
        as_int(get("age_years")),
        as_int(get("age_days")),
        as_int(get("birth_weight_g")),
        dx,
        px,
        get,
    )
    n_dx = len(dx_codes)
    for check in ev.compiled.check_order:
        failed, text, value = _check(ev, check, get, bad_dx, bad_px, n_dx)
        steps.append(TraceStep(CHECK_TRACE_CODES[check], not failed, text))
        if failed:
            msg = check_message(check, value=value, newborn_days=plan.newborn_max_age_days)
            status = _STATUS.get(check, CHECK_FAILED)
            return _result(steps, GroupResult(status, *plan.failure_codes, None, msg))
    result = _walk(steps, ev)
    if result.status == UNGROUPABLE and plan.retry_single_procedures and len(px) > 1:
        for i, code in enumerate(px[1:], start=1):  # additions §7
            text = f"未入组，仅以其他手术操作 {i} {code} 重新分组"
            steps.append(TraceStep("NO_GROUP_RETRY", True, text, {"code": code}))
            retry = _walk(steps, ev._replace_px([code]))
            if retry.status != UNGROUPABLE:
                return _result(steps, retry)
    return _result(steps, result)


def _walk(steps: list[TraceStep], ev: _Case) -> GroupResult:
    """The MDC walk with fall-through (plan README step 5)."""
    plan = ev.compiled.plan
    for letter in plan.mdc_order:
        name = MDC_PREFIX + letter
        ok, why = explain(plan.mdcs[letter].entry, ev)
        if not ok:
            text = f"{name} 入组条件不满足：{why}"
            steps.append(TraceStep("MDC_SKIP", False, text, {"mdc": name}))
            continue
        steps.append(TraceStep("MDC_ENTRY", True, f"进入 {name}：{why}", {"mdc": name}))
        found = _adrg_walk(steps, ev, letter)
        if found is not None:
            return found
        text = f"{name} 的 {len(plan.mdcs[letter].adrgs)} 个 ADRG 均不符合，继续下一个 MDC"
        steps.append(TraceStep("MDC_FALLTHROUGH", False, text, {"mdc": name}))
    return ev.compiled.ungroupable


def _adrg_walk(steps: list[TraceStep], ev: _Case, letter: str) -> GroupResult | None:
    """The ADRG walk of one MDC (step 6): first true ADRG, QY test at its position."""
    plan = ev.compiled.plan
    mdc = plan.mdcs[letter]
    name = MDC_PREFIX + letter
    for pos in range(len(mdc.adrgs) + 1):
        if mdc.qy.enabled and pos == mdc.qy.position:
            ok, why = explain(mdc.qy.condition, ev)
            if ok:
                steps.append(TraceStep("QY_MATCH", True, f"{name} 歧义病案检验：{why}"))
                msg = qy_message(name, mdc.qy.drg)
                return GroupResult(AMBIGUOUS_QY, name, plan.qy_adrg, mdc.qy.drg, None, msg)
        if pos == len(mdc.adrgs):
            break
        adrg = mdc.adrgs[pos]
        ok, why = explain(plan.adrgs[adrg].condition, ev)
        if ok:
            text = f"ADRG {adrg} 条件满足（{name} 第 {pos + 1} 个 ADRG）：{why}"
            steps.append(TraceStep("ADRG_MATCH", True, text, {"adrg": adrg}))
            found = _split(steps, ev, name, adrg)
            if found is not None:
                return found
            text = f"ADRG {adrg} 没有成立的 DRG 细分，按 if_no_drg 继续下一个 ADRG"
            steps.append(TraceStep("ADRG_NO_DRG", False, text, {"adrg": adrg}))
    return None


def _result(steps: list[TraceStep], res: GroupResult) -> GroupResult:
    data = {"status": res.status, "mdc": res.mdc, "adrg": res.adrg, "drg": res.drg}
    steps.append(TraceStep("RESULT", res.status == OK, f"{res.status}：{res.message}", data))
    return res._replace(trace=tuple(steps))


def _map_codes(
    steps: list[TraceStep],
    code: str,
    inputs: list[str],
    mapping: Any,
    names: Any,
    roles: tuple[str, str],
) -> tuple[list[str], str | None]:
    out: list[str] = []
    for i, inp in enumerate(inputs):
        role = roles[0] if i == 0 else f"{roles[1]} {i}"
        target = mapping.get(inp)
        if target is None:
            steps.append(TraceStep(code, False, f'{role} "{inp}" 不在映射表中', {"input": inp}))
            return out, inp
        name = names.get(target, "")
        if target != inp:
            text = f"{role} {inp} 映射为 {target} {name}".rstrip()
        else:
            text = f"{role} {inp} {name}（分组器编码，无需转换）"
        steps.append(TraceStep(code, True, text, {"input": inp, "code": target}))
        out.append(target)
    return out, None


def _check(
    ev: _Case, check: str, get: Any, bad_dx: str | None, bad_px: str | None, n_dx: int
) -> tuple[bool, str, Any]:
    """(failed, text, offending value) of one input check."""
    newborn = ev.compiled.plan.newborn_max_age_days
    if check == "dx_codes_mapped":
        if bad_dx is not None:
            return True, f'诊断编码 "{bad_dx}" 无法转换', bad_dx
        return False, "全部诊断编码可转换", None
    if check == "proc_codes_mapped":
        if bad_px is not None:
            return True, f'手术操作编码 "{bad_px}" 无法转换', bad_px
        return False, "全部手术操作编码可转换", None
    if check == "sex_valid":
        return ev.sex is None, f"性别 {shown(get('sex'))}", get("sex")
    if check == "age_years_present":
        return ev.age is None, f"年龄 {shown(get('age_years'))} 岁", get("age_years")
    if check == "age_days_present_if_age_0":
        if ev.age != 0:
            return False, "年龄不为 0 岁，不要求日龄", None
        return ev.age_days is None, f"0 岁，日龄 {shown(get('age_days'))}", None
    if check == "birth_weight_present_if_newborn":
        if ev.age != 0 or ev.age_days is None or ev.age_days > newborn:
            return False, f"非日龄 ≤ {newborn} 天的新生儿，不要求出生体重", None
        return ev.weight is None, f"新生儿出生体重 {shown(get('birth_weight_g'))} 克", None
    if check in ("los_days_present", "icu_hours_present"):
        field = check.removesuffix("_present")
        value = get(field)
        name = "住院天数" if field == "los_days" else "重症监护时长（小时）"
        return as_int(value) is None, f"{name} {shown(value)}", value
    return n_dx == 0, f"诊断 {n_dx} 个", None


def _cc_flags(ev: _Case, steps: list[TraceStep] | None = None) -> tuple[bool, bool]:
    """(valid MCC, valid CC) among D[1:]; with ``steps`` every finding is recorded."""
    plan = ev.compiled.plan
    principal = ev.dx[0]
    exclusion = plan.cc_exclusion.get(principal)
    own = (
        f"主要诊断 {principal} 的排除表 {exclusion}"
        if exclusion
        else f"主要诊断 {principal} 无排除表"
    )
    has_mcc = has_cc = seen = False
    for i, code in enumerate(ev.dx[1:], start=1):
        entry = plan.cc_mcc.get(code)
        if entry is None:
            continue
        seen = True
        data = {"code": code, "level": entry.level, "table": entry.table}
        if exclusion is not None and exclusion == entry.table:
            text = f"其他诊断 {i} {code} 是 {entry.level}（排除表 {entry.table}），被{own}排除"
            if steps is not None:
                steps.append(TraceStep("CC_EXCLUDED", False, text, data))
            continue
        has_mcc = has_mcc or "MCC" in entry.level.split("+")
        has_cc = has_cc or "CC" in entry.level.split("+")
        text = f"其他诊断 {i} {code} 是有效 {entry.level}（排除表 {entry.table}；{own}）"
        code_ = "MCC_FOUND" if entry.level.startswith("MCC") else "CC_FOUND"
        if steps is not None:
            steps.append(TraceStep(code_, True, text, data))
    if not seen and steps is not None:
        text = "只有主要诊断，没有其他诊断" if len(ev.dx) == 1 else "其他诊断中没有 CC / MCC"
        steps.append(TraceStep("CC_NONE", False, text))
    return has_mcc, has_cc


def _split(steps: list[TraceStep], ev: _Case, mdc: str, adrg: str) -> GroupResult | None:
    """The DRG split of ``adrg`` (step 7); ``None`` when none holds and ``if_no_drg``."""
    plan = ev.compiled.plan
    has_mcc, has_cc = _cc_flags(ev, steps)
    named = {"always": True, "mcc": has_mcc, "cc_or_mcc": has_mcc or has_cc, "cc": has_cc}
    parts = []
    chosen = None
    for drg in plan.adrgs[adrg].drgs:
        spec = plan.drgs[drg]
        if spec.condition is None:
            ok, why = named[spec.split], SPLIT_TEXT[spec.split]
        else:
            ok, why = explain(spec.condition, ev)
        parts.append(f"{drg}（{why}）{'满足' if ok else '不满足'}")
        if ok:
            chosen = drg
            break
    if chosen is None and plan.adrgs[adrg].next_adrg:
        steps.append(TraceStep("DRG_SPLIT", False, f"ADRG {adrg} 细分：{'；'.join(parts)} → 无"))
        return None
    chosen = chosen or adrg  # no DRG found: the ADRG code is the DRG (plan README step 7)
    text = f"ADRG {adrg} 细分：{'；'.join(parts)} → {chosen}"
    steps.append(TraceStep("DRG_SPLIT", True, text, {"drg": chosen}))
    if plan.mdc_no_group and chosen != plan.no_group_raw and chosen[1:3] == "00":
        adrg, drg = plan.mdc_no_group  # additions §6 (no plan produces such a code)
        msg = "所进入的 MDC 中没有符合条件的 ADRG，无法入组"
        return GroupResult(UNGROUPABLE, mdc, adrg, drg, None, msg)
    spec_ = plan.drgs.get(chosen)
    name = spec_.name if spec_ is not None else None
    adrg = chosen[:3]  # plan README "Result": the first 3 characters of the DRG
    return GroupResult(OK, mdc, adrg, chosen, name, ok_message(mdc, adrg, chosen, name))


def explain(cond: Condition, ev: _Case) -> tuple[bool, str]:
    """Evaluate ``cond`` on a case and say why, in Chinese (reference semantics)."""
    if isinstance(cond, Prim):
        return _explain_prim(cond, ev)
    if isinstance(cond, Not):
        ok, why = explain(cond.arg, ev)
        return not ok, f"并非（{why}）"
    results = [explain(arg, ev) for arg in cond.args]
    if isinstance(cond, AllOf):
        failed = [why for ok, why in results if not ok]
        if failed:
            return False, "；".join(failed)
        return True, "，且".join(why for _, why in results)
    assert isinstance(cond, AnyOf)
    passed = [why for ok, why in results if ok]
    if passed:
        return True, passed[0]
    return False, " 或 ".join(why for _, why in results)


def _explain_prim(p: Prim, ev: _Case) -> tuple[bool, str]:  # one branch per primitive
    c = ev.compiled
    op, name = p.op, p.list_name or ""
    uses_or = op.endswith("is_or") or op == "no_or_proc"
    members = c.list_sets[OR_KEY] if uses_or else c.list_sets.get(name, frozenset())
    if op == "true":
        return True, "无条件"
    if op == "principal_dx_in":
        ok = ev.dx[0] in members
        return ok, f"主要诊断 {ev.dx[0]} {'属于' if ok else '不属于'} {name}"
    if op in ("any_dx_in", "any_proc_in", "any_proc_is_or", "no_or_proc"):
        codes = ev.dx if op == "any_dx_in" else ev.px
        hit = next((x for x in codes if x in members), None)
        what = f"属于 {name}" if op.endswith("_in") else "是手术室手术"
        kind = "诊断" if op == "any_dx_in" else "手术操作"
        text = f"{kind} {hit} {what}" if hit is not None else f"没有{kind}{what}"
        return (hit is None, text) if op == "no_or_proc" else (hit is not None, text)
    if op in ("principal_proc_in", "principal_proc_is_or"):
        if not ev.px:
            return False, "没有手术操作"
        ok = ev.px[0] in members
        what = f"属于 {name}" if op == "principal_proc_in" else "是手术室手术"
        return ok, f"主要手术操作 {ev.px[0]} {'' if ok else '不'}{what}"
    if op == "sex_is":
        return ev.sex == p.value, f"性别 {ev.sex} {'=' if ev.sex == p.value else '≠'} {p.value}"
    if op == "age_years_eq":
        ok = ev.age == p.value
        return ok, f"年龄 {ev.age} 岁 {'=' if ok else '≠'} {p.value}"
    if op == "age_days_le":
        if ev.age_days is None or p.value is None:
            return False, "日龄缺失"
        ok = ev.age_days <= p.value
        return ok, f"日龄 {ev.age_days} 天 {'≤' if ok else '>'} {p.value}"
    if op == "birth_weight_range":
        w = ev.weight
        ok = bool(w) and (p.ge is None or w >= p.ge) and (p.lt is None or w < p.lt)  # type: ignore[operator]
        return ok, f"出生体重 {w} 克 {'在' if ok else '不在'} [{p.ge or ''}, {p.lt or ''}) 内"
    if op == "proc_tag_present":
        tags = c.tag_maps[p.table or ""]
        hit = next((x for x in ev.px if tags.get(x) == p.tag), None)
        if hit is None:
            return False, f"没有 {p.table} 标签 {p.tag} 的手术操作"
        return True, f"手术操作 {hit} 有 {p.table} 标签 {p.tag}"
    if op in _EXTRA_OPS:
        return _explain_extra(p, ev)
    assert op == "trauma_site_count_ge"
    sites = c.site_maps[p.sites or ""]
    touched = sorted({sites[x] for x in ev.dx if x in sites})
    labels = [c.plan.trauma_sites[p.sites or ""][i].site for i in touched]
    ok = len(touched) >= (p.min_count or 0)
    sign = "≥" if ok else "<"
    return ok, f"创伤部位 {len(touched)} 个（{'、'.join(labels) or '无'}）{sign} {p.min_count}"


_EXTRA_OPS = frozenset(
    {
        "false",
        "has_procedure",
        "has_mcc",
        "has_cc",
        "secondary_dx_in",
        "secondary_proc_in",
        "field_range",
        "field_in",
    }
)


def _explain_extra(p: Prim, ev: _Case) -> tuple[bool, str]:
    """The primitives of the regional additions (PLAN-FORMAT-ADDITIONS.md §2)."""
    op = p.op
    if op == "false":
        return False, "永不成立"
    if op == "has_procedure":
        return bool(ev.px), f"手术操作 {len(ev.px)} 个"
    if op in ("has_mcc", "has_cc"):
        ok = _cc_flags(ev)[0 if op == "has_mcc" else 1]
        return ok, f"{'有' if ok else '没有'}有效 {'MCC' if op == 'has_mcc' else 'CC'}"
    if op in ("secondary_dx_in", "secondary_proc_in"):
        members = ev.compiled.list_sets.get(p.list_name or "", frozenset())
        codes = ev.dx[1:] if op == "secondary_dx_in" else ev.px[1:]
        kind = "其他诊断" if op == "secondary_dx_in" else "其他手术操作"
        hit = next((x for x in codes if x in members), None)
        if hit is None:
            return False, f"没有{kind}属于 {p.list_name}"
        return True, f"{kind} {hit} 属于 {p.list_name}"
    name = p.field or ""
    if op == "field_range":
        known = {"age_years": ev.age, "age_days": ev.age_days, "birth_weight_g": ev.weight}
        value = known[name] if name in known else as_int(ev.get(name))
        ok = in_range(p, value)
        return (
            ok,
            f"{describe_prim(p).split(' ')[0]} {value} {'满足' if ok else '不满足'} "
            f"{range_text(p)}",
        )
    text = as_text(ev.get(name))
    ok = text in (p.values or ())
    return ok, f"{name} = {text!r} {'属于' if ok else '不属于'} {list(p.values or ())}"
