"""QC findings: what is wrong, where, how bad, and what to do (in Chinese)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from yibao.engines.qc.values import MAX_SHOWN_CHARS, safe_value

Severity = Literal["blocking", "warning"]
SEVERITIES: Final[tuple[str, ...]] = ("blocking", "warning")
SEVERITY_LABELS: Final[dict[str, str]] = {"blocking": "阻断", "warning": "提示"}

#: Rule id of the intake's own structural findings (not a rule of any rule set).
STRUCTURE_RULE: Final = "QC000"
STRUCTURE_NAME: Final = "报文结构"


@dataclass(frozen=True, slots=True)
class Finding:
    """One QC problem of one settlement list.

    ``field`` is the dotted path (``diseinfo[2].diag_code``, 0-based indices; ``$``
    for the message itself), ``value`` the offending value as text (``None`` when
    missing), ``message`` a Chinese sentence naming the field, the value, the rule
    and the fix.  A ``blocking`` finding holds the list (it is not grouped); a
    ``warning`` lets it through.
    """

    rule_id: str
    severity: Severity
    field: str
    value: str | None
    message: str
    kind: str = ""

    @property
    def blocking(self) -> bool:
        """True for a blocking finding."""
        return self.severity == "blocking"

    def to_dict(self) -> dict[str, str | None]:
        """Plain dict for JSON / storage."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "kind": self.kind,
            "field": self.field,
            "value": self.value,
            "message": self.message,
        }


def structure_finding(field: str, value: str | None, problem: str, label: str = "") -> Finding:
    """A blocking ``QC000`` finding of the intake (malformed message or value type).

    ``value`` is a short rendering of the offending value; it is escaped and cut
    (:func:`~yibao.engines.qc.values.safe_value`) before it is shown or kept.
    """
    shown = f"{label} {field}".lstrip()
    value = safe_value(value, MAX_SHOWN_CHARS)
    if value is not None:
        shown += f" = {value}"
    message = (
        f"{shown} {problem}（规则 {STRUCTURE_RULE} {STRUCTURE_NAME}）："
        "请按结算清单上传接口（4101A）的节点和字段格式重新生成报文"
    )
    return Finding(STRUCTURE_RULE, "blocking", field, value, message, "structure")
