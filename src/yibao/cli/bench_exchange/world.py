"""The world of the benchmark: the database migrated and seeded, HIS client users and
tokens, patients, priced catalogue items and the stays an earlier run left waiting."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from yibao.cli.bench_exchange.model import (
    FEN,
    TOKEN_NAME,
    USERNAME,
    Institution,
    Patient,
    Stay,
    World,
)
from yibao.cli.bench_web import SERVE


def prepare(url: str, env: dict[str, str], say: Any) -> None:
    """Migrate; seed a small demo region when the database is empty (no case history
    and no settlement workload: the gateway needs neither)."""
    year = str(datetime.now().year - 1)
    steps = (
        ["db", "upgrade"],
        ["demo", "seed", "--if-empty", "--cases-per-year", "50", "--years", year],
        ["--no-settlement"],
    )
    for args in (steps[0], steps[1] + steps[2]):
        say(f"yibao {' '.join(args)} …")
        done = subprocess.run(
            [sys.executable, "-c", SERVE, *args], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"yibao {' '.join(args)} 失败：\n{done.stdout}\n{done.stderr}")


# long: one read of everything the bench needs from the register, in one transaction
def load_world(url: str, hospitals: int, seed: int) -> World:
    """HIS client users and fresh tokens of the first ``hospitals`` hospitals, their
    patients (the insured register dealt out), priced catalogue items, and the stays
    an earlier run left waiting."""
    from sqlalchemy import func, select

    from yibao.accounts.repository import user_by_username
    from yibao.accounts.roles import Role
    from yibao.accounts.service import do_create_user, hash_password
    from yibao.accounts.tokens import do_create_api_token
    from yibao.audit.service import Actor
    from yibao.catalogue.models import CatalogueEntry
    from yibao.catalogue.repository import version_in_force
    from yibao.db.scoping import SYSTEM_SCOPE, set_scope
    from yibao.db.session import make_engine, session_factory
    from yibao.demo.seed import DEMO_PASSWORD
    from yibao.exchange.models import Fee, Visit
    from yibao.insured.models import InsuredPerson
    from yibao.kit.timeutil import local
    from yibao.regions.models import Hospital

    actor = Actor(None, "bench")
    rng = random.Random(seed)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            set_scope(session, SYSTEM_SCOPE)
            rows = session.scalars(
                select(Hospital).order_by(Hospital.level.desc(), Hospital.code).limit(hospitals)
            ).all()
            if not rows:
                raise RuntimeError("数据库中没有医院：请先 yibao demo seed")
            institutions, ids = [], {}
            hashed = hash_password(DEMO_PASSWORD)
            for i, h in enumerate(rows):
                name = USERNAME.format(code=h.code)
                user = user_by_username(session, name)
                if user is None:
                    user = do_create_user(
                        session,
                        username=name,
                        password=DEMO_PASSWORD,
                        password_hash=hashed,
                        role=Role.HIS_CLIENT,
                        display_name=f"HIS 压测（{h.code}）",
                        hospital_code=h.code,
                        actor=actor,
                    )
                token = do_create_api_token(session, user, TOKEN_NAME, actor=actor)
                admvs = h.region_code[:4] + "00"
                institutions.append(Institution(i, h.code, h.name, admvs, token))
                ids[h.id] = i
            people = session.scalars(
                select(InsuredPerson)
                .where(InsuredPerson.psn_insu_stas == "1")
                .order_by(InsuredPerson.id)
            ).all()
            firsts = dict(
                session.execute(
                    select(Visit.person_id, func.min(Visit.begntime))
                    .where(Visit.kind == "ipt", Visit.state != "cancelled")
                    .group_by(Visit.person_id)
                ).all()
            )
            patients = [
                Patient(
                    n % len(rows),
                    p.psn_no,
                    p.certno,
                    p.psn_name,
                    p.insutype,
                    p.insuplc_admdvs,
                    local(firsts[p.id]).replace(tzinfo=None) if p.id in firsts else None,
                )
                for n, p in enumerate(people)
            ]
            today = datetime.now().date()
            version = version_in_force(session, institutions[0].admvs, today)
            if version is None:
                raise RuntimeError(f"{institutions[0].admvs} 没有已发布的医保目录")
            entries = session.scalars(
                select(CatalogueEntry)
                .where(CatalogueEntry.version_id == version.id)
                .order_by(CatalogueEntry.id)
                .limit(400)
            ).all()
            items = []
            for e in entries:
                if e.restrictions:
                    continue
                caps = [c for c in (e.cap_lv1, e.cap_lv2, e.cap_lv3) if c is not None]
                price = min(caps) if caps else Decimal(rng.randint(5, 400))
                items.append((e.code, Decimal(price).quantize(FEN)))
            waiting_rows = session.execute(
                select(
                    Visit.hospital_id,
                    Visit.mdtrt_id,
                    Visit.psn_no,
                    InsuredPerson.certno,
                    Visit.insutype,
                    InsuredPerson.insuplc_admdvs,
                    func.sum(Fee.det_item_fee_sumamt),
                )
                .join(InsuredPerson, InsuredPerson.id == Visit.person_id)
                .join(Fee, (Fee.visit_id == Visit.id) & (Fee.state == "open"))
                .where(
                    Visit.hospital_id.in_(list(ids)),
                    Visit.kind == "ipt",
                    Visit.state == "discharged",
                    Visit.endtime >= datetime.now().astimezone() - timedelta(days=20),
                )
                .group_by(
                    Visit.id,
                    Visit.hospital_id,
                    Visit.mdtrt_id,
                    Visit.psn_no,
                    InsuredPerson.certno,
                    Visit.insutype,
                    InsuredPerson.insuplc_admdvs,
                )
            ).all()
            waiting = [
                Stay(ids[r[0]], r[1], r[2], r[3], r[4], r[5], Decimal(r[6]).quantize(FEN))
                for r in waiting_rows
            ]
            session.commit()
    finally:
        engine.dispose()
    return World(institutions, patients, items, waiting, ids)
