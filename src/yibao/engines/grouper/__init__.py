"""CHS-DRG grouper engine: plan data → compiled tables → group one case or a batch.

Pure library (stdlib, NumPy, Polars); see ``docs/adr/0002-grouper.md``.  Typical use::

    from yibao.engines.grouper import PlanRegistry, group_batch, group_one

    plans = PlanRegistry()  # package plans (+ extra directories)
    plan = plans.get("chs-drg-1.1")  # or plans.for_date(discharge_date)
    result = group_one(plan, {"sex": 1, "age_years": 50, "diagnoses": "K22.301|K11.901"})
    frame = group_batch(plan, cases)  # adds status, mdc, adrg, drg, drg_name
"""

from yibao.engines.grouper.batch import RESULT_COLUMNS, group_batch
from yibao.engines.grouper.cases_io import read_cases
from yibao.engines.grouper.compiler import CompiledPlan, compile_plan
from yibao.engines.grouper.diff import PlanDiff, diff_plans
from yibao.engines.grouper.errors import CaseFileError, PlanError, PlanNotFoundError
from yibao.engines.grouper.messages import with_messages
from yibao.engines.grouper.plan import Plan, PlanMeta, load_plan, read_meta
from yibao.engines.grouper.registry import PACKAGE_PLANS_DIR, PlanInfo, PlanRegistry
from yibao.engines.grouper.results import STATUSES, TRACE_CODES, GroupResult, TraceStep
from yibao.engines.grouper.single import group_one

__all__ = [
    "PACKAGE_PLANS_DIR",
    "RESULT_COLUMNS",
    "STATUSES",
    "TRACE_CODES",
    "CaseFileError",
    "CompiledPlan",
    "GroupResult",
    "Plan",
    "PlanDiff",
    "PlanError",
    "PlanInfo",
    "PlanMeta",
    "PlanNotFoundError",
    "PlanRegistry",
    "TraceStep",
    "compile_plan",
    "diff_plans",
    "group_batch",
    "group_one",
    "load_plan",
    "read_cases",
    "read_meta",
    "with_messages",
]
