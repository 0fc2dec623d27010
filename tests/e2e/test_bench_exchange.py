"""``yibao bench exchange`` end to end, small: it seeds an empty database, prepares stays
through the gateway, has wrk settle them for a few seconds with a handful of
connections and checks the database — and prints its figures in the agreed last line,
with no errors and no double settlement."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.e2e.server import SERVE

LAST_LINE = re.compile(
    r"exchange_settlements=(\d+) settlements_per_s=(\d+) p50_ms=(\d+) p99_ms=(\d+)"
    r" errors=(\d+) duplicates=(\d+)"
)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk")
def test_bench_exchange_settles_without_errors_or_duplicates(db, database_url, tmp_path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "YIBAO_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    args = ["bench", "exchange", "--database-url", database_url, "--clients", "4"]
    args += ["--seconds", "3", "--stays", "60", "--hospitals", "2", "--lines", "3"]
    args += ["--workers", "1"]
    done = subprocess.run(
        [sys.executable, "-c", SERVE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a loaded CI machine: the run itself takes ~20 s
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    match = LAST_LINE.fullmatch(last)
    assert match, last
    settled, per_s, p50, p99, errors, duplicates = map(int, match.groups())
    assert errors == 0 and duplicates == 0, done.stdout[-3000:]
    assert settled > 0 and per_s > 0 and 0 < p50 <= p99
    assert "核对" in done.stdout  # the database check ran and was reported
