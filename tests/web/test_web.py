"""Operator UI: login, pages in both languages, scope, masking, reveal, regions, imports.

Every view test also tries the user who must not see the object (sibling town → 404).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from fangkong.core.models import AuditEvent, LoginAttempt, Role, User
from fangkong.people.models import ImportJob, ImportRowError, ImportStatus
from tests.clients import page_client
from tests.factories import PASSWORD, Tree, UserFactory, make_person, make_resident_id

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def text(response: Any) -> str:
    return response.content.decode()


# --- login, logout, language ---------------------------------------------------------------


def test_login_success_redirects_to_next(users: dict[str, User]) -> None:
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200
    assert "疫情防控指挥平台" in text(page) and "登录" in text(page)
    r = client.post("/login/", {"username": "town_a1", "password": PASSWORD, "next": "/people/"})
    assert r.status_code == 302 and r["Location"] == "/people/"
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.login").count() == 1


def test_login_refuses_offsite_next(users: dict[str, User]) -> None:
    r = Client().post(
        "/login/", {"username": "town_a1", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert r.status_code == 302 and r["Location"] == reverse("web:home")


def test_login_failure_shows_error(users: dict[str, User]) -> None:
    client = Client()
    r = client.post("/login/", {"username": "town_a1", "password": "wrong-password"})
    assert r.status_code == 200
    assert "用户名或密码错误" in text(r)
    assert "wrong-password" not in text(r)
    assert client.get("/").status_code == 302


def test_login_delay_answers_429_and_says_when_to_retry(
    users: dict[str, User], settings: Any, clock: Any
) -> None:
    clock.travel(dt.timedelta(0))
    settings.LOGIN_FREE_FAILURES = 3
    client = Client()
    for _ in range(4):
        client.post("/login/", {"username": "town_a1", "password": "nope-nope-nope"})
    r = client.post("/login/", {"username": "town_a1", "password": PASSWORD})
    assert r.status_code == 429
    assert r["Retry-After"] == "1"
    assert "登录暂时受限" in text(r) and "请在 1 秒后重试" in text(r)
    assert client.get("/").status_code == 302  # still not signed in
    assert LoginAttempt.objects.filter(success=True).count() == 0
    clock.travel(dt.timedelta(seconds=2))
    r = client.post("/login/", {"username": "town_a1", "password": PASSWORD})
    assert r.status_code == 302 and client.get("/").status_code == 200


def test_logout_is_post_only(users: dict[str, User]) -> None:
    client = page_client(users["town_a1"])
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "path",
    ["/", "/people/", "/people/1/", "/people/import/", "/regions/", "/regions/990100/children/"],
)
def test_pages_require_login(path: str, tree: Tree) -> None:
    r = Client().get(path)
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=")


PAGES = ["/", "/people/", "/people/import/", "/regions/"]


def test_pages_render_in_chinese_then_english(users: dict[str, User], tree: Tree) -> None:
    make_person(tree.grid_a1, key_group="cold_chain")
    client = page_client(users["town_a1"])
    zh = {path: text(client.get(path)) for path in PAGES}
    for path, html in zh.items():
        assert '<html lang="zh-Hans">' in html, path
        assert "疫情防控指挥平台" in html and "人员" in html and "挂图作战" in html, path
    assert "辖区登记人员" in zh["/"] and "东街街道" in zh["/"]
    assert "人员台账" in zh["/people/"] and "冷链从业人员" in zh["/people/"]
    assert "导入人员名单" in zh["/people/import/"]
    assert "辖区区划" in zh["/regions/"]

    r = client.post("/i18n/setlang/", {"language": "en", "next": "/people/"})
    assert r.status_code == 302 and r["Location"] == "/people/"
    en = {path: text(client.get(path)) for path in PAGES}
    for path, html in en.items():
        assert '<html lang="en">' in html, path
        assert "Outbreak Prevention and Control Command Platform" in html, path
        assert "People" in html and "Command map" in html, path
        assert "人员台账" not in html, path
    assert "Persons in jurisdiction" in en["/"]
    assert "Person registry" in en["/people/"] and "Cold-chain worker" in en["/people/"]


PLANNED_MODULES = ("哨点", "冷链", "物资", "疫苗")
PLANNED_MODULES += ("督查", "挂图作战")


def test_planned_modules_are_greyed_not_linked(users: dict[str, User]) -> None:
    html = text(page_client(users["town_a1"]).get("/"))
    nav = html[html.index('class="sidenav"') : html.index("</nav>")]
    for label in PLANNED_MODULES:
        item = re.search(rf"<(\w+)[^>]*>{label}<", nav)
        assert item and item.group(1) == "span", label
    for href in ("/people/", "/people/import/", "/regions/"):
        assert f'href="{href}"' in nav


# --- people list -----------------------------------------------------------------------------


def test_people_list_shows_only_scope_and_masks(users: dict[str, User], tree: Tree) -> None:
    mine_id, other_id = make_resident_id(), make_resident_id()
    make_person(tree.grid_a1, name="赵本辖", id_number=mine_id, phone="13912345678")
    make_person(tree.grid_a2, name="钱邻镇", id_number=other_id, phone="13698765432")
    make_person(tree.grid_b1, name="孙外区")
    html = text(page_client(users["town_a1"]).get("/people/"))
    assert "赵本辖" in html and "钱邻镇" not in html and "孙外区" not in html
    assert mine_id not in html and "13912345678" not in html and "东街1号3单元502" not in html
    assert mine_id[:6] + "*" * 11 + mine_id[-1:] in html
    assert "139****5678" in html
    assert 'data-testid="result-count"' in html and "共 1 人" in html
    city = text(page_client(users["city"]).get("/people/"))
    assert all(name in city for name in ("赵本辖", "钱邻镇", "孙外区"))


def test_people_list_filters_and_partial(users: dict[str, User], tree: Tree) -> None:
    make_person(tree.grid_a1, name="李冷链", key_group="cold_chain")
    make_person(tree.community_a1, name="王普通")
    client = page_client(users["town_a1"])

    def names(**params: str) -> set[str]:
        html = text(client.get("/people/", params, headers=HX))
        assert "<html" not in html  # the fragment, not the page
        return {n for n in ("李冷链", "王普通") if n in html}

    assert names() == {"李冷链", "王普通"}
    assert names(key_group="cold_chain") == {"李冷链"}
    assert names(name="王") == {"王普通"}
    assert names(region=tree.grid_a1.code) == {"李冷链"}
    # a sibling town's region matches nothing, rather than erroring or widening
    assert names(region=tree.grid_a2.code) == set()
    assert names(sex="X") == {"李冷链", "王普通"}  # an invalid choice is dropped
    page = text(client.get("/people/"))
    options = re.findall(r'<option value="([^"]*)"', page)
    assert tree.community_a1.code in options and tree.grid_a1.code in options
    assert tree.grid_a2.code not in options and tree.town_a1.code not in options


def test_people_list_pages(users: dict[str, User], tree: Tree) -> None:
    for i in range(55):
        make_person(tree.grid_a1, name=f"测试{i:02d}")
    client = page_client(users["town_a1"])
    first = text(client.get("/people/"))
    assert "第 1–50 条，共 55 人" in first and "第 1 / 2 页" in first
    second = text(client.get("/people/", {"page": 2}, headers=HX))
    assert "第 51–55 条，共 55 人" in second and "测试00" in second
    beyond = text(client.get("/people/", {"page": 99}, headers=HX))
    assert "第 51–55 条，共 55 人" in beyond


def test_people_list_query_count(
    users: dict[str, User], tree: Tree, django_assert_num_queries: Any
) -> None:
    for i in range(12):
        make_person(tree.grid_a1 if i % 2 else tree.community_a1, name=f"人{i}")
    client = page_client(users["town_a1"])
    client.get("/people/")  # warm caches (content types, translations)
    # session, user (+region, institution), region options, count, page rows (+region),
    # then the session save that SESSION_SAVE_EVERY_REQUEST does (savepoint + update)
    with django_assert_num_queries(8):
        r = client.get("/people/")
    assert r.status_code == 200
    assert text(r).count('href="/people/') >= 12
    # the count does not grow with the rows shown
    for i in range(20):
        make_person(tree.grid_a1, name=f"多{i}")
    with django_assert_num_queries(8):
        client.get("/people/")


# --- search ----------------------------------------------------------------------------------


def test_search_is_post_only_and_scoped(users: dict[str, User], tree: Tree) -> None:
    mine, theirs = make_resident_id(), make_resident_id()
    make_person(tree.grid_a1, name="周可查", id_number=mine)
    make_person(tree.grid_a2, name="吴不可查", id_number=theirs)
    client = page_client(users["town_a1"])
    assert client.get("/people/search/", {"id_number": mine}).status_code == 405
    found = text(client.post("/people/search/", {"id_number": mine}, headers=HX))
    assert "周可查" in found and mine not in found
    assert "吴不可查" not in text(client.post("/people/search/", {"id_number": theirs}))
    by_phone = text(client.post("/people/search/", {"phone": "13800138000"}))
    assert "周可查" in by_phone and "吴不可查" not in by_phone
    empty = client.post("/people/search/", {}, headers=HX)
    assert empty.status_code == 422 and "请输入证件号码或手机号码" in text(empty)
    # without htmx the whole list page answers, and the number is not echoed into it
    page = client.post("/people/search/", {"id_number": mine})
    assert "<html" in text(page) and "周可查" in text(page) and mine not in text(page)


def test_samplers_and_labs_start_on_their_page(users: dict[str, User]) -> None:
    assert page_client(users["lab"]).get("/")["Location"] == "/masstesting/lab/"
    sampler = UserFactory(username="smp", role=Role.SAMPLER, institution=users["lab"].institution)
    assert page_client(sampler).get("/")["Location"] == "/masstesting/sampler/"
    assert page_client(users["town_a1"]).get("/").status_code == 200


def test_roles_without_personal_data_see_why(users: dict[str, User], tree: Tree) -> None:
    make_person(tree.grid_a1, name="看不见")
    lab = page_client(users["lab"])
    people = text(lab.get("/people/"))
    assert "看不见" not in people and "您的角色不可查看个人信息" in people
    assert 'type="file"' not in text(lab.get("/people/import/"))
    assert 'type="file"' in text(page_client(users["town_a1"]).get("/people/import/"))


# --- person page and reveal ------------------------------------------------------------------


def test_person_page_masked_and_sibling_gets_404(users: dict[str, User], tree: Tree) -> None:
    idn = make_resident_id()
    person = make_person(tree.grid_a1, id_number=idn, phone="13911112222")
    url = f"/people/{person.pk}/"
    html = text(page_client(users["town_a1"]).get(url))
    assert person.name in html and person.id_number_mask in html and "139****2222" in html
    assert idn not in html and "13911112222" not in html and "东街1号3单元502" not in html
    assert 'name="reason"' in html
    sibling = page_client(users["town_a2"])
    assert sibling.get(url).status_code == 404
    reveal = {"reason": "核查身份", "fields_wanted": ["phone"]}
    assert sibling.post(f"{url}reveal/", reveal).status_code == 404
    assert page_client(users["town_a1"]).get("/people/999999/").status_code == 404
    assert AuditEvent.objects.filter(action="person.reveal").count() == 0


def test_reveal_shows_values_and_writes_audit(users: dict[str, User], tree: Tree) -> None:
    idn = make_resident_id()
    person = make_person(tree.grid_a1, id_number=idn, phone="13911112222")
    r = page_client(users["town_a1"]).post(
        f"/people/{person.pk}/reveal/",
        {"reason": "电话通知隔离", "fields_wanted": ["id_number", "phone"]},
        headers=HX,
    )
    assert r.status_code == 200
    html = text(r)
    assert idn in html and "+8613911112222" in html
    assert "东街1号3单元502" not in html  # not asked for
    assert 'id="pf-phone"' in html and 'hx-swap-oob="true"' in html
    assert "已记入审计" in html
    event = AuditEvent.objects.get(action="person.reveal")
    assert event.object_id == str(person.pk) and event.reason == "电话通知隔离"
    assert event.details == {"fields": ["id_number", "phone"]}
    assert event.actor_username == "town_a1"


def test_reveal_without_htmx_renders_the_whole_page(users: dict[str, User], tree: Tree) -> None:
    person = make_person(tree.grid_a1, phone="13911112222")
    r = page_client(users["town_a1"]).post(
        f"/people/{person.pk}/reveal/", {"reason": "电话通知隔离", "fields_wanted": ["phone"]}
    )
    html = text(r)
    assert r.status_code == 200 and "<html" in html and "+8613911112222" in html
    assert html.count('id="pf-phone"') == 1


def test_reveal_needs_a_reason(users: dict[str, User], tree: Tree) -> None:
    person = make_person(tree.grid_a1)
    r = page_client(users["town_a1"]).post(
        f"/people/{person.pk}/reveal/", {"reason": "", "fields_wanted": ["phone"]}, headers=HX
    )
    assert r.status_code == 422 and "field-error" in text(r)
    assert AuditEvent.objects.filter(action="person.reveal").count() == 0


def test_reveal_forbidden_role_gets_clear_403(tree: Tree) -> None:
    worker = UserFactory(username="grid1", role=Role.GRID_WORKER, region=tree.community_a1)
    person = make_person(tree.grid_a1, phone="13911112222")
    client = page_client(worker)
    page = text(client.get(f"/people/{person.pk}/"))
    assert 'name="reason"' not in page and "只能查看脱敏信息" in page
    r = client.post(
        f"/people/{person.pk}/reveal/",
        {"reason": "想看一下", "fields_wanted": ["phone"]},
        headers=HX,
    )
    assert r.status_code == 403
    assert "无权操作" in text(r) and "您的角色无权查看完整个人信息" in text(r)
    assert "13911112222" not in text(r)
    assert AuditEvent.objects.filter(action="person.reveal").count() == 0


# --- regions ---------------------------------------------------------------------------------


def test_regions_show_only_the_subtree(users: dict[str, User], tree: Tree) -> None:
    tree.grid_a1.polygon = {
        "type": "Polygon",
        "coordinates": [[[116.40, 39.90], [116.41, 39.90], [116.41, 39.91], [116.40, 39.90]]],
    }
    tree.grid_a1.save()
    client = page_client(users["town_a1"])
    page = text(client.get("/regions/"))
    assert "东街街道" in page and "示范市" not in page and "南街街道" not in page
    town = text(client.get(f"/regions/{tree.town_a1.code}/children/", headers=HX))
    assert "东一社区" in town and "南一社区" not in town
    grids = text(client.get(f"/regions/{tree.community_a1.code}/children/", headers=HX))
    assert "东一社区第一网格" in grids and "<svg" in grids and '<path d="M' in grids
    for outside in (tree.town_a2, tree.community_b1, tree.city):
        assert client.get(f"/regions/{outside.code}/children/").status_code == 404
    city = text(page_client(users["city"]).get(f"/regions/{tree.city.code}/children/"))
    assert "东城区" in city and "西城区" in city


# --- imports ---------------------------------------------------------------------------------


CSV_HEADER = "姓名,身份证号,手机号,社区,网格\n"


def _csv(tree: Tree) -> bytes:
    good = [make_resident_id() for _ in range(3)]
    rows = [
        f"甲一,{good[0]},13800000001,{tree.community_a1.name},{tree.grid_a1.name}",
        f"甲二,{good[1]},,{tree.community_a1.name},",
        f"甲三,{good[2][:-1]}{'0' if good[2][-1] != '0' else '1'},,{tree.community_a1.name},",
        f"甲四,{good[2]},,{tree.community_a2.name},",  # a sibling town's community
        f",{make_resident_id()},,{tree.community_a1.name},",
    ]
    return (CSV_HEADER + "\n".join(rows) + "\n").encode()


def test_import_upload_runs_and_shows_errors(
    users: dict[str, User],
    tree: Tree,
    settings: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_DIR = tmp_path  # the stored upload goes here, not into var/
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client = page_client(users["town_a1"])
    upload = SimpleUploadedFile("名单.csv", _csv(tree), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/people/import/", {"file": upload})
    assert r.status_code == 302
    job = ImportJob.objects.get()
    assert r["Location"] == f"/people/import/{job.pk}/"
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.created_count == 2 and job.error_count == 3
    page = text(client.get(r["Location"]))
    assert "已完成" in page and "100%" in page and 'data-testid="error-table"' in page
    assert "hx-trigger" not in page  # finished: no more polling
    assert f"/api/v1/people/imports/{job.pk}/errors.xlsx" in page
    assert "身份证号码校验位错误" in page and "区划不存在或不在您的管辖范围内" in page
    progress = client.get(f"/people/import/{job.pk}/progress/", headers=HX)
    assert progress.status_code == 200 and "<html" not in text(progress)
    download = client.get(f"/api/v1/people/imports/{job.pk}/errors.xlsx")
    assert download.status_code == 200
    listing = text(client.get("/people/import/"))
    assert "名单.csv" in listing


def test_import_job_page_polls_while_running_and_hides_from_sibling(
    users: dict[str, User], tree: Tree
) -> None:
    job = ImportJob.objects.create(
        created_by=users["town_a1"],
        region=tree.town_a1,
        filename="x.xlsx",
        stored_path="imports/x.xlsx",
        file_sha256="0" * 64,
        status=ImportStatus.RUNNING,
        total_rows=200,
        processed_rows=50,
    )
    ImportRowError.objects.create(job=job, row=3, field="id_number", reason="bad")
    client = page_client(users["town_a1"])
    page = text(client.get(f"/people/import/{job.pk}/"))
    assert 'hx-trigger="every 1s"' in page and "25%" in page
    assert 'data-testid="error-table"' not in page
    sibling = page_client(users["town_a2"])
    assert sibling.get(f"/people/import/{job.pk}/").status_code == 404
    assert sibling.get(f"/people/import/{job.pk}/progress/").status_code == 404
    assert "x.xlsx" not in text(sibling.get("/people/import/"))


def test_import_refuses_wrong_type_and_role(
    users: dict[str, User], tree: Tree, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_DIR = tmp_path

    client = page_client(users["town_a1"])
    r = client.post("/people/import/", {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4")})
    assert r.status_code == 422 and "只能导入 .xlsx 和 .csv 文件" in text(r)
    inspector = page_client(users["inspector"])
    r = inspector.post("/people/import/", {"file": SimpleUploadedFile("a.csv", b"x,y\n")})
    assert r.status_code == 403
    assert ImportJob.objects.count() == 0


# --- error pages -----------------------------------------------------------------------------


def test_error_pages_use_the_house_style(users: dict[str, User]) -> None:
    anonymous = Client().get("/no-such-page/")
    assert anonymous.status_code == 404
    assert 'data-testid="error-404"' in text(anonymous) and "页面不存在" in text(anonymous)
    signed_in = text(page_client(users["town_a1"]).get("/no-such-page/"))
    assert 'class="sidenav"' in signed_in and "页面不存在" in signed_in


def test_error_templates_render_without_a_request() -> None:
    from django.template import loader

    for code in ("403", "404", "500"):
        html = loader.get_template(f"{code}.html").render({})
        assert f'data-testid="error-{code}"' in html and "疫情防控指挥平台" in html


# --- small pieces ----------------------------------------------------------------------------


def test_polygon_svg_scales_into_the_box() -> None:
    from fangkong.web.templatetags.fangkong_web import polygon_svg

    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    svg = str(polygon_svg(square, 40))
    assert svg.startswith("<svg") and 'viewBox="0 0 40 40"' in svg
    assert "M2.0,38.0 L38.0,38.0 L38.0,2.0 L2.0,2.0 L2.0,38.0 Z" in svg
    assert polygon_svg(None) == "" and polygon_svg({"type": "Point", "coordinates": [1, 2]}) == ""
    assert polygon_svg({"type": "Polygon", "coordinates": [[["x", 1]]]}) == ""


def test_every_web_view_is_marked() -> None:
    from fangkong.web import urls

    for pattern in urls.urlpatterns:
        access = getattr(pattern.callback, "fangkong_access", "")
        assert access == "scoped" or access.startswith("public: "), pattern.name


def test_source_codes_have_labels() -> None:
    from django.utils import translation

    from fangkong.web.templatetags.fangkong_web import source_label, thousands

    with translation.override("zh-hans"):
        assert source_label("import") == "名单导入" and source_label("odd") == "odd"
    with translation.override("en"):
        assert source_label("manual") == "Registered by hand"
    assert thousands(1234567) == "1,234,567" and thousands(None) == "" and thousands("x") == "x"
