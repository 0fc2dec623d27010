"""Message ids by NHSA's rule: institution code (12) + yyyyMMddHHmmss (14) + sequence (4).

A msgid is the message's identity at the gateway (a retry with the same msgid is
answered with the first response), so one process must never give the same one to
two messages.  :class:`MsgIds` is thread-safe; it numbers the messages of one second
0000–9999, and when a second's numbers are used up it waits for the next second.  If
the clock steps back, it keeps counting in the latest second it has used, so ids stay
unique (they may then carry a time a little ahead of the clock).  All clients of one
institution in a process share one sequence (:func:`msgids_for`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from yibao.kit.timeutil import local, utcnow

#: messages per second one process can number
PER_SECOND = 10_000


def business_now() -> datetime:
    """The current business time (Asia/Shanghai)."""
    return local(utcnow())


class MsgIds:
    """Unique msgids of one institution within this process."""

    def __init__(
        self,
        fixmedins_code: str,
        clock: Callable[[], datetime] = business_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if len(fixmedins_code) != 12:
            raise ValueError(f"定点医药机构编号应为 12 位（收到 {fixmedins_code!r}）")
        self.code = fixmedins_code
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._second = ""
        self._seq = -1

    def next(self) -> str:
        """A new msgid (30 characters)."""
        with self._lock:
            while True:
                stamp = f"{self._clock():%Y%m%d%H%M%S}"
                if stamp > self._second:
                    self._second, self._seq = stamp, 0
                    break
                if self._seq + 1 < PER_SECOND:
                    self._seq += 1  # this second again (or a clock stepped back)
                    break
                self._sleep(0.01)  # this second's numbers are used up: wait for the next
            return f"{self.code}{self._second}{self._seq:04d}"


_shared: dict[str, MsgIds] = {}
_shared_lock = threading.Lock()


def msgids_for(fixmedins_code: str) -> MsgIds:
    """The process's one :class:`MsgIds` of an institution: every client of it in
    this process numbers from the same sequence, so two clients never send the same
    msgid (which the gateway would answer with the other message's response)."""
    with _shared_lock:
        ids = _shared.get(fixmedins_code)
        if ids is None:
            ids = _shared[fixmedins_code] = MsgIds(fixmedins_code)
        return ids
