"""One deduction per fee line (ADR 0041).

Several rules may flag the same fee line of the same visit; each finding claims the
line's violation amount.  A fee line is identified by (``hospital_code``,
``mdtrt_id``, ``rx_id``) of a rule finding's violating lines (``vola_item_type`` 1;
the involved lines carry no amount).  Over all findings the line is deducted at most
its **cap**: the largest amount any finding with a final upheld decision claimed on it
(overlapping wrong portions cannot be told apart, so the largest — in the hospital's
favour).  A finding finalised at an amount A spreads A over its lines (claim × A ÷ the
finding's amount, rounded down to the fen, the fen left by largest remainder, no line
above its claim: :func:`shares`) and
each share is cut to the line's room: the cap minus what the stored deductions of the
visit already took on it (:attr:`SettlementAuditDeduction.lines`).

DRG detector findings are not capped: their lines are settlements, not fee lines, and
their amounts measure different money (the whole stay, the outpatient spending around
it, the self-pay excess).

The room is computed under a lock of the visit's findings (``SELECT … FOR UPDATE``
ordered by id), taken at the start of a step before the finding itself, so that two
decisions on one visit are serialised and never both take the full room.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from yibao.settlement.models import SettlementAuditDeduction
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.states import State

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
VIOLATING = 1
#: findings whose claims stand: upheld at a final decision (with an amount above zero)
STANDING = frozenset({State.UPHELD.value, State.DEDUCTED.value, State.COVERED.value})

Visit = tuple[str, str]  # (hospital_code, mdtrt_id)


def claims(lines: Iterable[Mapping[str, Any]] | None) -> dict[str, Decimal]:
    """rx_id → the amount a finding claims on that fee line (its violating lines with an
    amount above zero, in their order; an rx_id listed twice is summed)."""
    out: dict[str, Decimal] = {}
    for x in lines or []:
        if int(x.get("vola_item_type") or 0) != VIOLATING:
            continue
        amount = Decimal(str(x.get("vola_amt") or 0)).quantize(CENT)
        if amount > 0:
            rx = str(x["rx_id"])
            out[rx] = out.get(rx, ZERO) + amount
    return out


def visit_of(source: str, hospital_code: str, mdtrt_id: str, lines: Any) -> Visit | None:
    """The visit whose fee lines a finding claims, or None when it is not capped (a
    detector finding, no visit, no violating line with an amount)."""
    if source != "rule" or not mdtrt_id or not claims(lines):
        return None
    return hospital_code, mdtrt_id


def shares(amount: Decimal, claimed: Mapping[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    """Each line's share of ``amount``: claim × amount ÷ ``total`` rounded down to the
    fen and never above the line's claim, then the fen left over handed out in order of
    the largest remainders (one fen each first), each line up to its claim.  The shares
    sum to ``amount`` whenever it is within the claims' sum (a decision is at most the
    finding's amount); never more than a line claims."""
    items = list(claimed.items())
    if not items:
        return {}
    base = total if total > 0 else sum(claimed.values(), ZERO)
    out: dict[str, Decimal] = {}
    remainders: list[tuple[Decimal, int]] = []
    for i, (rx, claim) in enumerate(items):
        exact = claim * amount / base if base > 0 else ZERO
        out[rx] = max(ZERO, min(exact.quantize(CENT, ROUND_DOWN), claim))
        remainders.append((exact - out[rx], i))
    left = amount - sum(out.values(), ZERO)
    order = [i for _, i in sorted(remainders, key=lambda r: (-r[0], r[1]))]
    for step in (CENT, None):  # a fen each by largest remainder, then whatever room
        for i in order:
            rx, claim = items[i]
            give = min(claim - out[rx], left) if step is None else min(step, claim - out[rx], left)
            if give > 0:
                out[rx] += give
                left -= give
    return out


def lock_rows(session: Session, ids: Iterable[int], visits: Iterable[Visit]) -> list[Finding]:
    """Lock the findings ``ids`` and every finding of ``visits`` in one statement ordered
    by id (every step locks in id order: no deadlock), read afresh."""
    wanted, keys = sorted(set(ids)), sorted(set(visits))
    where: list[ColumnElement[bool]] = [Finding.id.in_(wanted)] if wanted else []
    if keys:
        codes = sorted({h for h, _ in keys})
        mdtrts = sorted({m for _, m in keys})  # a superset of the visits: fine for a lock
        where.append(and_(Finding.hospital_code.in_(codes), Finding.mdtrt_id.in_(mdtrts)))
    if not where:
        return []
    stmt = (
        select(Finding)
        .where(or_(*where))
        .order_by(Finding.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


@dataclass(slots=True)
class Take:
    """What a finding's deduction takes: the amount, per line, and what earlier
    findings already took on the same lines (finding id → amount)."""

    amount: Decimal
    lines: list[dict[str, str]] = field(default_factory=list)
    earlier: dict[int, Decimal] = field(default_factory=dict)
    #: the finding's lines' claims summed (None: no fee lines, nothing capped)
    claimed: Decimal | None = None

    def words(self) -> str:
        """Why less is taken than decided: 同一费用明细已由疑点 19 扣款 947.02 元，不重复
        扣款 (the first five named), or the lines' own violation amounts."""
        if not self.earlier:
            return f"费用明细的违规金额合计 {self.claimed} 元，每条明细至多扣其违规金额"
        named = [f"疑点 {i} 扣款 {a} 元" for i, a in sorted(self.earlier.items())[:5]]
        more = "等" if len(self.earlier) > 5 else ""
        return f"同一费用明细已由{'、'.join(named)}{more}，不重复扣款"


def take(session: Session, finding: Finding, amount: Decimal) -> Take:
    """What deducting ``amount`` for ``finding`` may take (module docstring); the
    caller holds the lock of the visit (:func:`lock_rows`)."""
    visit = visit_of(finding.source, finding.hospital_code, finding.mdtrt_id, finding.lines)
    if visit is None:
        return Take(amount)
    claimed = claims(finding.lines)
    rows = session.scalars(
        select(Finding).where(
            Finding.hospital_code == visit[0],
            Finding.mdtrt_id == visit[1],
            Finding.source == "rule",
        )
    ).all()
    cap = dict(claimed)
    for row in rows:
        if row.state in STANDING and (row.final_amount or ZERO) > 0:
            for rx, claim in claims(row.lines).items():
                if rx in cap:
                    cap[rx] = max(cap[rx], claim)
    taken = dict.fromkeys(claimed, ZERO)
    earlier: dict[int, Decimal] = {}
    others = [r.id for r in rows if r.id != finding.id]
    for finding_id, stored in session.execute(
        select(SettlementAuditDeduction.finding_id, SettlementAuditDeduction.lines).where(
            SettlementAuditDeduction.finding_id.in_(others)
        )
    ):
        for x in stored or []:
            rx, part = str(x["rx_id"]), Decimal(str(x["amount"]))
            if rx in taken and part > 0:
                taken[rx] += part
                earlier[finding_id] = earlier.get(finding_id, ZERO) + part
    got = {
        rx: max(ZERO, min(share, cap[rx] - taken[rx]))
        for rx, share in shares(amount, claimed, finding.vola_amt).items()
    }
    return Take(
        sum(got.values(), ZERO),
        [{"rx_id": rx, "amount": str(a)} for rx, a in got.items()],
        earlier,
        sum(claimed.values(), ZERO),
    )
