"""The bench functions run (on small sizes; timings are for benchmarks, not tests)."""

from __future__ import annotations

from yibao.engines.audit.bench import batch_lines_s, single_claim_us


def test_bench_functions_return_timings() -> None:
    assert single_claim_us(n_rules=30, claims=60) > 0
    assert batch_lines_s(lines=2_000, n_rules=30) > 0
