"""Insured persons (参保人员) as the engine reads them: resident ID numbers with
their check digit and masking, the 1101 person-information message, and the annual
cumulative figures a settlement posts and its reversal restores.  Pure (stdlib,
Pydantic); see ``docs/adr/0016-catalogue-and-insured.md``.
"""

from yibao.engines.insured.certno import (
    certno_problem,
    check_char,
    make_certno,
    mask_certno,
    sex_of,
)
from yibao.engines.insured.cumulative import (
    COUNTS,
    CUM_TYPES,
    FUND_PREFIX,
    FUND_TYPES,
    Cumulative,
    CumulativeError,
    Delta,
    cum_label,
    settlement_delta,
    total_of,
)
from yibao.engines.insured.messages import (
    CERT_TYPES,
    GENDERS,
    IDENTITIES,
    INSU_STATES,
    INSUTYPES,
    PSN_TYPES,
    BaseInfo,
    IdetInfo,
    InsuInfo,
    PersonInfo,
    PersonQuery,
    age_on,
)

__all__ = [
    "CERT_TYPES",
    "COUNTS",
    "CUM_TYPES",
    "FUND_PREFIX",
    "FUND_TYPES",
    "GENDERS",
    "IDENTITIES",
    "INSUTYPES",
    "INSU_STATES",
    "PSN_TYPES",
    "BaseInfo",
    "Cumulative",
    "CumulativeError",
    "Delta",
    "IdetInfo",
    "InsuInfo",
    "PersonInfo",
    "PersonQuery",
    "age_on",
    "certno_problem",
    "check_char",
    "cum_label",
    "make_certno",
    "mask_certno",
    "settlement_delta",
    "sex_of",
    "total_of",
]
