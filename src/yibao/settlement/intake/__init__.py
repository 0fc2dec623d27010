"""Settlement-list intake: parse + QC → screen → store (versions kept) → group → price.

One call handles a batch in the caller's transaction.  A bad list never stops the
batch: it is stored with its findings (held, state ``qc_failed``) or refused with a
reason (another hospital's list, a list already in a confirmed settlement).  The CPU
half is :mod:`~yibao.settlement.intake.prepare` (no database, may run in a worker
process); the database half screens the lists against those stored
(:mod:`~yibao.settlement.intake.screen`), writes them
(:mod:`~yibao.settlement.intake.store`) and groups and prices their cases
(:mod:`~yibao.settlement.intake.pricing`).
"""

from __future__ import annotations

from yibao.settlement.intake.prepare import PreparedBatch, prepare_lists
from yibao.settlement.intake.pricing import CASE_COLUMNS, EMPTY_STANDARDS, GROUPED_SCHEMA, TERMS
from yibao.settlement.intake.screen import (
    LOCKED_STATES,
    REPLACEABLE_STATES,
    TEMPLATE_SAMPLE_ID,
    TEMPLATE_SAMPLE_PREFIX,
    ListOutcome,
    screen_lists,
)
from yibao.settlement.intake.store import (
    ListRow,
    do_intake_lists,
    store_prepared,
)
from yibao.settlement.intake.twins import DUPLICATE_RULE

__all__ = [
    "CASE_COLUMNS",
    "DUPLICATE_RULE",
    "EMPTY_STANDARDS",
    "GROUPED_SCHEMA",
    "LOCKED_STATES",
    "REPLACEABLE_STATES",
    "TEMPLATE_SAMPLE_ID",
    "TEMPLATE_SAMPLE_PREFIX",
    "TERMS",
    "ListOutcome",
    "ListRow",
    "PreparedBatch",
    "do_intake_lists",
    "prepare_lists",
    "screen_lists",
    "store_prepared",
]
