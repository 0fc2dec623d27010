"""Application monitoring (应用监控, issue 15 item 5): thresholds, alerts, switches."""
