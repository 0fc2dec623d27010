"""The demo's post-audit (事后审核) and findings workflow (演示, synthetic): after the
seed's settlement months and the demo HIS's real-time settlements, the bureau's
post-audit runs over them with the rule base in force and the DRG detectors
(:func:`~yibao.supervision.findings.run.run_post_audit`, exactly as the reviewer's
「发起事后审核」 does); the reviewer publishes (公示) the largest findings of the first
demo hospital users (hosp01–hosp03); hosp01 accepts one and appeals another, which then waits for
the reviewer's 初审.  Every step goes through the findings service, with its audit
rows; nothing here sets a state or an amount itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.service import scope_of
from yibao.audit.service import Actor
from yibao.db.scoping import SYSTEM_SCOPE, get_scope, set_scope
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.run import run_post_audit
from yibao.supervision.findings.service import do_accept, do_appeal, do_publish
from yibao.supervision.findings.states import State

#: the demo hospital users (hosp01, hosp02, …) whose findings the reviewer publishes
PUBLISHED_HOSPITALS = 3
#: findings published to one hospital at most, largest first (the others wait, 待公示)
PUBLISH_PER_HOSPITAL = 10
APPEAL_REASON = "演示：该患者病情需要，已附病程记录说明，申请不予扣款"


@dataclass
class FindingsSeedResult:
    found: int = 0
    published: int = 0
    accepted: int = 0
    appealed: int = 0

    def summary(self) -> str:
        return (
            f"事后审核疑点 {self.found:,} 条，已公示 {self.published}"
            f"（医院认可 {self.accepted}、申诉 {self.appealed}，待初审）"
        )


def _actor(user: User) -> Actor:
    return Actor(user.id, user.username, user.region_code, user.hospital_id)


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def seed_findings(session: Session, region_code: str, months: list[str]) -> FindingsSeedResult:
    """Run the post-audit of ``months`` as the demo reviewer, publish, answer."""
    result = FindingsSeedResult()
    set_scope(session, SYSTEM_SCOPE)
    reviewer = _user(session, "reviewer")
    if reviewer is None:
        return result
    set_scope(session, scope_of(reviewer))
    summary = run_post_audit(session, months, actor=_actor(reviewer))
    result.found = int(summary["found"])
    users = session.scalars(
        select(User)
        .where(User.username.in_([f"hosp{n:02d}" for n in range(1, PUBLISHED_HOSPITALS + 1)]))
        .order_by(User.username)
    ).all()
    for user in users:
        if user.hospital is None:
            continue
        ids = session.scalars(
            select(Finding.id)
            .where(Finding.hospital_code == user.hospital.code, Finding.state == State.NEW.value)
            .order_by(Finding.vola_amt.desc(), Finding.id)
            .limit(PUBLISH_PER_HOSPITAL)
        ).all()
        if ids:
            reason = "演示：事后审核疑点公示，请于答复期限内认可或申诉"
            do_publish(session, ids, reason=reason, user=reviewer, actor=_actor(reviewer))
            result.published += len(ids)
            if user.username == "hosp01":
                _answer(session, user, list(ids), result)
    return result


def _answer(session: Session, user: User, ids: list[int], result: FindingsSeedResult) -> None:
    """The hospital's user accepts its largest published finding and appeals the
    second (with a reason, no attachment); the session's scope is put back."""
    scope = get_scope(session)
    set_scope(session, scope_of(user))
    do_accept(session, ids[0], reason="演示：认可", user=user, actor=_actor(user))
    result.accepted += 1
    if len(ids) > 1:
        do_appeal(session, ids[1], reason=APPEAL_REASON, files=[], user=user, actor=_actor(user))
        result.appealed += 1
    if scope is not None:
        set_scope(session, scope)
