"""The detectors' timing function runs on its synthetic data and finds something."""

from __future__ import annotations

from yibao.engines.audit import DetectorParams, post_audit
from yibao.engines.audit.detectors_bench import post_audit_s, synthetic_cases, synthetic_outpatient


def test_post_audit_s_times_a_small_run() -> None:
    assert post_audit_s(cases=3_000, hospitals=6, months=3) > 0


def test_synthetic_frames_pass_the_checks_and_give_findings() -> None:
    cases = synthetic_cases(20_000, hospitals=20, months=3)
    found = post_audit(
        cases, synthetic_outpatient(cases, 20_000), DetectorParams(months=("2024-03",))
    )
    assert {"DRG-READMIT", "DRG-SHIFT"} <= set(found["rule_id"])
    assert found["jr_id"].n_unique() == found.height
