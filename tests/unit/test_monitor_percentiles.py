"""The route window's P95 / P99 must be nearest-rank percentiles (the value
at rank ⌈q·n⌉, as :func:`yibao.kit.monitor.merge` ranks the merged histogram), so
that at least q of the calls are at or below the figure a threshold is checked on."""

from __future__ import annotations

from yibao.kit.monitor import RouteWindow


def _window(n: int) -> dict[str, object]:
    w = RouteWindow()
    for i in range(1, n + 1):  # latencies 1, 2, …, n ms
        w.record("GET", "/api/x", i / 1000, False)
    (row,) = w.stats()
    return row


def test_p95_of_31_calls_is_the_30th_value() -> None:
    # ⌈0.95 × 31⌉ = ⌈29.45⌉ = 30 → 30 ms; the window reports the 29th value (29 ms),
    # and only 29 / 31 = 93.5 % of the calls are at or below 29 ms
    assert _window(31)["p95_ms"] == 30.0


def test_p99_of_170_calls_is_the_169th_value() -> None:
    # ⌈0.99 × 170⌉ = ⌈168.3⌉ = 169 → 169 ms; 168 ms covers 168 / 170 = 98.8 % < 99 %
    assert _window(170)["p99_ms"] == 169.0
