"""Settlement-list (结算清单) intake and data-quality control (QC).

Pure engine (stdlib, Pydantic, Polars, ``yibao.kit``, ``yibao.engines.*``); see
``docs/adr/0005-settlement-list-qc.md``.  Typical use::

    from yibao.engines.grouper import PlanRegistry
    from yibao.engines.qc import check_batch, default_ruleset, to_case_frames

    plan = PlanRegistry().get("chs-drg-1.1")
    batch = check_batch(messages, default_ruleset(), plan)   # 4101A dicts → findings
    cases, diagnoses, procedures = to_case_frames(batch.accepted())
    batch.to_frame()          # one row per finding, messages in Chinese

* :mod:`.schema` — Pydantic models of the 4101A message (+ ``iteminfo``);
* :mod:`.intake` — lenient parsing that never raises (``QC000`` findings);
* :mod:`.limits` — spec lengths and characters; ``identity_problems`` for intake;
* :mod:`.ruleset` — rule sets as versioned JSON data (``rulesets/default.json``);
* :mod:`.checks` — the generic check primitives the rules name;
* :mod:`.engine` — compile a rule set against a plan, check one list or a batch;
* :mod:`.frames` — lists ↔ caseframe batches; :mod:`.flat` — the flat CSV form;
* :mod:`.bench` — synthetic lists with injected errors, the intake benchmark.
"""

from yibao.engines.qc.checks import PRIMITIVES
from yibao.engines.qc.engine import (
    FINDING_COLUMNS,
    QcBatch,
    QcChecker,
    check_batch,
    check_list,
    compile_rules,
)
from yibao.engines.qc.findings import STRUCTURE_RULE, Finding, Severity
from yibao.engines.qc.flat import (
    FLAT_COLUMNS,
    flat_to_lists,
    lists_to_flat,
    read_flat,
    read_flat_csv,
    unknown_flat_columns,
)
from yibao.engines.qc.frames import from_case_frames, raw_frame, to_case_frames
from yibao.engines.qc.intake import ParsedList, parse_list, parse_lists
from yibao.engines.qc.limits import IDENTITY_FIELDS, identity_problems, mangled_ids
from yibao.engines.qc.ruleset import (
    DEFAULT_RULESET,
    KIND_LABELS,
    Rule,
    RuleSet,
    RuleSetError,
    default_ruleset,
    load_ruleset,
    parse_ruleset,
)
from yibao.engines.qc.schema import (
    FIELD_KINDS,
    FIELD_LABELS,
    FIELD_LIMITS,
    BldInfo,
    DiseInfo,
    FieldLimit,
    IcuInfo,
    ItemInfo,
    OprnInfo,
    SetlInfo,
    SettlementList,
)

__all__ = [
    "DEFAULT_RULESET",
    "FIELD_KINDS",
    "FIELD_LABELS",
    "FIELD_LIMITS",
    "FINDING_COLUMNS",
    "FLAT_COLUMNS",
    "IDENTITY_FIELDS",
    "KIND_LABELS",
    "PRIMITIVES",
    "STRUCTURE_RULE",
    "BldInfo",
    "DiseInfo",
    "FieldLimit",
    "Finding",
    "IcuInfo",
    "ItemInfo",
    "OprnInfo",
    "ParsedList",
    "QcBatch",
    "QcChecker",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "SetlInfo",
    "SettlementList",
    "Severity",
    "check_batch",
    "check_list",
    "compile_rules",
    "default_ruleset",
    "flat_to_lists",
    "from_case_frames",
    "identity_problems",
    "lists_to_flat",
    "load_ruleset",
    "mangled_ids",
    "parse_list",
    "parse_lists",
    "parse_ruleset",
    "raw_frame",
    "read_flat",
    "read_flat_csv",
    "to_case_frames",
    "unknown_flat_columns",
]
