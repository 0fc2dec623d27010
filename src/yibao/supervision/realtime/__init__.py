"""Real-time intelligent audit (智能审核 事前/事中, issue 13 item 4, ADR 0023): 3101, 3102
and 3103 through the gateway and as plain JSON, every request and finding stored."""
