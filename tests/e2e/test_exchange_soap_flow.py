"""The whole inpatient flow (9001 → 1101 → 2401 → 2301 → 2402 → 2303 → 2304) through
the SOAP 1.1 binding with zeep as the HIS client (issue 12 acceptance): the same
messages, the same hand-computed split and the same exactly-once answers as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import zeep

from tests.builders.exchange import PATH, His
from tests.builders.soap import call, soap_client
from tests.builders.visits import make_world, run_inpatient


@dataclass
class SoapHis(His):
    """A HIS that sends every envelope through zeep (callService's fields)."""

    soap: zeep.Client | None = None

    def send(self, body: Any, path: str = PATH) -> dict[str, Any]:
        if self.soap is None or isinstance(body, bytes | str):
            return super().send(body, path)
        return call(self.soap, body)


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    world = make_world(client, db)
    plain: His = world["his"]
    his = SoapHis(client, plain.token, plain.code, soap=soap_client(client, plain.token))
    his.sign_in()  # 9001 through SOAP as well
    return {**world, "his": his}


def test_inpatient_flow_through_soap(db, world) -> None:  # type: ignore[no-untyped-def]
    done = run_inpatient(db, world, world["local"], "local")
    assert done["info"]["setl_type"] == "1" and done["setl_id"]


def test_out_of_province_flow_through_soap(db, world) -> None:  # type: ignore[no-untyped-def]
    done = run_inpatient(db, world, world["far"], "out_of_province")
    assert done["info"]["out_setl_flag"] == "1"
