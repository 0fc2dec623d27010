"""A small, slow reference walk of a plan, used to check generated templates.

This is **not** the grouper (see :mod:`yibao.engines.grouper`): it evaluates the plan
conditions of ``plan.json`` for one case whose codes are already grouper codes (after
the code maps), so the synthetic templates can be checked against first-match-wins, MDC
fall-through and the CC/MCC exclusion rules before any case is drawn.  It follows the
rules of the plan README; the input checks and code mapping are left to the grouper.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.engines.synth.plan import Condition, PlanData


@dataclass(frozen=True)
class Probe:
    """One case in grouper terms (codes already mapped, principal first)."""

    dx: tuple[str, ...]
    px: tuple[str, ...] = ()
    sex: int = 1
    age_years: int = 40
    age_days: int | None = None
    birth_weight_g: int | None = None


def _trauma_count(plan: PlanData, sites: str, dx: tuple[str, ...]) -> int:
    owner = plan.trauma_sites[sites]
    return len({owner[c] for c in dx if c in owner})


def _weight_ok(cond: Condition, weight: int | None) -> bool:
    if not weight:
        return False
    ge = cond.get("ge")
    lt = cond.get("lt")
    return (ge is None or weight >= int(ge)) and (lt is None or weight < int(lt))


def holds(plan: PlanData, cond: Condition, case: Probe) -> bool:
    """Evaluate one plan condition for ``case`` (one branch per primitive of the README)."""
    op = cond["op"]
    if op == "all":
        return all(holds(plan, c, case) for c in cond["args"])
    if op == "any":
        return any(holds(plan, c, case) for c in cond["args"])
    if op == "not":
        return not holds(plan, cond["arg"], case)
    if op == "true":
        return True
    if op == "principal_dx_in":
        return case.dx[0] in plan.lists[cond["list"]]
    if op == "any_dx_in":
        return not plan.lists[cond["list"]].isdisjoint(case.dx)
    if op == "principal_proc_in":
        return bool(case.px) and case.px[0] in plan.lists[cond["list"]]
    if op == "any_proc_in":
        return not plan.lists[cond["list"]].isdisjoint(case.px)
    if op == "principal_proc_is_or":
        return bool(case.px) and case.px[0] in plan.or_codes
    if op == "any_proc_is_or":
        return not plan.or_codes.isdisjoint(case.px)
    if op == "no_or_proc":
        return plan.or_codes.isdisjoint(case.px)
    if op == "sex_is":
        return case.sex == int(cond["value"])
    if op == "age_years_eq":
        return case.age_years == int(cond["value"])
    if op == "age_days_le":
        return case.age_days is not None and case.age_days <= int(cond["value"])
    if op == "birth_weight_range":
        return _weight_ok(cond, case.birth_weight_g)
    if op == "proc_tag_present":
        table = plan.tags[cond["table"]]
        return any(table.get(c) == str(cond["tag"]) for c in case.px)
    if op == "trauma_site_count_ge":
        return _trauma_count(plan, cond["sites"], case.dx) >= int(cond["min"])
    raise ValueError(f"unknown condition op {op!r}")


def find_adrg(plan: PlanData, case: Probe) -> str | None:
    """The ADRG the plan's MDC walk gives ``case`` (``None`` = ungroupable)."""
    for mdc in plan.mdc_order:
        if not holds(plan, plan.mdc_entry[mdc], case):
            continue
        for adrg in plan.mdc_adrgs[mdc]:
            if holds(plan, plan.adrg_condition[adrg], case):
                return adrg
    return None


def severity(plan: PlanData, dx: tuple[str, ...]) -> tuple[bool, bool]:
    """(has a valid MCC, has a valid CC) among the secondaries of ``dx``."""
    excluded = plan.exclusion.get(dx[0])
    mcc = cc = False
    for code in dx[1:]:
        hit = plan.cc.get(code)
        if hit is None or hit[1] == excluded:
            continue
        if hit[0] == "MCC":
            mcc = True
        else:
            cc = True
    return mcc, cc


def find_drg(plan: PlanData, case: Probe) -> str | None:
    """The DRG of ``case`` (ADRG walk, then the severity split)."""
    adrg = find_adrg(plan, case)
    if adrg is None:
        return None
    mcc, cc = severity(plan, case.dx)
    for drg in plan.adrg_drgs[adrg]:
        split = plan.drg_split[drg]
        if split == "always" or (split == "mcc" and mcc) or (split == "cc_or_mcc" and (mcc or cc)):
            return drg
    return adrg
