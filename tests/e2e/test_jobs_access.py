"""A job's status and result file are its owner's and the roles' that work with its
kind: a rule administrator (no case, grouping or list permission) in the scope once
read and downloaded a hospital's grouping result, the hospital's patients case by case."""

from __future__ import annotations

import json
from base64 import b64encode

import itsdangerous
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.e2e.test_grouping_api import wait_job, world
from yibao.accounts.models import User
from yibao.accounts.sessions import SESSION_KEY, do_start_session
from yibao.api.cookies import COOKIE

CSRF = "review-i-csrf-token-0123456789abcdef"


def session_login(client, db: Session, username: str) -> User:  # type: ignore[no-untyped-def]
    """Sign ``username`` in as ``POST /login`` leaves a browser: a session row and the
    signed cookie (the login form is not what this test is about)."""
    user = db.scalar(select(User).where(User.username == username))
    assert user is not None, username
    key = do_start_session(db, user, lifetime_s=3600)
    db.commit()
    settings = client.app.state.settings
    payload = b64encode(json.dumps({"user_id": user.id, SESSION_KEY: key, "csrf": CSRF}).encode())
    signed = itsdangerous.TimestampSigner(settings.resolved_secret_key()).sign(payload)
    client.cookies.set(COOKIE, signed.decode())
    client.headers["x-csrf-token"] = CSRF
    return user


def test_rule_admin_cannot_download_a_hospitals_grouping_result(client, db) -> None:  # type: ignore[no-untyped-def]
    world(db)
    session_login(client, db, "hosp_b")
    client.app.state.settings.grouping_sync_max_rows = 1
    rows = b"case_id,sex,age_years,diagnoses\nPATIENT-X1,1,40,K35.800\nPATIENT-X2,1,30,K35.800\n"
    r = client.post("/api/grouping/batch", files={"file": ("b.csv", rows, "text/csv")})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert wait_job(client, job_id)["status"] == "succeeded"

    session_login(client, db, "rules")  # rule_admin of city 990100: no grouping, no cases
    assert client.get("/api/grouping/plans").status_code == 403
    assert client.get("/api/cases").status_code == 403
    # yet the hospital's grouping result is one request away
    r = client.get(f"/api/jobs/{job_id}/result")
    assert r.status_code in (403, 404), (r.status_code, r.text[:200])
