"""A clearly synthetic region: 演示市 (admdvs 990100) with districts and hospitals.

Province code 99 does not exist, so no code here can be mistaken for a real region
or institution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

CITY_CODE = "990100"
CITY_NAME = "演示市"
#: 参保地 codes outside the region, used for cross-region (异地) patients.
OTHER_REGIONS: tuple[str, ...] = ("990202", "990203", "990302", "980102", "980302")

_DISTRICTS = ("东城区", "西城区", "南湖区", "北山区", "江滨区", "青松县", "白石县", "云溪区")
_TOWNS = ("城关镇", "新桥镇", "石桥镇", "河口镇", "柳林镇", "杏花乡", "龙泉镇", "清水镇")
_TERTIARY = (
    "演示市第一人民医院",
    "演示市第二人民医院",
    "演示市中医医院",
    "演示市中心医院",
    "演示医学院附属医院",
    "演示市第三人民医院",
    "演示市妇幼保健院",
    "演示市第四人民医院",
)


@dataclass(frozen=True)
class Region:
    """Regions and hospitals of the synthetic city, as Polars frames.

    ``regions``: code, name, level (``city`` / ``district``), parent_code.
    ``hospitals``: code (12 characters), name, level (``"1"``/``"2"``/``"3"``),
    region_code (the district).
    ``hospital_traits``: code, ``weight`` (relative case volume) and ``tcm``
    (traditional Chinese medicine hospital), used by the case generator.
    """

    seed: int
    regions: pl.DataFrame
    hospitals: pl.DataFrame
    hospital_traits: pl.DataFrame

    @property
    def districts(self) -> tuple[str, ...]:
        """District admdvs codes."""
        return tuple(self.regions.filter(pl.col("level") == "district")["code"].to_list())

    def level_segments(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
        """Hospitals grouped by level 1, 2, 3 for vectorised drawing.

        Returns ``(cum, idx)``: ``cum`` holds ``level - 1 + cumulative weight`` per
        hospital (each level's block ends at exactly ``level``), ``idx`` the hospital
        row of each entry.  ``idx[searchsorted(cum, level - 1 + u, 'right')]`` draws a
        hospital of ``level`` with probability proportional to its weight.
        """
        cum: list[float] = []
        idx: list[int] = []
        levels = self.hospitals["level"].to_list()
        weights = self.hospital_traits["weight"].to_numpy()
        for level in (1, 2, 3):
            rows = [i for i, lv in enumerate(levels) if int(lv) == level]
            if not rows:  # keep the block non-empty: borrow the nearest level
                gap = min(abs(int(lv) - level) for lv in levels)
                rows = [i for i, lv in enumerate(levels) if abs(int(lv) - level) == gap]
            w = weights[rows] / weights[rows].sum()
            c = np.cumsum(w)
            c[-1] = 1.0
            cum.extend((level - 1 + c).tolist())
            idx.extend(rows)
        return np.array(cum), np.array(idx, dtype=np.int32)


def _split(hospitals: int) -> tuple[int, int, int]:
    """(三级, 二级, 一级) counts: one fifth, two fifths, the rest (6/12/12 for 30)."""
    tertiary = max(1, round(hospitals / 5))
    secondary = max(1, round(hospitals * 2 / 5)) if hospitals > 2 else hospitals - tertiary
    return tertiary, secondary, max(0, hospitals - tertiary - secondary)


# long: the synthetic city, its districts and hospitals built as one literal description
def make_region(seed: int, hospitals: int = 30) -> Region:
    """Build the synthetic city 演示市 (990100) with 5–6 districts and ``hospitals``
    hospitals of three levels (by default 6 三级, 12 二级, 12 一级).

    >>> r = make_region(1)
    >>> r.regions.filter(level="city")["name"].item()
    '演示市'
    """
    if hospitals < 1:
        raise ValueError("hospitals 必须至少为 1 (hospitals must be >= 1)")
    rng = np.random.default_rng([seed, 9901])
    n_districts = 6 if hospitals >= 12 else 5
    districts = [(f"9901{2 + i:02d}", f"{CITY_NAME}{_DISTRICTS[i]}") for i in range(n_districts)]
    regions = pl.DataFrame(
        {
            "code": [CITY_CODE] + [c for c, _ in districts],
            "name": [CITY_NAME] + [n for _, n in districts],
            "level": ["city"] + ["district"] * n_districts,
            "parent_code": [None] + [CITY_CODE] * n_districts,
        },
        schema={"code": pl.String, "name": pl.String, "level": pl.String, "parent_code": pl.String},
    )
    tertiary, secondary, primary = _split(hospitals)
    rows: list[tuple[str, str, str, str, float, bool]] = []
    serial: dict[str, int] = {}

    def add(name: str, level: int, district: int, weight: float) -> None:
        code6 = districts[district % n_districts][0]
        serial[code6] = serial.get(code6, 0) + 1
        code = f"H{code6}{level}{serial[code6]:04d}"
        rows.append((code, name, str(level), code6, weight, "中医" in name))

    for i in range(tertiary):
        name = _TERTIARY[i] if i < len(_TERTIARY) else f"{CITY_NAME}第{i + 1}医院"
        add(name, 3, i, float(rng.lognormal(0.0, 0.3)) * 6.0)
    for i in range(secondary):
        short = _DISTRICTS[(i // 2) % n_districts]
        kind = "人民医院" if i % 2 == 0 else "中医医院"
        suffix = "" if i < 2 * n_districts else f"第{i // (2 * n_districts) + 1}"
        add(f"{short}{suffix}{kind}", 2, i // 2, float(rng.lognormal(0.0, 0.3)) * 2.5)
    for i in range(primary):
        short = _DISTRICTS[i % n_districts]
        town = _TOWNS[(i // n_districts) % len(_TOWNS)]
        add(f"{short}{town}卫生院", 1, i, float(rng.lognormal(0.0, 0.3)))
    frame = pl.DataFrame(
        rows,
        schema={
            "code": pl.String,
            "name": pl.String,
            "level": pl.String,
            "region_code": pl.String,
            "weight": pl.Float64,
            "tcm": pl.Boolean,
        },
        orient="row",
    )
    return Region(
        seed=seed,
        regions=regions,
        hospitals=frame.select("code", "name", "level", "region_code"),
        hospital_traits=frame.select("code", "weight", "tcm"),
    )
