"""The HIS client's msgids: by the rule, unique within a process, even past 10,000
messages in one second or when the clock steps back."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from yibao.engines.exchange import msgid_warning
from yibao.his.msgid import PER_SECOND, MsgIds

CODE = "H99010200001"


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept = 0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, _s: float) -> None:
        self.slept += 1
        self.now += timedelta(seconds=1)


def test_msgid_follows_the_rule() -> None:
    ids = MsgIds(CODE, clock=lambda: datetime(2026, 12, 5, 8, 30, 1))
    first, second = ids.next(), ids.next()
    assert first == f"{CODE}20261205083001" + "0000"
    assert second.endswith("0001") and len(second) == 30
    assert msgid_warning(first, CODE) is None  # the gateway's own check of the rule


def test_sequence_wraps_by_waiting_for_the_next_second() -> None:
    clock = FakeClock(datetime(2026, 12, 5, 8, 30, 1))
    ids = MsgIds(CODE, clock=clock, sleep=clock.sleep)
    made = [ids.next() for _ in range(PER_SECOND + 2)]
    assert len(set(made)) == len(made)
    assert clock.slept == 1
    assert made[PER_SECOND - 1] == f"{CODE}202612050830019999"
    assert made[PER_SECOND] == f"{CODE}202612050830020000"


def test_clock_stepping_back_keeps_ids_unique() -> None:
    clock = FakeClock(datetime(2026, 12, 5, 8, 30, 5))
    ids = MsgIds(CODE, clock=clock, sleep=clock.sleep)
    a = ids.next()
    clock.now = datetime(2026, 12, 5, 8, 30, 2)  # NTP stepped the clock back
    b = ids.next()
    assert a != b and b == f"{CODE}202612050830050001"


def test_threads_never_share_a_msgid() -> None:
    ids = MsgIds(CODE)
    out: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [ids.next() for _ in range(500)]
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 4000 and len(set(out)) == 4000
