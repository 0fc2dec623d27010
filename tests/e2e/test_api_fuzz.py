"""Schemathesis over every operation of the JSON API, as five roles: whatever the input,
no answer is a server error (issue 9, item 10).

The demo region (:func:`tests.builders.settlement.demo_world`) with a dozen settlement
lists of hosp01 received through intake is built once per process and copied into each
role's database (:mod:`tests.builders.snapshot`).  Each role then sends,
for every operation of ``/api/openapi.json``, cases that schemathesis draws from the
schema — valid ones and ones that break it (negative mode: wrong types, out-of-range
numbers, missing fields …) — through the app in this process.  A case is a finding when
the answer is 5xx, when it is the database safety net of :mod:`yibao.api.errors` (a
value the request model should have refused), or when its status, content type or body
is not what the OpenAPI document says.  All findings of a role are reported together
(operation → status × count, then an example request and answer of each).

Bounded and deterministic: :data:`PROBE_EXAMPLES` cases per operation to learn whether
the role may use it, :data:`MAX_EXAMPLES` when it may; a fixed seed per operation, no
shrinking, no example database.  Unsafe operations run too (a throwaway database); jobs
are small because the world is.

The roles' rights overlap (every bureau role reads the lists, the dashboards …): an
operation the side's primary role (:data:`PRIMARY`: reviewer for the bureau, hosp01 for
hospitals) may use is fuzzed in full in the primary role's run; another role of that side
sends it :data:`SHARED_EXAMPLES` cases of its own (its scope and rights still meet every
operation), and the full count only for what the primary role is refused.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.builders import TEST_ACTOR
from tests.builders.settlement import PLAN_ID, demo_world, plan_registry
from tests.builders.snapshot import cached
from yibao.accounts.models import User
from yibao.accounts.service import hash_password
from yibao.accounts.tokens import do_create_api_token
from yibao.api.app import create_app
from yibao.demo.seed import DEMO_PASSWORD
from yibao.engines.qc.bench import synthetic_lists

#: cases per operation and role (both generation modes together)
MAX_EXAMPLES = 10
#: cases first sent to learn whether the role may use the operation at all: when every
#: one of them is refused with 403, the role's remaining cases are not sent
PROBE_EXAMPLES = 3
#: cases per operation for a role whose side's primary role fuzzes the operation in full
SHARED_EXAMPLES = 6
#: the run's seed; each operation gets its own, derived from this and its label
SEED = 20260910
#: cases per operation with an id in its path, sent once more with id 1 (which exists)
EXISTING_EXAMPLES = 10
#: settlement lists submitted before the run (ids 1 … LISTS exist)
LISTS = 12
#: seconds one request may take before it counts as a finding
REQUEST_TIMEOUT_S = 30.0
#: what every answer must pass: no 5xx, a documented status, content type and body
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: username → how it authenticates (session: /login form + CSRF header; token: Bearer)
ROLES = {
    "reviewer": "session",  # 结算审核员
    "analyst": "session",  # 测算分析员
    "admin": "session",  # 医保局管理员
    "hosp01": "session",  # 医院用户
    "his01": "token",  # HIS 系统接口
}
#: role → the role of its side whose run fuzzes their shared operations in full
PRIMARY = {"admin": "reviewer", "analyst": "reviewer", "his01": "hosp01"}


@dataclass
class Finding:
    operation: str
    status: int | None
    request: str
    body: str

    def __str__(self) -> str:
        return f"{self.operation} → {self.status}\n    {self.request}\n    {self.body}"


@dataclass
class Tally:
    cases: int = 0
    used: int = 0  # operations the role may use (not refused with 403 throughout)
    shared: int = 0  # of those, fuzzed in full by the primary role of the side
    signed_in_again: int = 0  # times a case had ended the role's session or token
    by_status: dict[int, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def _login(client: asgi.ASGIClient, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:200]
    r = client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
        allow_redirects=False,
    )
    assert r.status_code == 303, (username, r.status_code, r.text[:200])
    home = client.get("/", headers={"accept": "text/html"})
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text)
    assert found, home.text[:200]
    client.headers["x-csrf-token"] = found.group(1)
    assert client.get("/api/me").json()["username"] == username


def _authenticate(client: asgi.ASGIClient, db: Any, username: str) -> None:
    if ROLES[username] == "token":
        client.headers["authorization"] = f"Bearer {_token(db, username)}"
    else:
        _login(client, username)


def _stay_signed_in(client: asgi.ASGIClient, db: Any, username: str, tally: Tally) -> None:
    """Sign in again when a case ended the role's session or token (a password change
    ends every session, a token can be revoked), so that the following operations
    are fuzzed as the role and not answered 401."""
    if client.get("/api/me").status_code == 401:
        tally.signed_in_again += 1
        client.cookies.clear()
        client.headers.pop("authorization", None)
        client.headers.pop("x-csrf-token", None)
        _login_password_reset(db, username)
        _authenticate(client, db, username)


def _login_password_reset(db: Any, username: str) -> None:
    """The demo password back (a fuzzed password change may have set another), the
    account enabled and unlocked."""
    user = db.query(User).filter_by(username=username).one()
    db.refresh(user)
    user.password_hash = hash_password(DEMO_PASSWORD)
    user.is_active = True
    user.failed_logins = 0
    user.locked_until = None
    db.commit()


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " …"


def _request_line(case: Any) -> str:
    line = f"{case.method.upper()} {case.formatted_path}"
    if case.query:
        line += f" query={case.query!r}"
    if case.body is not NOT_SET and not isinstance(case.body, bytes | bytearray):
        line += f" body={case.body!r}"
    return _excerpt(line, 400)


def _fuzz_operation(
    operation: Any,
    client: asgi.ASGIClient,
    tally: Tally,
    max_examples: int,
    path_parameters: dict[str, Any] | None = None,
) -> set[int]:
    """Send ``max_examples`` cases of ``operation`` (with ``path_parameters`` fixed, if
    given); the statuses it answered."""
    statuses: set[int] = set()
    strategy = st.one_of(
        operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    )
    seed = SEED ^ zlib.crc32(operation.label.encode()) ^ (1 if path_parameters else 0)

    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=max_examples,
        phases=[Phase.generate],  # no shrinking, no replay of an example database
        database=None,
        deadline=None,
        derandomize=False,  # the explicit seed decides
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        tally.cases += 1
        try:
            response = case.call(session=client, timeout=REQUEST_TIMEOUT_S)
        except Exception as exc:  # 500 (re-raised by Starlette in process) or a timeout
            tally.findings.append(
                Finding(operation.label, 500, _request_line(case), _excerpt(repr(exc)))
            )
            return
        status = response.status_code
        statuses.add(status)
        tally.by_status[status] = tally.by_status.get(status, 0) + 1
        text = response.content.decode("utf-8", errors="replace")  # a file, too
        if status >= 500 or '"code":"db_value_rejected"' in text.replace(" ", ""):
            tally.findings.append(
                Finding(operation.label, status, _request_line(case), _excerpt(text))
            )
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                detail = f"{failure.title}: {failure.message} — {text}"
                tally.findings.append(
                    Finding(operation.label, status, _request_line(case), _excerpt(detail))
                )
        except Failure as failure:
            detail = f"{failure.title}: {failure.message} — {text}"
            tally.findings.append(
                Finding(operation.label, status, _request_line(case), _excerpt(detail))
            )

    run()
    return statuses


def _token(db: Any, username: str) -> str:
    user = db.query(User).filter_by(username=username).one()
    token = do_create_api_token(db, user, "fuzz", actor=TEST_ACTOR)
    db.commit()
    return token


def _submit_lists(client: asgi.ASGIClient, hospital_code: str) -> None:
    """Settlement lists of the hospital through intake, so that the small ids the fuzzer
    draws name lists, versions and events that exist."""
    plan = plan_registry().get(PLAN_ID)
    lists = [
        m
        for m in synthetic_lists(300, plan, seed=SEED % 1000, year=2024)
        if m["setlinfo"]["fixmedins_code"] == hospital_code
    ][:LISTS]
    r = client.post("/api/settlement/lists", json={"lists": lists})
    assert r.status_code == 200 and r.json()["received"] == len(lists) > 0, r.text[:300]


def _world(client: asgi.ASGIClient, db: Any) -> None:
    """The demo world and :data:`LISTS` lists of hosp01 sent by his01 through intake."""
    codes = demo_world(db)
    client.headers["authorization"] = f"Bearer {_token(db, 'his01')}"
    _submit_lists(client, codes["hosp01"])
    del client.headers["authorization"]


@pytest.mark.slow
@pytest.mark.parametrize("username", list(ROLES))
def test_no_server_error_on_any_input(username, db, settings):  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"token_rate_per_minute": 0})  # the fuzzer is fast
    app = create_app(settings)
    client = asgi.get_client(app)
    with client:
        try:
            # the world is the same for every role: built once per process, then copied
            cached(db, "api-fuzz-world", lambda _s: _world(client, db))
            _authenticate(client, db, username)
            primary = None
            if username in PRIMARY:  # learns which operations the primary run covers
                primary = asgi.get_client(app)
                _authenticate(primary, db, PRIMARY[username])
            schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
            # the role's own credentials go with every case: generated Authorization
            # headers and session cookies would only test the refusal (401) and keep
            # the cases from reaching the operation
            schema.config.generation.update(with_security_parameters=False)
            tally = Tally()
            operations = [result.ok() for result in schema.get_all_operations()]
            assert len(operations) >= 50
            for operation in operations:
                # the same seed: the probe's cases are the first of the full run
                probed = _fuzz_operation(operation, client, tally, PROBE_EXAMPLES)
                _stay_signed_in(client, db, username, tally)
                if probed == {403}:
                    continue
                tally.used += 1
                examples, existing = MAX_EXAMPLES, EXISTING_EXAMPLES
                if primary is not None:
                    shared = _fuzz_operation(operation, primary, Tally(), PROBE_EXAMPLES)
                    _stay_signed_in(primary, db, PRIMARY[username], Tally())
                    if shared != {403}:
                        examples = existing = SHARED_EXAMPLES
                        tally.shared += 1
                _fuzz_operation(operation, client, tally, examples)
                _stay_signed_in(client, db, username, tally)
                ids = dict.fromkeys(re.findall(r"\{(\w+_id)\}", operation.path), 1)
                if ids:  # drawn ids rarely exist: once more on rows that do
                    _fuzz_operation(operation, client, tally, existing, ids)
                    _stay_signed_in(client, db, username, tally)
        finally:
            asgi.shutdown_lifespans()  # job threads and connection pools end with the test
    summary = ", ".join(f"{k}×{v}" for k, v in sorted(tally.by_status.items()))
    print(
        f"{username}: {tally.cases} cases over {len(operations)} operations "
        f"({tally.used} open to the role, {tally.shared} of them in full as "
        f"{PRIMARY.get(username, username)}; signed in again {tally.signed_in_again}×): "
        f"{summary}"
    )
    assert not tally.findings, _report(username, tally)


def _report(username: str, tally: Tally) -> str:
    """Every (operation, status) with its count, server errors first; then one example
    request and answer of each."""
    groups: dict[tuple[str, int | None], list[Finding]] = {}
    for f in tally.findings:
        groups.setdefault((f.operation, f.status), []).append(f)
    order = sorted(groups, key=lambda k: ((k[1] or 500) < 500, k[0], k[1] or 0))
    lines = [
        f"{len(tally.findings)} findings as {username} in {tally.cases} cases "
        "(5xx, the database safety net, or an answer the OpenAPI does not document):"
    ]
    lines += [f"  {op} → {status} ×{len(groups[op, status])}" for op, status in order]
    lines += ["examples:"] + [str(groups[key][0]) for key in order[:30]]
    return "\n".join(lines)
