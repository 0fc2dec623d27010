"""Settlement engine (结算): benefit policy, case pricing, special-case quota, states,
monthly statements and year-end clearing.  Pure (stdlib, Pydantic, Polars,
``yibao.kit``, ``yibao.engines.*``); see ``docs/adr/0006-settlement-engine.md``.
"""

from yibao.engines.settlement.benefit import (
    BenefitSplit,
    benefit_split,
    fund_terms,
    policy_fund_fen,
)
from yibao.engines.settlement.clearing import ClearingResult, year_end_clearing
from yibao.engines.settlement.dip_pricing import DIP_PRICED, DIP_TERMS, price_dip_batch
from yibao.engines.settlement.errors import IllegalTransition, SettlementError
from yibao.engines.settlement.explain import CLASS_NAMES, REASONS
from yibao.engines.settlement.frames import (
    SETTLEMENT_CASES,
    SettlementCase,
    prepare_settlement_cases,
)
from yibao.engines.settlement.levels import CostBand, CrossRegionRule, LevelBenefit
from yibao.engines.settlement.params import (
    ClearingParams,
    PricingParams,
    QuotaParams,
    ReleaseBand,
    StatementParams,
    parse_settlement_params,
)
from yibao.engines.settlement.policy import (
    DEMO_POLICY_DIR,
    Benefit,
    BenefitPolicy,
    PolicySet,
    demo_policies,
    load_policies,
    parse_policy,
    pooling_region,
    scope_of,
)
from yibao.engines.settlement.pricing import PRICED, price_batch
from yibao.engines.settlement.quota import QuotaResult, quota_for, special_case_quota
from yibao.engines.settlement.single import PricedCase, price_case
from yibao.engines.settlement.statements import monthly_statement
from yibao.engines.settlement.states import (
    ACTION_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
    TRANSITIONS,
    Action,
    Role,
    State,
    Transition,
    allowed_actions,
    transition,
)

__all__ = [
    "ACTION_LABELS",
    "CLASS_NAMES",
    "DEMO_POLICY_DIR",
    "DIP_PRICED",
    "DIP_TERMS",
    "PRICED",
    "REASONS",
    "ROLE_LABELS",
    "SETTLEMENT_CASES",
    "STATE_LABELS",
    "TRANSITIONS",
    "Action",
    "Benefit",
    "BenefitPolicy",
    "BenefitSplit",
    "ClearingParams",
    "ClearingResult",
    "CostBand",
    "CrossRegionRule",
    "IllegalTransition",
    "LevelBenefit",
    "PolicySet",
    "PricedCase",
    "PricingParams",
    "QuotaParams",
    "QuotaResult",
    "ReleaseBand",
    "Role",
    "SettlementCase",
    "SettlementError",
    "State",
    "StatementParams",
    "Transition",
    "allowed_actions",
    "benefit_split",
    "demo_policies",
    "fund_terms",
    "load_policies",
    "monthly_statement",
    "parse_policy",
    "parse_settlement_params",
    "policy_fund_fen",
    "pooling_region",
    "prepare_settlement_cases",
    "price_batch",
    "price_case",
    "price_dip_batch",
    "quota_for",
    "scope_of",
    "special_case_quota",
    "transition",
    "year_end_clearing",
]
