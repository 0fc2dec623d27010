"""Insured persons (参保人员), personal accounts and annual cumulative figures
(ADR 0016)."""
