"""Special cases (特例单议, domain.md §1.6) and appeals (申诉) of settlement lists.

* A hospital applies for one of its ``priced`` / ``under_review`` / ``approved`` lists
  with a reason and optional attachments, until the end of the ``window_months``-th
  month after the discharge month (default 1: an April discharge may be applied for
  until 31 May).  Eligibility and the quota (5 ‰ of the hospital's DRG cases of the
  discharge month, ADR 0006) are the engine's :func:`special_case_quota`, served in
  order of application (``order="applied"``) so an admitted application never loses
  its slot to a later one.  A refusal is a 409 naming the rule and the quota figures.
* A reviewer records the expert panel's decision (the machine's ``expert`` role):
  approve with a payment method — ``items`` (按项目付费: the case's total cost becomes
  the DRG payment) or ``amount`` (a given amount) — or reject with a reason.  The
  approval re-prices the list on the application row; the case pricing is kept.
* A hospital appeals an ``adjusted`` list or a ``special_rejected`` one with a reason
  until ``appeal_days`` (default 15) days after the decision (business date, inclusive).
  A reviewer upholds it (adjusted → approved, paid its pricing again; special → special
  approved with a payment method) or rejects it with a reason.

Every step goes through the state machine (409 before anything is written) and adds a
list event and an audit row in the caller's transaction; nothing here commits.

The package: :mod:`.rules` (limits, deadlines, roles, reasons), :mod:`.repository`
(quota frames, decisions, lists and their views), :mod:`.service` (the four
operations) and :mod:`.endpoints` (the JSON API, not imported here).  :data:`CLOCK`
lives here, the one clock every module reads at call time, so a test replaces it as
``yibao.settlement.special.CLOCK``.  Every name is re-exported here so callers keep
importing from ``yibao.settlement.special``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from yibao.kit.timeutil import utcnow
from yibao.settlement.special.repository import _decision_event as _decision_event
from yibao.settlement.special.repository import _money as _money
from yibao.settlement.special.repository import _page as _page
from yibao.settlement.special.repository import _quota_frames as _quota_frames
from yibao.settlement.special.repository import appeal_out as appeal_out
from yibao.settlement.special.repository import get_application as get_application
from yibao.settlement.special.repository import list_appeals as list_appeals
from yibao.settlement.special.repository import list_special_cases as list_special_cases
from yibao.settlement.special.repository import special_out as special_out
from yibao.settlement.special.rules import METHODS as METHODS
from yibao.settlement.special.rules import QUOTA_PARAMS as QUOTA_PARAMS
from yibao.settlement.special.rules import Refused as Refused
from yibao.settlement.special.rules import SpecialRules as SpecialRules
from yibao.settlement.special.rules import _now as _now
from yibao.settlement.special.rules import _text as _text
from yibao.settlement.special.rules import _today as _today
from yibao.settlement.special.rules import appeal_deadline as appeal_deadline
from yibao.settlement.special.rules import bureau_role as bureau_role
from yibao.settlement.special.rules import hospital_role as hospital_role
from yibao.settlement.special.rules import month_end as month_end
from yibao.settlement.special.service import _UNSAFE as _UNSAFE
from yibao.settlement.special.service import _admit as _admit
from yibao.settlement.special.service import _check_files as _check_files
from yibao.settlement.special.service import _lock_special as _lock_special
from yibao.settlement.special.service import _reprice as _reprice
from yibao.settlement.special.service import _store_files as _store_files
from yibao.settlement.special.service import do_apply_special_case as do_apply_special_case
from yibao.settlement.special.service import do_decide_appeal as do_decide_appeal
from yibao.settlement.special.service import do_decide_special_case as do_decide_special_case
from yibao.settlement.special.service import do_file_appeal as do_file_appeal

#: The clock (tests replace it); business dates are taken in Asia/Shanghai.  Every
#: module of the package reads it from here at each call (:func:`.rules._now`).
CLOCK: Callable[[], datetime] = utcnow
