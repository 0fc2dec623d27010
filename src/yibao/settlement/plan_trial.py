"""Trying a local plan on stored cases before it is published (issue 16 item 4).

The stored cases in the user's scope (a year, a hospital) are grouped with the draft
and with its base plan, and both groupings priced, as intake prices a list, with the
DRG payment standards in force today for the case's city (the current standards, so
cases of earlier years are compared on today's prices).  The result says how
many cases change group (and between which DRGs), how payment would change in total
and per change, and how many cases land in a group the standards do not price
(paid at actual cost until standards are measured for it).  Nothing is stored but
the result on the plan's row and an audit row: the trial moves no money.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.benefits.service import policy_set
from yibao.cases.models import Case
from yibao.cases.repository import CaseFilter
from yibao.engines.grouper import PlanRegistry, group_batch
from yibao.grouping.local_plans import local_plan
from yibao.grouping.plans import compiled_plan, plan_info, plan_registry
from yibao.grouping.service import ID_BATCH, stored_case_frames
from yibao.jobs.runner import JobContext, JobOutcome, job_kind
from yibao.kit.errors import NotFound
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital
from yibao.settlement.intake.pricing import CASE_COLUMNS, price_drg

TRIAL_KIND = "grouping.local_plan_trial"
MAX_TRIAL_CASES = 500_000
_TOP = 30


def _case_rows(session: Session, ids: list[int]) -> pl.DataFrame:
    cols = [getattr(Case, c) for c in CASE_COLUMNS]
    rows: list[Any] = []
    for start in range(0, len(ids), ID_BATCH):
        rows.extend(
            session.execute(select(*cols).where(Case.id.in_(ids[start : start + ID_BATCH])))
        )
    frame = pl.DataFrame([tuple(r) for r in rows], schema=list(CASE_COLUMNS), orient="row")
    return frame.with_columns(pl.col("region_code").str.slice(0, 4).alias("city"))


def _payments(
    session: Session,
    cases: pl.DataFrame,
    grouped: pl.DataFrame,
    levels: pl.DataFrame,
    policies: Any,
) -> pl.DataFrame:
    """``id, drg, payment, priced`` of one grouping (payment under the standards in force)."""
    frame = cases.join(grouped.select("id", "plan_id", "status", "drg"), on="id").with_columns(
        pl.lit(None, pl.Int64).alias("scheme_id")
    )
    priced = price_drg(session, frame, levels, policies, standards_on=local(utcnow()).date())
    return priced.select(
        "id",
        pl.col("drg_payment").cast(pl.Decimal(18, 2)).fill_null(0).alias("payment"),
        pl.col("relative_weight").is_not_null().alias("priced"),
    )


class _Tally:
    def __init__(self) -> None:
        self.cases = self.changed = self.no_standard = 0
        self.base = self.draft = Decimal(0)
        self.moves: Counter[tuple[str, str]] = Counter()
        self.move_delta: dict[tuple[str, str], Decimal] = {}

    def add(self, base: pl.DataFrame, draft: pl.DataFrame) -> None:
        both = base.join(draft, on="id", suffix="_new")
        self.cases += both.height
        self.base += Decimal(str(both["payment"].sum() or 0))
        self.draft += Decimal(str(both["payment_new"].sum() or 0))
        moved = both.filter(pl.col("drg") != pl.col("drg_new"))
        # cases moved into a group the standards in force do not price
        self.no_standard += moved.filter(
            ~pl.col("priced_new") & (pl.col("status_new") == "ok")
        ).height
        self.changed += moved.height
        summary = moved.group_by("drg", "drg_new").agg(
            pl.len().alias("n"), (pl.col("payment_new") - pl.col("payment")).sum().alias("d")
        )
        for old, new, n, delta in summary.iter_rows():
            key = (str(old), str(new))
            self.moves[key] += int(n)
            self.move_delta[key] = self.move_delta.get(key, Decimal(0)) + Decimal(str(delta))

    def result(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "changed": self.changed,
            "changed_share": round(self.changed / self.cases, 4) if self.cases else 0,
            "base_payment": str(self.base),
            "draft_payment": str(self.draft),
            "payment_change": str(self.draft - self.base),
            "no_standard": self.no_standard,
            "moves": [
                {"from": a, "to": b, "cases": n, "payment_change": str(self.move_delta[(a, b)])}
                for (a, b), n in self.moves.most_common(_TOP)
            ],
        }


# long: group twice, price twice and tally, one chunk of stored cases at a time
def do_trial_plan(
    session: Session,
    registry: PlanRegistry,
    *,
    plan_id: str,
    flt: CaseFilter,
    actor: Actor,
    progress: Callable[[int], None] | None = None,
    max_cases: int = MAX_TRIAL_CASES,
) -> dict[str, Any]:
    """Group and price the stored cases in scope with the local plan and its base."""
    row = local_plan(session, plan_id)
    if not row.base_plan_id:
        raise NotFound(f"方案 {plan_id} 没有基础方案，无法对比", field="plan_id")
    draft, base = plan_info(registry, plan_id), plan_info(registry, row.base_plan_id)
    plans = {"base": compiled_plan(registry, base), "draft": compiled_plan(registry, draft)}
    levels = pl.DataFrame(
        [tuple(r) for r in session.execute(select(Hospital.code, Hospital.level))],
        schema=["code", "level"],
        orient="row",
    )
    policies = policy_set(session)
    tally = _Tally()
    for frame in stored_case_frames(session, flt):
        frame = frame.head(max_cases - tally.cases)
        cases = _case_rows(session, frame["id"].to_list())
        out = {}
        for key, compiled in plans.items():
            grouped = group_batch(compiled, frame).with_columns(
                pl.lit(compiled.plan.id).alias("plan_id")
            )
            paid = _payments(session, cases, grouped, levels, policies)
            out[key] = grouped.select("id", "status", "drg").join(paid, on="id", how="left")
        tally.add(out["base"], out["draft"])
        if progress:
            progress(tally.cases)
        if tally.cases >= max_cases:
            break
    result = {
        **tally.result(),
        "plan_id": plan_id,
        "base_plan_id": base.id,
        "filter": {"year": flt.year, "hospital": flt.hospital_code},
        "limited": tally.cases >= max_cases,
        "at": utcnow().isoformat(timespec="seconds"),
        "by": actor.name,
    }
    row.trial = result
    summary = {k: result[k] for k in ("cases", "changed", "payment_change", "filter")}
    record(session, actor, "grouping.local_plan_trial", "local_plan", row.id, None, summary)
    return result


@job_kind(TRIAL_KIND, "本地分组方案试算（已存病例）")
def trial_plan_job(ctx: JobContext) -> JobOutcome:
    """Run :func:`do_trial_plan` for the job's plan and filter."""
    p = ctx.params
    result = do_trial_plan(
        ctx.session,
        plan_registry(ctx.settings),
        plan_id=p["plan_id"],
        flt=CaseFilter(year=p.get("year"), hospital_code=p.get("hospital")),
        actor=ctx.actor,
        progress=lambda done: ctx.progress(done, None, f"已试算 {done:,} 例"),
    )
    message = (
        f"试算 {result['cases']:,} 例：{result['changed']:,} 例分组改变，"
        f"支付变化 {Decimal(result['payment_change']):,.2f} 元"
    )
    return JobOutcome(summary=result, message=message)
