"""The real-time path (3102 with the person's stored history) and the post-audit path
(the same stored data as frames) agree on days of supply.

ADR 0020: "each claim audited with the person's other claims as history gives exactly
the batch findings of its encounter"; ADR 0024: the post-audit reads "what 3102 reads
from the same visit, so both find the same"."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.audit.builders import DAY, claim, compiled, ln, rule
from yibao.engines.audit import claims_to_frames
from yibao.engines.audit.realtime import PastFee, PastVisit, history_claims
from yibao.supervision.findings.frames import supply_days


def test_stored_history_days_of_supply_differ_between_3102_and_post_audit() -> None:
    """D004 may be taken 3 a day (quantity.per_day 3); rule: quantity, window day.

    P1 had an outpatient visit MA on 2024-03-04 with 4 units of D004 (2.00 each), the
    HIS sent no days of supply (prd_days absent).  The same day visit MB bills 2 more
    units, again without days of supply.

    Post-audit (frames.claim_frames → supply_days(None) = None = one day): the day's
    allowance is 3 × 1 = 3; in order (day, mdtrt_id, rx_id) MA reaches 4 (1 over), MB
    reaches 6 (3 over ≥ its 2 units) → MB is flagged whole: 4.00 元.

    3102 of MB (realtime.history_claims for the stored MA): MA's line gets days =
    ceil(4 ÷ 3) = 2 from its own quantity (days_supplied's fallback), so the day's
    allowance becomes 3 × 2 = 6 and 4 + 2 = 6 is within it → no finding.  The stored
    line's quantity widens the limit it is checked against, and the two paths give
    different answers for the same data."""
    rs = compiled(rule("quantity", window="day"))
    mb = claim([ln("B1", "D004", 2, "2.00")], mdtrt="MB")

    # post-audit: the stored MA line as frames.claim_frames reads it
    ma = claim([ln("A1", "D004", 4, "2.00", days=supply_days(None))], mdtrt="MA")
    frame = rs.audit_frames(*claims_to_frames([ma, mb]), stage="post")
    rows = frame.filter(frame["mdtrt_id"] == "MB").to_dicts()
    post = [(x["rx_id"], x["vola_amt"]) for f in rows for x in f["lines"]]
    assert post == [("B1", Decimal("4.00"))]

    # 3102: the stored MA visit as service._history builds it
    visit = PastVisit(
        1, "MA", "otp", "H1", "医院", "3", DAY, DAY, "J18.9", "", "A01", "310", Decimal("8.00")
    )
    fee = PastFee(
        1, "A1", "D004", Decimal(4), Decimal("2.00"), Decimal("8.00"), DAY, True, "09", None
    )
    history = history_claims(mb.patient, [visit], [fee], rs.knowledge, DAY, DAY)
    mid = rs.audit(mb, stage="mid", history=history)
    got = [(x.rx_id, x.vola_amt) for f in mid for x in f.lines if x.vola_item_type == 1]
    assert got == post, f"3102 {got} vs post-audit {post}"
