"""Release from a site: conditions (days served, tests negative) judged alike on the list,
the proposal and the confirmation; confirmation ends the measure or moves it to its home
phase and sends the room to disinfection; the notice as a Chinese PDF whose QR code verifies
it online without personal data; scope."""

from __future__ import annotations

import datetime as dt
import io
import re

import pypdfium2 as pdfium
import pytest
import segno
from django.test import Client
from django.utils import timezone

from fangkong.core.audit import AuditEvent
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.pdf import pdf_available
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import MeasurePlan, MeasureTest
from fangkong.people.services import measures
from fangkong.people.services.measure_results import measure_record_test
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import Release, RoomState, Stay
from fangkong.quarantine.services import releases, stays
from tests.clients import api_client, zh
from tests.factories import Tree
from tests.factories.quarantine import SiteSetup, active_site, corridor_rooms, quarantined

needs_font = pytest.mark.skipif(
    not pdf_available(), reason="no CJK font for PDFs: apt-get install fonts-noto-cjk"
)


@pytest.fixture
def setup(tree: Tree, users: dict[str, User]) -> SiteSetup:
    return active_site(users["district_a"], tree.town_a2, corridor_rooms(pairs=2))


def _housed(
    users: dict[str, User], setup: SiteSetup, region: object, *, days_ago: int, plan_key: str = ""
) -> Stay:
    """A resident of `region` checked in at the site, under a measure begun `days_ago`."""
    start = timezone.localdate() - dt.timedelta(days=days_ago)
    measure = quarantined(region, name="李四", start=start)  # type: ignore[arg-type]
    if plan_key:
        plan = MeasurePlan.objects.get(key=plan_key)
        measure.plan, measure.phases = plan, plan.phases
        measure.planned_end = start + dt.timedelta(days=6)
        measure.save(update_fields=["plan", "phases", "planned_end"])
    measure = measures.measure_start(actor=users["district_a"], measure=measure, start=start)
    stay = stays.stays_allocate(actor=users["district_a"], measures=[measure], site=setup.site)
    return stays.stay_check_in(actor=setup.staff, stay=stay.stays[0])


def _negative(stay: Stay, *, but: tuple[dt.date, str] | None = None) -> None:
    for test in MeasureTest.objects.filter(measure=stay.measure_id):
        result = but[1] if but and test.day == but[0] else "negative"
        measure_record_test(measure=stay.measure, on=test.day, result=result)


@pytest.fixture
def single_phase_plan() -> MeasurePlan:
    return MeasurePlan.objects.create(
        key="centralised_7", name="集中隔离7天",
        phases=[{"kind": "centralised_quarantine", "days": 7}], test_offsets=[1, 4, 7],
    )  # fmt: skip


def test_conditions_are_named_until_met_then_the_site_proposes(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    early = _housed(users, setup, tree.community_a1, days_ago=4)
    due = _housed(users, setup, tree.community_a1, days_ago=6)
    rows = {r.stay.pk: r for r in sel.release_due(actor=setup.staff, site=setup.site)}
    assert set(rows) == {due.pk}  # day 5 of 7 is not due by tomorrow
    check = rows[due.pk].check
    assert (check.days_served, check.days_required, check.then_until) == (
        7, 7, due.measure.planned_end,
    )  # fmt: skip
    assert not check.met and len(check.pending) == 5  # days 1, 2, 3, 5, 7 of the 7+3
    with pytest.raises(Conflict, match=zh("no result yet for the test of %(days)s", days="")):
        releases.release_propose(actor=setup.staff, stay=due)
    _negative(early)
    short = zh("%(served)s of %(required)s days served (at the site until %(until)s)",
               served=5, required=7, until="")  # fmt: skip
    with pytest.raises(Conflict, match=re.escape(short[: short.index("（")])):
        releases.release_propose(actor=setup.staff, stay=early)
    _negative(due)
    made = releases.release_propose(actor=setup.staff, stay=due, note="核酸5次阴性")
    assert (made.state, made.days_served, made.tests_negative, made.ends_measure) == (
        "proposed", 7, 5, False,
    )  # fmt: skip
    with pytest.raises(Conflict, match=zh("a release of this person is already proposed")):
        releases.release_propose(actor=setup.staff, stay=due)


def test_confirming_a_7_plus_3_moves_the_person_home_and_the_room_to_disinfection(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _housed(users, setup, tree.community_a1, days_ago=6)
    _negative(stay)
    proposal = releases.release_propose(actor=setup.staff, stay=stay)
    with pytest.raises(Forbidden):  # the site proposes; a unit that decides measures confirms
        releases.release_confirm(actor=setup.staff, release=proposal)
    with pytest.raises(Forbidden):  # a sibling town decides nothing for another's resident
        releases.release_confirm(actor=users["town_a2"], release=proposal)
    done = releases.release_confirm(actor=users["town_a1"], release=proposal)
    assert done.state == "confirmed" and done.released_on == timezone.localdate()
    assert done.notice_no and done.token and done.monitor_until == stay.measure.planned_end
    stay.refresh_from_db()
    stay.room.refresh_from_db()
    stay.measure.refresh_from_db()
    assert stay.state == "checked_out" and stay.room.state == RoomState.DISINFECTION
    assert stay.measure.state == "in_force"  # the home monitoring phase goes on
    # done with the site: not waiting for a room, and never housed again
    assert not sel.awaiting_room(actor=users["district_a"]).filter(pk=stay.measure_id).exists()
    with pytest.raises(Conflict, match=zh("released from the site; the measure goes on at home")):
        stays.stays_allocate(actor=users["district_a"], measures=[stay.measure], site=setup.site)
    assert set(
        AuditEvent.objects.filter(object_type="quarantine_release").values_list("action", flat=True)
    ) == {"quarantine.release.propose", "quarantine.release.confirm"}


def test_confirming_the_last_phase_releases_the_measure(
    tree: Tree, users: dict[str, User], setup: SiteSetup, single_phase_plan: MeasurePlan
) -> None:
    stay = _housed(users, setup, tree.community_a1, days_ago=6, plan_key="centralised_7")
    _negative(stay)
    proposal = releases.release_propose(actor=setup.staff, stay=stay)
    assert proposal.ends_measure and proposal.monitor_until is None
    releases.release_confirm(actor=users["district_a"], release=proposal)
    stay.refresh_from_db()
    stay.measure.refresh_from_db()
    stay.room.refresh_from_db()
    assert stay.measure.state == "released" and stay.measure.actual_end == timezone.localdate()
    assert stay.state == "checked_out" and stay.room.state == RoomState.DISINFECTION


def test_a_result_arriving_after_the_proposal_stops_the_confirmation_and_returns_need_a_reason(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _housed(users, setup, tree.community_a1, days_ago=6)
    _negative(stay)
    proposal = releases.release_propose(actor=setup.staff, stay=stay)
    measure_record_test(measure=stay.measure, on=timezone.localdate(), result="invalid")
    invalid = zh("the sample of %(day)s was invalid: sample again", day="")
    with pytest.raises(Conflict, match=invalid):
        releases.release_confirm(actor=users["town_a1"], release=proposal)
    with pytest.raises(FieldError):
        releases.release_return(actor=users["town_a1"], release=proposal, reason=" ")
    back = releases.release_return(actor=users["town_a1"], release=proposal, reason="需复采")
    assert back.state == "returned" and back.decision_note == "需复采"
    measure_record_test(measure=stay.measure, on=timezone.localdate(), result="negative")
    again = releases.release_propose(actor=setup.staff, stay=stay)  # a sent-back one may return
    assert again.pk != proposal.pk and Release.objects.filter(measure=stay.measure).count() == 2


def _confirmed(tree: Tree, users: dict[str, User], setup: SiteSetup) -> Release:
    stay = _housed(users, setup, tree.community_a1, days_ago=6)
    _negative(stay)
    proposal = releases.release_propose(actor=setup.staff, stay=stay)
    return releases.release_confirm(actor=users["town_a1"], release=proposal)


def _qr_payload_matches(page: pdfium.PdfPage, url: str) -> bool:
    """The QR image on the page holds exactly the modules of `url`'s code."""
    images = [o for o in page.get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    assert len(images) == 1
    bitmap = images[0].get_bitmap().to_pil().convert("L")
    matrix = segno.make_qr(url, error="m").matrix
    modules = len(matrix)
    cell = bitmap.width / (modules + 4)  # the border is two modules each side
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            px = bitmap.getpixel((int((x + 2.5) * cell), int((y + 2.5) * cell)))
            if bool(dark) != (px < 128):
                return False
    return True


@needs_font
def test_the_notice_pdf_is_chinese_audited_and_its_qr_verifies_online(
    tree: Tree, users: dict[str, User], setup: SiteSetup, tmp_path: object
) -> None:
    release = _confirmed(tree, users, setup)
    web = Client()
    web.force_login(setup.staff)
    answer = web.get(f"/quarantine/releases/{release.pk}/notice/")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer["Cache-Control"] == "no-store" and b"/FontFile" in answer.content  # embedded
    doc = pdfium.PdfDocument(answer.content)
    assert len(doc) == 1
    page = doc[0]
    text = page.get_textpage().get_text_range().replace("\r\n", "")
    assert zh("Release from quarantine notice") == "解除隔离告知书"
    for expected in (
        "解除隔离告知书",
        "李四",
        release.notice_no,
        "阴性",
        setup.site.institution.name,
    ):
        assert expected in text
    # the page as a picture: the title is drawn in ink, not as empty boxes or blank
    picture = page.render(scale=2).to_pil().convert("L")
    picture.save(f"{tmp_path}/notice.png")
    title = picture.crop((0, 0, picture.width, int(picture.height * 0.12)))
    dark = sum(title.histogram()[:100])  # pixels darker than 100 of 255
    assert dark > 2000
    url = re.search(r"https?://[^/]+/hq/notice/[\w-]+/", text).group(0)  # type: ignore[union-attr]
    assert _qr_payload_matches(page, url)
    assert AuditEvent.objects.filter(
        action="quarantine.release.notice", object_id=str(release.pk)
    ).exists()
    # the QR's page: valid with the dates, nothing personal; revoked → not valid
    public = Client()
    path = url[url.index("/hq/") :]
    seen = public.get(path)
    body = seen.content.decode()
    assert seen.status_code == 200 and 'data-valid="1"' in body
    assert release.notice_no in body and "李" not in body
    releases.release_revoke(actor=users["town_a1"], release=release, reason="误发")
    assert 'data-valid="0"' in public.get(path).content.decode()
    unknown = public.get("/hq/notice/not-a-real-token-at-all/")
    assert unknown.status_code == 404 and 'data-valid="0"' in unknown.content.decode()
    # revoked: no notice to print any more
    assert web.get(f"/quarantine/releases/{release.pk}/notice/").status_code == 409


@needs_font
def test_the_notice_in_english(tree: Tree, users: dict[str, User], setup: SiteSetup) -> None:
    release = _confirmed(tree, users, setup)
    web = Client()
    web.force_login(users["town_a1"])
    web.post("/i18n/setlang/", {"language": "en", "next": "/"})
    answer = web.get(f"/quarantine/releases/{release.pk}/notice/")
    text = pdfium.PdfDocument(io.BytesIO(answer.content))[0].get_textpage().get_text_range()
    assert "Release from quarantine notice" in text


def test_scope_sibling_town_and_other_site_see_nothing(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    release = _confirmed(tree, users, setup)
    other = active_site(users["district_a"], tree.town_a2, corridor_rooms(pairs=1))
    for outsider in (users["town_a2"], other.staff, users["district_b"]):
        assert not sel.release_list(actor=outsider).exists()
        assert (
            api_client(outsider).get(f"/api/v1/quarantine/releases/{release.pk}").status_code == 404
        )
        web = Client()
        web.force_login(outsider)
        assert web.get(f"/quarantine/releases/{release.pk}/notice/").status_code == 404
    for insider in (users["town_a1"], setup.staff, users["district_a"]):
        assert sel.release_list(actor=insider).filter(pk=release.pk).exists()


def test_api_due_propose_confirm_notice_and_list_queries(
    tree: Tree, users: dict[str, User], setup: SiteSetup, django_assert_num_queries: object
) -> None:
    stay = _housed(users, setup, tree.community_a1, days_ago=6)
    staff, town = api_client(setup.staff), api_client(users["town_a1"])
    due = staff.get(f"/api/v1/quarantine/sites/{setup.site.pk}/release-due").json()
    assert [(d["stay_id"], d["met"]) for d in due] == [(stay.pk, False)]
    assert due[0]["person_name"] != "李四" and due[0]["reasons"]
    refused = staff.post("/api/v1/quarantine/releases", {"stay_id": stay.pk})
    assert refused.status_code == 409
    _negative(stay)
    made = staff.post("/api/v1/quarantine/releases", {"stay_id": stay.pk, "note": "ok"})
    assert made.status_code == 201, made.content
    rid = made.json()["id"]
    assert staff.post(f"/api/v1/quarantine/releases/{rid}/confirm").status_code == 403
    assert town.post(f"/api/v1/quarantine/releases/{rid}/return", {"reason": ""}).status_code == 422
    done = town.post(f"/api/v1/quarantine/releases/{rid}/confirm")
    assert done.status_code == 200 and done.json()["state"] == "confirmed"
    _negative(_housed(users, setup, tree.community_a1, days_ago=6))
    _housed(users, setup, tree.community_a1, days_ago=7)
    # token, site, stays (person, room, measure joined), their tests, their releases
    with django_assert_num_queries(5):  # type: ignore[operator]
        due = staff.get(f"/api/v1/quarantine/sites/{setup.site.pk}/release-due").json()
    assert [d["met"] for d in due] == [False, True]  # the longer-served one first
    # token, count, page (site, institution and person joined)
    with django_assert_num_queries(3):  # type: ignore[operator]
        listed = town.get("/api/v1/quarantine/releases?state=confirmed").json()
    assert listed["count"] == 1 and listed["items"][0]["notice_no"] == done.json()["notice_no"]
    if pdf_available():
        pdf = town.get(f"/api/v1/quarantine/releases/{rid}/notice.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
