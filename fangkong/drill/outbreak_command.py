"""The demo city's command structure and its ledger: the HQ, the office, the working groups,
the departments, the district offices and every town as units with their duties and
superiors, the demo accounts acting for theirs; an order to every town half done (some
acknowledged, one completed and verified, one completed awaiting verification), an order
issued three days ago now overdue and escalated, and the directives of a dispatch meeting —
the town and department daily reports of the last two days, some on time, one late, one a
zero report, the rest missing — all through the command services, as the units themselves."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from fangkong.command.figures import known_figures
from fangkong.command.minutes import propose
from fangkong.command.models import DailyReport, Issue, Obligation, ReportTemplate, Unit, UnitKind
from fangkong.command.selectors import unit_names
from fangkong.command.services import directives, ledger, reports, units
from fangkong.core.models import Region, RegionLevel, User
from fangkong.drill.outbreak_stage import Stage

# code, name, kind, superior, account acting for it, aliases, duties
CITY_UNITS = (
    ("HQ", "市疫情防控指挥部", UnitKind.HQ, None, None, ("指挥部",),
     "统一领导、指挥全市疫情防控工作"),
    ("OFFICE", "市防控办", UnitKind.OFFICE, "HQ", "city_office", ("防控办",),
     "承担指挥部日常工作，督办议定事项，汇总日报告"),
    ("WG-TRACING", "流调溯源专班", UnitKind.WORKING_GROUP, "OFFICE", "wg_tracing",
     ("流调专班", "流调组"), "流调溯源、密接次密接判定和管控"),
    ("WG-TRANSPORT", "转运专班", UnitKind.WORKING_GROUP, "OFFICE", "wg_transport",
     ("转运组",), "点对点闭环转运，车辆、司机和医护调度"),
    ("POLICE", "市公安局", UnitKind.DEPARTMENT, "OFFICE", None, ("公安局", "公安"),
     "协查人员查找、重点场所秩序、数据比对"),
    ("TRANSPORT", "市交通运输局", UnitKind.DEPARTMENT, "OFFICE", "dept_transport",
     ("交通局", "交通运输局", "县交通局"), "交通卡口查验、转运车辆保障"),
    ("MARKET", "市市场监管局", UnitKind.DEPARTMENT, "OFFICE", "market_1",
     ("市场监管局", "市监局"), "冷链食品、药店“一退一止两抗”实名登记监管"),
    ("HEALTH", "市卫生健康委", UnitKind.DEPARTMENT, "OFFICE", "dept_health",
     ("卫健委", "卫健局", "县卫健局"), "核酸检测、发热门诊、隔离点医疗保障"),
    ("EDUCATION", "市教育局", UnitKind.DEPARTMENT, "OFFICE", None, ("教育局",),
     "学校晨午检、缺课缺勤追踪"),
    ("CIVIL", "市民政局", UnitKind.DEPARTMENT, "OFFICE", None, ("民政局",),
     "养老机构、福利机构封闭管理"),
    ("HOUSING", "市住建局", UnitKind.DEPARTMENT, "OFFICE", None, ("住建局",),
     "建筑工地人员排查、隔离点改造"),
    ("TOURISM", "市文旅局", UnitKind.DEPARTMENT, "OFFICE", None, ("文旅局",),
     "景区、宾馆、娱乐场所限流和扫码"),
)  # fmt: skip
DISTRICT_ACCOUNTS = {"990101": "district_east", "990102": "district_west"}
TOWN_ACCOUNTS = {"990101001": "town_east_1", "990101002": "town_east_2"}

MINUTES = """市疫情防控指挥部第十二次调度会议纪要
会议听取了各专班工作汇报，研究部署下一阶段工作。议定事项如下：
一、交通局要严格闭环转运，在规定时限内派车，3日内完成转运车辆和司机的登记备案。
二、由卫健委牵头，市场监管局、公安局配合，于本周内完成全市冷链从业人员摸底排查。
三、各镇（街道）要落实网格化管理，5日内完成返乡人员全面排查，做到应查尽查。
四、教育局负责督促学校落实晨午检制度，民政局配合，限期完成养老机构封闭管理检查。
会议强调，要坚决克服麻痹思想和松劲心态。"""


def _users() -> dict[str, User]:
    return {u.username: u for u in User.objects.filter(is_demo=True).select_related("region")}


def _join(office: User, unit: Unit, account: str | None, people: dict[str, User]) -> None:
    if account and account in people:
        units.unit_member_set(actor=office, unit=unit, user=people[account])


def _structure(stage: Stage, office: User, people: dict[str, User]) -> dict[str, Unit]:
    city = next(r for r in stage.regions.values() if r.level == RegionLevel.CITY)
    made: dict[str, Unit] = {}
    for code, name, kind, superior, account, aliases, duty in CITY_UNITS:
        made[code] = units.unit_create(
            actor=office, code=f"{city.code}-{code}", name=name, kind=kind, region=city,
            superior=made.get(superior) if superior else None, aliases=aliases,
            duties={"general": duty},
        )  # fmt: skip
        _join(office, made[code], account, people)
    levels = sorted(
        (r for r in stage.regions.values() if r.level in (RegionLevel.DISTRICT, RegionLevel.TOWN)),
        key=lambda r: r.path,
    )
    for region in levels:
        made[region.code] = _region_unit(office, region, made, people)
    return made


def _region_unit(
    office: User, region: Region, made: dict[str, Unit], people: dict[str, User]
) -> Unit:
    district = region.level == RegionLevel.DISTRICT
    name = f"{region.name}防控办" if district else region.name
    superior = made["OFFICE"] if district else made[region.code[:6]]
    aliases = (region.name,) if district else (region.name.removesuffix("街道"),)
    unit = units.unit_create(
        actor=office, code=f"{region.code}-{'OFFICE' if district else 'TOWN'}", name=name,
        kind=UnitKind.OFFICE if district else UnitKind.TOWN, region=region, superior=superior,
        aliases=aliases, duties={"general": "属地防控责任：排查、管控、日报告"},
    )  # fmt: skip
    _join(office, unit, (DISTRICT_ACCOUNTS if district else TOWN_ACCOUNTS).get(region.code), people)
    return unit


def _backdate(issue: Issue, *, issued: dt.datetime, deadline: dt.datetime) -> None:
    """The demo's orders were issued days ago: move the issue, its obligations and their
    first events back to when they were issued (nothing else is rewritten)."""
    Issue.objects.filter(pk=issue.pk).update(issued_at=issued, deadline=deadline)
    Obligation.objects.filter(issue=issue).update(issued_at=issued, deadline=deadline)
    for ob in Obligation.objects.filter(issue=issue):
        ob.events.filter(kind="issued").update(at=issued)


def _orders(stage: Stage, made: dict[str, Unit], people: dict[str, User]) -> int:
    office, now = people["city_office"], stage.now
    towns = [u for u in made.values() if u.kind == UnitKind.TOWN]
    sweep = ledger.issue_create(
        actor=office, issuer=made["OFFICE"], kind="order", title="关于开展来返人员全面排查的指令",
        body="各镇（街道）于48小时内完成辖区来返人员全面排查，形成台账上报。",
        evidence_expected="排查台账（xlsx）", deadline=now + dt.timedelta(hours=48),
        parts=[ledger.Part(unit=u) for u in towns],
    )  # fmt: skip
    _work_the_sweep(sweep, people)
    late = ledger.issue_create(
        actor=office, issuer=made["OFFICE"], kind="order", title="隔离点转运车辆备案",
        body="完成转运车辆消杀和司机闭环管理备案。", deadline=now + dt.timedelta(hours=1),
        parts=[ledger.Part(unit=made["TRANSPORT"]), ledger.Part(unit=made["HEALTH"],
               role="support")] + [ledger.Part(unit=u) for u in towns[:2]],
    )  # fmt: skip
    _backdate(late, issued=now - dt.timedelta(days=3), deadline=now - dt.timedelta(days=2))
    return 2


def _work_the_sweep(sweep: Issue, people: dict[str, User]) -> None:
    office = people["city_office"]
    for account in TOWN_ACCOUNTS.values():
        user = people.get(account)
        if user is None:
            continue
        ob = sweep.obligations.filter(unit__memberships__user=user).first()
        if ob is None:
            continue
        ledger.obligation_acknowledge(actor=user, obligation=ob)
        ledger.obligation_note(
            actor=user, obligation=ob, text="已完成辖区内3个社区排查，台账附后。",
            link="/people/", complete=True,
        )  # fmt: skip
        if account == "town_east_1":
            ledger.obligation_verify(actor=office, obligation=ob, note="台账完整")


def _meeting(stage: Stage, made: dict[str, Unit], people: dict[str, User]) -> int:
    office = people["city_office"]
    names = unit_names(actor=office)
    by_pk = {u.pk: u for u in made.values()}
    items = []
    for p in propose(MINUTES, names, stage.now):
        deadline = p.deadline or timezone.now() + dt.timedelta(days=7)
        lead = [by_pk[pk] for pk in p.lead if pk in by_pk]
        support = [by_pk[pk] for pk in p.support if pk in by_pk]
        items.append(directives.Directive(duty=p.duty, lead=lead, support=support,
                                          deadline=deadline))  # fmt: skip
    issued = directives.directives_confirm(
        actor=office, issuer=made["OFFICE"], title="市疫情防控指挥部第十二次调度会议",
        held_on=timezone.localdate(stage.now), minutes=MINUTES, directives=items,
    )  # fmt: skip
    return len(issued)


TOWN_FIELDS = (
    reports.FieldSpec("arrivals", "", "arrivals_screened"),
    reports.FieldSpec("under_control", "", "under_control"),
    reports.FieldSpec("tubes", "", "tubes_sampled"),
    reports.FieldSpec("overdue", "", "overdue_investigations"),
    reports.FieldSpec("visits", "入户走访户数"),
)
DEPARTMENT_FIELDS = (
    reports.FieldSpec("inspections", "检查场所数"),
    reports.FieldSpec("problems", "发现问题数"),
    reports.FieldSpec("fixed", "当日整改问题数"),
)
# who reports on which of the last two days, and when (hours after midnight of that day);
# every other unit that must report stays silent and is counted missing
SUBMISSIONS = (
    ("town_east_1", "TOWN", 2, 9.25, False),
    ("town_east_1", "TOWN", 1, 8.5, False),
    ("town_east_2", "TOWN", 1, 11.75, False),  # after the 10:00 cut-off: late
    ("market_1", "DEPT", 1, 9.0, True),  # nothing to report: a zero report
    ("dept_health", "DEPT", 1, 9.5, False),
)


def _template(
    office: User, city: Region, which: str, name: str, kind: str, fields: tuple, today: dt.date
) -> ReportTemplate:
    return reports.template_create(
        actor=office, region=city, code=f"{city.code}-{which}-DAILY", name=name,
        unit_kinds=[kind], fields=fields, cutoff=dt.time(10),
        starts_on=today - dt.timedelta(days=2),
    )  # fmt: skip


def _reports(stage: Stage, made: dict[str, Unit], people: dict[str, User]) -> int:
    office, today = people["city_office"], timezone.localdate(stage.now)
    city = made["OFFICE"].region
    templates = {
        "TOWN": _template(office, city, "TOWN", "乡镇（街道）疫情防控日报", UnitKind.TOWN,
                          TOWN_FIELDS, today),
        "DEPT": _template(office, city, "DEPT", "职能部门督查检查日报", UnitKind.DEPARTMENT,
                          DEPARTMENT_FIELDS, today),
    }  # fmt: skip
    sent = 0
    for account, which, days_ago, hour, zero in SUBMISSIONS:
        user, template = people.get(account), templates[which]
        unit = next((u for u in made.values() if template.applies_to(u) and
                     u.memberships.filter(user=user).exists()), None)  # fmt: skip
        if user is None or unit is None:
            continue
        day = today - dt.timedelta(days=days_ago)
        typed = {"visits": 120 + 7 * sent, "inspections": 14, "problems": 3, "fixed": 2}
        known = known_figures(template, unit, day)
        values = {f["key"]: known.get(f["key"], typed.get(f["key"], 0)) for f in template.fields}
        report = reports.report_submit(actor=user, unit=unit, template=template, day=day,
                                       values=None if zero else values, zero=zero)  # fmt: skip
        _backdate_report(report, template, day, hour)
        sent += 1
    return sent


def _backdate_report(
    report: DailyReport, template: ReportTemplate, day: dt.date, hour: float
) -> None:
    """The demo's reports were sent on their day: move the submission time there and judge
    it against the cut-off as the service would have (nothing else is rewritten)."""
    at = timezone.make_aware(dt.datetime.combine(day, dt.time.min)) + dt.timedelta(hours=hour)
    DailyReport.objects.filter(pk=report.pk).update(
        submitted_at=at, on_time=at <= template.due_at(day)
    )


def seed_command(stage: Stage) -> dict[str, int]:
    people = _users()
    office = people.get("city_office")
    if office is None:
        return {"units": 0, "orders": 0, "directives": 0, "reports": 0}
    made = _structure(stage, office, people)
    return {
        "units": len(made),
        "orders": _orders(stage, made, people),
        "directives": _meeting(stage, made, people),
        "reports": _reports(stage, made, people),
    }
