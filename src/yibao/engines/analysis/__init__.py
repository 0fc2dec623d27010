"""Pure figures of the decision-analysis reports (no I/O)."""
