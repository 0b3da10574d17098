"""What each UI route needs for the permission matrix: per method, the action in the
permission table (None for a page anyone in scope may read, "public" for pages outside the
table), the world object the path addresses, and form data.

Every route of the URL configuration outside /api/ must have an entry here; the UI matrix
fails on one that has not, so a new page cannot slip past the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from tests.factories import make_resident_id
from tests.factories.world import World, today
from tests.system.matrix_specs import (
    BODY_REGION,
    Op,
    _actor_region,
    _coverage_root,
    _csv,
    _in_grid,
    _in_region,
    _issuing,
    _notice_where,
    _owner,
    _point_where,
    _reporting,
    _site_staff_where,
    _site_where,
    _task_where,
    _xlsx,
    path_value,
)
from tests.system.matrix_specs import _own_lab as _own_institution

Data = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class UiOp:
    action: str | None
    target: str | None = None
    data: Data | None = None
    files: Callable[[World], dict[str, Any]] | None = None
    where: Callable[[World, Any], tuple[Any, Any]] | None = None
    # path parameters that are words, not objects (an action's slug)
    fixed: dict[str, str] = field(default_factory=dict)
    # a page that may send the reader on (home to a sampler's or lab's own page; a contact
    # row opened outside htmx to its case)
    redirects: bool = False

    def as_op(self) -> Op:
        return Op(self.action, self.target, where=self.where)


def ui_path_value(world: World, op: UiOp, name: str) -> str:
    if name in op.fixed:
        return op.fixed[name]
    return path_value(world, op.as_op(), name)


def _reason(_w: World) -> dict[str, Any]:
    return {"reason": "矩阵核查"}


def _start(_w: World) -> dict[str, Any]:
    return {"start": today().isoformat()}


def _site_in_form(w: World, _user: Any) -> tuple[Any, Any]:
    # the site and the measures are chosen in the form: outside scope they are not choices
    return w.objects["site"].region_path, None


BODY_REGION.add(_site_in_form)


def _measure_in_form(w: World, _user: Any) -> tuple[Any, Any]:
    # the persons and the driver are choices of the form: outside scope there are none
    return w.objects["stay"].region_path, None


BODY_REGION.add(_measure_in_form)


def _transfer_form(w: World) -> dict[str, Any]:
    deadline = timezone.localtime() + dt.timedelta(hours=2)
    return {
        "transfer-measures": [w.objects["stay"].measure_id], "transfer-pickup_kind": "checkpoint",
        "transfer-pickup_place": "卡口", "transfer-destination_site": w.objects["site"].pk,
        "transfer-vehicle": "浙A·M3", "transfer-driver": w.objects["driver"].pk,
        "transfer-escort": "医生", "transfer-deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
    }  # fmt: skip


def _rooms_csv(_w: World) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = "楼栋,楼层,房号\n9,1,901\n".encode()
    return {"file": SimpleUploadedFile("rooms.csv", body, "text/csv")}


def _local_deadline() -> str:
    return timezone.localtime(timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def _order_form(w: World) -> dict[str, Any]:
    return {
        "issuer": w.objects["issuer_unit"].pk, "title": "矩阵指令", "deadline": _local_deadline(),
        "lead": [w.objects["unit"].pk],
    }  # fmt: skip


def _report_form(w: World) -> dict[str, Any]:
    return {"template": w.objects["template"].pk, "unit": w.objects["unit"].pk,
            "day": today().isoformat(), "zero": "1"}  # fmt: skip


def _template_form(w: World) -> dict[str, Any]:
    return {
        "region": w.tree.community_a1.pk, "code": "M-NEW", "name": "新日报",
        "unit_kinds": ["community"], "cutoff": "10:00", "weekdays": ["0", "1"], "typed": "甲",
    }  # fmt: skip


def _minutes_form(w: World) -> dict[str, Any]:
    return {
        "issuer": w.objects["issuer_unit"].pk, "title": "矩阵会议", "held_on": today().isoformat(),
        "minutes": "矩阵社区要排查。", "step": "confirm", "count": "1", "item-1-include": "on",
        "item-1-duty": "矩阵社区要排查", "item-1-lead": [w.objects["unit"].pk],
        "item-1-deadline": _local_deadline(),
    }  # fmt: skip


UI: dict[str, UiOp] = {
    # command
    "GET command/": UiOp(None),
    "GET command/units/": UiOp(None),
    "GET command/orders/": UiOp(None),
    "GET command/orders/new/": UiOp(None),
    "POST command/orders/new/": UiOp("command.issue", data=_order_form, where=_issuing),
    "GET command/orders/<int:issue_id>/": UiOp(None, "issue"),
    "GET command/minutes/": UiOp(None),
    "POST command/minutes/": UiOp("command.issue", data=_minutes_form, where=_issuing),
    "GET command/obligations/<int:obligation_id>/": UiOp(None, "obligation"),
    "POST command/obligations/<int:obligation_id>/<slug:action>/": UiOp(
        "command.obligation.work",
        "obligation",
        data=lambda w: {"text": "矩阵"},
        fixed={"action": "note"},
        where=_owner,
    ),
    "GET command/evidence/<int:evidence_id>/": UiOp(None, "evidence"),
    "GET command/reports/": UiOp(None),
    "POST command/reports/": UiOp("command.report.submit", data=_report_form, where=_reporting),
    "GET command/reports/compliance/": UiOp(None),
    "GET command/reports/templates/": UiOp(None),
    "POST command/reports/templates/": UiOp(
        "command.report.template", data=_template_form, where=_in_region
    ),
    # measures
    "GET control/": UiOp(None),
    "POST control/propose/": UiOp(
        "measure.propose",
        "person",
        data=lambda w: {
            "propose-person": w.objects["person"].pk,
            "propose-plan": "home_7",
            "propose-start": today().isoformat(),
            "propose-reason": "矩阵",
        },
        where=_in_region,
    ),
    "GET control/<int:measure_id>/": UiOp(None, "measure"),
    "POST control/<int:measure_id>/<slug:action>/": UiOp(
        "measure.decide", "measure", data=_start, fixed={"action": "start"}
    ),
    # screening
    "GET screening/": UiOp(None),
    "GET screening/new/": UiOp(None),
    "POST screening/new/": UiOp("screening.create", where=_in_region),
    "POST screening/lookup/": UiOp(
        None, "record", data=lambda w: {"token": w.objects["record"].token}
    ),
    "GET screening/<int:record_id>/": UiOp(None, "record"),
    "POST screening/<int:record_id>/confirm/": UiOp("screening.decide", "record"),
    "POST screening/<int:record_id>/reject/": UiOp("screening.decide", "record", data=_reason),
    "GET screening/risk-areas/": UiOp(None),
    "POST screening/risk-areas/": UiOp("risk_area.change"),
    "POST screening/risk-areas/import/": UiOp("risk_area.change", files=_xlsx),
    "GET screening/risk-areas/<int:area_id>/revise/": UiOp(None, "area"),
    "POST screening/risk-areas/<int:area_id>/revise/": UiOp("risk_area.change", "area"),
    "POST screening/risk-areas/<int:area_id>/close/": UiOp("risk_area.change", "area"),
    "GET screening/zones/": UiOp(None),
    "POST screening/zones/": UiOp("zone.change", where=_in_region),
    "POST screening/zones/<int:zone_id>/close/": UiOp("zone.change", "zone"),
    "GET screening/rules/": UiOp(None),
    "GET screening/rules/new/": UiOp("classification.configure"),
    "POST screening/rules/new/": UiOp("classification.configure"),
    "GET screening/rules/<int:rule_id>/": UiOp("classification.configure", "rule"),
    "POST screening/rules/<int:rule_id>/": UiOp("classification.configure", "rule"),
    "GET screening/assistance/": UiOp(None),
    "POST screening/assistance/": UiOp(
        "assistance.import", files=lambda w: {**_xlsx(w), "from_jurisdiction": "外市"}
    ),
    "GET screening/assistance/layout.xlsx": UiOp(None),
    "GET screening/assistance/<uuid:request_id>/": UiOp(None, "request"),
    "POST screening/assistance/<uuid:request_id>/": UiOp("assistance.assign", "request"),
    "GET screening/assistance/<uuid:request_id>/errors.xlsx": UiOp(None, "request"),
    "GET declare/": UiOp("public"),
    "POST declare/": UiOp("public"),
    # tracing
    "GET tracing/": UiOp(None),
    "GET tracing/cases/new/": UiOp(None),
    "POST tracing/cases/new/": UiOp("case.register", where=_in_region),
    "GET tracing/cases/<int:case_id>/": UiOp(None, "case"),
    "GET tracing/cases/<int:case_id>/graph.json": UiOp(None, "case"),
    "POST tracing/cases/<int:case_id>/export/": UiOp("assistance.export", "case"),
    "POST tracing/cases/<int:case_id>/status/": UiOp(
        "case.register", "case", data=lambda w: {"status": "confirmed"}
    ),
    "POST tracing/cases/<int:case_id>/exposures/": UiOp("exposure.record", "case"),
    "POST tracing/cases/<int:case_id>/generations/": UiOp("investigation.run", "case"),
    "GET tracing/cases/<int:case_id>/contacts/<int:contact_id>/": UiOp(
        None, "contact", redirects=True
    ),
    "POST tracing/cases/<int:case_id>/contacts/<int:contact_id>/trace/": UiOp(
        "contact.trace", "contact"
    ),
    "POST tracing/cases/<int:case_id>/contacts/<int:contact_id>/start/": UiOp(
        "measure.propose", "contact"
    ),
    "GET tracing/investigations/": UiOp(None),
    "POST tracing/investigations/<int:investigation_id>/<str:action>/": UiOp(
        "investigation.run", "investigation", fixed={"action": "traced"}
    ),
    "GET tracing/config/": UiOp(None),
    "POST tracing/config/profile/": UiOp("measure.configure"),
    "GET tracing/config/plans/new/": UiOp(None),
    "POST tracing/config/plans/new/": UiOp("measure.configure"),
    "GET tracing/config/plans/<slug:key>/": UiOp(None, "plan_key"),
    "POST tracing/config/plans/<slug:key>/": UiOp("measure.configure", "plan_key"),
    # mass testing
    "GET masstesting/capacity/": UiOp(None),
    "GET masstesting/": UiOp(None),
    "GET masstesting/board/<int:campaign_id>/": UiOp(None, "campaign"),
    "GET masstesting/board/<int:campaign_id>/not-sampled/": UiOp(None, "campaign"),
    "POST masstesting/board/<int:campaign_id>/not-sampled/export/": UiOp(
        "not_sampled.export", "campaign", data=_reason, where=_coverage_root
    ),
    "GET masstesting/campaigns/": UiOp(None),
    "GET masstesting/campaigns/new/": UiOp(None),
    "POST masstesting/campaigns/new/": UiOp("campaign.plan", where=_in_region),
    "GET masstesting/campaigns/<int:campaign_id>/": UiOp(None, "campaign"),
    "POST masstesting/campaigns/<int:campaign_id>/close/": UiOp("campaign.plan", "campaign"),
    "GET masstesting/campaigns/<int:campaign_id>/points/new/": UiOp(None, "campaign"),
    "POST masstesting/campaigns/<int:campaign_id>/points/new/": UiOp(
        "campaign.plan",
        "campaign",
        data=lambda w: {"name": "新点", "region": w.tree.community_a1.pk, "hourly_capacity": 120},
        where=_in_region,
    ),
    "GET masstesting/points/<int:point_id>/edit/": UiOp(None, "point"),
    "POST masstesting/points/<int:point_id>/edit/": UiOp("campaign.plan", "point"),
    "GET masstesting/points/<int:point_id>/teams/new/": UiOp(None, "point"),
    "POST masstesting/points/<int:point_id>/teams/new/": UiOp("campaign.plan", "point"),
    "GET masstesting/lab/": UiOp(None),
    "POST masstesting/lab/receive/": UiOp(
        "lab.work", data=lambda w: {"barcodes": "NOPE-1"}, where=_own_institution
    ),
    "POST masstesting/lab/results/": UiOp("lab.work", files=_xlsx, where=_own_institution),
    "GET masstesting/lab/batches/<int:batch_id>/errors.xlsx": UiOp(None, "batch"),
    "GET masstesting/transport/": UiOp(None),
    "POST masstesting/transport/pack/": UiOp(
        "box.transport",
        "point",
        data=lambda w: {"point": w.objects["point"].pk, "lab": w.tree.lab.pk, "code": "BOX-U1"},
        where=_point_where,
    ),
    "POST masstesting/transport/boxes/<int:box_id>/hand-over/": UiOp(
        "box.transport", "box", where=_point_where
    ),
    "GET masstesting/sampler/": UiOp("scan.upload", where=_own_institution),
    "GET masstesting/sampler/sw.js": UiOp("public"),
    "GET masstesting/codes/": UiOp(None),
    "GET masstesting/persons/<int:person_id>/link/": UiOp(None, "person"),
    "POST masstesting/persons/<int:person_id>/link/": UiOp(
        "code.link", "person", data=lambda w: {"action": "issue"}
    ),
    "POST masstesting/codes/print/": UiOp(
        "code.read", data=lambda w: {"grid": w.tree.grid_a1.pk, "scope": "grid"}, where=_in_grid
    ),
    "GET masstesting/groups/": UiOp(None),
    "POST masstesting/groups/": UiOp("keygroup.manage", where=_actor_region),
    "GET masstesting/groups/regimes/<int:regime_id>/": UiOp(None, "regime"),
    "POST masstesting/groups/regimes/<int:regime_id>/": UiOp("keygroup.manage", "regime"),
    "POST masstesting/groups/regimes/<int:regime_id>/round/": UiOp("keygroup.manage", "regime"),
    "GET masstesting/groups/members/": UiOp(None),
    "POST masstesting/groups/members/sync/": UiOp(
        "keygroup.manage",
        "region",
        data=lambda w: {"region": w.tree.community_a1.pk},
        where=_in_region,
    ),
    "POST masstesting/groups/members/import/": UiOp(
        "keygroup.manage", files=_xlsx, where=_actor_region
    ),
    "GET masstesting/groups/bulletin/": UiOp(None),
    "POST masstesting/groups/bulletin/export/": UiOp(None),
    "GET masstesting/rechecks/": UiOp(None),
    "GET masstesting/rechecks/<int:task_id>/": UiOp(None, "task"),
    "POST masstesting/rechecks/<int:task_id>/sample/": UiOp(
        "recheck.sample", "task", where=_task_where
    ),
    "POST masstesting/rechecks/<int:task_id>/cancel/": UiOp("recheck.cancel", "task", data=_reason),
    "GET hs/<str:token>/": UiOp("public", fixed={"token": "no-such-token"}),
    "GET hq/<str:token>/": UiOp("public", fixed={"token": "no-such-token"}),
    "POST hq/<str:token>/": UiOp("public", fixed={"token": "no-such-token"}),
    "GET hq/notice/<str:token>/": UiOp("public", fixed={"token": "no-such-token"}),
    # quarantine
    "GET quarantine/": UiOp(None),
    "POST quarantine/": UiOp(
        "quarantine.site.manage",
        data=lambda w: {
            "site-code": "QM-N",
            "site-name": "新隔离点",
            "site-region": w.tree.community_a1.pk,
        },
        where=_in_region,
    ),
    "POST quarantine/allocate/": UiOp(
        "quarantine.allocate",
        data=lambda w: {
            "alloc-measures": [w.objects["measure"].pk],
            "alloc-site": w.objects["site"].pk,
        },
        where=_site_in_form,
    ),
    "GET quarantine/sites/<int:site_id>/health/": UiOp(None, "site"),
    "POST quarantine/stays/<int:stay_id>/health/": UiOp(
        "quarantine.health.record", "stay", data=lambda w: {"temperature": "36.5"}
    ),
    "GET quarantine/home/": UiOp(None),
    "POST quarantine/home/<int:measure_id>/check/": UiOp(
        "quarantine.health.record", "measure", data=lambda w: {"temperature": "36.5"}
    ),
    "POST quarantine/door-events/<int:event_id>/handle/": UiOp(
        "quarantine.home.watch", "event", data=lambda w: {"note": "矩阵"}
    ),
    "GET quarantine/transfers/": UiOp(None),
    "POST quarantine/transfers/": UiOp(
        "quarantine.transfer.dispatch", data=_transfer_form, where=_measure_in_form
    ),
    "GET quarantine/transfers/mine/": UiOp(None),
    "GET quarantine/transfers/<int:transfer_id>/": UiOp(None, "transfer"),
    "POST quarantine/transfers/<int:transfer_id>/scan/": UiOp(
        "quarantine.transfer.scan",
        "transfer",
        data=lambda w: {"code": w.objects["rider_code"], "place": "卡口"},
    ),
    "POST quarantine/transfers/<int:transfer_id>/cancel/": UiOp(
        "quarantine.transfer.dispatch", "transfer", data=_reason
    ),
    "GET quarantine/reserve/": UiOp(None),
    "POST quarantine/reserve/<int:region_id>/policy/": UiOp(
        "quarantine.reserve.set",
        "region",
        data=lambda w: {"policy-rooms_per_10k": 25, "policy-min_free_rooms": 5},
        where=_in_region,
    ),
    "GET quarantine/sites/<int:site_id>/": UiOp(None, "site"),
    "POST quarantine/sites/<int:site_id>/state/": UiOp(
        "quarantine.site.manage", "site", data=lambda w: {"state": "closing"}, where=_site_where
    ),
    "POST quarantine/sites/<int:site_id>/rooms/import/": UiOp(
        "quarantine.site.manage", "site", files=_rooms_csv, where=_site_where
    ),
    "POST quarantine/rooms/<int:room_id>/state/": UiOp(
        "quarantine.room.state",
        "room",
        data=lambda w: {"state": "out_of_service"},
        where=_site_staff_where,
    ),
    "GET quarantine/sites/<int:site_id>/releases/": UiOp(None, "site"),
    "POST quarantine/stays/<int:stay_id>/release/": UiOp(
        "quarantine.release.propose", "stay", where=_site_staff_where
    ),
    "GET quarantine/releases/": UiOp(None),
    "GET quarantine/releases/<int:release_id>/notice/": UiOp(
        "quarantine.release.notice", "release", where=_notice_where
    ),
    "POST quarantine/releases/<int:release_id>/<slug:decision>/": UiOp(
        "quarantine.release.confirm", "release", data=_reason, fixed={"decision": "return"}
    ),
    "POST quarantine/stays/<int:stay_id>/<slug:action>/": UiOp(
        "quarantine.stay", "stay", fixed={"action": "check-in"}, where=_site_staff_where
    ),
    # web
    "GET ": UiOp(None, redirects=True),
    "GET login/": UiOp("public"),
    "POST login/": UiOp("public"),
    "POST logout/": UiOp("public"),
    "POST i18n/setlang/": UiOp("public", data=lambda w: {"language": "en"}),
    "GET people/": UiOp(None),
    "POST people/search/": UiOp("person.search", data=lambda w: {"id_number": make_resident_id()}),
    "GET people/<int:person_id>/": UiOp(None, "person"),
    "POST people/<int:person_id>/reveal/": UiOp("person.reveal", "person", data=_reason),
    "GET people/import/": UiOp(None),
    "POST people/import/": UiOp("person.import", files=_csv, where=_actor_region),
    "GET people/import/<uuid:job_id>/": UiOp(None, "job"),
    "GET people/import/<uuid:job_id>/progress/": UiOp(None, "job"),
    "GET jobs/<uuid:job_id>/": UiOp(None, "file_job"),
    "GET jobs/<uuid:job_id>/progress/": UiOp(None, "file_job"),
    "GET jobs/<uuid:job_id>/errors.xlsx": UiOp(None, "file_job"),
    "GET regions/": UiOp(None),
    "GET regions/<str:code>/children/": UiOp(None, "region"),
}
