"""The gateway as the pages and the read API show it (issue 12 item 10): the journal
of messages with filters and one message's request and response, the real-time
settlements with their reversals, and the reconciliations (3201 / 3202).

Who sees what is the session's data scope (:mod:`yibao.db.scoping`): a bureau user
its region's institutions, a hospital user its own rows only — another hospital's
message or settlement is "not found".  ID numbers (``certno``, ``mdtrt_cert_no`` …)
are masked for roles without ``VIEW_ID_NUMBERS``; a message stored as text (a body
that was no JSON) has every 15–18 digit ID-like run masked as well.  Never commits.
"""

from yibao.exchange.views.common import (
    CHRGITM_LEVELS,
    CROSS_REGION,
    FEE_STATES,
    KINDS,
    RECONCILIATIONS,
    RESULTS,
    SCOPES,
    SETLINFO_AMOUNTS,
    SETLINFO_WORDS,
    SETTLEMENT_STATES,
    VIEW_PERMISSION,
    institutions,
    masked,
    month_code,
    reveals_ids,
    transaction_name,
    transaction_names,
)
from yibao.exchange.views.journal import (
    JournalFilter,
    journal_entry,
    message_id_of,
    search_journal,
)
from yibao.exchange.views.reconciliation import ReconciliationFilter, search_reconciliations
from yibao.exchange.views.settlements import (
    SettlementFilter,
    search_settlements,
    settlement_detail,
)

__all__ = [
    "CHRGITM_LEVELS",
    "CROSS_REGION",
    "FEE_STATES",
    "KINDS",
    "RECONCILIATIONS",
    "RESULTS",
    "SCOPES",
    "SETLINFO_AMOUNTS",
    "SETLINFO_WORDS",
    "SETTLEMENT_STATES",
    "VIEW_PERMISSION",
    "JournalFilter",
    "ReconciliationFilter",
    "SettlementFilter",
    "institutions",
    "journal_entry",
    "masked",
    "message_id_of",
    "month_code",
    "reveals_ids",
    "search_journal",
    "search_reconciliations",
    "search_settlements",
    "settlement_detail",
    "transaction_name",
    "transaction_names",
]
