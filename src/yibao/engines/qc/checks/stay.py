"""Stay primitives: times inside the stay, time order, LOS, ages, newborns, transfers."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import field_validator, model_validator

from yibao.engines.qc.checks.base import (
    CheckFn,
    FieldRef,
    Params,
    PlanView,
    Primitive,
    Reporter,
    check_same_node,
    check_setl_only,
    setl_time,
    stay,
)
from yibao.engines.qc.findings import Finding
from yibao.engines.qc.intake import ParsedList
from yibao.engines.qc.schema import FIELD_KINDS, SettlementList, label, parse_ref, path_of
from yibao.engines.qc.values import (
    fmt_dt,
    is_bare_date,
    show,
    to_date,
    to_datetime,
    to_decimal,
    to_duration,
    to_int,
)
from yibao.kit.timeutil import local, utcnow


def _is_time(ref: str) -> bool:
    node, name = parse_ref(ref)
    return FIELD_KINDS[node][name] in ("date", "datetime")


def _times_only(value: tuple[str, ...]) -> tuple[str, ...]:
    for ref in value:
        if not _is_time(ref):
            raise ValueError(f"{ref} 不是日期或日期时间字段")
    return value


def _read(node: str, name: str, text: str | None) -> datetime | date | None:
    if FIELD_KINDS[node][name] == "date":
        return to_date(text)
    return to_datetime(text)


def _before(a: datetime | date, b: datetime | date, by_date: bool = False) -> bool:
    """a < b, comparing dates when either side is a bare date (or ``by_date``: a
    date-time field written as a date only, which stands for the whole day)."""
    if isinstance(a, datetime) and isinstance(b, datetime) and not by_date:
        return a < b
    day_a = a.date() if isinstance(a, datetime) else a
    day_b = b.date() if isinstance(b, datetime) else b
    return day_a < day_b


# --- within_stay -------------------------------------------------------------------


class WithinStayParams(Params):
    """Each time in ``fields`` lies in [adm_time − tolerance, dscg_time + tolerance]
    (dates: in [admission date, discharge date])."""

    fields: tuple[FieldRef, ...]
    tolerance_minutes: int = 0

    @field_validator("fields")
    @classmethod
    def _times(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _times_only(value)


def _within_stay(params: WithinStayParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    by_node: dict[str, list[tuple[str, bool]]] = {}
    for ref in params.fields:
        node, name = parse_ref(ref)
        by_node.setdefault(node, []).append((name, FIELD_KINDS[node][name] == "date"))
    setl = by_node.pop("setlinfo", [])
    slack = timedelta(minutes=params.tolerance_minutes)

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        adm, dscg = stay(p, msg)
        if adm is None or dscg is None or dscg < adm:
            return
        lo, hi = adm - slack, dscg + slack
        first, last = adm.date(), dscg.date()
        for name, is_date in setl:
            when = setl_time(p, msg, name)
            if when is not None and not _inside(when, is_date, lo, hi, first, last):
                _outside(rep, p, out, "setlinfo", None, name, adm, dscg)
        for node, fields in by_node.items():
            for i, item in enumerate(getattr(msg, node)):
                for name, is_date in fields:
                    text = getattr(item, name)
                    if text is None:
                        continue
                    by_day = is_date or is_bare_date(text)
                    when = to_date(text) if by_day else to_datetime(text)
                    if when is not None and not _inside(when, by_day, lo, hi, first, last):
                        _outside(rep, p, out, node, i, name, adm, dscg)

    return check


def _inside(
    when: datetime | date, is_date: bool, lo: datetime, hi: datetime, first: date, last: date
) -> bool:
    if is_date or not isinstance(when, datetime):
        day = when.date() if isinstance(when, datetime) else when
        return first <= day <= last
    return lo <= when <= hi


def _outside(
    rep: Reporter,
    p: ParsedList,
    out: list[Finding],
    node: str,
    i: int | None,
    name: str,
    adm: datetime,
    dscg: datetime,
) -> None:
    msg = p.message
    if msg is None:
        return
    item = msg.setlinfo if i is None else getattr(msg, node)[i]
    problem = f"不在住院期间 [{fmt_dt(adm)}, {fmt_dt(dscg)}] 内"
    rep.emit(p, out, path_of(node, i, name), label(node, name), getattr(item, name), problem)


# --- time_order --------------------------------------------------------------------


class TimeOrderParams(Params):
    """For each pair (earlier, later) in the same node: later ≥ earlier."""

    pairs: tuple[tuple[FieldRef, FieldRef], ...]

    @model_validator(mode="after")
    def _pairs(self) -> TimeOrderParams:
        for a, b in self.pairs:
            check_same_node(a, b)
            _times_only((a, b))
        return self


def _time_order(params: TimeOrderParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    pairs = [(*parse_ref(a), parse_ref(b)[1]) for a, b in params.pairs]
    setl = [(a, b) for node, a, b in pairs if node == "setlinfo"]
    items = [(node, a, b) for node, a, b in pairs if node != "setlinfo"]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for first, second in setl:
            a, b = setl_time(p, msg, first), setl_time(p, msg, second)
            by_day = _by_day(msg.setlinfo, first, second)
            if a is not None and b is not None and _before(b, a, by_day):
                _report_order(rep, p, out, msg.setlinfo, "setlinfo", None, first, second)
        for node, first, second in items:
            for i, item in enumerate(getattr(msg, node)):
                text_a, text_b = getattr(item, first), getattr(item, second)
                if text_a is None or text_b is None:
                    continue
                a, b = _read(node, first, text_a), _read(node, second, text_b)
                by_day = is_bare_date(text_a) or is_bare_date(text_b)
                if a is not None and b is not None and _before(b, a, by_day):
                    _report_order(rep, p, out, item, node, i, first, second)

    return check


def _by_day(item: object, first: str, second: str) -> bool:
    """Compare by date: one of the two values is written as a date only."""
    return is_bare_date(getattr(item, first)) or is_bare_date(getattr(item, second))


def _report_order(
    rep: Reporter,
    p: ParsedList,
    out: list[Finding],
    item: object,
    node: str,
    i: int | None,
    first: str,
    second: str,
) -> None:
    text_a = getattr(item, first)
    problem = f"早于{label(node, first)} {path_of(node, i, first)} = {show(text_a)}"
    rep.emit(p, out, path_of(node, i, second), label(node, second), getattr(item, second), problem)


# --- los ---------------------------------------------------------------------------


class LosParams(Params):
    """act_ipt_days = discharge date − admission date (a same-day stay counts as
    ``same_day_days``), within ``tolerance_days``; with ``up_to_days`` only a
    difference of at most that many days is this rule's (a larger one another's)."""

    tolerance_days: int = 0
    same_day_days: int = 1
    up_to_days: int | None = None


def _los(params: LosParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    tol, same_day, up_to = params.tolerance_days, params.same_day_days, params.up_to_days

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        text = msg.setlinfo.act_ipt_days
        days = to_int(text)
        adm, dscg = stay(p, msg)
        if days is None or adm is None or dscg is None or dscg < adm:
            return
        expected = max((dscg.date() - adm.date()).days, same_day)
        off = abs(days - expected)
        if off > tol and (up_to is None or off <= up_to):
            problem = (
                f"与出入院日期计算的 {expected} 天不符"
                f"（出院日期 − 入院日期，当日出入院计 {same_day} 天）"
            )
            rep.emit(
                p, out, "setlinfo.act_ipt_days", label("setlinfo", "act_ipt_days"), text, problem
            )

    return check


# --- not after today ------------------------------------------------------------------


class NotAfterTodayParams(Params):
    """The days of ``fields`` (``setlinfo`` times) are not after the day the list is
    read (business time): a stay that has not ended is not settled, and a year or
    month typed wrong (2027 for 2026) is caught before it waits in a future period."""

    fields: tuple[FieldRef, ...] = ("setlinfo.dscg_time",)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ref in value:
            if parse_ref(ref)[0] != "setlinfo":
                raise ValueError(f"{ref} 不是 setlinfo 的字段")
        return _times_only(value)


def _not_after_today(params: NotAfterTodayParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    names = [parse_ref(ref)[1] for ref in params.fields]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        today = local(utcnow()).date()
        for name in names:
            value = setl_time(p, msg, name)
            day = value.date() if isinstance(value, datetime) else value
            if day is not None and day > today:
                problem = f"晚于今天（{today.isoformat()}）"
                text = getattr(msg.setlinfo, name)
                rep.emit(p, out, f"setlinfo.{name}", label("setlinfo", name), text, problem)

    return check


# --- age ---------------------------------------------------------------------------


class AgeParams(Params):
    """1 岁及以上填 age（岁）；不足 1 岁填 nwb_age（天）；both consistent with brdy at admission."""

    max_age_years: int = 150
    max_nwb_age_days: int = 365
    age_tolerance_years: int = 1
    nwb_age_tolerance_days: int = 1


def _completed_years(birth: date, at: date) -> int:
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def _age(params: AgeParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        s = msg.setlinfo
        age, nwb = to_decimal(s.age), to_int(s.nwb_age)
        if s.age is None and s.nwb_age is None:
            problem = "未填写（1 周岁及以上填年龄（岁），不足 1 周岁填 nwb_age 天龄）"
            rep.emit(p, out, "setlinfo.age", label("setlinfo", "age"), None, problem)
            return
        infant = age is not None and age < 1
        if infant and s.nwb_age is None:
            problem = f"未填写（年龄 setlinfo.age = {show(s.age)} 不足 1 周岁时必填天龄）"
            rep.emit(p, out, "setlinfo.nwb_age", label("setlinfo", "nwb_age"), None, problem)
        if age is not None and age > params.max_age_years:
            problem = f"超过 {params.max_age_years} 岁"
            rep.emit(p, out, "setlinfo.age", label("setlinfo", "age"), s.age, problem)
        if nwb is not None and (age is None or infant) and nwb > params.max_nwb_age_days:
            problem = f"超过 {params.max_nwb_age_days} 天（满 1 周岁应填年龄）"
            rep.emit(p, out, "setlinfo.nwb_age", label("setlinfo", "nwb_age"), s.nwb_age, problem)
        _against_birth(params, rep, p, msg, out)

    return check


def _against_birth(
    params: AgeParams, rep: Reporter, p: ParsedList, msg: SettlementList, out: list[Finding]
) -> None:
    """Ages against the birth date and the admission date."""
    s = msg.setlinfo
    birth, (adm, dscg) = setl_time(p, msg, "brdy"), stay(p, msg)
    if not isinstance(birth, date) or adm is None or birth > adm.date():
        return
    if isinstance(birth, datetime):
        birth = birth.date()
    age, nwb = to_decimal(s.age), to_int(s.nwb_age)
    basis = f"按出生日期 {birth.isoformat()} 与入院日期 {adm.date().isoformat()} 计算"
    if age is not None and age >= 1:
        years = _completed_years(birth, adm.date())
        # the tolerance is for an age reckoned at discharge; a patient not 1 year old
        # even at discharge is an infant, whose age is given in days (nwb_age)
        infant = _completed_years(birth, (dscg or adm).date()) == 0
        if infant or abs(int(age) - years) > params.age_tolerance_years:
            problem = f"与{basis}的 {years} 岁不符"
            if infant:
                problem += f"（出生 {(adm.date() - birth).days} 天，不满 1 周岁应填年龄 0 和天龄）"
            rep.emit(p, out, "setlinfo.age", label("setlinfo", "age"), s.age, problem)
    elif nwb is not None:
        days = (adm.date() - birth).days
        if abs(nwb - days) > params.nwb_age_tolerance_days:
            problem = f"与{basis}的 {days} 天不符"
            rep.emit(p, out, "setlinfo.nwb_age", label("setlinfo", "nwb_age"), s.nwb_age, problem)


# --- newborn_weight_required -------------------------------------------------------


class NewbornWeightParams(Params):
    """A newborn (age < 1 and nwb_age ≤ max_age_days; ``None`` = the plan's
    ``newborn_max_age_days``) needs one of ``fields``."""

    max_age_days: int | None = None
    fields: tuple[FieldRef, ...] = ("setlinfo.nwb_bir_wt", "setlinfo.mul_nwb_bir_wt")

    @field_validator("fields")
    @classmethod
    def _setl(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_setl_only(value, "fields")
        if not value:
            raise ValueError("fields 不能为空")
        return value


def _newborn_weight(params: NewbornWeightParams, rep: Reporter, plan: PlanView) -> CheckFn:
    limit = plan.newborn_max_age_days if params.max_age_days is None else params.max_age_days
    names = [parse_ref(ref)[1] for ref in params.fields]
    first = names[0]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        s = msg.setlinfo
        age, nwb = to_decimal(s.age), to_int(s.nwb_age)
        if nwb is None or nwb > limit or (age is not None and age >= 1):
            return
        if all(getattr(s, n) is None for n in names):
            problem = f"未填写（新生儿天龄 {nwb} 天 ≤ {limit} 天，须填写出生体重）"
            rep.emit(p, out, "setlinfo." + first, label("setlinfo", first), None, problem)

    return check


# --- receiving_institution ---------------------------------------------------------


class ReceivingParams(Params):
    """When dscg_way is one of ``ways`` (转院 / 转社区), ``fields`` should be filled."""

    ways: tuple[str, ...] = ("2", "3")
    fields: tuple[FieldRef, ...] = ("setlinfo.acp_medins_name", "setlinfo.acp_optins_code")

    @field_validator("fields")
    @classmethod
    def _setl(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_setl_only(value, "fields")
        return value


def _receiving(params: ReceivingParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    ways = frozenset(params.ways)
    names = [parse_ref(ref)[1] for ref in params.fields]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        s = msg.setlinfo
        if s.dscg_way not in ways:
            return
        for name in names:
            if getattr(s, name) is None:
                problem = (
                    f"未填写（离院方式 setlinfo.dscg_way = '{s.dscg_way}' 时应填写拟接收机构）"
                )
                rep.emit(p, out, "setlinfo." + name, label("setlinfo", name), None, problem)

    return check


# --- icu_duration ------------------------------------------------------------------


class IcuDurationParams(Params):
    """scs_cutd_sum_dura within ``tolerance_minutes`` of exit − entry."""

    tolerance_minutes: int = 60


def _icu_duration(params: IcuDurationParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    tol = params.tolerance_minutes

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for i, icu in enumerate(msg.icuinfo):
            parts = to_duration(icu.scs_cutd_sum_dura)
            start = to_datetime(icu.scs_cutd_inpool_time)
            end = to_datetime(icu.scs_cutd_exit_time)
            if parts is None or start is None or end is None or end < start:
                continue
            actual = int((end - start).total_seconds() // 60)
            given = parts[0] * 1440 + parts[1] * 60 + parts[2]
            if abs(actual - given) > tol:
                d, rest = divmod(actual, 1440)
                problem = f"与进出时间之差 {d}/{rest // 60}/{rest % 60} 相差超过 {tol} 分钟"
                where = path_of("icuinfo", i, "scs_cutd_sum_dura")
                value = icu.scs_cutd_sum_dura
                rep.emit(p, out, where, label("icuinfo", "scs_cutd_sum_dura"), value, problem)

    return check


PRIMITIVES = (
    Primitive("within_stay", "时间在住院期间内", WithinStayParams, _within_stay),
    Primitive("time_order", "时间先后", TimeOrderParams, _time_order),
    Primitive("los", "实际住院天数", LosParams, _los),
    Primitive("not_after_today", "不晚于当天", NotAfterTodayParams, _not_after_today),
    Primitive("age", "年龄与天龄", AgeParams, _age),
    Primitive(
        "newborn_weight_required", "新生儿出生体重必填", NewbornWeightParams, _newborn_weight
    ),
    Primitive("receiving_institution", "转院接收机构", ReceivingParams, _receiving),
    Primitive("icu_duration", "重症监护时长", IcuDurationParams, _icu_duration),
)
