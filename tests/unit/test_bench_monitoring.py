"""``yibao bench monitoring`` runs and ends with its figures; the components it turned
off for the measurement are restored."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.kit.monitor import FLAGS


def test_bench_monitoring_prints_its_figures() -> None:
    before = dict(FLAGS)
    done = CliRunner().invoke(app, ["bench", "monitoring", "--requests", "200"])
    assert done.exit_code == 0, done.output
    last = done.output.strip().splitlines()[-1]
    assert re.fullmatch(
        r"monitoring_on_us=[\d.]+ monitoring_off_us=[\d.]+ monitoring_overhead_us=-?[\d.]+", last
    ), last
    assert "request_log" in done.output
    assert before == FLAGS
