"""The real-time transaction gateway (NHSA 定点医药机构接口, issue 12): institutions'
HIS systems send envelope messages dispatched by infno; every message and response is
journaled and answered exactly once per msgid (ADR 0015)."""
