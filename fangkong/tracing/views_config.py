"""Tracing configuration: the active disease profile (incubation, look-back, generations,
investigation deadline, the measure proposed per generation) and the measure plans.

The command office edits them through `disease_profile_update` and `measure_plan_save`
(audited); everybody else signed in reads them. Plans and the profile are configuration, not
personal data, so they are the same for every jurisdiction. Measures copy their plan when they
are proposed, so an edit changes only measures proposed afterwards.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.core.http import DOMAIN_ERRORS, actor_of, form_refused, scoped
from fangkong.core.models import User
from fangkong.core.permissions import allowed
from fangkong.people.measures_models import DiseaseProfile, MeasureKind, MeasurePlan
from fangkong.people.selectors import measures as selectors
from fangkong.people.services import measure_plans
from fangkong.tracing.forms_config import GENERATION_FIELDS, PlanForm, ProfileForm


def may_configure(actor: User) -> bool:
    return allowed(actor, "measure.configure")


def _phases_label(phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = dict(MeasureKind.choices)
    return [{"label": labels.get(p["kind"], p["kind"]), "days": p["days"]} for p in phases]


def _plan_rows(plans: list[MeasurePlan]) -> list[dict[str, Any]]:
    return [
        {
            "plan": p,
            "phases": _phases_label(p.phases),
            "total": p.total_days,
            "tests": ", ".join(str(n) for n in p.test_offsets),
        }
        for p in plans
    ]


def _warnings(profile: DiseaseProfile | None, plans: list[MeasurePlan]) -> list[str]:
    """Generations that will get no measure although they are traced."""
    if profile is None:
        return [_("No disease profile is active: cases cannot be traced.")]
    active = {p.key for p in plans if p.active}
    out = []
    for g in range(1, profile.max_generation + 1):
        key = (profile.generation_plans or {}).get(str(g))
        if not key:
            out.append(_("Generation %(g)s is traced but gets no measure.") % {"g": g})
        elif key not in active:
            out.append(
                _("The plan of generation %(g)s (%(key)s) is not active: no measure is proposed.")
                % {"g": g, "key": key}
            )
    return out


def _config_page(
    request: HttpRequest, *, form: ProfileForm | None = None, status: int = 200
) -> HttpResponse:
    actor = actor_of(request)
    profile = selectors.profile_active(actor=actor)
    plans = list(selectors.plan_list(actor=actor))
    editable = may_configure(actor) and profile is not None
    if editable and form is None and profile is not None:
        form = ProfileForm(
            initial=ProfileForm.initial_of(profile), plans=[p for p in plans if p.active]
        )
    names = {p.key: p.name for p in plans}
    by_generation = (profile.generation_plans or {}) if profile else {}
    context = {
        "profile": profile,
        "generation_rows": [
            {"g": int(g), "plan": names.get(key, key)}
            for g, key in sorted(by_generation.items(), key=lambda kv: int(kv[0]))
        ],
        "plans": _plan_rows(plans),
        "editable": editable,
        "form": form,
        "warnings": _warnings(profile, plans),
        "generation_fields": GENERATION_FIELDS,
    }
    return render(request, "tracing/config.html", context, status=status)


def _refused(request: HttpRequest) -> HttpResponse:
    """403 with the read-only page and the reason, for a POST no button of it could send."""
    messages.error(request, _("Only the command office may change the configuration."))
    return _config_page(request, status=403)


@scoped
@login_required
@require_GET
def config(request: HttpRequest) -> HttpResponse:
    return _config_page(request)


@scoped
@login_required
@require_POST
def profile_save(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    profile = selectors.profile_active(actor=actor)
    if profile is None:
        raise Http404()
    if not may_configure(actor):
        return _refused(request)
    plans = [p for p in selectors.plan_list(actor=actor) if p.active]
    form = ProfileForm(request.POST, plans=plans)
    if not form.is_valid():
        return _config_page(request, form=form, status=422)
    try:
        measure_plans.disease_profile_update(actor=actor, profile=profile, changes=form.changes())
    except DOMAIN_ERRORS as exc:
        return _config_page(request, form=form, status=form_refused(form, exc))
    messages.success(request, _("The disease profile was saved; it applies from now on."))
    return redirect("tracing:config")


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    """One plan: a form for the command office, a read-only page for everybody else."""
    actor = actor_of(request)
    plan = None
    if key is not None:
        plan = selectors.plan_list(actor=actor).filter(key=key).first()
        if plan is None:
            raise Http404()
    editable = may_configure(actor)
    if request.method == "POST" and not editable:
        return _refused(request)
    initial = PlanForm.initial_of(plan) if plan else {"active": True}
    if request.method == "GET" or not editable:
        form = PlanForm(initial=initial, fixed_key=plan.key if plan else None)
        return _plan_page(request, plan, form, editable)
    form = PlanForm(request.POST, initial=initial, fixed_key=plan.key if plan else None)
    status = 422
    if form.is_valid():
        new_key = form.cleaned_data["key"]
        taken = plan is None and selectors.plan_list(actor=actor).filter(key=new_key).exists()
        if taken:
            form.add_error("key", _("a plan with this key already exists"))
        else:
            try:
                saved = measure_plans.measure_plan_save(
                    actor=actor,
                    key=plan.key if plan else new_key,
                    name=form.cleaned_data["name"],
                    phases=form.phases(),
                    test_offsets=form.cleaned_data["test_days"],
                    active=form.cleaned_data["active"],
                )
            except DOMAIN_ERRORS as exc:
                status = form_refused(form, exc, {"phases": "kind_1", "test_offsets": "test_days"})
            else:
                messages.success(request, _("Plan “%(name)s” saved.") % {"name": saved.name})
                return redirect("tracing:config")
    return _plan_page(request, plan, form, editable, status=status)


def _plan_page(
    request: HttpRequest,
    plan: MeasurePlan | None,
    form: PlanForm,
    editable: bool,
    *,
    status: int = 200,
) -> HttpResponse:
    context = {
        "plan": plan,
        "row": _plan_rows([plan])[0] if plan else None,
        "form": form,
        "editable": editable,
    }
    return render(request, "tracing/plan_edit.html", context, status=status)
