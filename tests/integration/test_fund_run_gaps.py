"""Fund-run analysis with a month not confirmed yet and a year started late: the
unconfirmed month is forecast (never counted as nothing spent) and said so, and a
late-start year's budget line covers its own span.  Figures worked out by hand."""

from __future__ import annotations

from decimal import Decimal

from tests.builders import TEST_ACTOR, hospital
from yibao.analysis.fund import do_set_budget, fund_run
from yibao.analysis.models import FundMonth
from yibao.analysis.reports import Filters
from yibao.db.scoping import SYSTEM_SCOPE, set_scope

D = Decimal


def _months(db, h, year: int, amounts: dict[int, str]) -> None:  # type: ignore[no-untyped-def]
    for month, amount in amounts.items():
        db.add(
            FundMonth(
                hospital_id=h.id,
                region_code=h.region_code,
                hospital_code=h.code,
                period=f"{year:04d}-{month:02d}",
                cases=10,
                fund_total=D(amount),
                deductions=D(0),
                audit_deductions=D(0),
                settlement_amount=D(amount),
            )
        )
    db.flush()


def test_a_gap_month_is_forecast_and_said(db) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    h = hospital(db, "990102")
    _months(db, h, 2025, dict.fromkeys(range(1, 13), "100.00"))  # ran all last year
    _months(db, h, 2026, {1: "100.00", 2: "120.00", 4: "110.00"})  # March not confirmed
    report = fund_run(db, None, Filters(2026), None)
    rows = {r["month"]: r for r in report.rows}
    assert rows["2026-03"]["fund_total"] is None and rows["2026-03"]["cumulative"] is None
    # one flat earlier year: total = 330 ÷ (3/12) = 1,320; the other 9 months 110 each
    assert report.extra["forecast"]["total"] == D("1320.00")
    assert rows["2026-03"]["forecast"] == D("110.00")
    assert rows["2026-12"]["forecast"] == D("110.00")
    assert rows["2026-04"]["cumulative"] == D("330.00")
    assert any("3 月尚无已确认的结算单" in n for n in report.notes)


def test_a_january_not_confirmed_is_a_gap_after_a_running_year(db) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    h = hospital(db, "990102")
    _months(db, h, 2025, {11: "100.00", 12: "100.00"})
    _months(db, h, 2026, {2: "100.00"})
    report = fund_run(db, None, Filters(2026), None)
    january = report.rows[0]
    assert january["forecast"] == D("100.00")  # forecast, not left out of the year
    assert report.extra["forecast"]["total"] == D("1200.00")


def test_a_late_start_year_spreads_its_budget_over_its_span(db) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    h = hospital(db, "990102")
    _months(db, h, 2026, {7: "150.00", 8: "250.00"})  # first paid under DRG in July
    do_set_budget(db, "990102", 2026, D("1200"), "七月起实行 DRG 付费的预算", TEST_ACTOR)
    report = fund_run(db, None, Filters(2026), "990102")
    rows = {r["month"]: r for r in report.rows}
    assert rows["2026-06"]["budget_line"] is None and rows["2026-06"]["forecast"] is None
    assert rows["2026-07"]["budget_line"] == D("200.00")
    assert rows["2026-12"]["budget_line"] == D("1200.00")
    # trend over July–December: 400 + 4 × 200
    assert report.extra["forecast"]["total"] == D("1200.00")
    assert report.extra["forecast"]["execution"] == D("0.3333")


def test_a_budget_finer_than_a_fen_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from yibao.analysis.fund import budget_of
    from yibao.kit.errors import ValidationFailed

    set_scope(db, SYSTEM_SCOPE)
    hospital(db, "990102")
    with pytest.raises(ValidationFailed, match="最多 2 位小数") as err:
        do_set_budget(db, "990102", 2026, D("1000.123"), "测试三位小数", TEST_ACTOR)
    assert err.value.field == "amount" and budget_of(db, "990102", 2026) is None


def test_one_month_without_history_says_why_there_is_no_probability(db) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    h = hospital(db, "990102")
    _months(db, h, 2026, {1: "100.00"})
    do_set_budget(db, "990102", 2026, D("1200"), "年度预算", TEST_ACTOR)
    report = fund_run(db, None, Filters(2026), "990102")
    fc = report.extra["forecast"]
    assert fc["overrun_p"] is None and fc["low"] is None
    assert any("暂不给出 95% 区间与超预算概率" in n for n in report.notes), report.notes
    _months(db, h, 2026, {2: "120.00"})  # a second month: the spread is estimated
    report = fund_run(db, None, Filters(2026), "990102")
    assert report.extra["forecast"]["overrun_p"] is not None
    assert not any("暂不给出" in n for n in report.notes)
