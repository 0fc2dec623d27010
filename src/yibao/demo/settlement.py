"""The demo's settlement workload (演示结算业务), made by the product's own services.

After :func:`yibao.demo.seed.seed_demo`, in the same transaction (nothing commits here):

1. **Payment standards** measured from the demo history as the 测算 pages do: a base run
   (grouping, exclusions, trimming, weights: what the ``measurement.run`` job does) →
   weight plan (approve, publish) → rate plan (level coefficients from the data,
   volume and budget = the newest history year) → standards published from
   1 January of the older settlement month's year.
2. **Settlement lists** for the two most recent full calendar months before today
   (business date, Asia/Shanghai): synthetic 4101A lists of the demo's hospitals
   (:func:`~yibao.engines.qc.bench.synthetic_lists`, kept by discharge month, so every
   date of a message stays as generated), some with an injected error
   (:func:`~yibao.engines.qc.bench.inject_errors`), received by
   :func:`~yibao.settlement.intake.do_intake_lists` like a HIS upload: priced, or held
   by QC with Chinese findings.
3. **The older month** reviewed: one special case (特例单议) applied for by its
   hospital within the quota and approved by the panel, a few lists returned and
   adjusted with reasons, the rest bulk-approved by the reviewer, then confirmed chunk
   by chunk with the confirmation service, so its statements exist.  The adjustments
   are dated on the month's review day (five days after it ended, :func:`review_day`),
   as a bureau reviews a month early in the next: their 15-day appeal window is over
   by now, so they are confirmed (ADR 0008 amendment) and the statement shows them.  **The newer
   month** stays in the reviewer's queue.

Deterministic for a seed and a date.  The settlement months move with the date.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Role
from yibao.accounts.service import actor_of
from yibao.audit.service import Actor, record
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, Scope, get_scope, set_scope
from yibao.demo.seed import CITY, SEED_ACTOR
from yibao.demo.standards import publish_demo_standards
from yibao.engines.grouper import PlanRegistry
from yibao.engines.qc.bench import inject_errors, synthetic_lists
from yibao.engines.synth import Region, make_region
from yibao.kit.money import format_yuan
from yibao.kit.timeutil import BUSINESS_TZ, local, utcnow
from yibao.measurement.models import (
    PaymentStandardItem,
    RatePlanRow,
)
from yibao.settlement import special
from yibao.settlement.confirm import do_confirm_chunk, do_finish_confirmation
from yibao.settlement.confirm import do_start_confirmation as start_confirmation
from yibao.settlement.intake import do_intake_lists
from yibao.settlement.models import (
    CasePricing,
    SettlementAdjustment,
    SettlementList,
    SettlementListEvent,
    SettlementPeriod,
)
from yibao.settlement.review import (
    MAX_BULK,
    ReviewFilter,
    bulk_ids,
    do_adjust_list,
    do_bulk_approve_lists,
    do_return_list,
    parse_period,
    state_label,
)

Message = dict[str, Any]
Step = Callable[[str], None]

#: list ids are numbered from here on ("S" + year + 9 digits), so that they never meet
#: the ids of the history's cases of the same year (numbered from 1)
LIST_NUMBER_OFFSET = 900_000_000
ERROR_SHARE = 0.08
RETURN_REASONS = (
    "主要诊断与病案首页不一致，请核对主要诊断选择后重新上传",
    "手术操作缺少麻醉方式和麻醉医师，请补充手术信息后重新上传",
    "实际住院天数与入出院时间不符，请核实后重新上传",
)
ADJUST_SHARE = Decimal("0.95")
ADJUST_REASON = "核减：部分检查与本次住院诊疗无关（抽查病历），按原支付金额的 95% 结算"
SPECIAL_REASON = "病情危重、多次抢救，住院费用远超本病组支付标准，申请按项目付费"
SPECIAL_NEW_TECH = "开展经备案的医疗新技术，费用明显高于本病组支付标准，申请按项目付费"
SPECIAL_DECISION = "专家组评审通过：费用合理，按项目付费"


def default_lists_per_month(cases_per_year: int) -> int:
    """The demo's lists per settlement month: 1/20 of a history year, 30–2,000."""
    return max(30, min(2_000, cases_per_year // 20))


def settlement_months(today: date) -> tuple[str, str]:
    """(older, newer) ``YYYY-MM``: the two full calendar months before ``today``."""
    index = today.year * 12 + today.month - 1
    older, newer = index - 2, index - 1
    return f"{older // 12:04d}-{older % 12 + 1:02d}", f"{newer // 12:04d}-{newer % 12 + 1:02d}"


@dataclass
class SettlementSeedResult:
    standard_set_id: int
    standards: int
    valid_from: date
    base_rate: str
    older: str
    newer: str
    received: int = 0
    refused: int = 0
    states: dict[str, dict[str, int]] = field(default_factory=dict)  # month → state → lists
    special_setl_id: str | None = None
    returned: int = 0
    adjusted: int = 0
    confirmed: int = 0
    amount_paid: str = "0.00"
    pending: int = 0

    def summary(self) -> str:
        """One Chinese line for the seed output."""

        def states(month: str) -> str:
            counts = self.states.get(month, {})
            return "、".join(f"{state_label(s)} {n:,}" for s, n in sorted(counts.items()))

        special = f"特例单议 {self.special_setl_id}（已批准）、" if self.special_setl_id else ""
        return (
            f"结算演示：支付标准 #{self.standard_set_id}（{self.standards:,} 条，"
            f"{self.valid_from} 起，基础费率 {format_yuan(Decimal(self.base_rate))} 元）；"
            f"结算清单 {self.received:,} 份 —— {self.older}：{states(self.older)}"
            f"（{special}调整 {self.adjusted}、退回 {self.returned}；"
            f"已确认结算，支付 {format_yuan(Decimal(self.amount_paid))} 元）；"
            f"{self.newer}：{states(self.newer)}（待审核）"
        )


# --------------------------------------------------------------------------- standards


# --------------------------------------------------------------------------- lists


def _renumber(message: Message) -> Message:
    """Move the message's settlement and visit ids (and the fields that repeat them)
    by :data:`LIST_NUMBER_OFFSET`."""
    info = message["setlinfo"]
    ids = {}
    for key in ("setl_id", "mdtrt_id"):
        old = info[key]
        ids[old] = f"{old[:5]}{int(old[5:]) + LIST_NUMBER_OFFSET:09d}"
    message["setlinfo"] = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in info.items()}
    return message


def demo_lists(
    registry: PlanRegistry,
    region: Region,
    *,
    seed: int,
    months: list[str],
    per_month: int,
    error_share: float = ERROR_SHARE,
) -> list[Message]:
    """About ``per_month`` synthetic lists discharged in each of ``months`` (a year's
    worth generated, those of the months kept), ``error_share`` of them with an error."""
    by_year: dict[int, set[str]] = {}
    for month in months:
        by_year.setdefault(int(month[:4]), set()).add(month)
    kept: list[Message] = []
    for year, wanted in sorted(by_year.items()):
        plan = registry.for_date(date(year, int(min(wanted)[5:]), 1))
        for message in synthetic_lists(per_month * 12, plan, seed, year, region=region):
            if message["setlinfo"]["dscg_time"][:7] in wanted:
                kept.append(_renumber(message))
    messages, _ = inject_errors(kept, error_share, seed)
    return messages


# --------------------------------------------------------------------------- review


def _user(session: Session, **where: Any) -> User:
    user = session.scalar(select(User).filter_by(**where).order_by(User.id).limit(1))
    if user is None:
        raise ValueError(f"演示账号不存在：{where}")
    return user


def _month_rows(session: Session, ids: list[int]) -> list[Any]:
    """(list id, hospital id, total cost, DRG payment, standard, class) in id order."""
    return list(
        session.execute(
            select(
                SettlementList.id,
                SettlementList.hospital_id,
                Case.total_cost,
                CasePricing.drg_payment,
                CasePricing.payment_standard,
                CasePricing.payment_class,
            )
            .join(Case, Case.id == SettlementList.case_id)
            .join(CasePricing, CasePricing.case_id == SettlementList.case_id)
            .where(SettlementList.id.in_(ids))
            .order_by(SettlementList.id)
        ).all()
    )


def _special_case(
    session: Session, rows: list[Any], reviewer: User, var_dir: Path, older: str
) -> str | None:
    """The hospital applies for its costliest list (against its standard); the panel
    approves payment by items.  Returns the list's settlement id."""
    priced = [r for r in rows if r.payment_standard]
    normal = [r for r in priced if r.payment_class == "normal"]  # paid the standard
    if not priced:
        return None
    top = max(normal or priced, key=lambda r: (r.total_cost / r.payment_standard, -r.id))
    new_tech = top.total_cost < 2 * top.payment_standard  # else the cost criterion holds
    hospital = _user(session, hospital_id=top.hospital_id, role=Role.HOSPITAL_USER)
    rules = special.SpecialRules()
    start, _ = parse_period(older)
    now = local(special.CLOCK()).date()
    # The seed applies today for a month whose window (the month after discharge) may
    # be over: widen the window for this one application so that it is within it.
    needed = (now.year - start.year) * 12 + now.month - start.month
    rules = rules.model_copy(update={"window_months": max(rules.window_months, needed)})
    app = special.do_apply_special_case(
        session,
        top.id,
        reason=SPECIAL_NEW_TECH if new_tech else SPECIAL_REASON,
        new_tech=new_tech,
        files=[],
        user_role=hospital.role,
        actor=actor_of(hospital),
        var_dir=var_dir,
        rules=rules,
    )
    special.do_decide_special_case(
        session,
        app.id,
        approve=True,
        method="items",
        amount=None,
        reason=SPECIAL_DECISION,
        user_role=reviewer.role,
        actor=actor_of(reviewer),
    )
    return app.setl_id


def review_month(
    session: Session, period: str, *, seed: int, var_dir: Path, result: SettlementSeedResult
) -> None:
    """The reviewer's work on ``period``: special case, returns, adjustments, bulk approval."""
    reviewer = _user(session, username="reviewer")
    actor = actor_of(reviewer)
    ids = bulk_ids(session, ReviewFilter(period=period))
    rows = _month_rows(session, ids)
    result.special_setl_id = _special_case(session, rows, reviewer, var_dir, period)
    waiting = set(bulk_ids(session, ReviewFilter(period=period)))  # all but the special case
    rest = [r for r in rows if r.id in waiting]
    rng = random.Random(seed)
    returned = sorted(rng.sample([r.id for r in rest], min(len(RETURN_REASONS), len(rest) // 20)))
    for list_id, reason in zip(returned, RETURN_REASONS, strict=False):
        do_return_list(session, list_id, reason=reason, user_role=reviewer.role, actor=actor)
    normal = [r for r in rest if r.payment_class == "normal" and r.id not in returned]
    adjusted = sorted(rng.sample(normal, min(2, len(normal) // 20)), key=lambda r: r.id)
    for r in adjusted:
        amount = (r.drg_payment * ADJUST_SHARE).quantize(Decimal("0.01"), ROUND_HALF_UP)
        do_adjust_list(
            session,
            r.id,
            reason=ADJUST_REASON,
            drg_payment=amount,
            user_role=reviewer.role,
            actor=actor,
        )
    _on_review_day(session, period, [r.id for r in adjusted])
    result.returned, result.adjusted = len(returned), len(adjusted)
    done = set(returned) | {r.id for r in adjusted}
    approve = [r.id for r in rest if r.id not in done]
    for start in range(0, len(approve), MAX_BULK):
        chunk = approve[start : start + MAX_BULK]
        do_bulk_approve_lists(session, chunk, user_role=reviewer.role, actor=actor)


def review_day(period: str) -> datetime:
    """When the demo's bureau reviewed ``period``: 10:00 five days after it ended."""
    _, end = parse_period(period)
    return datetime.combine(end + timedelta(days=5), time(10), BUSINESS_TZ).astimezone(UTC)


def _on_review_day(session: Session, period: str, list_ids: list[int]) -> None:
    """Date the adjustments of ``list_ids`` (their rows and list events) on the month's
    review day, as the history the demo stands for; never later than now."""
    when = min(review_day(period), utcnow())
    if not list_ids:
        return
    session.flush()
    session.execute(
        update(SettlementListEvent)
        .where(
            SettlementListEvent.list_id.in_(list_ids), SettlementListEvent.to_state == "adjusted"
        )
        .values(created_at=when)
    )
    session.execute(
        update(SettlementAdjustment)
        .where(SettlementAdjustment.list_id.in_(list_ids))
        .values(created_at=when)
    )


def confirm_month(session: Session, region_code: str, period: str, actor: Actor) -> dict[str, Any]:
    """Confirm ``period`` with the confirmation service, all chunks in this transaction
    (the job runs the same functions, one transaction per chunk)."""
    batch = start_confirmation(session, region_code=region_code, period_code=period, actor=actor)
    after = 0
    while True:
        chunk = do_confirm_chunk(
            session, batch.id, actor=actor, after_id=after, limit=batch.chunk_size
        )
        if chunk.count == 0:
            break
        after = chunk.last_id
    return do_finish_confirmation(session, batch.id, actor=actor)


# --------------------------------------------------------------------------- driver


def _periods(session: Session, region_code: str, months: list[str]) -> None:
    """Settlement period rows (open) for the months that have none yet."""
    for month in months:
        exists = session.scalar(
            select(SettlementPeriod.id).where(
                SettlementPeriod.region_code == region_code, SettlementPeriod.code == month
            )
        )
        if exists is None:
            start, end = parse_period(month)
            session.add(
                SettlementPeriod(
                    region_code=region_code,
                    code=month,
                    start_date=start,
                    end_date=end,
                    status="open",
                )
            )
    session.flush()


def list_states(session: Session, months: list[str]) -> dict[str, dict[str, int]]:
    """Lists per discharge month (as sent) and state."""
    rows = session.execute(
        select(SettlementList.discharge_month, SettlementList.state, func.count())
        .where(SettlementList.discharge_month.in_(months))
        .group_by(SettlementList.discharge_month, SettlementList.state)
    ).all()
    out: dict[str, dict[str, int]] = {m: {} for m in months}
    for month, state, n in rows:
        out[str(month)][state] = int(n)
    return out


# long: two months of settlement business replayed in order through the real services
def seed_settlement(
    session: Session,
    *,
    seed: int,
    years: list[int],
    registry: PlanRegistry,
    var_dir: Path,
    lists_per_month: int,
    hospitals: int = 30,
    today: date | None = None,
    step: Step | None = None,
) -> SettlementSeedResult:
    """Standards, two months of lists, the older month reviewed and confirmed, in the
    demo region seeded by :func:`~yibao.demo.seed.seed_demo` with the same ``seed``,
    ``years`` and ``hospitals`` (no commit)."""
    region_code, actor = CITY, SEED_ACTOR
    region = make_region(seed, hospitals=hospitals)
    say = step or (lambda _: None)
    today = today or local(utcnow()).date()
    older, newer = settlement_months(today)
    valid_from = date(int(older[:4]), 1, 1)
    analyst = _user(session, username="analyst")
    say("测算并发布支付标准 / measuring payment standards")
    previous = get_scope(session)
    set_scope(session, Scope(region_code=region_code))  # the analyst's data, as in the CLI
    try:
        standards = publish_demo_standards(
            session,
            registry,
            region_code=region_code,
            years=sorted(years),
            valid_from=valid_from,
            actor=actor_of(analyst),
        )
    finally:
        set_scope(session, previous or SYSTEM_SCOPE)  # no scope: unrestricted, as before
    rate = session.get(RatePlanRow, standards.rate_plan_id)
    items = session.scalar(select(func.count()).where(PaymentStandardItem.set_id == standards.id))
    result = SettlementSeedResult(
        standard_set_id=standards.id,
        standards=int(items or 0),
        valid_from=valid_from,
        base_rate=str(rate.plan.get("base_rate")) if rate else "",
        older=older,
        newer=newer,
    )
    _periods(session, region_code, [older, newer])
    say(f"接收 {older}、{newer} 结算清单 / receiving settlement lists")
    messages = demo_lists(
        registry, region, seed=seed, months=[older, newer], per_month=lists_per_month
    )
    outcomes = do_intake_lists(session, messages, registry=registry, actor=actor, source="api")
    result.received = len(outcomes)
    result.refused = sum(o.state == "refused" for o in outcomes)
    say(f"审核并确认 {older} / reviewing and confirming {older}")
    review_month(session, older, seed=seed, var_dir=var_dir, result=result)
    reviewer = actor_of(_user(session, username="reviewer"))
    report = confirm_month(session, region_code, older, reviewer)
    result.confirmed = int(report["confirmed"])
    result.amount_paid = str(report["amount_paid"])
    result.pending = int((report.get("pending") or {}).get("total", 0))
    result.states = list_states(session, [older, newer])
    record(
        session,
        actor,
        "demo.seed.settlement",
        "region",
        region_code,
        after={
            "standard_set_id": result.standard_set_id,
            "months": [older, newer],
            "lists": result.received,
            "states": result.states,
            "confirmed": result.confirmed,
        },
        region_code=region_code,
    )
    return result


__all__ = [
    "SettlementSeedResult",
    "confirm_month",
    "default_lists_per_month",
    "demo_lists",
    "publish_demo_standards",
    "review_month",
    "seed_settlement",
    "settlement_months",
]
