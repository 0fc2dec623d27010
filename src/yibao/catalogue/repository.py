"""Catalogue queries: versions a user may see, entry search, and the catalogue in
force for a treating place and day (what the gateway classifies fee lines with)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from yibao.catalogue.models import CatalogueEntry, CatalogueVersion
from yibao.engines.catalogue import (
    Catalogue,
    CatalogueItem,
    Classification,
    FeeLine,
    classify_fees,
    parse_restrictions,
)
from yibao.engines.catalogue.classify import LineSplit, Refunded
from yibao.kit.cache import TTLCache
from yibao.kit.errors import NotFound
from yibao.kit.paging import Page
from yibao.regions.models import region_prefix

#: published catalogues as the engine reads them, by (version id, checksum): a
#: published version never changes, so the entry never goes stale
_CATALOGUES: TTLCache[Catalogue] = TTLCache(max_entries=16)
_KEEP_S = 24 * 3600.0


def visible_filter(region_code: str) -> ColumnElement[bool]:
    """Versions a user of ``region_code`` sees: its province's and pooling region's
    (the catalogue that applies to it) and those of regions under it."""
    return or_(
        CatalogueVersion.region_code.in_({region_code[:2] + "0000", region_code[:4] + "00"}),
        CatalogueVersion.region_code.startswith(region_prefix(region_code)),
    )


def get_version(
    session: Session, version_id: int, region_code: str | None, *, drafts: bool = True
) -> CatalogueVersion:
    """A version (404 when the user may not see it: another region's, or a draft for a
    user who does not maintain the catalogue)."""
    stmt = select(CatalogueVersion).where(CatalogueVersion.id == version_id)
    if region_code:
        stmt = stmt.where(visible_filter(region_code))
    if not drafts:
        stmt = stmt.where(CatalogueVersion.status == "published")
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"医保目录版本 {version_id} 不存在", field="version_id")
    return row


def entries_of(session: Session, version_id: int) -> list[CatalogueEntry]:
    return list(
        session.scalars(
            select(CatalogueEntry)
            .where(CatalogueEntry.version_id == version_id)
            .order_by(CatalogueEntry.code)
        )
    )


def to_item(row: CatalogueEntry) -> CatalogueItem:
    """The engine's item of a stored entry."""
    caps = {
        level: cap
        for level, cap in (("1", row.cap_lv1), ("2", row.cap_lv2), ("3", row.cap_lv3))
        if cap is not None
    }
    return CatalogueItem(
        code=row.code,
        name=row.name,
        kind=row.kind,
        fee_type=row.fee_type,
        chrgitm_lv=row.chrgitm_lv,
        selfpay_prop=Decimal(row.selfpay_prop).quantize(Decimal("0.0001")).normalize(),
        caps={k: Decimal(v).quantize(Decimal("0.01")) for k, v in caps.items()},
        unit=row.unit,
        spec=row.spec,
        limit_text=row.limit_text,
        restrictions=parse_restrictions(row.restrictions),
    )


@dataclass(frozen=True)
class EntryFilter:
    """Search of one version's entries: code or name prefix, class, kind."""

    q: str | None = None
    chrgitm_lv: str | None = None
    kind: str | None = None


def search_entries(
    session: Session, version_id: int, flt: EntryFilter, page: int, size: int
) -> Page[CatalogueEntry]:
    """Entries of a version, in code order, ``size`` a page."""
    where = [CatalogueEntry.version_id == version_id]
    if flt.q:
        where.append(
            or_(CatalogueEntry.code.startswith(flt.q), CatalogueEntry.name.startswith(flt.q))
        )
    if flt.chrgitm_lv:
        where.append(CatalogueEntry.chrgitm_lv == flt.chrgitm_lv)
    if flt.kind:
        where.append(CatalogueEntry.kind == flt.kind)
    total = session.scalar(select(func.count()).select_from(CatalogueEntry).where(*where)) or 0
    rows = session.scalars(
        select(CatalogueEntry)
        .where(*where)
        .order_by(CatalogueEntry.code)
        .offset((page - 1) * size)
        .limit(size)
    )
    return Page(items=list(rows), total=int(total), page=page, size=size)


def catalogue_of(session: Session, row: CatalogueVersion) -> Catalogue:
    """A version's catalogue for the engine (published ones cached in the process)."""

    def load() -> Catalogue:
        return Catalogue(
            (to_item(e) for e in entries_of(session, row.id)),
            key=str(row.id),
            region_code=row.region_code,
        )

    if row.status != "published":
        return load()
    return _CATALOGUES.get((row.id, row.checksum), _KEEP_S, load)


def version_in_force(session: Session, admdvs: str, on: date) -> CatalogueVersion | None:
    """The published version for a treating place (its pooling region's, else its
    province's) valid on ``on``."""
    for region in (admdvs[:4] + "00", admdvs[:2] + "0000"):
        row = session.scalar(
            select(CatalogueVersion)
            .where(
                CatalogueVersion.region_code == region,
                CatalogueVersion.status == "published",
                CatalogueVersion.valid_from <= on,
                or_(CatalogueVersion.valid_to.is_(None), CatalogueVersion.valid_to >= on),
            )
            .order_by(CatalogueVersion.valid_from.desc())
            .limit(1)
        )
        if row is not None:
            return row
    return None


def catalogue_in_force(session: Session, admdvs: str, on: date) -> Catalogue:
    """The catalogue of the treating place on ``on`` (就医地目录); 404 when none."""
    row = version_in_force(session, admdvs, on)
    if row is None:
        raise NotFound(
            f"就医地 {admdvs} 在 {on} 没有已发布的医保目录：请医保局先发布目录", field="admdvs"
        )
    return catalogue_of(session, row)


def classify(
    session: Session,
    admdvs: str,
    on: date,
    hospital_level: str,
    lines: Iterable[FeeLine],
    *,
    charges: Mapping[str, tuple[LineSplit, Refunded]] | None = None,
) -> Classification:
    """Fee lines of a hospital of ``hospital_level`` in ``admdvs``, treated on ``on``,
    classified against the catalogue in force there (domain.md §4.4: the treating
    place's catalogue, whoever the insured place is); refunds of ``charges`` mirror
    them (ADR 0045)."""
    catalogue = catalogue_in_force(session, admdvs, on)
    return classify_fees(
        lines, catalogue, hospital_level, catalogue_key=catalogue.key, charges=charges
    )


def counts(session: Session, version_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """Entries of a version by kind and by class."""
    by_kind = session.execute(
        select(CatalogueEntry.kind, func.count())
        .where(CatalogueEntry.version_id == version_id)
        .group_by(CatalogueEntry.kind)
    ).all()
    by_class = session.execute(
        select(CatalogueEntry.chrgitm_lv, func.count())
        .where(CatalogueEntry.version_id == version_id)
        .group_by(CatalogueEntry.chrgitm_lv)
    ).all()
    return {k: int(n) for k, n in by_kind}, {k: int(n) for k, n in by_class}
