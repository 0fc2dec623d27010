"""What the settlement APIs answer (and, for the 4101A intake, what it takes): the
contract HIS vendors and bureau integrators code against (issue 11 item 3).

Amounts are strings of yuan with two decimals ("12000.00"), never floats; times are
ISO 8601 strings (UTC).  One module per API: :mod:`.lists` (intake, lists),
:mod:`.review` (review queue, decisions, adjustments, history), :mod:`.periods`
(periods, confirmation, closing), :mod:`.special` (special cases, appeals) and
:mod:`.statements` (monthly statements, year-end clearing).
"""

from __future__ import annotations

from yibao.settlement.schemas.lists import (
    FindingOut,
    IntakeOut,
    ListDetailOut,
    ListOut,
    ListOutcomeOut,
    ListPage,
    PricingOut,
)
from yibao.settlement.schemas.periods import (
    ConfirmationOut,
    ConfirmationPage,
    ConfirmBatchOut,
    ConfirmJobOut,
    PeriodClosedOut,
    PeriodCloseOut,
    PeriodListOut,
    PeriodOut,
    PeriodSummaryOut,
)
from yibao.settlement.schemas.review import (
    AdjustmentOut,
    AdjustmentSummaryOut,
    BulkApproveOut,
    BulkResultOut,
    ConfirmationRecordOut,
    DecisionOut,
    HistoryEventOut,
    HistoryOut,
    QueueItemOut,
    ReasonOut,
    ReviewQueueOut,
    WaitingAdjustmentOut,
    WaitingAdjustmentsOut,
)
from yibao.settlement.schemas.special import (
    AppealOut,
    AppealPage,
    AttachmentOut,
    SpecialCaseOut,
    SpecialCasePage,
    SpecialDecisionOut,
)
from yibao.settlement.schemas.statements import (
    ClearingHospitalOut,
    ClearingOut,
    ClearingTotalsOut,
    StatementCaseOut,
    StatementOut,
    StatementRowOut,
    StatementsOut,
)

__all__ = [
    "AdjustmentOut",
    "AdjustmentSummaryOut",
    "AppealOut",
    "AppealPage",
    "AttachmentOut",
    "BulkApproveOut",
    "BulkResultOut",
    "ClearingHospitalOut",
    "ClearingOut",
    "ClearingTotalsOut",
    "ConfirmBatchOut",
    "ConfirmJobOut",
    "ConfirmationOut",
    "ConfirmationPage",
    "ConfirmationRecordOut",
    "DecisionOut",
    "FindingOut",
    "HistoryEventOut",
    "HistoryOut",
    "IntakeOut",
    "ListDetailOut",
    "ListOut",
    "ListOutcomeOut",
    "ListPage",
    "PeriodCloseOut",
    "PeriodClosedOut",
    "PeriodListOut",
    "PeriodOut",
    "PeriodSummaryOut",
    "PricingOut",
    "QueueItemOut",
    "ReasonOut",
    "ReviewQueueOut",
    "SpecialCaseOut",
    "SpecialCasePage",
    "SpecialDecisionOut",
    "StatementCaseOut",
    "StatementOut",
    "StatementRowOut",
    "StatementsOut",
    "WaitingAdjustmentOut",
    "WaitingAdjustmentsOut",
]
