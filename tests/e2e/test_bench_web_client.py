"""The load generator's HTTP client (``yibao bench web``) against a real server: it must
read whole answers over one kept-alive connection, follow the session cookie like a
browser and post JSON, or the benchmark would measure something else."""

from __future__ import annotations

import asyncio

from tests.e2e.server import live_server
from tests.e2e.test_concurrency import _lists, world  # noqa: F401  (fixture)
from yibao.cli.bench_web import LeanClient


def test_lean_client_reads_answers_keeps_cookie_and_posts(world, database_url, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    hospitals, token = world

    async def drive(base: str) -> None:
        browser = LeanClient(base, {}, {})
        assert await browser.request("GET", "/healthz", accept="application/json") == 200
        assert await browser.request("GET", "/login") == 200
        assert "yibao_session" in browser.cookies  # set by the server, sent back from now on
        assert await browser.request("GET", "/api/me", accept="application/json") == 401
        first = browser._writer
        assert await browser.request("GET", "/login") == 200
        assert browser._writer is first  # the same kept-alive connection
        await browser.aclose()

        his = LeanClient(base, {}, {"Authorization": f"Bearer {token}"})
        assert await his.request("GET", "/api/me", accept="application/json") == 200
        body = _lists(hospitals["hosp01"], 2, "LC")
        status = await his.request("POST", "/api/settlement/lists", body, "application/json")
        assert status == 200
        assert await his.request("GET", "/api/settlement/lists?size=5", None, "x/y") == 200
        await his.aclose()

    with live_server(database_url, tmp_path / "var") as server:
        asyncio.run(drive(server.base))
