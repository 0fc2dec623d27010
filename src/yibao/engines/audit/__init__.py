"""The audit rule engine (智能审核, issue 13, ADR 0020): a knowledge base (catalogue items
with typed restrictions, item relations), rules as family instances with parameters,
compiled once into a :class:`RuleSet` that audits one claim in real time
(:meth:`RuleSet.audit`) or a month of claims as Polars frames
(:meth:`RuleSet.audit_frames`) with the same findings.  Pure: stdlib, Pydantic, Polars,
``yibao.engines.catalogue``.
"""

from yibao.engines.audit.batch import FINDING_SCHEMA, claims_to_frames, findings_frame
from yibao.engines.audit.claims import CARE_MODES, Claim, Encounter, Line, Patient
from yibao.engines.audit.compiler import RuleSet, compile_rules
from yibao.engines.audit.errors import AuditError
from yibao.engines.audit.findings import Finding, FindingLine
from yibao.engines.audit.knowledge import (
    RELATION_KINDS,
    Exclusive,
    Inclusive,
    Knowledge,
    Package,
    Relation,
    Requires,
    describe_relation,
)
from yibao.engines.audit.rules import (
    FAMILIES,
    RESULT_TYPES,
    SEVERITIES,
    STAGES,
    TRIG_STAGE,
    WINDOWS,
    Rule,
)

__all__ = [
    "CARE_MODES",
    "FAMILIES",
    "FINDING_SCHEMA",
    "RELATION_KINDS",
    "RESULT_TYPES",
    "SEVERITIES",
    "STAGES",
    "TRIG_STAGE",
    "WINDOWS",
    "AuditError",
    "Claim",
    "Encounter",
    "Exclusive",
    "Finding",
    "FindingLine",
    "Inclusive",
    "Knowledge",
    "Line",
    "Package",
    "Patient",
    "Relation",
    "Requires",
    "Rule",
    "RuleSet",
    "claims_to_frames",
    "compile_rules",
    "describe_relation",
    "findings_frame",
]

# DRG post-audit detectors (事后审核, issue 13 item 5, ADR 0020 "Detectors")
from yibao.engines.audit.anomaly import anomaly_scores
from yibao.engines.audit.detectors import (
    DETECTOR_FINDING_SCHEMA,
    hospital_month_features,
    post_audit,
)
from yibao.engines.audit.detectors_frames import (
    CASE_COLUMNS,
    OUTPATIENT_COLUMNS,
)
from yibao.engines.audit.detectors_frames import (
    RULES as DETECTOR_RULES,
)
from yibao.engines.audit.detectors_params import DetectorParams

__all__ += [
    "CASE_COLUMNS",
    "DETECTOR_FINDING_SCHEMA",
    "DETECTOR_RULES",
    "OUTPATIENT_COLUMNS",
    "DetectorParams",
    "anomaly_scores",
    "hospital_month_features",
    "post_audit",
]
