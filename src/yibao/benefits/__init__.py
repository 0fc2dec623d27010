"""Benefit policies (待遇政策) as the bureau's versioned data: stored, imported and
exported as Excel, published, and used by intake pricing (ADR 0013)."""
