"""The demo's medical-list catalogue (合成演示目录), generated from a seed.

A few thousand entries in the shape of the national catalogue — western and patent
medicines, herbal pieces, service items by chapter, consumables — with classes,
先自付 ratios, price caps by hospital level and some restrictions.  Everything is
synthetic: medicine and consumable names carry the syllable 演 or a 演示 model, codes
follow the national layouts with made-up digits (service items under chapter 99, which
does not exist), prices are drawn, not copied.  Published for 演示市 (990100) through
the bureau's own path (create draft → entries → publish), so it is audited.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.catalogue.models import CatalogueEntry, CatalogueVersion
from yibao.catalogue.schemas import VersionIn
from yibao.catalogue.service import do_create_version, do_publish_version, do_replace_entries
from yibao.engines.catalogue import CatalogueItem, Restriction, parse_restrictions

CITY = "990100"
#: share of each kind in the generated catalogue
SHARES = {"western": 0.40, "patent": 0.18, "herbal": 0.06, "service": 0.26, "material": 0.10}
_SYLLABLES = "达诺贝卡米瑞泰福康宁安普兰索维奥利司替沙芬洛伦佐嘉"
#: (ATC level 4, stem placement, stem, forms) — suffix stems follow the INN families
_WESTERN = (
    ("C09CA", "suffix", "沙坦", ("片", "胶囊", "分散片")),
    ("C09AA", "suffix", "普利", ("片",)),
    ("C10AA", "suffix", "伐他汀", ("片", "钙片")),
    ("A02BC", "suffix", "拉唑", ("肠溶片", "肠溶胶囊", "注射用")),
    ("J01DD", "prefix", "头孢", ("注射用", "片", "颗粒")),
    ("J01MA", "suffix", "沙星", ("片", "注射液", "滴眼液")),
    ("C07AB", "suffix", "洛尔", ("片", "缓释片")),
    ("C08CA", "suffix", "地平", ("片", "缓释片", "控释片")),
    ("A10BB", "prefix", "格列", ("片", "缓释片")),
    ("N05CD", "suffix", "西泮", ("片", "注射液")),
    ("L01XE", "suffix", "替尼", ("片", "胶囊")),
    ("B01AC", "suffix", "格雷", ("片",)),
    ("R06AX", "suffix", "他定", ("片", "口服溶液")),
    ("M01AE", "suffix", "洛芬", ("片", "缓释胶囊", "混悬液")),
)
_UNITS = {
    "片": "片",
    "分散片": "片",
    "缓释片": "片",
    "控释片": "片",
    "肠溶片": "片",
    "钙片": "片",
    "胶囊": "粒",
    "肠溶胶囊": "粒",
    "缓释胶囊": "粒",
    "注射液": "支",
    "注射用": "瓶",
    "颗粒": "袋",
    "口服溶液": "瓶",
    "混悬液": "瓶",
    "滴眼液": "支",
    "丸": "袋",
    "滴丸": "袋",
    "口服液": "支",
}
_TCM_EFFECTS = ("清热", "活血", "益气", "安神", "止咳", "通络", "健脾", "补肾", "解毒", "化瘀")
_TCM_HERBS = ("丹", "芪", "参", "芩", "苓", "归", "草", "藤", "连", "桂")
_TCM_FORMS = ("胶囊", "颗粒", "丸", "片", "口服液", "滴丸")
_HERB_PARTS = ("根", "叶", "花", "子", "皮", "草", "藤", "仁")
_HERB_PROCESS = ("净制", "切片", "炒制", "蜜炙", "酒炙")
#: service chapters: (fee category, chapter, base price range, names)
_SITES = ("头颅", "胸部", "上腹部", "下腹部", "盆腔", "腰椎", "颈椎", "膝关节", "心脏", "甲状腺")
_IMAGING = (
    ("X线摄影", 40, 90),
    ("CT平扫", 150, 260),
    ("CT增强扫描", 300, 480),
    ("磁共振平扫", 380, 560),
    ("磁共振增强扫描", 600, 900),
    ("彩色多普勒超声检查", 90, 180),
)
_TESTS = (
    "血常规",
    "尿常规",
    "肝功能",
    "肾功能",
    "血糖",
    "糖化血红蛋白",
    "血脂",
    "电解质",
    "凝血功能",
    "C反应蛋白",
    "降钙素原",
    "乙型肝炎病毒表面抗原",
    "甲胎蛋白",
    "癌胚抗原",
    "血气分析",
    "心肌肌钙蛋白",
)
_METHODS = ("测定", "测定（化学发光法）", "测定（免疫比浊法）", "测定（干化学法）")
_TREATMENTS = (
    "静脉输液",
    "肌肉注射",
    "大换药",
    "中换药",
    "小换药",
    "雾化吸入",
    "氧气吸入",
    "血液透析",
    "针刺",
    "推拿治疗",
    "康复训练",
    "持续有创呼吸机辅助通气",
    "心电监护",
    "导尿",
)
_SURGERY = (
    "阑尾切除术",
    "腹腔镜胆囊切除术",
    "腹股沟疝修补术",
    "甲状腺部分切除术",
    "经皮冠状动脉支架置入术",
    "人工髋关节置换术",
    "人工膝关节置换术",
    "子宫下段剖宫产术",
    "白内障超声乳化摘除术",
    "经尿道前列腺电切术",
    "乳腺肿物切除术",
    "腰椎间盘髓核摘除术",
)
_CARE = ("特级护理", "一级护理", "二级护理", "三级护理", "气管切开护理", "造口护理")
_WARDS = ("普通病房床位费", "双人间病房床位费", "重症监护病房床位费", "层流洁净病房床位费")
_CONSULTS = ("普通门诊诊察费", "副主任医师门诊诊察费", "主任医师门诊诊察费", "急诊诊察费")
_MATERIALS = (
    ("一次性使用输液器", 2, 8, False),
    ("一次性使用注射器", 0.5, 3, False),
    ("一次性使用导尿包", 10, 40, False),
    ("静脉留置针", 8, 30, False),
    ("一次性使用吸痰管", 2, 6, False),
    ("冠状动脉药物洗脱支架", 600, 900, True),
    ("人工髋关节假体", 6000, 12000, True),
    ("人工晶状体", 800, 3000, True),
    ("一次性使用吻合器", 1200, 3500, True),
    ("疝修补补片", 600, 2500, True),
    ("骨科接骨板", 1500, 6000, True),
    ("椎间融合器", 3000, 9000, True),
)


Limit = tuple[str, tuple[Restriction, ...]]
NO_LIMIT: Limit = ("", ())


def _limit(text: str, rules: list[dict[str, Any]]) -> Limit:
    """The catalogue's words and the typed restriction they stand for."""
    return text, parse_restrictions(rules)


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class _Maker:
    """Draws for one catalogue: classes, ratios, caps and unique codes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.codes: set[str] = set()

    def code(self, make: Callable[[], str], prefix: str = "") -> str:
        while True:
            code = prefix + make()
            if code not in self.codes:
                self.codes.add(code)
                return code

    def klass(self, a: float, b: float) -> tuple[str, Decimal]:
        u = self.rng.random()
        if u < a:
            return "01", Decimal(0)
        if u < a + b:
            ratio = self.rng.choice(("0.05", "0.10", "0.10", "0.15", "0.20", "0.30"))
            return "02", Decimal(ratio)
        return "03", Decimal(1)

    def same_caps(self, price: Decimal, share: float) -> dict[str, Decimal]:
        """One cap for every level (a payment standard), for ``share`` of items."""
        if self.rng.random() >= share:
            return {}
        cap = _money(float(price) * self.rng.uniform(0.8, 1.1))
        return dict.fromkeys(("1", "2", "3"), cap)

    def name(self) -> str:
        return "演" + self.rng.choice(_SYLLABLES)


def _western(m: _Maker, n: int) -> list[CatalogueItem]:
    rng, out = m.rng, []
    for i in range(n):
        atc, place, stem, forms = rng.choice(_WESTERN)
        form = rng.choice(forms)
        generic = m.name() + stem if place == "suffix" else stem + m.name()[1] + "演"
        name = f"注射用{generic}钠" if form == "注射用" else f"{generic}{form}"
        strength = rng.choice((5, 10, 20, 25, 40, 50, 80, 100, 150, 200, 250, 500))
        pack = rng.choice((7, 12, 14, 24, 28, 30, 48))
        unit = _UNITS[form]
        price = _money(rng.lognormvariate(0.3, 1.0) * (8 if unit in ("支", "瓶") else 1))
        lv, prop = m.klass(0.35, 0.50)
        code = m.code(
            lambda: (
                f"{rng.choice('ABD')}{rng.randrange(1000):03d}A"
                f"{rng.randrange(1, 300):03d}{rng.randrange(10000):04d}{rng.randrange(100000):05d}"
            ),
            prefix=f"X{atc}",
        )
        text, rules = _restriction(rng, i, atc)
        out.append(
            CatalogueItem(
                code=code,
                name=name,
                kind="western",
                fee_type="09",
                chrgitm_lv=lv,
                selfpay_prop=prop,
                caps=m.same_caps(price, 0.4) if lv != "03" else {},
                unit=unit,
                spec=f"{strength}mg×{pack}{unit}" if unit in ("片", "粒") else f"{strength}mg",
                limit_text=text,
                restrictions=rules,
            )
        )
    return out


def _restriction(rng: random.Random, i: int, atc: str) -> Limit:
    """Some entries carry a restriction (about one in twelve)."""
    if i % 12:
        return NO_LIMIT
    if atc.startswith("L01"):
        return _limit("限肺癌患者", [{"kind": "indication", "diagnoses": ["C34"]}])
    choices = (
        _limit("限二级及以上医疗机构", [{"kind": "hospital_level", "min_level": "2"}]),
        _limit("限儿童", [{"kind": "age", "max_years": 17}]),
        _limit("限住院患者", [{"kind": "setting", "setting": "inpatient"}]),
        _limit("限确诊的高血压患者", [{"kind": "indication", "diagnoses": ["I10", "I11", "I15"]}]),
        _limit("每日限 3 片", [{"kind": "quantity", "per_day": "3"}]),
    )
    return rng.choice(choices)


def _patent(m: _Maker, n: int) -> list[CatalogueItem]:
    rng, out = m.rng, []
    for i in range(n):
        form = rng.choice(_TCM_FORMS)
        name = f"{m.name()}{rng.choice(_TCM_EFFECTS)}{rng.choice(_TCM_HERBS)}{form}"
        unit = _UNITS[form]
        price = _money(rng.lognormvariate(0.5, 0.8))
        lv, prop = m.klass(0.30, 0.55)
        code = m.code(
            lambda: (
                f"Z{rng.choice('ABCDEF')}{rng.randrange(1, 20):02d}"
                f"{rng.choice('ABC')}{rng.randrange(1000):04d}{rng.randrange(1, 200):03d}"
                f"{rng.randrange(10000):04d}{rng.randrange(10000):04d}"
            )
        )
        text, rules = _restriction(rng, i + 6, "Z")
        out.append(
            CatalogueItem(
                code=code,
                name=name,
                kind="patent",
                fee_type="11",
                chrgitm_lv=lv,
                selfpay_prop=prop,
                caps=m.same_caps(price, 0.3) if lv != "03" else {},
                unit=unit,
                spec=f"{rng.choice((0.3, 0.4, 0.5))}g×{rng.choice((12, 24, 36))}{unit}",
                limit_text=text,
                restrictions=rules,
            )
        )
    return out


def _herbal(m: _Maker, n: int) -> list[CatalogueItem]:
    rng, out = m.rng, []
    for _ in range(n):
        name = f"{m.name()}{rng.choice(_TCM_HERBS)}{rng.choice(_HERB_PARTS)}"
        lv, prop = ("01", Decimal(0)) if rng.random() < 0.7 else ("03", Decimal(1))
        out.append(
            CatalogueItem(
                code=m.code(lambda: f"T{rng.randrange(10**8):08d}"),
                name=name,
                kind="herbal",
                fee_type="10",
                chrgitm_lv=lv,
                selfpay_prop=prop,
                unit="克",
                spec=rng.choice(_HERB_PROCESS),
            )
        )
    return out


def _service_names(rng: random.Random) -> tuple[str, str, float, float]:
    """(fee category, name, low, high price) of one drawn service item."""
    u = rng.random()
    if u < 0.30:
        method, lo, hi = rng.choice(_IMAGING)
        return "03", f"{rng.choice(_SITES)}{method}", lo, hi
    if u < 0.55:
        return "04", f"{rng.choice(_TESTS)}{rng.choice(_METHODS)}", 5, 80
    if u < 0.75:
        return "05", rng.choice(_TREATMENTS), 5, 400
    if u < 0.88:
        return "06", rng.choice(_SURGERY), 800, 6000
    if u < 0.93:
        return "07", rng.choice(_CARE), 10, 120
    if u < 0.97:
        return "01", rng.choice(_WARDS), 30, 600
    return "02", rng.choice(_CONSULTS), 5, 50


def _services(m: _Maker, n: int) -> list[CatalogueItem]:
    rng, out = m.rng, []
    seen: dict[str, int] = {}
    for _ in range(n):
        fee_type, base_name, lo, hi = _service_names(rng)
        seen[base_name] = seen.get(base_name, 0) + 1
        variant = seen[base_name]
        name = base_name if variant == 1 else f"{base_name}（{_VARIANT[(variant - 2) % 6]}）"
        top = _money(rng.uniform(lo, hi))
        lv, prop = m.klass(0.70, 0.20)
        if fee_type == "01" and "层流" in base_name:
            lv, prop = "03", Decimal(1)
        caps = {
            "1": _money(float(top) * 0.8),
            "2": _money(float(top) * 0.9),
            "3": top,
        }
        chapter = int(fee_type)
        code = m.code(
            lambda: (
                f"{rng.randrange(1, 100):02d}{rng.randrange(10000):04d}{rng.randrange(100000):05d}"
            ),
            prefix=f"99{chapter:02d}",
        )
        text, rules = NO_LIMIT
        if "剖宫产" in base_name:
            text, rules = _limit("限女性", [{"kind": "sex", "sex": "2"}])
        elif "前列腺" in base_name:
            text, rules = _limit("限男性", [{"kind": "sex", "sex": "1"}])
        out.append(
            CatalogueItem(
                code=code,
                name=name,
                kind="service",
                fee_type=fee_type,
                chrgitm_lv=lv,
                selfpay_prop=prop,
                caps=caps if lv != "03" else {},
                unit="次" if fee_type not in ("01", "07") else "日",
                limit_text=text,
                restrictions=rules,
            )
        )
    return out


_VARIANT = ("加收", "儿童", "急诊", "床旁", "每增加一个部位", "复杂")


def _materials(m: _Maker, n: int) -> list[CatalogueItem]:
    rng, out = m.rng, []
    for _ in range(n):
        thing, lo, hi, implant = rng.choice(_MATERIALS)
        model = f"演示型号 YS-{rng.randrange(10000):04d}"
        price = _money(rng.uniform(lo, hi))
        lv, prop = m.klass(0.20, 0.65)
        if implant and lv == "02":
            prop = Decimal(rng.choice(("0.20", "0.30")))
        text, rules = NO_LIMIT
        if implant and rng.random() < 0.3:
            text, rules = _limit(
                "限二级及以上医疗机构", [{"kind": "hospital_level", "min_level": "2"}]
            )
        out.append(
            CatalogueItem(
                code=m.code(
                    lambda: (
                        f"C{rng.randrange(1, 20):02d}{rng.randrange(100):02d}"
                        f"{rng.randrange(1000):03d}{rng.randrange(10000):04d}"
                        f"{rng.randrange(10**8):08d}"
                    )
                ),
                name=f"{thing}（演示型）",
                kind="material",
                fee_type="08",
                chrgitm_lv=lv,
                selfpay_prop=prop,
                caps=m.same_caps(price, 0.6) if lv != "03" else {},
                unit="个" if implant else "支",
                spec=model,
                limit_text=text,
                restrictions=rules,
            )
        )
    return out


def demo_catalogue(seed: int, size: int = 3000) -> list[CatalogueItem]:
    """``size`` synthetic entries (deterministic by ``seed``), in code order."""
    maker = _Maker(random.Random(f"catalogue-{seed}"))
    counts = {k: round(size * s) for k, s in SHARES.items()}
    counts["western"] += size - sum(counts.values())
    items = (
        _western(maker, counts["western"])
        + _patent(maker, counts["patent"])
        + _herbal(maker, counts["herbal"])
        + _services(maker, counts["service"])
        + _materials(maker, counts["material"])
    )
    return sorted(items, key=lambda i: i.code)


def seed_catalogue(session: Session, *, seed: int, actor: Actor, size: int = 3000) -> int:
    """Publish the demo catalogue of 演示市 through the bureau's path; its id."""
    data = VersionIn.model_validate(
        {
            "region_code": CITY,
            "region_name": "演示市",
            "name": "演示市基本医疗保险药品、诊疗项目和医用耗材目录（合成数据）",
            "valid_from": date(2020, 1, 1),
            "source": "合成演示数据",
            "note": "由演示数据生成器按种子生成，名称、编码和价格均为虚构",
        }
    )
    version = do_create_version(session, data, actor=actor)
    do_replace_entries(
        session, version.id, demo_catalogue(seed, size), actor=actor, source="合成演示数据"
    )
    do_publish_version(session, version.id, actor=actor, reason="演示数据初始化")
    return version.id


def reset_catalogue(session: Session, prefix: str) -> None:
    """Delete the catalogue versions of the regions under ``prefix``."""
    ids = select(CatalogueVersion.id).where(CatalogueVersion.region_code.startswith(prefix))
    session.execute(delete(CatalogueEntry).where(CatalogueEntry.version_id.in_(ids)))
    session.execute(delete(CatalogueVersion).where(CatalogueVersion.region_code.startswith(prefix)))
