"""Health of what the service depends on: the database, Redis when configured, the
job runner of this process."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text


def dependencies(app: Any) -> list[dict[str, Any]]:
    out = []
    start = time.perf_counter()
    try:
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        out.append({"name": f"数据库（{app.state.engine.dialect.name}）", "ok": True,
                    "detail": f"{(time.perf_counter() - start) * 1000:.1f} ms"})  # fmt: skip
    except Exception as exc:
        out.append({"name": "数据库", "ok": False, "detail": str(exc)[:200]})
    url = getattr(app.state.settings, "redis_url", "")
    if url:
        try:
            import redis  # noqa: PLC0415  optional: only with YIBAO_REDIS_URL

            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            client.ping()
            out.append({"name": "Redis", "ok": True, "detail": url.split("@")[-1]})
        except Exception as exc:
            out.append({"name": "Redis", "ok": False, "detail": str(exc)[:200]})
    runner = getattr(app.state, "jobs", None)
    alive = runner is not None and not getattr(runner, "stopping", True)
    out.append({"name": "后台任务执行器", "ok": alive, "detail": "运行中" if alive else "未运行"})
    return out
