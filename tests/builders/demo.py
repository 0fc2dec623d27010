"""The demo region for tests, seeded once per test process and copied afterwards
(:mod:`tests.builders.snapshot`): seeding thousands of cases takes seconds, copying
them milliseconds."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tests.builders.settlement import plan_registry
from tests.builders.snapshot import cached
from yibao.analysis.refresh import do_refresh
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import CITY, SEED_ACTOR, SeedResult, seed_demo
from yibao.demo.settlement import seed_settlement


def demo_region(
    session: Session, *, seed: int, years: list[int], cases_per_year: int
) -> SeedResult:
    """What ``seed_demo(session, seed=…, years=…, cases_per_year=…)`` and a commit leave
    in the (empty) test database; the session's scope is the system's."""
    set_scope(session, SYSTEM_SCOPE)

    def build(s: Session) -> SeedResult:
        result = seed_demo(s, seed=seed, years=list(years), cases_per_year=cases_per_year)
        s.commit()
        return result

    key = f"demo-{seed}-{'-'.join(map(str, years))}-{cases_per_year}"
    return cached(session, key, build)


def settled_region(session: Session, *, years: list[int], var_dir: Path) -> None:
    """The demo region of seed 7 (400 cases a year) with its settlement workload (40
    lists a month, reviewed and confirmed as the demo does) and the analysis summaries
    refreshed, committed; the session's scope is the system's.  ``var_dir`` is where
    the seed would keep attachments (it keeps none)."""
    set_scope(session, SYSTEM_SCOPE)

    def build(s: Session) -> None:
        registry = plan_registry()
        seed_demo(s, seed=7, years=list(years), cases_per_year=400)
        seed_settlement(
            s, seed=7, years=list(years), registry=registry, var_dir=var_dir, lists_per_month=40
        )
        do_refresh(s, CITY, SEED_ACTOR, registry=registry)
        s.commit()

    cached(session, f"settled-7-{'-'.join(map(str, years))}", build)
