"""Demo knowledge base and rule base (synthetic, clearly marked 演示): restrictions on
the demo catalogue's items — sex-specific items whose indications are the male (MDC M)
and female (MDC N, O) diagnosis lists of the CHS-DRG 1.1 plan data, children-only
drugs (≤ 14 / ≤ 18 years), drugs restricted to diagnoses, department- and level-
restricted items, daily quantity and frequency limits — item relations (exclusive
and inclusive pairs, anaesthesia requiring surgery, a package) and a published rule
set of 300 generated rules over all 15 families."""

from __future__ import annotations

import json
import random
from datetime import date
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.catalogue.repository import catalogue_of, version_in_force
from yibao.engines.audit import FAMILIES
from yibao.supervision.models import (
    KnowledgeRelation,
    KnowledgeRestriction,
    KnowledgeVersion,
    RuleSetVersion,
    StoredRule,
)
from yibao.supervision.schemas import VersionIn
from yibao.supervision.service import do_create_version, do_publish

_COMMON_DX = ("I10", "E11", "J18", "K29", "I63", "I25", "J44", "N18", "C34", "M54")


def _prefixes(name: str, n: int) -> list[str]:
    """The first ``n`` distinct 3-character prefixes of a plan diagnosis list."""
    plan = resources.files("yibao.plans").joinpath("chs-drg-1.1/plan.json")
    codes = json.loads(plan.read_text(encoding="utf-8"))["code_lists"][name]
    seen: dict[str, None] = {}
    for code in codes:
        if code[0] in "NCODQ" and "+" not in code:
            seen.setdefault(code[:3], None)
    return list(seen)[:n]


def _restrictions(by_kind: dict[str, list[Any]]) -> dict[str, list[dict[str, Any]]]:
    w, s = by_kind.get("western", []), by_kind.get("service", [])
    male, female = _prefixes("MDCM.dx", 12), _prefixes("MDCN.dx", 12) + _prefixes("MDCO.dx", 6)
    out: dict[str, list[dict[str, Any]]] = {}
    for item in s[:15]:
        out[item.code] = [{"kind": "sex", "sex": "1"}, {"kind": "indication", "diagnoses": male}]
    for item in s[15:30]:
        out[item.code] = [{"kind": "sex", "sex": "2"}, {"kind": "indication", "diagnoses": female}]
    for i, item in enumerate(w[:30]):
        out[item.code] = [{"kind": "age", "max_years": 14 if i < 20 else 18}]
    for i, item in enumerate(w[30:80]):
        dx = [_COMMON_DX[i % 10], _COMMON_DX[(i + 3) % 10]]
        out[item.code] = [{"kind": "indication", "diagnoses": dx}]
    for i, item in enumerate(w[80:130]):
        out[item.code] = [{"kind": "quantity", "per_day": str(2 + i % 4)}]
    for i, item in enumerate(s[30:50]):
        out[item.code] = [{"kind": "department", "departments": ["A03" if i % 2 else "A07"]}]
    for item in s[50:70]:
        out[item.code] = [{"kind": "hospital_level", "min_level": "3"}]
    for item in s[70:100]:
        out[item.code] = [{"kind": "frequency", "max_times": 1, "per": "day"}]
    for item in s[100:110]:
        out[item.code] = [{"kind": "course", "per": "visit", "max_sessions": 20}]
    return out


def _relations(s: list[Any]) -> list[dict[str, Any]]:
    rels: list[dict[str, Any]] = []
    pool = s[110:170]
    for i in range(0, 20, 2):
        rels.append({"kind": "exclusive", "codes": [pool[i].code, pool[i + 1].code]})
    for i in range(20, 40, 2):
        rels.append({"kind": "inclusive", "whole": pool[i].code, "part": pool[i + 1].code})
    anaesthesia = [x for x in s if "麻醉" in x.name][:3] or pool[40:41]
    surgery = [x.code for x in s if x.fee_type == "06" and "麻醉" not in x.name][:30]
    for a in anaesthesia:
        rels.append({"kind": "requires", "item": a.code, "any_of": surgery or [pool[41].code]})
    rels.append(
        {
            "kind": "package",
            "package": pool[45].code,
            "components": [x.code for x in pool[46:50]],
            "min_components": 2,
        }
    )
    return rels


def demo_rules(codes: dict[str, list[str]], n: int = 300, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` synthetic rules (演示), 20 a family: the first of each points at the whole
    knowledge base, the others are narrowed to their own share of the family's items
    (a shuffled pool dealt out, so that one item is the concern of one narrowed rule
    of a family, not of a dozen that would all warn about it at once)."""
    families = sorted(FAMILIES)
    per_family = -(-n // len(families))
    pools: dict[str, list[str]] = {}
    for family in families:
        pools[family] = list(codes.get(family) or codes["all"])
        random.Random(f"{seed}-{family}").shuffle(pools[family])
    out = []
    for i in range(n):
        family = families[i % len(families)]
        k = i // len(families)
        params: dict[str, Any] = {}
        pool = pools[family]
        if k and family not in ("duplicate", "linkage", "unbundling", "phantom"):
            share = pool[k - 1 :: per_family - 1] or [pool[(k - 1) % len(pool)]]
            params["codes"] = sorted(set(share[:8]))
        window = FAMILIES[family].windows[k % len(FAMILIES[family].windows)]
        out.append(
            {
                "rule_id": f"DEMO-{family.upper()}-{k + 1:02d}",
                "version": 1,
                "name": f"演示规则（合成）：{FAMILIES[family].name} {k + 1}",
                "family": family,
                "params": params,
                "stages": ["pre", "mid", "post"],
                "trig_scen": [],
                "window": window,
                "result_type": "definite" if family in ("sex", "duplicate") else "suspicious",
                "sev_deg": 1 + k % 3,
                "enabled": True,
                "valid_from": None,
                "valid_to": None,
            }
        )
    return out


def seed_supervision(session: Session, region: str, *, actor: Actor) -> tuple[int, int]:
    """Publish the demo knowledge version and rule set of ``region`` (its catalogue
    must be published); returns their ids."""
    cat = version_in_force(session, region, date.today())
    if cat is None:
        raise RuntimeError("演示知识库：请先发布演示目录")
    items = list(catalogue_of(session, cat).values())
    by_kind: dict[str, list[Any]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    base = VersionIn.model_validate(
        {"region_code": region, "name": "演示知识库（合成）", "valid_from": cat.valid_from}
        | {"empty": True}
    )
    kv = do_create_version(session, KnowledgeVersion, base, actor=actor)
    restricted = _restrictions(by_kind)
    names = {i.code: i.name for i in items}
    session.add_all(
        KnowledgeRestriction(version_id=kv.id, code=c, name=names[c], restrictions=r)
        for c, r in restricted.items()
    )
    session.add_all(
        KnowledgeRelation(version_id=kv.id, kind=r["kind"], body=r, note="演示")
        for r in _relations(by_kind.get("service", []))
    )
    session.flush()
    do_publish(session, KnowledgeVersion, kv.id, actor=actor, reason="演示数据初始化")
    kinds = {r[0]["kind"] for r in restricted.values()}
    codes = {"all": sorted(restricted)} | {
        k: sorted(c for c, r in restricted.items() if any(x["kind"] == k for x in r)) for k in kinds
    }
    codes |= {
        "care_mode": codes["all"],
        "institution": codes.get("hospital_level", []),
        "specialty": codes.get("department", []),
        "price": [i.code for i in items[:200]],
    }
    base = base.model_copy(update={"name": "演示规则库（合成，300 条）"})
    rs = do_create_version(session, RuleSetVersion, base, actor=actor)
    session.add_all(StoredRule(set_id=rs.id, **r) for r in demo_rules(codes))
    session.flush()
    do_publish(session, RuleSetVersion, rs.id, actor=actor, reason="演示数据初始化")
    return kv.id, rs.id


def reset_supervision(session: Session, prefix: str) -> None:
    """Delete every knowledge version and rule set of regions under ``prefix``."""
    from sqlalchemy import delete, select  # noqa: PLC0415

    for model, child, key in (
        (KnowledgeVersion, KnowledgeRelation, KnowledgeRelation.version_id),
        (KnowledgeVersion, KnowledgeRestriction, KnowledgeRestriction.version_id),
        (RuleSetVersion, StoredRule, StoredRule.set_id),
    ):
        ids = select(model.id).where(model.region_code.startswith(prefix))
        session.execute(delete(child).where(key.in_(ids)))
    for model in (KnowledgeVersion, RuleSetVersion):
        session.execute(delete(model).where(model.region_code.startswith(prefix)))
