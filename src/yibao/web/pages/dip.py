"""DIP 目录 pages (issue 14): the catalogues of the region with the build form, and a
catalogue's page (figures, charts, its groups, Excel, publication, the changes
against the version before)."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, registry_of, request_actor, runner_of
from yibao.api.inline import light_read
from yibao.cases.repository import case_years, complete_years
from yibao.dip import (  # noqa: F401  (tasks: jobs)
    compare,
    schemes,
    service,
    sheets,
    simulation,
    tasks,
)
from yibao.dip.auxiliary import COUNT_LABELS, counts_frame
from yibao.dip.models import SCHEME_STATUSES, STATUS_LABELS, DipCatalogue
from yibao.engines import dip
from yibao.engines.dip.params import LEVEL_COEFFICIENTS
from yibao.grouping.plans import default_plan, list_plans, plan_payload
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, NotFound, ValidationFailed
from yibao.kit.paging import Page, clamp_page
from yibao.kit.tables import read_table, table_limits
from yibao.regions.models import region_prefix
from yibao.web.forms import page_arg, text, texts
from yibao.web.pages.measurement.common import (
    CSRF,
    MEASURE,
    STATUS_BADGES,
    again,
    as_int,
    failure,
    values_of,
)
from yibao.web.render import render

router = APIRouter(prefix="/dip")
BADGES = {**STATUS_BADGES, "draft": "bg-info text-dark"}
PAGE_SIZE = 50


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "status_badges": BADGES,
        "kind_labels": service.KIND_LABELS,
        "level_labels": service.LEVEL_LABELS,
        "type_labels": service.TYPE_LABELS,
        "errors": {},
        "form": {},
        **extra,
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _region(user: User) -> str:
    return region_prefix(user.region_code or "\x00")


def _defaults(years: list[int]) -> dict[str, Any]:
    cp, sp = dip.CatalogueParams(), dip.ScoreParams()
    return {
        "code": "",
        "name": "",
        "years": [str(y) for y in complete_years(years)[-3:]],
        "threshold": str(cp.threshold),
        "dx_chars": str(cp.dx_chars),
        "comprehensive_chars": str(cp.comprehensive_chars),
        "scale": str(sp.scale),
        "year_weights": ":".join(str(w) for w in sp.year_weights),
        "trim": sp.trim.method,
    }


def index_page(
    request: Request,
    db: Db,
    user: User,
    *,
    form: dict[str, Any] | None = None,
    import_form: dict[str, Any] | None = None,
    **extra: Any,
) -> Response:
    registry = registry_of(request)
    years = case_years(db)
    defaults = _defaults(years)
    try:
        defaults["plan"] = default_plan(registry).id
    except NotFound:
        defaults["plan"] = ""
    rows = service.list_catalogues(db, _region(user))
    ctx = _context(
        import_form=import_form or {"plan": defaults["plan"]},
        catalogues=[(r, *service.state(db, r)) for r in rows],
        plans=[plan_payload(i) for i in list_plans(registry)],
        case_years=sorted(years),
        form=form or defaults,
        **extra,
    )
    return render(request, "dip/index.html", ctx)


@router.get("")
@light_read
def index(request: Request, db: Db, user: User = MEASURE) -> Response:
    return index_page(request, db, user)


def _build_params(form: Any) -> tuple[list[int], dict[str, Any]]:
    years = [as_int(y, "years", "历史年度") for y in texts(form, "years")]
    catalogue = {
        k: v for k in ("threshold", "dx_chars", "comprehensive_chars") if (v := text(form, k))
    }
    scores: dict[str, Any] = {}
    if scale := text(form, "scale"):
        scores["scale"] = scale
    if weights := text(form, "year_weights"):
        scores["year_weights"] = [w for w in weights.replace("：", ":").split(":") if w.strip()]
    if trim := text(form, "trim"):
        scores["trim"] = {"method": trim}
    return years, {"catalogue": catalogue, "scores": scores}


@router.post("/catalogues", dependencies=CSRF)
def build(request: Request, form: PostedForm, db: Db, user: User = MEASURE) -> Response:
    """Start building a catalogue version, then show its page (it waits for the job)."""
    try:
        years, params = _build_params(form)
        row, _job = service.start_build(
            db,
            runner_of(request),
            registry_of(request),
            region_code=user.region_code or "",
            code=text(form, "code"),
            name=text(form, "name"),
            plan_id=text(form, "plan"),
            years=years,
            params=params,
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        err = failure(db, exc)
        shown = {**values_of(form), "years": texts(form, "years")}

        def page(**kw: Any) -> Response:
            return index_page(request, db, user, form=shown, **kw)

        return again(page, err, "build")
    return RedirectResponse(f"/dip/catalogues/{row.id}", status_code=303)


def _bins(threshold: int) -> list[tuple[int, int | None]]:
    """Core group sizes in doubling bands from the threshold: t–2t−1, 2t–4t−1, …, ≥ 8t."""
    return [(threshold * k, threshold * 2 * k - 1) for k in (1, 2, 4)] + [(threshold * 8, None)]


@router.post("/catalogues/import", dependencies=CSRF)
def import_file(request: Request, form: PostedForm, db: Db, user: User = MEASURE) -> Response:
    """A catalogue workbook (the export's layout, edited) as a new draft version."""
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("文件：请选择要导入的 .xlsx 或 .csv 文件", field="file")
        upload.file.seek(0)
        limits = table_limits(request.app.state.settings)
        frame = read_table(upload.file.read(), upload.filename, limits)
        row = sheets.do_import(
            db,
            registry_of(request),
            sheets.read_groups(frame, upload.filename),
            region_code=user.region_code or "",
            code=text(form, "code"),
            name=text(form, "name"),
            plan_id=text(form, "plan"),
            source=upload.filename[:200],
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        err = failure(db, exc)
        shown = {k: v for k, v in values_of(form).items() if k != "file"}

        def page(**kw: Any) -> Response:
            return index_page(request, db, user, import_form=shown, **kw)

        return again(page, err, "import")
    return RedirectResponse(f"/dip/catalogues/{row.id}", status_code=303)


def _charts(groups: pl.DataFrame, threshold: int) -> str:
    """Group and case counts per procedure type and kind; cases per core group size."""
    by_type = []
    for t, label in service.TYPE_LABELS.items():
        of_type = groups.filter((pl.col("proc_type") == t) & (pl.col("level") != "chapter"))
        by_type.append(
            {
                "type": label,
                "core_groups": int((of_type["kind"] == "core").sum()),
                "comprehensive_groups": int((of_type["kind"] == "comprehensive").sum()),
                "core_cases": int(of_type.filter(pl.col("kind") == "core")["cases"].sum()),
                "comprehensive_cases": int(
                    of_type.filter(pl.col("kind") == "comprehensive")["cases"].sum()
                ),
            }
        )
    core = groups.filter(pl.col("kind") == "core")["cases"].to_list()
    sizes = []
    for lo, hi in _bins(threshold):
        n = [c for c in core if c >= lo and (hi is None or c <= hi)]
        label = f"{lo}–{hi}" if hi is not None else f"≥{lo}"
        sizes.append({"label": label, "groups": len(n), "cases": sum(n)})
    return json.dumps({"dip_types": by_type, "dip_sizes": sizes}, ensure_ascii=False).replace(
        "</", "<\\/"
    )


def _previous(db: Db, row: DipCatalogue, region: str) -> DipCatalogue | None:
    earlier = [
        r
        for r in service.list_catalogues(db, region)
        if r.code == row.code and r.version < row.version and r.status in ("draft", "published")
    ]
    return max(earlier, key=lambda r: r.version) if earlier else None


def catalogue_page(
    request: Request, db: Db, user: User, catalogue_id: int, **extra: Any
) -> Response:
    region = _region(user)
    row = service.get_catalogue(db, catalogue_id, region)
    status, error = service.state(db, row)
    ctx = _context(row=row, status=status, error=error, **extra)
    years = sorted(case_years(db))
    newest = max(row.years or years or [0])
    ctx.setdefault("sim_form", {"year": str(newest) if newest else ""})
    ctx["simulations"] = [(x, *service.state(db, x)) for x in simulation.simulations_of(db, row.id)]
    ctx["case_years"] = years
    ctx.setdefault("scheme_form", {})
    ctx["schemes"] = [x for x in schemes.list_schemes(db, region) if x.catalogue_id == row.id]
    ctx["scheme_labels"] = SCHEME_STATUSES
    ctx["default_coefficients"] = {k: str(v) for k, v in LEVEL_COEFFICIENTS.items()}
    if row.status in ("draft", "published"):
        groups = service.groups_frame(db, row.id)
        kind = request.query_params.get("kind") or ""
        q = (request.query_params.get("q") or "").strip()[:40]
        shown = groups.filter(pl.col("kind") == kind) if kind in service.KIND_LABELS else groups
        if q:
            shown = shown.filter(pl.col("code").str.starts_with(q))
        page, size = clamp_page(page_arg(request), PAGE_SIZE)
        before = _previous(db, row, region)
        ctx.update(
            result=Page(shown.slice((page - 1) * size, size).to_dicts(), shown.height, page, size),
            kind=kind,
            q=q,
            charts=_charts(groups, int(row.params["catalogue"]["threshold"])),
            before=before,
            diff=compare.diff(db, before, row) if before else None,
        )
    return render(request, "dip/catalogue.html", ctx)


@router.get("/catalogues/{catalogue_id}")
@light_read
def catalogue(catalogue_id: DbId, request: Request, db: Db, user: User = MEASURE) -> Response:
    return catalogue_page(request, db, user, catalogue_id)


@router.post("/catalogues/{catalogue_id}/publish", dependencies=CSRF)
def publish(
    catalogue_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    row = service.get_catalogue(db, catalogue_id, _region(user))
    try:
        service.do_publish(db, row, request_actor(request, user))
    except DomainError as exc:
        err = failure(db, exc)

        def page(**kw: Any) -> Response:
            return catalogue_page(request, db, user, catalogue_id, **kw)

        return again(page, err, "publish")
    return RedirectResponse(f"/dip/catalogues/{row.id}", status_code=303)


@router.post("/catalogues/{catalogue_id}/simulations", dependencies=CSRF)
def simulate(
    catalogue_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    """Start a simulation of one year under the catalogue, then show its page."""
    row = service.get_catalogue(db, catalogue_id, _region(user))
    try:
        params: dict[str, Any] = {k: v for k in ("point_value", "budget") if (v := text(form, k))}
        if form.get("dynamic_add_ons"):
            params["dynamic_add_ons"] = True
        sim, _job = simulation.start_simulation(
            db,
            runner_of(request),
            row,
            year=as_int(text(form, "year"), "year", "模拟年度"),
            params=params,
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        err = failure(db, exc)

        def page(**kw: Any) -> Response:
            return catalogue_page(request, db, user, catalogue_id, sim_form=values_of(form), **kw)

        return again(page, err, "simulate")
    return RedirectResponse(f"/dip/simulations/{sim.id}", status_code=303)


def _add_ons(raw: str) -> dict[str, str]:
    """``编码=加成`` per line (or separated by commas / semicolons)."""
    out: dict[str, str] = {}
    for n, part in enumerate(p for p in re.split(r"[\n,;，；]+", raw) if p.strip()):
        code, sep, value = part.partition("=")
        if not sep or not code.strip() or not value.strip():
            raise ValidationFailed(
                f"医院加成 add_ons：第 {n + 1} 项“{part.strip()}”应写作 医院编码=加成",
                field="add_ons",
            )
        out[code.strip()] = value.strip()
    return out


def _scheme_fields(form: Any) -> dict[str, Any]:
    def day(name: str, label: str) -> date | None:
        raw = text(form, name)
        try:
            return date.fromisoformat(raw) if raw else None
        except ValueError:
            raise ValidationFailed(
                f"{label} {name}：日期格式应为 YYYY-MM-DD（收到 {raw!r}）", field=name
            ) from None

    start = day("valid_from", "生效日期")
    if start is None:
        raise ValidationFailed("生效日期 valid_from：必须填写", field="valid_from")
    point = text(form, "point_value")
    try:
        value = Decimal(point) if point else None
    except ArithmeticError:
        raise ValidationFailed(
            f"预算点值 point_value：应为数字（收到 {point!r}）", field="point_value"
        ) from None
    coefficients = {lv: text(form, f"coef_{lv}") or str(c) for lv, c in LEVEL_COEFFICIENTS.items()}
    return {
        "name": text(form, "name"),
        "valid_from": start,
        "valid_to": day("valid_to", "失效日期"),
        "point_value": value,
        "params": {"coefficients": coefficients, "add_ons": _add_ons(text(form, "add_ons"))},
    }


@router.post("/catalogues/{catalogue_id}/schemes", dependencies=CSRF)
def create_scheme(
    catalogue_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    """Publish a DIP payment scheme on this catalogue (or submit it with four eyes)."""
    row = service.get_catalogue(db, catalogue_id, _region(user))
    try:
        schemes.create_scheme(
            db,
            row,
            **_scheme_fields(form),
            actor=request_actor(request, user),
            four_eyes=request.app.state.settings.publish_four_eyes,
        )
    except DomainError as exc:
        err = failure(db, exc)

        def page(**kw: Any) -> Response:
            return catalogue_page(
                request, db, user, catalogue_id, scheme_form=values_of(form), **kw
            )

        return again(page, err, "scheme")
    return RedirectResponse(f"/dip/catalogues/{row.id}", status_code=303)


@router.get("/simulations/{simulation_id}")
@light_read
def simulation_page(
    simulation_id: DbId, request: Request, db: Db, user: User = MEASURE
) -> Response:
    sim = simulation.get_simulation(db, simulation_id, _region(user))
    row = service.get_catalogue(db, sim.catalogue_id, _region(user))
    status, error = service.state(db, sim)
    hospitals = simulation.hospitals_frame(db, sim.id)
    charts = {
        "dip_hospitals": [
            {"code": h["hospital_code"], "cost": str(h["total_cost"]), "payment": str(h["payment"])}
            for h in hospitals.to_dicts()
        ]
    }
    ctx = _context(
        sim=sim,
        row=row,
        status=status,
        error=error,
        hospitals=hospitals.to_dicts(),
        charts=json.dumps(charts, ensure_ascii=False).replace("</", "<\\/"),
        basis_labels={"given": "指定点值", "budget": "按预算求解", "cost_neutral": "费用中性"},
        drg_simulations=compare.drg_simulations(db, sim.region_code, sim.year),
        aux=counts_frame(sim.summary).to_dicts(),
        aux_labels=COUNT_LABELS,
        aux_total=((sim.summary or {}).get("auxiliary") or {}).get("total") or {},
        aux_params=((sim.summary or {}).get("auxiliary") or {}).get("params") or {},
        dynamic=(sim.summary or {}).get("dynamic_add_ons") or [],
    )
    return render(request, "dip/simulation.html", ctx)


@router.get("/simulations/{simulation_id}/compare/{drg_simulation_id}")
@light_read
def compare_page(
    simulation_id: DbId, drg_simulation_id: DbId, request: Request, db: Db, user: User = MEASURE
) -> Response:
    """DRG 与 DIP 对比 for the same year, hospital by hospital."""
    sim = simulation.get_simulation(db, simulation_id, _region(user))
    drg = compare.drg_simulation(db, drg_simulation_id, sim)
    rows = compare.compare(db, sim, drg).to_dicts()
    by_drg, note = compare.diseases(db, registry_of(request), sim, drg)
    paired = by_drg.filter(pl.col("difference").is_not_null())
    top = pl.concat([paired.head(10), paired.tail(10)]).unique("drg", maintain_order=True)
    chart = {
        "dip_compare": [
            {
                "code": r["hospital_code"],
                "drg": _text(r["drg_payment"]),
                "dip": _text(r["dip_payment"]),
            }
            for r in sorted(rows, key=lambda r: r["hospital_code"])
        ],
        "dip_compare_drg": [
            {"drg": d, "difference": _text(x)}
            for d, x in top.select("drg", "difference").iter_rows()
        ],
    }
    gains = [r for r in rows if r["difference"] is not None and r["difference"] > 0]
    losses = [r for r in rows if r["difference"] is not None and r["difference"] < 0]
    ctx = _context(
        sim=sim,
        drg=drg,
        rows=rows,
        gains=len(gains),
        losses=len(losses),
        total_dip=sum((r["dip_payment"] for r in rows if r["dip_payment"] is not None), Decimal(0)),
        total_drg=sum((r["drg_payment"] for r in rows if r["drg_payment"] is not None), Decimal(0)),
        charts=json.dumps(chart, ensure_ascii=False).replace("</", "<\\/"),
        gainers=paired.filter(pl.col("difference") > 0).head(20).to_dicts(),
        losers=paired.filter(pl.col("difference") < 0).reverse().head(20).to_dicts(),
        drg_groups=by_drg.height,
        note=note,
    )
    return render(request, "dip/compare.html", ctx)
