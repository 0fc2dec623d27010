"""Group commit (db.batching): units queued together share one transaction; a failing
unit fails alone and the others are stored exactly once; a caller learns its result
only after the commit.  On SQLite and, in the PostgreSQL tier, on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import wait

import pytest
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.orm import Session

from yibao.audit.models import AuditLog
from yibao.db.batching import BatchWriter


def _unit(n: int, fail: bool = False):  # type: ignore[no-untyped-def]
    def work(conn: Connection) -> int:
        if fail:
            raise ValueError(f"unit {n} refused")
        conn.execute(
            insert(AuditLog).values(
                action="test.batch", object_type="batch", object_id=str(n), actor_name="t"
            )
        )
        return n * 10

    return work


def _stored(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return sorted(
            s.scalars(select(AuditLog.object_id).where(AuditLog.action == "test.batch")).all(),
            key=int,
        )


def test_units_share_transactions_and_answer_after_commit(db: Session, engine: Engine) -> None:
    writer = BatchWriter(engine, max_batch=50)
    gate = threading.Event()
    # hold the writer in its first unit so the next ones queue up behind it
    first = writer.submit(lambda conn: gate.wait(5) and 0)
    futures = [writer.submit(_unit(n)) for n in range(1, 121)]
    assert not any(f.done() for f in futures)
    gate.set()
    done, _ = wait(futures, timeout=30)
    assert len(done) == 120
    assert [f.result() for f in futures] == [n * 10 for n in range(1, 121)]
    assert first.result() == 0
    writer.close()
    assert _stored(engine) == [str(n) for n in range(1, 121)]
    # 121 units in far fewer transactions (the queue drained 50 at a time)
    assert writer.units == 121
    assert writer.batches <= 5


def test_a_failing_unit_fails_alone(db: Session, engine: Engine) -> None:
    writer = BatchWriter(engine, max_batch=50)
    gate = threading.Event()
    writer.submit(lambda conn: gate.wait(5) and 0)
    futures = [writer.submit(_unit(n, fail=(n == 7))) for n in range(1, 21)]
    gate.set()
    wait(futures, timeout=30)
    writer.close()
    with pytest.raises(ValueError, match="unit 7 refused"):
        futures[6].result()
    assert [f.result() for i, f in enumerate(futures) if i != 6] == [
        n * 10 for n in range(1, 21) if n != 7
    ]
    # each other unit stored exactly once, the failing one not at all
    assert _stored(engine) == [str(n) for n in range(1, 21) if n != 7]
    with Session(engine) as s:
        count = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "test.batch")
        )
    assert count == 19


def test_closed_writer_refuses_new_work(db: Session, engine: Engine) -> None:
    writer = BatchWriter(engine)
    assert writer.submit(_unit(1)).result(10) == 10
    writer.close()
    with pytest.raises(RuntimeError):
        writer.submit(_unit(2))
    assert _stored(engine) == ["1"]


def test_several_writer_threads_store_each_unit_once(db: Session, engine: Engine) -> None:
    writer = BatchWriter(engine, max_batch=20, threads=3)
    futures = [writer.submit(_unit(n, fail=(n % 50 == 0))) for n in range(1, 201)]
    wait(futures, timeout=60)
    writer.close()
    failed = [n for n, f in zip(range(1, 201), futures, strict=True) if f.exception() is not None]
    assert failed == [50, 100, 150, 200]
    assert _stored(engine) == [str(n) for n in range(1, 201) if n % 50]
