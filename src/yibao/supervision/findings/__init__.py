"""Post-audit (事后审核) runs over stored data and the findings workflow (疑点处理):
publication to the hospital, answer or appeal with attachments, 初审, 复审, deduction in
the monthly statement (issue 13 items 5–6, ADR 0024)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from yibao.kit.timeutil import utcnow

#: the clock of the workflow (deadlines, decisions); tests replace it
CLOCK: Callable[[], datetime] = utcnow
