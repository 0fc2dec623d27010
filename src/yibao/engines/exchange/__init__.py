"""Message rules of the transaction gateway (NHSA 定点医药机构接口): the request
envelope read leniently, the response envelope, transaction inputs and outputs, and
the masking of ID numbers, the SOAP binding (XML read with defusedxml, the
WSDL).  Pure (stdlib, Pydantic, defusedxml, ``yibao.kit``); see
``docs/adr/0015-transaction-gateway.md``.
"""

from yibao.engines.exchange.answer import (
    ID_KEYS,
    mask_ids,
    ref_msgid,
    response,
    stamp_ms,
    wall_time,
)
from yibao.engines.exchange.envelope import (
    MSGID_RULE,
    Envelope,
    msgid_warning,
    parse_body,
    peek_msgid,
    read_envelope,
    read_input,
    storable,
)
from yibao.engines.exchange.lenient import LABELS, Refused, label, read

__all__ = [
    "ID_KEYS",
    "LABELS",
    "MSGID_RULE",
    "Envelope",
    "Refused",
    "label",
    "mask_ids",
    "msgid_warning",
    "parse_body",
    "peek_msgid",
    "read",
    "read_envelope",
    "read_input",
    "ref_msgid",
    "response",
    "stamp_ms",
    "storable",
    "wall_time",
]
