"""In-process timing of the real-time audit routes (ADR 0023); not a test.

    PYTHONPATH=src python -m tests.perf.audit_timing sqlite:////tmp/audit.db 500
    PYTHONPATH=src python -m tests.perf.audit_timing postgresql+psycopg://…/db 500

Builds the demo region in the given database (a SQLite file is replaced; a PostgreSQL
database's public schema is dropped and re-created), settles two stays of a person
through the gateway (so the history queries find rows), then sends ``n`` 10-line
claims of random demo items to ``POST /api/audit/3102`` and ``/3101`` through a
TestClient (the whole ASGI stack, token look-up and commit, no network) and calls the
service alone (read, rules, history, two inserts, commit).  Prints medians and tails,
findings and SQL statements a request.  With ``--wrk-files DIR`` it also writes the
token and a body for a loopback load run with wrk.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("YIBAO_ARGON2_TIME_COST", "1")
os.environ.setdefault("YIBAO_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("YIBAO_ARGON2_PARALLELISM", "1")

from fastapi.testclient import TestClient
from sqlalchemy import event, select, text

from tests.builders import audit as kit
from tests.builders.visits import make_world
from yibao.accounts.models import User
from yibao.api.app import create_app
from yibao.audit.service import SYSTEM
from yibao.catalogue.models import CatalogueEntry, CatalogueVersion
from yibao.config import Settings
from yibao.db import migrate
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import make_engine, session_factory
from yibao.engines.audit.messages import AuditIn
from yibao.engines.exchange.lenient import read
from yibao.exchange.registry import institution_of
from yibao.kit.timeutil import utcnow
from yibao.supervision.realtime.service import Asker, answer_audit


def _fresh(url: str) -> None:
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    migrate.upgrade(url)


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.2f}"


def main(url: str, n: int, wrk_dir: Path | None) -> None:
    _fresh(url)
    var = Path(os.environ.get("TMPDIR", "/tmp")) / "yibao-audit-timing"
    settings = Settings(
        database_url=url,
        var_dir=var,
        secret_key="x" * 32,
        log_level="WARNING",
        token_rate_per_minute=0,
    )
    app = create_app(settings)
    db = session_factory(make_engine(url))()
    with TestClient(app) as client:
        w = make_world(client, db)
        his, who = w["his"], w["local"]
        set_scope(db, SYSTEM_SCOPE)
        version = db.scalar(select(CatalogueVersion).where(CatalogueVersion.status == "published"))
        assert version is not None
        codes = list(
            db.scalars(
                select(CatalogueEntry.code)
                .where(CatalogueEntry.version_id == version.id)
                .order_by(CatalogueEntry.code)
            )
        )
        kit.stay(his, who, [(codes[i], "1", "10.00", None) for i in range(6)], days_ago=5)
        kit.stay(his, who, [(c, "2", "5.00", None) for c in codes[20:26]], days_ago=2, los=1)
        rng = random.Random(1)
        today = kit.today()

        def body(infno: str) -> dict[str, Any]:
            orders = [
                kit.order(f"R{j}", rng.choice(codes[:400]), "1", "12.00", today) for j in range(10)
            ]
            scene = "8" if infno == "3102" else "2"
            return kit.audit_input(who, orders, day=today, trig_scen=scene, med_mdtrt_type="2")

        headers = {"Authorization": f"Bearer {his.token}"}
        statements = {"n": 0}

        @event.listens_for(app.state.engine, "before_cursor_execute")
        def _count(*_a: Any, **_k: Any) -> None:
            statements["n"] += 1

        inst = institution_of(db.scalar(select(User).where(User.username == "his01")))
        for infno in ("3102", "3101"):
            bodies = [body(infno) for _ in range(n)]
            for b in bodies[:20]:  # warm up
                assert client.post(f"/api/audit/{infno}", json=b, headers=headers).is_success
            times: list[float] = []
            found = 0
            statements["n"] = 0
            for b in bodies:
                t = time.perf_counter()
                r = client.post(f"/api/audit/{infno}", json=b, headers=headers)
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
                found += len(r.json()["output"]["result"])
            print(
                f"{infno} HTTP in-process: n={n} median={_ms(times, 0.5)} ms "
                f"p90={_ms(times, 0.9)} p99={_ms(times, 0.99)} ms; findings/request="
                f"{found / n:.2f}; SQL statements/request={statements['n'] / n:.1f}"
            )
            parts: dict[str, list[float]] = {"read": [], "answer": [], "commit": []}
            for b in bodies:
                s = app.state.sessionmaker()
                set_scope(s, SYSTEM_SCOPE)
                t0 = time.perf_counter()
                data, _ = read(AuditIn, b)
                t1 = time.perf_counter()
                answer_audit(s, infno, data, Asker(inst, SYSTEM, None, "api", utcnow()), settings)
                t2 = time.perf_counter()
                s.commit()
                t3 = time.perf_counter()
                s.close()
                parts["read"].append(t1 - t0)
                parts["answer"].append(t2 - t1)
                parts["commit"].append(t3 - t2)
            shown = ", ".join(f"{k} {statistics.median(v) * 1000:.2f}" for k, v in parts.items())
            print(f"{infno} service medians (ms): {shown}")
        if wrk_dir is not None:
            wrk_dir.mkdir(parents=True, exist_ok=True)
            (wrk_dir / "token").write_text(his.token)
            for infno in ("3101", "3102"):
                text_ = json.dumps(body(infno), ensure_ascii=False)
                (wrk_dir / f"body{infno}.json").write_text(text_)


if __name__ == "__main__":
    args = sys.argv[1:]
    wrk = Path(args[args.index("--wrk-files") + 1]) if "--wrk-files" in args else None
    main(args[0], int(args[1]) if len(args) > 1 and args[1].isdigit() else 300, wrk)
