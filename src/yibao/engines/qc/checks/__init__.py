"""The registry of check primitives a rule set can use (``rule.check``)."""

from __future__ import annotations

from typing import Final

from yibao.engines.qc.checks import codes, fields, money, stay
from yibao.engines.qc.checks.base import CheckFn, Params, PlanView, Primitive, Reporter

#: primitive name → primitive
PRIMITIVES: Final[dict[str, Primitive]] = {
    p.name: p for module in (fields, codes, stay, money) for p in module.PRIMITIVES
}

__all__ = ["PRIMITIVES", "CheckFn", "Params", "PlanView", "Primitive", "Reporter"]
