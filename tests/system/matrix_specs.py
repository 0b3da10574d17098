"""What each API operation needs for the permission matrix: its action in the permission
table (None for a read), the object its path addresses, and a body that passes the schema.

Every operation of the OpenAPI document must have an entry here; the matrix test fails on
one that has not, so a new endpoint cannot slip past the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tests.factories import make_resident_id
from tests.factories.world import World, today

Body = Callable[[World], Any]


@dataclass(frozen=True)
class Op:
    action: str | None  # None: a read; "public": no table entry (token, me, calculators)
    target: str | None = None  # the world object the path addresses
    body: Body | None = None
    files: Callable[[World], dict[str, Any]] | None = None
    headers: dict[str, str] | None = None
    # where the action happens when it is not the target's region (region, institution)
    where: Callable[[World, Any], tuple[Any, Any]] | None = None
    query: Callable[[World], dict[str, Any]] | None = None


def path_value(world: World, op: Op, name: str) -> str:
    """The value of path parameter `name` addressing the world object the operation targets."""
    if name == "code":
        return str(world.objects["region"].code)
    if name == "key":
        return str(world.objects["plan_key"])
    if name == "job_id" and op.target == "file_job":
        return str(world.objects["file_job"].pk)
    if name == "case_id" and op.target == "contact":
        return str(world.objects["contact"].case_id)
    base = name.removesuffix("_id")
    if op.target and (op.target == base or (base == "person" and op.target == "resident")):
        return str(world.objects[op.target].pk)
    return str(world.objects[base].pk)


def _o(name: str) -> Callable[[World], Any]:
    return lambda w: w.objects[name]


def _in_region(w: World, _user: Any) -> tuple[Any, Any]:
    return w.tree.community_a1, None


def _csv(_w: World) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"file": SimpleUploadedFile("x.csv", "姓名,身份证号\n".encode(), "text/csv")}


def _xlsx(_w: World) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories.screening import sheet_bytes

    return {"file": SimpleUploadedFile("x.xlsx", sheet_bytes(["x"], [["y"]]))}


def _assistance_file(w: World) -> dict[str, Any]:
    return {**_xlsx(w), "from_jurisdiction": "外市"}


def _point_where(w: World, _user: Any) -> tuple[Any, Any]:
    point = w.objects["point"]
    return point.region, point.institution_id


def _task_where(w: World, _user: Any) -> tuple[Any, Any]:
    task = w.objects["task"]
    return task.region_path, w.objects["point"].institution_id


def _own_lab(_w: World, user: Any) -> tuple[Any, Any]:
    # receipt and upload act on the caller's own lab, whichever it is
    return None, user.institution_id


def _in_grid(w: World, _user: Any) -> tuple[Any, Any]:
    return w.tree.grid_a1, None


def _coverage_root(w: World, user: Any) -> tuple[Any, Any]:
    # the caller's own part of the campaign (the whole campaign for a unit above it)
    campaign = w.objects["campaign"].region
    inside = user.region is not None and user.region.path.startswith(campaign.path)
    return (user.region if inside else campaign), None


def _site_where(w: World, _user: Any) -> tuple[Any, Any]:
    return w.objects["site"].region_path, None


def _site_staff_where(w: World, _user: Any) -> tuple[Any, Any]:
    site = w.objects["site"]
    return site.region_path, site.institution_id


def _notice_where(w: World, user: Any) -> tuple[Any, Any]:
    """A notice is printed by the site's staff and the units above the site, or by the units
    of the person's region: the first of the two the table grants."""
    from fangkong.core.permissions import allowed

    site = w.objects["release"].site
    if allowed(user, "quarantine.release.notice", region=site.region_path,
               institution=site.institution_id):  # fmt: skip
        return site.region_path, site.institution_id
    return w.objects["release"].region_path, None


# Acting for a unit needs its membership besides the table's grant (command/permissions.py):
# where the user does not act for the unit, the action is placed where no grant reaches.
NOWHERE = "~"


def _acting(unit_key: str, region: Callable[[World], Any]) -> Callable[[World, Any], Any]:
    def where(w: World, user: Any) -> tuple[Any, Any]:
        unit = w.objects[unit_key]
        member = unit.memberships.filter(user=user).exists()
        return (region(w) if member else NOWHERE), None

    return where


_owner = _acting("unit", lambda w: w.objects["obligation"].region_path)
_issuer = _acting("issuer_unit", lambda w: w.objects["obligation"].region_path)
_issuing = _acting("issuer_unit", lambda w: w.objects["unit"].region)
_reporting = _acting("unit", lambda w: w.objects["unit"].region)


def _template(w: World) -> dict[str, Any]:
    return {
        "code": "M-NEW", "name": "新日报", "region_code": w.tree.community_a1.code,
        "unit_kinds": ["community"], "cutoff": "10:00", "fields": [{"key": "a", "label": "甲"}],
    }  # fmt: skip


def _report(w: World) -> dict[str, Any]:
    return {"template_id": w.objects["template"].pk, "unit_id": w.objects["unit"].pk,
            "day": today().isoformat(), "zero": True}  # fmt: skip


def _problem_form(w: World) -> dict[str, Any]:
    from fangkong.command.models import ProblemKind

    return {
        "inspector_unit_id": w.objects["issuer_unit"].pk, "unit_id": w.objects["unit"].pk,
        "kind_id": ProblemKind.objects.get(code="MASK").pk, "severity": "minor",
        "site": "矩阵现场", "region_code": w.tree.community_a1.code,
    }  # fmt: skip


def _note_files(_w: World) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    return {"text": "矩阵", "files": [SimpleUploadedFile("m.png", png, "image/png")]}


def _order(w: World) -> dict[str, Any]:
    return {
        "issuer_id": w.objects["issuer_unit"].pk, "title": "矩阵", "deadline": _tomorrow(),
        "units": [{"unit_id": w.objects["unit"].pk}],
    }  # fmt: skip


def _meeting(w: World) -> dict[str, Any]:
    item = {"duty": "矩阵社区要排查", "lead": [w.objects["unit"].pk], "deadline": _tomorrow()}
    return {
        "issuer_id": w.objects["issuer_unit"].pk, "title": "矩阵会议",
        "held_on": today().isoformat(), "minutes": "矩阵社区要排查。", "items": [item],
    }  # fmt: skip


def _tomorrow() -> str:
    return (timezone.now() + dt.timedelta(days=1)).isoformat()


COMMAND_OPS = {
    "GET /command/units": Op(None),
    "GET /command/units/mine": Op(None),
    "POST /command/units": Op(
        "command.unit.manage",
        where=_in_region,
        body=lambda w: {
            "code": "M-NEW",
            "name": "新单位",
            "kind": "community",
            "region_code": w.tree.community_a1.code,
        },
    ),
    "GET /command/units/{unit_id}": Op(None, "unit"),
    "PATCH /command/units/{unit_id}": Op(
        "command.unit.manage", "unit", body=lambda w: {"duties": {"general": "矩阵"}}
    ),
    "POST /command/units/{unit_id}/members": Op(
        "command.unit.manage", "unit", body=lambda w: {"user_id": w.objects["driver"].pk}
    ),
    "GET /command/queue": Op(None),
    "GET /command/obligations": Op(None),
    "GET /command/obligations/counts": Op(None),
    "GET /command/obligations/{obligation_id}": Op(None, "obligation"),
    "POST /command/obligations/{obligation_id}/acknowledge": Op(
        "command.obligation.work", "obligation", where=_owner
    ),
    "POST /command/obligations/{obligation_id}/notes": Op(
        "command.obligation.work", "obligation", files=_note_files, where=_owner
    ),
    "POST /command/obligations/{obligation_id}/verify": Op(
        "command.obligation.verify", "obligation", body=lambda w: {}, where=_issuer
    ),
    "POST /command/obligations/{obligation_id}/return": Op(
        "command.obligation.verify",
        "obligation",
        body=lambda w: {"reason": "矩阵"},
        where=_issuer,
    ),
    "POST /command/obligations/{obligation_id}/reopen": Op(
        "command.obligation.verify",
        "obligation",
        body=lambda w: {"reason": "矩阵"},
        where=_issuer,
    ),
    "POST /command/obligations/{obligation_id}/cancel": Op(
        "command.issue", "obligation", body=lambda w: {"reason": "矩阵"}, where=_issuer
    ),
    "GET /command/evidence/{evidence_id}": Op(None, "evidence"),
    "GET /command/issues": Op(None),
    "POST /command/issues": Op("command.issue", body=_order, where=_issuing),
    "GET /command/issues/{issue_id}": Op(None, "issue"),
    "POST /command/minutes/proposals": Op(None, body=lambda w: {"minutes": "矩阵社区要排查。"}),
    "POST /command/meetings": Op("command.issue", body=_meeting, where=_issuing),
    "GET /command/reports/templates": Op(None),
    "POST /command/reports/templates": Op(
        "command.report.template", where=_in_region, body=_template
    ),
    "GET /command/reports/templates/{template_id}": Op(None, "template"),
    "POST /command/reports/templates/{template_id}/active": Op(
        "command.report.template", "template", body=lambda w: {"active": True}
    ),
    "GET /command/reports/due": Op(None),
    "POST /command/reports/": Op("command.report.submit", body=_report, where=_reporting),
    "GET /command/reports/": Op(None),
    "GET /command/reports/compliance": Op(None),
    "GET /command/problems/kinds": Op(None),
    "POST /command/problems/kinds": Op(
        "command.problem.catalogue", body=lambda w: {"code": "M-KIND", "name": "矩阵", "days": 2}
    ),
    "GET /command/problems/": Op(None),
    "POST /command/problems/": Op("command.problem.record", files=_problem_form, where=_issuing),
    "GET /command/problems/{problem_id}": Op(None, "problem"),
    "GET /command/problems/recurrence": Op(None),
    "GET /command/problems/reinspections": Op(None),
    "POST /command/problems/reinspections": Op(
        "command.problem.record",
        where=_in_region,
        body=lambda w: {"region_code": w.tree.community_a1.code, "share": 1.0},
    ),
    "POST /command/problems/reinspections/{reinspection_id}": Op(
        "command.problem.record", "reinspection", body=lambda w: {"held": True}
    ),
}

# `where` functions naming a region given in the body: outside the caller's jurisdiction it
# is answered as if it did not exist (404, or 422 naming the field), never as a refusal only.
BODY_REGION: set[Any] = set()


def _actor_region(_w: World, user: Any) -> tuple[Any, Any]:
    # imports land in the importer's own region
    return user.region, None


def _tube_lab(w: World, _user: Any) -> tuple[Any, Any]:
    return None, w.objects["tube"].lab_id


def _window(w: World) -> dict[str, Any]:
    start = today()
    return {
        "name": "矩阵轮次",
        "region_id": w.tree.community_a1.pk,
        "pool_size": 10,
        "starts_at": f"{start.isoformat()}T08:00:00+08:00",
        "ends_at": f"{start.isoformat()}T20:00:00+08:00",
    }


API = "/api/v1"
OPS: dict[str, Op] = {
    "POST /auth/token": Op("public"),
    "POST /auth/logout": Op("public"),
    "GET /me": Op("public"),
    "GET /regions": Op(None),
    "GET /regions/{code}": Op(None, "region"),
    "GET /audit": Op("audit.view"),
    # uploaded files read by the worker
    "GET /jobs": Op(None),
    "GET /jobs/{job_id}": Op(None, "file_job"),
    # people
    "POST /people/imports": Op("person.import", files=_csv, where=_actor_region),
    "GET /people/imports": Op(None),
    "GET /people/imports/{job_id}": Op(None, "job"),
    "GET /people/imports/{job_id}/errors": Op(None, "job"),
    "GET /people/imports/{job_id}/errors.xlsx": Op(None, "job"),
    "GET /people": Op(None),
    "POST /people": Op(
        "person.create",
        body=lambda w: {
            "name": "新人",
            "id_number": make_resident_id(),
            "region_code": w.tree.community_a1.code,
        },
        where=_in_region,
    ),
    "POST /people/search": Op("person.search", body=lambda w: {"phone": "13800138000"}),
    "GET /people/{person_id}": Op(None, "person"),
    "PATCH /people/{person_id}": Op("person.update", "person", body=lambda w: {"occupation": "x"}),
    "POST /people/{person_id}/reveal": Op(
        "person.reveal", "person", body=lambda w: {"reason": "核查"}
    ),
    # measures
    "GET /measures/plans": Op(None),
    "PUT /measures/plans/{key}": Op(
        "measure.configure",
        "plan_key",
        body=lambda w: {"name": "集中7天", "phases": [{"kind": "centralised", "days": 7}]},
    ),
    "GET /measures/profile": Op(None),
    "PATCH /measures/profile": Op("measure.configure", body=lambda w: {"incubation_days": 7}),
    "GET /measures/counts": Op(None),
    "GET /measures": Op(None),
    "POST /measures": Op(
        "measure.propose",
        "person",
        body=lambda w: {"person_id": w.objects["person"].pk, "plan_key": "home_7"},
        where=_in_region,
    ),
    "GET /measures/{measure_id}": Op(None, "measure"),
    "POST /measures/{measure_id}/start": Op("measure.decide", "measure", body=lambda w: {}),
    "POST /measures/{measure_id}/extend": Op(
        "measure.decide", "measure", body=lambda w: {"days": 2, "reason": "延长"}
    ),
    "POST /measures/{measure_id}/release": Op(
        "measure.decide", "measure", body=lambda w: {"reason": "解除"}
    ),
    "POST /measures/{measure_id}/convert": Op(
        "measure.decide", "measure", body=lambda w: {"to": "home_quarantine", "reason": "转换"}
    ),
    "POST /measures/{measure_id}/cancel": Op(
        "measure.decide", "measure", body=lambda w: {"reason": "取消"}
    ),
    "POST /measures/{measure_id}/site": Op(
        "measure.decide", "measure", body=lambda w: {"site_id": w.tree.lab.pk}
    ),
    # screening
    "GET /screening/risk-areas": Op(None),
    "POST /screening/risk-areas": Op(
        "risk_area.change", body=lambda w: {"division_code": "310116", "level": "high"}
    ),
    "GET /screening/risk-areas/{area_id}": Op(None, "area"),
    "POST /screening/risk-areas/{area_id}/revise": Op(
        "risk_area.change", "area", body=lambda w: {"division_code": "310115", "level": "low"}
    ),
    "POST /screening/risk-areas/{area_id}/close": Op("risk_area.change", "area", body=lambda w: {}),
    "POST /screening/risk-areas/import": Op("risk_area.change", files=_xlsx),
    "GET /screening/zones": Op(None),
    "POST /screening/zones": Op(
        "zone.change",
        body=lambda w: {"name": "区", "kind": "control", "grid_codes": [w.tree.grid_a1.code]},
        where=_in_grid,
    ),
    "GET /screening/zones/{zone_id}": Op(None, "zone"),
    "POST /screening/zones/{zone_id}/revise": Op(
        "zone.change",
        "zone",
        body=lambda w: {"name": "区二", "kind": "control", "grid_codes": [w.tree.grid_a1.code]},
    ),
    "POST /screening/zones/{zone_id}/close": Op("zone.change", "zone", body=lambda w: {}),
    "GET /screening/screenings": Op(None),
    "POST /screening/screenings": Op(
        "screening.create",
        body=lambda w: {
            "name": "来返人员",
            "id_number": make_resident_id(),
            "source": "checkpoint",
            "origin_code": "310115",
            "destination_code": w.tree.community_a1.code,
        },
        where=_in_region,
    ),
    "POST /screening/screenings/lookup": Op(
        None, "record", body=lambda w: {"token": w.objects["record"].token}
    ),
    "GET /screening/screenings/{record_id}": Op(None, "record"),
    "POST /screening/screenings/{record_id}/confirm": Op("screening.decide", "record"),
    "POST /screening/screenings/{record_id}/reject": Op(
        "screening.decide", "record", body=lambda w: {"reason": "查无此人"}
    ),
    "GET /screening/rules": Op(None),
    "POST /screening/rules": Op(
        "classification.configure", body=lambda w: {"priority": 999, "name": "矩阵规则"}
    ),
    "PATCH /screening/rules/{rule_id}": Op(
        "classification.configure", "rule", body=lambda w: {"name": "改名"}
    ),
    "POST /screening/assistance-requests": Op(
        "assistance.import", files=_assistance_file, where=_actor_region
    ),
    "GET /screening/assistance-requests": Op(None),
    "GET /screening/assistance-requests/layout.xlsx": Op(None),
    "GET /screening/assistance-requests/{request_id}": Op(None, "request"),
    "GET /screening/assistance-requests/{request_id}/items": Op(None, "request"),
    "GET /screening/assistance-requests/{request_id}/errors": Op(None, "request"),
    "GET /screening/assistance-requests/{request_id}/errors.xlsx": Op(None, "request"),
    # tracing
    "GET /tracing/cases": Op(None),
    "POST /tracing/cases": Op(
        "case.register",
        "person",
        body=lambda w: {
            "person_id": w.objects["person"].pk,
            "kind": "suspected",
            "report_date": today().isoformat(),
            "source": "local",
        },
        where=_in_region,
    ),
    "GET /tracing/cases/{case_id}": Op(None, "case"),
    "PATCH /tracing/cases/{case_id}": Op("case.register", "case", body=lambda w: {"notes": "x"}),
    "GET /tracing/investigations": Op(None),
    "GET /tracing/investigations/{investigation_id}": Op(None, "investigation"),
    "POST /tracing/investigations/{investigation_id}/traced": Op(
        "investigation.run", "investigation"
    ),
    "POST /tracing/investigations/{investigation_id}/close": Op(
        "investigation.run", "investigation", body=lambda w: {}
    ),
    "POST /tracing/cases/{case_id}/exposures": Op(
        "exposure.record", "case", body=lambda w: {"items": []}
    ),
    "GET /tracing/cases/{case_id}/exposures": Op(None, "case"),
    "POST /tracing/cases/{case_id}/generations": Op("investigation.run", "case"),
    "GET /tracing/cases/{case_id}/contacts": Op(None, "case"),
    "PATCH /tracing/cases/{case_id}/contacts/{contact_id}": Op(
        "contact.trace", "contact", body=lambda w: {"trace_status": "unreachable"}
    ),
    "GET /tracing/cases/{case_id}/graph": Op(None, "case"),
    "POST /tracing/cases/{case_id}/assistance-export": Op(
        "assistance.export", "case", body=lambda w: {"reason": "协查"}
    ),
    # mass testing
    "GET /masstesting/campaigns": Op(None),
    "POST /masstesting/campaigns": Op("campaign.plan", body=_window, where=_in_region),
    "GET /masstesting/campaigns/{campaign_id}": Op(None, "campaign"),
    "POST /masstesting/campaigns/{campaign_id}/points": Op(
        "campaign.plan",
        "campaign",
        body=lambda w: {"name": "新点", "region_id": w.tree.community_a1.pk},
        where=_in_region,
    ),
    "GET /masstesting/points": Op(None),
    "GET /masstesting/points/{point_id}": Op(None, "point"),
    "PATCH /masstesting/points/{point_id}": Op(
        "campaign.plan", "point", body=lambda w: {"opening_hours": "8-20"}
    ),
    "GET /masstesting/tubes": Op(None),
    "GET /masstesting/tubes/{tube_id}": Op(None, "tube"),
    "GET /masstesting/points/{point_id}/teams": Op(None, "point"),
    "POST /masstesting/points/{point_id}/teams": Op(
        "campaign.plan", "point", body=lambda w: {"name": "二队"}
    ),
    "PATCH /masstesting/teams/{team_id}": Op(
        "campaign.plan", "team", body=lambda w: {"shift": "夜班"}, where=_point_where
    ),
    "POST /masstesting/campaigns/{campaign_id}/close": Op("campaign.plan", "campaign"),
    "GET /masstesting/campaigns/{campaign_id}/assignment": Op(None, "campaign"),
    "POST /masstesting/scans/batch": Op(
        "scan.upload",
        "point",
        body=lambda w: {"point_id": w.objects["point"].pk, "scans": []},
        headers={"Idempotency-Key": "matrix-scan"},
        where=_point_where,
    ),
    "POST /masstesting/results/batch": Op(
        "lab.work",
        body=lambda w: {"items": []},
        headers={"Idempotency-Key": "matrix-results"},
        where=_own_lab,
    ),
    "POST /masstesting/capacity/plan": Op(
        "public",
        body=lambda w: {
            "population": 10000,
            "lab_tubes_per_day": [1000],
            "sampling_points": 10,
            "persons_per_hour": 100,
        },
    ),
    "POST /masstesting/capacity/dorfman": Op("public", body=lambda w: {"prevalence": 0.01}),
    "POST /masstesting/lab/boxes": Op(
        "box.transport",
        "point",
        body=lambda w: {
            "point_id": w.objects["point"].pk,
            "lab_id": w.tree.lab.pk,
            "code": "BOX-M2",
            "tube_barcodes": ["MX9999"],
        },
        where=_point_where,
    ),
    "GET /masstesting/lab/boxes": Op(None),
    "POST /masstesting/lab/boxes/{box_id}/hand-over": Op(
        "box.transport", "box", where=_point_where
    ),
    "GET /masstesting/lab/boxes/{box_id}": Op(None, "box"),
    "POST /masstesting/lab/receive": Op(
        "lab.work", body=lambda w: {"barcodes": ["MX0001"]}, where=_own_lab
    ),
    "GET /masstesting/lab/tubes": Op(None),
    "POST /masstesting/lab/tubes/{tube_id}/correct": Op(
        "lab.work",
        "tube",
        body=lambda w: {"result": "negative", "reason": "更正"},
        where=_tube_lab,
    ),
    "GET /masstesting/lab/batches": Op(None),
    "GET /masstesting/lab/batches/{batch_id}/errors.xlsx": Op(None, "batch"),
    "POST /masstesting/lab/results/xlsx": Op("lab.work", files=_xlsx, where=_own_lab),
    "POST /masstesting/status/validity": Op("public", body=lambda w: {"token": "nope-nope"}),
    "GET /masstesting/status/persons/{person_id}/latest": Op(None, "resident"),
    "GET /masstesting/status/persons/{person_id}/code": Op("code.read", "resident"),
    "POST /masstesting/status/persons/{person_id}/code/link": Op("code.link", "resident"),
    "POST /masstesting/status/persons/{person_id}/code/link/revoke": Op("code.link", "resident"),
    "GET /masstesting/coverage/campaigns/{campaign_id}": Op(None, "campaign"),
    "GET /masstesting/coverage/campaigns/{campaign_id}/groups": Op(None, "campaign"),
    "GET /masstesting/coverage/campaigns/{campaign_id}/progress": Op(None, "campaign"),
    "GET /masstesting/coverage/campaigns/{campaign_id}/not-sampled": Op(None, "campaign"),
    "POST /masstesting/coverage/campaigns/{campaign_id}/not-sampled/export": Op(
        "not_sampled.export", "campaign", where=_coverage_root
    ),
    "GET /masstesting/coverage/campaigns/{campaign_id}/geo": Op(None, "campaign"),
    "GET /masstesting/groups/regimes": Op(None),
    "POST /masstesting/groups/regimes": Op(
        "keygroup.manage",
        body=lambda w: {
            "region_id": w.tree.community_a1.pk,
            "key_group": "cold_chain",
            "every_days": 7,
        },
        where=_in_region,
    ),
    "GET /masstesting/groups/regimes/{regime_id}": Op(None, "regime"),
    "PATCH /masstesting/groups/regimes/{regime_id}": Op(
        "keygroup.manage", "regime", body=lambda w: {"every_days": 3}
    ),
    "POST /masstesting/groups/regimes/{regime_id}/deactivate": Op("keygroup.manage", "regime"),
    "POST /masstesting/groups/regimes/{regime_id}/rounds": Op(
        "keygroup.manage", "regime", body=lambda w: {"hours": 12}
    ),
    "GET /masstesting/groups/members": Op(None),
    "POST /masstesting/groups/members": Op(
        "keygroup.manage",
        "person",
        body=lambda w: {"person_id": w.objects["person"].pk, "key_group": "medical"},
        where=_in_region,
    ),
    "PATCH /masstesting/groups/members/{member_id}": Op(
        "keygroup.manage", "member", body=lambda w: {"unit_name": "医院"}
    ),
    "POST /masstesting/groups/members/sync": Op(
        "keygroup.manage", body=lambda w: {"region_id": w.tree.community_a1.pk}, where=_in_region
    ),
    "POST /masstesting/groups/members/import": Op("keygroup.manage", files=_xlsx),
    "GET /masstesting/groups/compliance": Op(None),
    "GET /masstesting/groups/compliance.xlsx": Op(None),
    "GET /masstesting/rechecks": Op(None),
    "POST /masstesting/rechecks/{task_id}/sample": Op(
        "recheck.sample", "task", body=lambda w: {"barcode": "RC-M1"}, where=_task_where
    ),
    "POST /masstesting/rechecks/{task_id}/cancel": Op(
        "recheck.cancel", "task", body=lambda w: {"reason": "已迁出"}
    ),
    "GET /quarantine/sites": Op(None),
    "POST /quarantine/sites": Op(
        "quarantine.site.manage",
        body=lambda w: {"code": "QM-N", "name": "新隔离点", "region_id": w.tree.community_a1.pk},
        where=_in_region,
    ),
    "GET /quarantine/sites/{site_id}": Op(None, "site"),
    "POST /quarantine/sites/{site_id}/state": Op(
        "quarantine.site.manage", "site", body=lambda w: {"state": "closing"}
    ),
    "GET /quarantine/sites/{site_id}/rooms": Op(None, "site"),
    "POST /quarantine/sites/{site_id}/rooms": Op(
        "quarantine.site.manage",
        "site",
        body=lambda w: {"rooms": [{"building": "9", "floor": 1, "number": "901"}]},
    ),
    "POST /quarantine/rooms/{room_id}/state": Op(
        "quarantine.room.state",
        "room",
        body=lambda w: {"state": "out_of_service"},
        where=_site_staff_where,
    ),
    "POST /quarantine/health-checks": Op(
        "quarantine.health.record",
        "stay",
        body=lambda w: {"measure_id": w.objects["stay"].measure_id, "temperature": 36.5},
    ),
    "GET /quarantine/sites/{site_id}/health": Op(None, "site"),
    "POST /quarantine/door-sensors": Op(
        "quarantine.home.watch",
        "measure",
        body=lambda w: {"measure_id": w.objects["measure"].pk, "device_id": "M-DS-9"},
    ),
    "POST /quarantine/door-events": Op("quarantine.door.report", body=lambda w: {"events": []}),
    "POST /quarantine/door-events/{event_id}/handle": Op(
        "quarantine.home.watch", "event", body=lambda w: {"note": "矩阵"}
    ),
    "GET /quarantine/home/rollup": Op(None),
    "GET /quarantine/transfers": Op(None),
    "POST /quarantine/transfers": Op(
        "quarantine.transfer.dispatch",
        "measure",
        body=lambda w: {
            "measure_ids": [w.objects["measure"].pk],
            "pickup_kind": "checkpoint",
            "pickup_place": "卡口",
            "destination_kind": "site",
            "destination_site_id": w.objects["site"].pk,
            "vehicle": "浙A·M2",
            "driver_id": w.objects["driver"].pk,
            "escort": "医生",
            "deadline": (timezone.now() + dt.timedelta(hours=2)).isoformat(),
        },
    ),
    "GET /quarantine/transfers/{transfer_id}": Op(None, "transfer"),
    "POST /quarantine/transfers/{transfer_id}/scan": Op(
        "quarantine.transfer.scan",
        "transfer",
        body=lambda w: {"code": w.objects["rider_code"], "place": "卡口"},
    ),
    "POST /quarantine/transfers/{transfer_id}/cancel": Op(
        "quarantine.transfer.dispatch", "transfer", body=lambda w: {"reason": "矩阵"}
    ),
    "GET /quarantine/reserve": Op(None),
    "POST /quarantine/reserve/{region_id}/policy": Op(
        "quarantine.reserve.set",
        "region",
        body=lambda w: {"rooms_per_10k": 25, "min_free_rooms": 5},
        where=_in_region,
    ),
    "GET /quarantine/stays": Op(None),
    "POST /quarantine/stays": Op(
        "quarantine.allocate",
        "measure",
        body=lambda w: {
            "measure_ids": [w.objects["measure"].pk],
            "site_id": w.objects["site"].pk,
        },
        where=_site_where,
    ),
    "POST /quarantine/stays/batch": Op(
        "quarantine.allocate",
        "measure",
        body=lambda w: {
            "measure_ids": [w.objects["measure"].pk],
            "site_id": w.objects["site"].pk,
        },
        where=_site_where,
    ),
    "GET /quarantine/sites/{site_id}/release-due": Op(None, "site"),
    "GET /quarantine/releases": Op(None),
    "POST /quarantine/releases": Op(
        "quarantine.release.propose",
        "stay",
        body=lambda w: {"stay_id": w.objects["stay"].pk},
        where=_site_staff_where,
    ),
    "GET /quarantine/releases/{release_id}": Op(None, "release"),
    "POST /quarantine/releases/{release_id}/confirm": Op("quarantine.release.confirm", "release"),
    "POST /quarantine/releases/{release_id}/return": Op(
        "quarantine.release.confirm", "release", body=lambda w: {"reason": "矩阵"}
    ),
    "POST /quarantine/releases/{release_id}/revoke": Op(
        "quarantine.release.confirm", "release", body=lambda w: {"reason": "矩阵"}
    ),
    "GET /quarantine/releases/{release_id}/notice.pdf": Op(
        "quarantine.release.notice", "release", where=_notice_where
    ),
    "GET /quarantine/stays/{stay_id}": Op(None, "stay"),
    "POST /quarantine/stays/{stay_id}/check-in": Op(
        "quarantine.stay", "stay", where=_site_staff_where
    ),
    "POST /quarantine/stays/{stay_id}/check-out": Op(
        "quarantine.stay", "stay", body=lambda w: {"note": ""}, where=_site_staff_where
    ),
    "POST /quarantine/stays/{stay_id}/cancel": Op(
        "quarantine.allocate", "stay", body=lambda w: {"reason": "矩阵"}, where=_site_where
    ),
    "POST /quarantine/stays/{stay_id}/move": Op(
        "quarantine.stay",
        "stay",
        body=lambda w: {"room_id": w.objects["room"].pk, "reason": "矩阵"},
        where=_site_staff_where,
    ),
}

OPS.update(COMMAND_OPS)
BODY_REGION.update({_in_region, _in_grid, _issuing, _reporting})
