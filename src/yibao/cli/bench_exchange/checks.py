"""The database read after the run: double settlements and settlements that disagree
with their fee lines, visit or postings; settlements answered but not stored."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from yibao.cli.bench_exchange.model import FEN


# long: the consistency checks read as one list of queries
def check_database(
    url: str, hospital_ids: list[int], since: datetime, acknowledged: list[str]
) -> dict[str, int]:
    """What the database says about the settlements made since ``since``."""
    from sqlalchemy import and_, func, select

    from yibao.db.scoping import SYSTEM_SCOPE, set_scope
    from yibao.db.session import make_engine, session_factory
    from yibao.exchange.models import Fee, Settlement, Visit
    from yibao.insured.models import InsuredPosting

    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            set_scope(s, SYSTEM_SCOPE)
            recent = and_(Settlement.hospital_id.in_(hospital_ids), Settlement.setl_time >= since)
            made = s.scalar(select(func.count()).where(recent)) or 0
            live = (
                select(Settlement.visit_id, func.count().label("n"))
                .where(recent, Settlement.state == "settled", Settlement.kind == "ipt")
                .group_by(Settlement.visit_id)
                .subquery()
            )
            twice = s.scalar(select(func.coalesce(func.sum(live.c.n - 1), 0)).where(live.c.n > 1))
            sums = (
                select(Fee.settlement_id, func.sum(Fee.det_item_fee_sumamt).label("amount"))
                .where(Fee.state == "settled")
                .group_by(Fee.settlement_id)
                .subquery()
            )
            amounts = s.execute(
                select(Settlement.medfee_sumamt, sums.c.amount)
                .outerjoin(sums, sums.c.settlement_id == Settlement.id)
                .where(recent, Settlement.state == "settled")
            ).all()
            # compared here: SQLite sums money as floating point
            lines_off = sum(
                1
                for total, amount in amounts
                if amount is None or Decimal(str(amount)).quantize(FEN) != Decimal(total)
            )
            stale_lines = s.scalar(
                select(func.count())
                .select_from(Fee)
                .join(Settlement, Settlement.id == Fee.settlement_id)
                .where(recent, Settlement.state != "settled")
            )
            visit_off = s.scalar(
                select(func.count())
                .select_from(Settlement)
                .join(Visit, Visit.id == Settlement.visit_id)
                .where(recent, Settlement.state == "settled", Visit.state != "settled")
            )
            posted = (
                select(InsuredPosting.ref, InsuredPosting.kind, func.count().label("n"))
                .group_by(InsuredPosting.ref, InsuredPosting.kind)
                .subquery()
            )
            unposted = s.scalar(
                select(func.count())
                .select_from(Settlement)
                .outerjoin(
                    posted, and_(posted.c.ref == Settlement.setl_id, posted.c.kind == "settle")
                )
                .where(recent, posted.c.n.is_(None))
            )
            unreversed = s.scalar(
                select(func.count())
                .select_from(Settlement)
                .outerjoin(
                    posted, and_(posted.c.ref == Settlement.setl_id, posted.c.kind == "reverse")
                )
                .where(recent, Settlement.state == "reversed", posted.c.n.is_(None))
            )
            stored: set[str] = set()
            for k in range(0, len(acknowledged), 1000):
                chunk = acknowledged[k : k + 1000]
                stored.update(
                    s.scalars(select(Settlement.setl_id).where(Settlement.setl_id.in_(chunk)))
                )
    finally:
        engine.dispose()
    return {
        "stored": int(made),
        "twice_live": int(twice or 0),
        "lines_disagree": int(lines_off or 0),
        "stale_lines": int(stale_lines or 0),
        "visit_disagrees": int(visit_off or 0),
        "unposted": int(unposted or 0),
        "reversal_unposted": int(unreversed or 0),
        "lost": len(set(acknowledged) - stored),
    }
