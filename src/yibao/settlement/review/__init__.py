"""Bureau review of settlement lists (结算清单审核): queue, approve, return, adjust.

Every move goes through the pure state machine
(:func:`yibao.engines.settlement.states.transition`); an illegal one raises its
:class:`~yibao.engines.settlement.IllegalTransition` (409) before anything is written.
Each step adds a :class:`SettlementListEvent` (the history the hospital reads) and an
audit row in the caller's transaction; nothing here commits.

A decision on a list that is still ``priced`` first takes the machine's
``submit_review`` step (priced → under_review), recorded as its own event, so a
reviewer can approve straight from the queue.

The package: :mod:`.states` (pure rules), :mod:`.schemas` (the queue's filter, bulk
results, periods), :mod:`.repository` (the queue and adjustment queries),
:mod:`.service` (decisions and bulk approval), :mod:`.adjustments` (adjustments and
their second review) and :mod:`.endpoints` (the JSON API, not imported here).  Every
name is re-exported here so callers keep importing from ``yibao.settlement.review``.
"""

from __future__ import annotations

from yibao.settlement.review.adjustments import CENT as CENT
from yibao.settlement.review.adjustments import MAX_AMOUNT as MAX_AMOUNT
from yibao.settlement.review.adjustments import AdjustPolicy as AdjustPolicy
from yibao.settlement.review.adjustments import _adjust_details as _adjust_details
from yibao.settlement.review.adjustments import _check_bounds as _check_bounds
from yibao.settlement.review.adjustments import _lock_adjustment as _lock_adjustment
from yibao.settlement.review.adjustments import _parse_kind as _parse_kind
from yibao.settlement.review.adjustments import do_adjust_list as do_adjust_list
from yibao.settlement.review.adjustments import do_decide_adjustment as do_decide_adjustment
from yibao.settlement.review.adjustments import do_revert_adjustment as do_revert_adjustment
from yibao.settlement.review.adjustments import parse_amount as parse_amount
from yibao.settlement.review.repository import _QUEUE_COLUMNS as _QUEUE_COLUMNS
from yibao.settlement.review.repository import SelectT as SelectT
from yibao.settlement.review.repository import _adjusted_payments as _adjusted_payments
from yibao.settlement.review.repository import _by_setl_id as _by_setl_id
from yibao.settlement.review.repository import _money as _money
from yibao.settlement.review.repository import _queue_count as _queue_count
from yibao.settlement.review.repository import _queue_select as _queue_select
from yibao.settlement.review.repository import adjustment_list_id as adjustment_list_id
from yibao.settlement.review.repository import adjustment_view as adjustment_view
from yibao.settlement.review.repository import bulk_ids as bulk_ids
from yibao.settlement.review.repository import get_list as get_list
from yibao.settlement.review.repository import latest_adjustments as latest_adjustments
from yibao.settlement.review.repository import list_adjustments as list_adjustments
from yibao.settlement.review.repository import lock_list as lock_list
from yibao.settlement.review.repository import pending_adjustment as pending_adjustment
from yibao.settlement.review.repository import pending_adjustments as pending_adjustments
from yibao.settlement.review.repository import review_queue as review_queue
from yibao.settlement.review.repository import waiting_adjustments as waiting_adjustments
from yibao.settlement.review.repricing import adjusted_fund as adjusted_fund
from yibao.settlement.review.repricing import priced_special as priced_special
from yibao.settlement.review.schemas import MAX_BULK as MAX_BULK
from yibao.settlement.review.schemas import BulkResult as BulkResult
from yibao.settlement.review.schemas import ReviewFilter as ReviewFilter
from yibao.settlement.review.schemas import parse_period as parse_period
from yibao.settlement.review.service import _note as _note
from yibao.settlement.review.service import _refuse_if_pending as _refuse_if_pending
from yibao.settlement.review.service import _step as _step
from yibao.settlement.review.service import apply_steps as apply_steps
from yibao.settlement.review.service import do_approve_list as do_approve_list
from yibao.settlement.review.service import do_bulk_approve_lists as do_bulk_approve_lists
from yibao.settlement.review.service import do_return_list as do_return_list
from yibao.settlement.review.service import do_start_review as do_start_review
from yibao.settlement.review.service import do_withdraw_list as do_withdraw_list
from yibao.settlement.review.states import ADJUST_KINDS as ADJUST_KINDS
from yibao.settlement.review.states import ADJUST_STATUS_LABELS as ADJUST_STATUS_LABELS
from yibao.settlement.review.states import ADJUSTED_STATES as ADJUSTED_STATES
from yibao.settlement.review.states import EFFECTIVE as EFFECTIVE
from yibao.settlement.review.states import NOTE_LABELS as NOTE_LABELS
from yibao.settlement.review.states import OVERTURNED as OVERTURNED
from yibao.settlement.review.states import PENDING as PENDING
from yibao.settlement.review.states import QUEUE_STATES as QUEUE_STATES
from yibao.settlement.review.states import REASON_REQUIRED as REASON_REQUIRED
from yibao.settlement.review.states import Step as Step
from yibao.settlement.review.states import action_label as action_label
from yibao.settlement.review.states import clean_reason as clean_reason
from yibao.settlement.review.states import plan_steps as plan_steps
from yibao.settlement.review.states import reason_text as reason_text
from yibao.settlement.review.states import reviewer_role as reviewer_role
from yibao.settlement.review.states import state_label as state_label
