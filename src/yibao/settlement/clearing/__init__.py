"""Year-end clearing (年终清算): the bureau clears a region's year once its months are
confirmed — final rate or point value, each hospital's final payment, the quality
deposit released by its assessment score — and may keep the result.

The package: :mod:`.schemas` (what a clearing takes), :mod:`.service` (the
computation over the year's confirmations, who may run it, a clearing saved with its
audit row), :mod:`.repository` (the saved clearings), :mod:`.files` (the score
template, scores read from an uploaded table, a saved clearing as Excel) and
:mod:`.endpoints` (the JSON API, not imported here).  The names below are re-exported
because the clearing page calls them as ``clearing.<name>``.
"""

from __future__ import annotations

from yibao.settlement.clearing.files import (
    clearing_workbook,
    scores_from_table,
    scores_template,
)
from yibao.settlement.clearing.repository import get_clearing, saved_clearings
from yibao.settlement.clearing.schemas import ClearingIn
from yibao.settlement.clearing.service import (
    clearing_result,
    do_save_clearing,
    month_spans,
    year_clearing,
)

__all__ = [
    "ClearingIn",
    "clearing_result",
    "clearing_workbook",
    "do_save_clearing",
    "get_clearing",
    "month_spans",
    "saved_clearings",
    "scores_from_table",
    "scores_template",
    "year_clearing",
]
