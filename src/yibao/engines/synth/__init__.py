"""Synthetic demo data: a clearly fictitious region and realistic inpatient cases.

>>> from yibao.engines.synth import make_region, generate_cases, write_parquet
>>> region = make_region(seed=1)                                   # 演示市 990100
>>> batches = generate_cases(region, [2023, 2024], 100_000, seed=1, plan_dir=plan_dir)
>>> write_parquet(batches, "out/")                                 # doctest: +SKIP
{'cases': 200000, 'diagnoses': ..., 'procedures': ...}

Cases follow :mod:`yibao.engines.caseframe`; every case is built for a target DRG of
the plan (``CaseBatch.targets``) from templates checked against the plan's own
conditions, so a CHS-DRG grouper puts it in that DRG.
"""

from yibao.engines.synth.cases import CaseBatch, CostParams, generate_cases
from yibao.engines.synth.model import drg_mix
from yibao.engines.synth.region import Region, make_region
from yibao.engines.synth.writer import write_parquet

__all__ = [
    "CaseBatch",
    "CostParams",
    "Region",
    "drg_mix",
    "generate_cases",
    "make_region",
    "write_parquet",
]
