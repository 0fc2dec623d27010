"""Settlement confirmation of a period (确认结算), one chunk per transaction.

A period is a month of discharge dates in a region (``YYYY-MM``; the lists of
hospitals in the region's subtree).  Confirmation works on a
:class:`SettlementConfirmBatch` created first (:func:`do_start_confirmation`), then
chunk by chunk (:func:`do_confirm_chunk`): each chunk picks lists still in a state
from which the machine allows ``confirm`` (approved, adjusted, …), writes one
:class:`SettlementConfirmation` per list, flips the lists to ``confirmed`` and moves
the batch counters — all in the caller's transaction.  The driver
(:func:`yibao.settlement.tasks.run_confirmation`) commits each chunk on its own, so a
crash leaves every list either confirmed once (the unique ``list_id`` of
confirmations forbids a second row) or still approved, and a re-run resumes the
running batch.  :func:`do_finish_confirmation` marks the batch done, reports the
lists that could not be confirmed (under review, returned, held …) and closes the
period when all its lists are final.  Nothing here commits.

The package: :mod:`.states` (pure rules: which states confirm, close, are done),
:mod:`.repository` (a period's lists, what is left, batches, reports),
:mod:`.service` (start, confirm a chunk, finish) and :mod:`.closing` (closing a
period with open lists).  Every name is re-exported here so callers keep importing
from ``yibao.settlement.confirm``.
"""

from __future__ import annotations

from yibao.settlement.confirm.closing import do_close_period as do_close_period
from yibao.settlement.confirm.repository import PENDING_SAMPLE as PENDING_SAMPLE
from yibao.settlement.confirm.repository import _adjustments as _adjustments
from yibao.settlement.confirm.repository import _candidates as _candidates
from yibao.settlement.confirm.repository import _held_in_period as _held_in_period
from yibao.settlement.confirm.repository import _special_decisions as _special_decisions
from yibao.settlement.confirm.repository import _window as _window
from yibao.settlement.confirm.repository import batch_summary as batch_summary
from yibao.settlement.confirm.repository import in_period as in_period
from yibao.settlement.confirm.repository import lock_batch as lock_batch
from yibao.settlement.confirm.repository import pending_lists as pending_lists
from yibao.settlement.confirm.repository import pending_report as pending_report
from yibao.settlement.confirm.repository import remaining_count as remaining_count
from yibao.settlement.confirm.service import DEFAULT_CHUNK as DEFAULT_CHUNK
from yibao.settlement.confirm.service import MAX_CHUNK as MAX_CHUNK
from yibao.settlement.confirm.service import ZERO as ZERO
from yibao.settlement.confirm.service import ChunkResult as ChunkResult
from yibao.settlement.confirm.service import ConcurrentChange as ConcurrentChange
from yibao.settlement.confirm.service import _check_confirmable as _check_confirmable
from yibao.settlement.confirm.service import _check_region as _check_region
from yibao.settlement.confirm.service import _new_batch as _new_batch
from yibao.settlement.confirm.service import _period_row as _period_row
from yibao.settlement.confirm.service import do_confirm_chunk as do_confirm_chunk
from yibao.settlement.confirm.service import do_finish_confirmation as do_finish_confirmation
from yibao.settlement.confirm.service import do_start_confirmation as do_start_confirmation
from yibao.settlement.confirm.states import CLOSABLE as CLOSABLE
from yibao.settlement.confirm.states import CLOSE_WAYS as CLOSE_WAYS
from yibao.settlement.confirm.states import CONFIRMABLE as CONFIRMABLE
from yibao.settlement.confirm.states import DONE as DONE
from yibao.settlement.confirm.states import FINAL as FINAL
from yibao.settlement.confirm.states import confirm_role as confirm_role
from yibao.settlement.confirm.states import next_period as next_period
from yibao.settlement.confirm.states import running_key as running_key
