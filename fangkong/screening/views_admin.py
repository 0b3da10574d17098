"""Reference data pages: risk areas (list, form, revise, close, import), zones, the rule table
editor and assistance requests (upload, result, error report)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.core import selectors as core_selectors
from fangkong.core.bodylimit import upload_limit
from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    error_text,
    form_refused,
    get_scoped_or_404,
    page_slice,
    refused_status,
    scoped,
    xlsx_response,
)
from fangkong.core.middleware import client_ip
from fangkong.core.models import RegionLevel
from fangkong.core.permissions import allowed, authorize
from fangkong.screening import assistance_layout as layout
from fangkong.screening import selectors
from fangkong.screening.forms import (
    AssistanceUploadForm,
    RiskAreaFilterForm,
    RiskAreaForm,
    RuleForm,
    UploadForm,
    ZoneForm,
)
from fangkong.screening.models import RiskArea
from fangkong.screening.services import areas, assistance
from fangkong.screening.services import rules as rule_table

AREA_PAGE = 100
ERRORS_SHOWN = 200


def _refused(request: HttpRequest, message: str, *, status: int = 403) -> HttpResponse:
    context = {"code": status, "message": message}
    return render(request, "screening/refused.html", context, status=status)


# ---------------------------------------------------------------- risk areas


def _area_list_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    actor = actor_of(request)
    filters = RiskAreaFilterForm(request.GET)
    qs = selectors.risk_area_list(actor=actor, **filters.filters())
    count, _page, _size, rows = page_slice(qs, page=1, page_size=AREA_PAGE, max_size=AREA_PAGE)
    return {
        "filter_form": filters,
        "areas": rows,
        "count": count,
        "shown": AREA_PAGE,
        "now": timezone.now(),
        "may_write": areas.may_write_areas(actor),
        "form": RiskAreaForm(),
        "upload_form": UploadForm(),
        "columns": "地区代码 / 地区名称 / 风险等级 / 开始时间 / 结束时间",
        **extra,
    }


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def risk_areas(request: HttpRequest) -> HttpResponse:
    """The list, with the form that adds an area (POST)."""
    if request.method != "POST":
        return render(request, "screening/risk_areas.html", _area_list_context(request))
    actor = actor_of(request)
    if not areas.may_write_areas(actor):
        return _refused(request, _("only the command office and districts may change risk areas"))
    form = RiskAreaForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            areas.risk_area_create(actor=actor, data=_area_data(form))
        except DOMAIN_ERRORS as exc:
            status = form_refused(form, exc)
        else:
            return redirect("screening:risk_areas")
    context = _area_list_context(request, form=form)
    return render(request, "screening/risk_areas.html", context, status=status)


def _area_data(form: RiskAreaForm) -> areas.AreaData:
    data = form.cleaned_data
    return areas.risk_area_validate(
        name=data["name"],
        division_code=data["division_code"],
        level=data["level"],
        kind=data["kind"],
        valid_from=data["valid_from"],
        valid_to=data["valid_to"],
        source=data["source"],
    )


def _area(request: HttpRequest, area_id: int) -> RiskArea:
    return get_scoped_or_404(selectors.risk_area_get_qs(actor=actor_of(request)), pk=area_id)


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def risk_area_revise(request: HttpRequest, area_id: int) -> HttpResponse:
    """Revise an area: the current version ends where the new one starts; nothing is lost."""
    actor = actor_of(request)
    area = _area(request, area_id)
    if request.method == "POST" and not areas.may_write_areas(actor):
        return _refused(request, _("only the command office and districts may change risk areas"))
    initial = {
        "division_code": area.division_code,
        "name": area.name,
        "level": area.level,
        "kind": area.kind,
        "valid_from": timezone.localtime().replace(second=0, microsecond=0),
        "valid_to": area.valid_to,
        "source": area.source,
    }
    form = RiskAreaForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                data = _area_data(form)
                if form.cleaned_data["valid_from"] is None:
                    data.valid_from = timezone.now()
                areas.risk_area_revise(actor=actor, area=area, data=data)
            except DOMAIN_ERRORS as exc:
                status = form_refused(form, exc)
            else:
                return redirect("screening:risk_areas")
    context = {
        "area": area,
        "form": form,
        "versions": selectors.risk_area_versions(actor=actor, area=area),
        "may_write": areas.may_write_areas(actor),
    }
    return render(request, "screening/risk_area_revise.html", context, status=status)


@scoped
@login_required
@require_POST
def risk_area_close(request: HttpRequest, area_id: int) -> HttpResponse:
    area = _area(request, area_id)
    try:
        areas.risk_area_close(actor=actor_of(request), area=area)
    except DOMAIN_ERRORS as exc:
        context = _area_list_context(request, error=error_text(exc))
        return render(request, "screening/risk_areas.html", context, status=refused_status(exc))
    return redirect("screening:risk_areas")


@scoped
@login_required
@require_POST
@upload_limit(areas.MAX_IMPORT_BYTES)
def risk_area_import(request: HttpRequest) -> HttpResponse:
    if not areas.may_write_areas(actor_of(request)):
        return _refused(request, _("only the command office and districts may change risk areas"))
    upload = UploadForm(request.POST, request.FILES)
    status = 422
    if upload.is_valid():
        try:
            job = areas.risk_areas_submit(
                actor=actor_of(request),
                filename=upload.cleaned_data["file"].name or "",
                content=upload.cleaned_data["file"],
            )
        except DOMAIN_ERRORS as exc:
            status = form_refused(upload, exc)
        else:
            return redirect("web:file_job", job_id=job.pk)
    context = _area_list_context(request, upload_form=upload)
    return render(request, "screening/risk_areas.html", context, status=status)


# ---------------------------------------------------------------- zones


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def zones(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if request.method == "POST" and not allowed(actor, "zone.change"):
        return _refused(request, _("only the command office and districts may declare zones"))
    regions = core_selectors.region_list(actor=actor)
    form = ZoneForm(request.POST or None, regions=regions)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                zone = areas.zone_validate(
                    actor=actor,
                    name=data["name"],
                    kind=data["kind"],
                    grid_codes=data["grids"],
                    polygon=data["polygon"],
                    region_code=data["region"],
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    notice=data["notice"],
                )
                areas.zone_create(actor=actor, data=zone)
            except DOMAIN_ERRORS as exc:
                status = form_refused(form, exc, {"grid_codes": "grids"})
            else:
                return redirect("screening:zones")
    history = request.GET.get("history") == "1"
    rows = list(selectors.zone_list(actor=actor, history=history).prefetch_related("grids")[:200])
    context = {
        "zones": rows,
        "history": history,
        "now": timezone.now(),
        "form": form,
        "may_write": allowed(actor, "zone.change"),
    }
    return render(request, "screening/zones.html", context, status=status)


@scoped
@login_required
@require_POST
def zone_close(request: HttpRequest, zone_id: int) -> HttpResponse:
    actor = actor_of(request)
    zone = get_scoped_or_404(selectors.zone_get_qs(actor=actor), pk=zone_id)
    try:
        areas.zone_close(actor=actor, zone=zone)
    except DOMAIN_ERRORS as exc:
        return _refused(request, error_text(exc), status=refused_status(exc))
    return redirect("screening:zones")


# ---------------------------------------------------------------- the rule table


@scoped
@login_required
@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "rules": list(selectors.rule_list(actor=actor)),
        "may_edit": allowed(actor, "classification.configure"),
    }
    return render(request, "screening/rules.html", context)


def _rule_initial(rule: Any) -> dict[str, Any]:
    return {
        "priority": rule.priority,
        "name": rule.name,
        "origin_level": rule.origin_level,
        "within_days": rule.within_days,
        "itinerary_hits_risk": rule.itinerary_hits_risk,
        "sources": rule.sources,
        "plan_key": rule.plan.key if rule.plan else "",
        "active": rule.active,
        "valid_from": timezone.localtime(rule.valid_from).replace(second=0, microsecond=0),
    }


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    """Edit a rule, or add one (no id). Command office only; others get 403."""
    actor = actor_of(request)
    rule = get_scoped_or_404(selectors.rule_list(actor=actor), pk=rule_id) if rule_id else None
    if not allowed(actor, "classification.configure"):
        return _refused(request, _("only the command office may change the rule table"))
    initial = _rule_initial(rule) if rule else {"active": True, "valid_from": timezone.localtime()}
    form = RuleForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                if rule is None:
                    rule_table.rule_create(actor=actor, values=form.values())
                else:
                    rule_table.rule_update(actor=actor, rule=rule, changes=form.values())
            except DOMAIN_ERRORS as exc:
                status = form_refused(form, exc)
            else:
                return redirect("screening:rules")
    context = {"rule": rule, "form": form}
    return render(request, "screening/rule_edit.html", context, status=status)


# ---------------------------------------------------------------- assistance requests


@scoped
@login_required
@require_http_methods(["GET", "POST"])
@upload_limit(assistance.MAX_FILE_BYTES)
def assistance_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = AssistanceUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = assistance.assistance_submit(
                    actor=actor,
                    info=assistance.RequestInfo(
                        from_jurisdiction=data["from_jurisdiction"],
                        reference_number=data["reference_number"],
                        received_at=data["received_at"],
                        deadline=data["deadline"],
                    ),
                    filename=data["file"].name or "",
                    content=data["file"],
                )
            except DOMAIN_ERRORS as exc:
                status = form_refused(form, exc)
            else:
                return redirect("web:file_job", job_id=job.pk)
    context = {
        "form": form,
        "requests": list(selectors.assistance_request_list(actor=actor)[:50]),
        "columns": layout.COLUMNS,
        "now": timezone.now(),
        "may_import": allowed(actor, "assistance.import"),
    }
    return render(request, "screening/assistance_list.html", context, status=status)


def _assign_choices(actor: Any) -> Any:
    """Towns and communities a queued row may be assigned to: the caller's own."""
    return (
        core_selectors.region_list(actor=actor)
        .filter(level__in=(RegionLevel.TOWN, RegionLevel.COMMUNITY))
        .select_related("parent")
        .order_by("path")
    )


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def assistance_detail(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    """The result of an import; POST assigns chosen queued rows to a town (or community)."""
    actor = actor_of(request)
    found = get_scoped_or_404(selectors.assistance_request_list(actor=actor), pk=request_id)
    status = 200
    if request.method == "POST":
        authorize(actor, "assistance.assign")  # the rows' regions: the service checks each
        status = _assign_posted(request, found.pk)
        if status == 200:
            return redirect("screening:assistance_detail", request_id=found.pk)
    errors = [
        (e.row, layout.field_label(e.field), e.reason)
        for e in selectors.assistance_error_list(actor=actor, request_id=found.pk)[:ERRORS_SHOWN]
    ]
    may_assign = allowed(actor, "assistance.assign")
    context = {
        "req": found,
        "towns": selectors.assistance_town_counts(actor=actor, request_id=found.pk),
        "errors": errors,
        "errors_shown": ERRORS_SHOWN,
        "unplaced": list(
            selectors.assistance_item_list(actor=actor, request_id=found.pk, placed=False)[:100]
        ),
        "now": timezone.now(),
        "may_assign": may_assign,
        "assign_regions": list(_assign_choices(actor)) if may_assign else [],
    }
    return render(request, "screening/assistance_detail.html", context, status=status)


def _assign_posted(request: HttpRequest, request_id: uuid.UUID) -> int:
    """Assign the rows ticked on the page; the answer's status (errors go to messages)."""
    actor = actor_of(request)
    ids = [int(v) for v in request.POST.getlist("item") if v.isdigit()]
    queued = selectors.assistance_item_list(actor=actor, request_id=request_id, placed=False)
    items = list(queued.filter(pk__in=ids))
    region = _assign_choices(actor).filter(code=request.POST.get("region", "")).first()
    if not items:
        messages.error(request, _("Tick the rows to assign."))
        return 422
    if region is None:
        messages.error(request, _("Choose a town or community of your jurisdiction."))
        return 422
    try:
        n = assistance.assistance_items_assign(
            actor=actor, items=items, region=region, client_ip=client_ip(request)
        )
    except DOMAIN_ERRORS as exc:
        messages.error(request, error_text(exc))
        return refused_status(exc)
    messages.success(
        request,
        _("%(n)s rows assigned to %(region)s.") % {"n": n, "region": region.name},
    )
    return 200


@scoped
@login_required
@require_GET
def assistance_errors_xlsx(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    found = get_scoped_or_404(
        selectors.assistance_request_list(actor=actor_of(request)), pk=request_id
    )
    return xlsx_response(
        assistance.assistance_errors_xlsx(request=found), f"assistance-errors-{found.pk}.xlsx"
    )


@scoped
@login_required
@require_GET
def assistance_layout_xlsx(request: HttpRequest) -> HttpResponse:
    return xlsx_response(layout.layout_workbook([]), "assistance-layout.xlsx")
