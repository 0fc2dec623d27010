"""Grouping plans shipped as package data (see NOTICE in each folder)."""

from __future__ import annotations

from pathlib import Path

PLANS_DIR = Path(__file__).resolve().parent
DEFAULT_PLAN = "chs-drg-1.1"


def plan_dir(plan_id: str = DEFAULT_PLAN) -> Path:
    path = PLANS_DIR / plan_id
    if not (path / "plan.json").exists():
        raise FileNotFoundError(f"分组方案 {plan_id} 不存在 / plan not found: {path}")
    return path
