"""A HIS system's side of the transaction gateway (ADR 0019): :class:`HisClient` builds,
signs and sends NHSA messages (JSON or SOAP) and retries them safely; ``yibao his-sim``
drives whole inpatient and outpatient flows with it (:mod:`yibao.his.sim`).

Imports nothing of the server but the pure message helpers of
``yibao.engines.exchange`` (import-linter contract), so it can be vendored into a HIS.
"""

from yibao.his.client import Exchange, HisClient, HisError
from yibao.his.msgid import MsgIds
from yibao.his.transactions import FeeItem, Person, Settled

__all__ = ["Exchange", "FeeItem", "HisClient", "HisError", "MsgIds", "Person", "Settled"]
