"""``yibao bench dashboards`` end to end, small: it seeds an empty database with a tiny
demo region, refreshes its summaries, starts the server and requests every dashboard
page and report as three users — with no failed request, and its figures in the
agreed last line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.e2e.server import SERVE
from yibao.cli.bench_dashboards import PATHS, USERS

LAST_LINE = re.compile(r"^dashboards_p95_ms=(\d+) dashboards_max_ms=(\d+)$")


@pytest.mark.slow
def test_bench_dashboards_requests_every_page_without_errors(db, database_url, tmp_path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "YIBAO_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    args = ["bench", "dashboards", "--database-url", database_url, "--cases-per-year", "300"]
    args += ["--rounds", "1", "--workers", "1"]
    done = subprocess.run(
        [sys.executable, "-c", SERVE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert LAST_LINE.match(lines[-1]), lines[-1]
    assert "失败 0" in done.stdout, done.stdout[-3000:]
    assert re.search(r"(\d+) 个请求", done.stdout).group(1) == str(len(USERS) * len(PATHS))
