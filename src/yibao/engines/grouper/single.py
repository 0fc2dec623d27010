"""Group one case (real time).

The fast path does one dict lookup per code, one ``&`` of two bitsets, and walks
the few candidate terms (see :mod:`yibao.engines.grouper.compiler`).  It builds no
trace objects; results of successful cases are shared, pre-built
:class:`GroupResult` values.  ``trace=True`` runs the explaining interpreter in
:mod:`yibao.engines.grouper.trace` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yibao.engines.grouper.compiler import CompiledPlan, Ctx, DxRec, PxRec, Rule
from yibao.engines.grouper.inputs import as_int, check_message, getter, plan_sex, split_codes
from yibao.engines.grouper.prims import cc_state
from yibao.engines.grouper.results import (
    CHECK_FAILED,
    DX_NOT_MAPPED,
    PROC_NOT_MAPPED,
    GroupResult,
)
from yibao.engines.grouper.trace import trace_one

_CHECK_STATUS = {"dx_codes_mapped": DX_NOT_MAPPED, "proc_codes_mapped": PROC_NOT_MAPPED}


# long: the grouping steps (MDC, ADRG, CC exclusion, split) in the national order, one trace
def group_one(
    compiled: CompiledPlan, case: Mapping[str, Any] | object, *, trace: bool = False
) -> GroupResult:
    """Group one case with a compiled plan.

    ``case`` is a mapping (or an object with attributes) with ``sex`` (1/2, int or
    str), ``age_years``, ``age_days``, ``birth_weight_g`` and ``diagnoses`` /
    ``procedures`` (a string of codes separated by ``|`` or ``,``, principal first,
    or a list of codes); ``dept``, ``los_days``, ``discharge_type`` and ``icu_hours``
    are read only by plans whose conditions use them (regional plans; CHS-DRG 1.x
    does not).  Bad input never raises: it gives a status.

    >>> r = group_one(plan, {"sex": 1, "age_years": 50, "diagnoses": "K22.301|K11.901"})
    >>> r.status, r.drg  # doctest: +SKIP
    ('ok', 'GZ13')
    """
    if trace:
        return trace_one(compiled, case)
    # One long function on purpose: this is the real-time path, and every helper call
    # costs ~0.1 µs of a ~6 µs budget.  Steps: split + map codes, input checks, walk
    # the candidate terms (compiler module docstring), pick the DRG by CC state.
    get = case.get if isinstance(case, dict) else getter(case)
    seps = compiled.separators
    raw = get("diagnoses")
    if type(raw) is str:
        for sep in seps[1:]:
            raw = raw.replace(sep, seps[0])
        dx_codes = raw.split(seps[0])
    else:
        dx_codes = split_codes(raw, seps, empty_is_none=False)
    dx_info = compiled.dx_info
    recs: list[DxRec] = []
    bad_dx = None
    for code in dx_codes:
        rec = dx_info.get(code)
        if rec is None:
            bad_dx = code
            break
        recs.append(rec)
    raw = get("procedures")
    px_recs: list[PxRec] = []
    bad_px = None
    if raw:
        if type(raw) is str:
            for sep in seps[1:]:
                raw = raw.replace(sep, seps[0])
            px_codes = raw.split(seps[0])
        else:
            px_codes = split_codes(raw, seps, empty_is_none=True)
        px_info = compiled.px_info
        for code in px_codes:
            prec = px_info.get(code)
            if prec is None:
                bad_px = code
                break
            px_recs.append(prec)
    sex_raw = get("sex")
    kind = type(sex_raw)
    if kind is str or kind is int:
        sex = compiled.sex_map.get(sex_raw)
    else:
        sex = plan_sex(sex_raw, compiled.plan.sex_values, compiled.sex_accepted)
    age_raw = get("age_years")
    age = age_raw if type(age_raw) is int else as_int(age_raw)
    newborn_issue = False
    if age == 0:
        age_days = as_int(get("age_days"))
        newborn_issue = age_days is None or (
            age_days <= compiled.plan.newborn_max_age_days and as_int(get("birth_weight_g")) is None
        )
    if compiled.needs_ints:  # los_days / icu_hours of the plans that read them
        newborn_issue = newborn_issue or any(as_int(get(f)) is None for f in compiled.needs_ints)
    if (
        bad_dx is not None
        or bad_px is not None
        or sex is None
        or age is None
        or newborn_issue
        or not recs
    ):
        return _first_failure(compiled, get, bad_dx, bad_px, sex, age, len(dx_codes))

    # the walk over the candidate terms, inlined (see above); with ``no_group_retry``
    # (additions §7) it is repeated with each other procedure alone, in input order
    px_now = px_recs
    tried = 0
    while True:
        cand = recs[0][1] & (px_now[0][1] if px_now else compiled.no_px_bits)
        term_check = compiled.term_check
        any_bits = -1
        ctx: Ctx | None = None
        while cand:
            low = cand & -cand
            term = low.bit_length() - 1
            check = term_check[term]
            if check is not None:
                if any_bits < 0:
                    any_bits = 0
                    for rec in recs:
                        any_bits |= rec[5]
                    for prec in px_now:
                        any_bits |= prec[2]
                need, forbid, tests = check
                if (any_bits & need) != need or any_bits & forbid:
                    cand ^= low
                    continue
                if tests:
                    if ctx is None:
                        days, weight = as_int(get("age_days")), as_int(get("birth_weight_g"))
                        ctx = (sex, age, days, weight, recs, px_now, get)
                    if not all(fn(ctx) for fn in tests):
                        cand ^= low
                        continue
            fixed = compiled.term_fixed[term]
            if fixed >= 0:
                return compiled.outcomes[fixed]
            if fixed == -1:
                out = compiled.term_outcomes[term][compiled.split_state(recs)]
            else:  # DRG splits given as conditions (additions §1)
                if ctx is None:
                    days, weight = as_int(get("age_days")), as_int(get("birth_weight_g"))
                    ctx = (sex, age, days, weight, recs, px_now, get)
                out = _split(compiled.rules[compiled.terms[term].rule], ctx)
            if out >= 0:
                return compiled.outcomes[out]
            cand &= compiled.term_skip[term]  # if_no_drg = next_adrg: skip the rest of the ADRG
        tried += 1
        if tried >= len(px_recs) or not compiled.plan.retry_single_procedures:
            return compiled.ungroupable
        px_now = [px_recs[tried]]


def _split(rule: Rule, ctx: Ctx) -> int:
    """Outcome of the first DRG whose split holds, else the rule's fallback."""
    state = -1
    for step in rule.splits:
        if step.test is None:
            if state < 0:
                state = cc_state(ctx[4])
            if (step.states or 0) >> state & 1:
                return step.outcome
        elif step.test(ctx):
            return step.outcome
    return rule.fallback


def _first_failure(
    compiled: CompiledPlan,
    get: Any,
    bad_dx: str | None,
    bad_px: str | None,
    sex: int | None,
    age: int | None,
    n_dx: int,
) -> GroupResult:
    """The result of the first failing input check in plan order.

    Only called when some check fails; a plan lists every check (see ``load_plan``).
    """
    plan = compiled.plan
    newborn = plan.newborn_max_age_days
    for check in compiled.check_order:
        value: Any = None
        if check == "dx_codes_mapped":
            failed, value = bad_dx is not None, bad_dx
        elif check == "proc_codes_mapped":
            failed, value = bad_px is not None, bad_px
        elif check == "sex_valid":
            failed, value = sex is None, get("sex")
        elif check == "age_years_present":
            failed, value = age is None, get("age_years")
        elif check == "age_days_present_if_age_0":
            failed = age == 0 and as_int(get("age_days")) is None
        elif check == "birth_weight_present_if_newborn":
            days = as_int(get("age_days"))
            failed = (
                age == 0
                and days is not None
                and days <= newborn
                and as_int(get("birth_weight_g")) is None
            )
        elif check.endswith("_present") and check != "age_years_present":
            value = get(check.removesuffix("_present"))  # los_days / icu_hours
            failed = as_int(value) is None
        else:  # dx_list_not_empty
            failed = n_dx == 0
        if failed:
            mdc, adrg, drg = plan.failure_codes
            status = _CHECK_STATUS.get(check, CHECK_FAILED)
            msg = check_message(check, value=value, newborn_days=newborn)
            return GroupResult(status, mdc, adrg, drg, None, msg)
    raise AssertionError("no input check failed")  # pragma: no cover
