"""Medical-list catalogue (医保目录) engine: catalogue items, their typed payment
restrictions, and the classification of fee lines into 全自费, over the price cap,
先自付 and in-scope amounts.  Pure (stdlib, Pydantic, ``yibao.kit``); see
``docs/adr/0016-catalogue-and-insured.md``.
"""

from yibao.engines.catalogue.classify import (
    FEN,
    CategorySplit,
    Classification,
    FeeLine,
    FeeSplit,
    LineSplit,
    classify_fees,
    classify_line,
    half_up,
)
from yibao.engines.catalogue.model import (
    CLASS_A,
    CLASS_B,
    CLASS_C,
    CLASSES,
    CODE_RULE,
    FEE_TYPES,
    KINDS,
    LEVEL_NAMES,
    LEVELS,
    Catalogue,
    CatalogueError,
    CatalogueItem,
    item_problems,
)
from yibao.engines.catalogue.restrictions import (
    RESTRICTION_KINDS,
    Restriction,
    describe,
    dump_restrictions,
    parse_restrictions,
)

__all__ = [
    "CLASSES",
    "CLASS_A",
    "CLASS_B",
    "CLASS_C",
    "CODE_RULE",
    "FEE_TYPES",
    "FEN",
    "KINDS",
    "LEVELS",
    "LEVEL_NAMES",
    "RESTRICTION_KINDS",
    "Catalogue",
    "CatalogueError",
    "CatalogueItem",
    "CategorySplit",
    "Classification",
    "FeeLine",
    "FeeSplit",
    "LineSplit",
    "Restriction",
    "classify_fees",
    "classify_line",
    "describe",
    "dump_restrictions",
    "half_up",
    "item_problems",
    "parse_restrictions",
]
