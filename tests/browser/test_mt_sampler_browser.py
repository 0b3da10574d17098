"""The sampler page in Chromium at phone size: tube, keyboard-wedge scans, the offline queue.

`context.set_offline(True)` is the phone losing its network: scans queue, the page says
so, and a reload is served by the page's service worker from its cache while the queue
comes back from localStorage. Then the network returns but the upload endpoint is cut off
(the route aborts) and the page is reloaded again: the batch formed before the reload keeps
its stored key. One batch is let through to the server and its answer dropped on the way
back: the retry under the stored key is answered from the stored result, so every scan is
stored exactly once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fangkong.masstesting.models import Scan, ScanBatch, Tube
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from tests.browser.conftest import City, login, shot
from tests.factories.masstesting import campaign_setup, persons_with_codes

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

API = "**/api/v1/masstesting/scans/batch"


def scan(page: Any, value: str) -> None:
    page.fill("[data-testid=scan-input]", value)
    page.press("[data-testid=scan-input]", "Enter")


def waiting(page: Any) -> str:
    return str(page.get_attribute("[data-testid=waiting]", "data-count"))


def wait_uploaded(page: Any) -> None:
    page.wait_for_selector("[data-testid=waiting][data-count='0']", timeout=20_000)


def stored_state(page: Any, key: str) -> dict[str, Any]:
    return dict(json.loads(page.evaluate("k => localStorage.getItem(k)", key)))


def test_sampler_scans_queue_offline_and_upload_exactly_once(
    page: Any, live_server: Any, city: City
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    setup = campaign_setup(city.tree, {}, pool_size=10)
    tokens = persons_with_codes(city.tree.grid_a1, 12)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server.url, setup.sampler.username)
    page.goto(f"{live_server.url}/masstesting/sampler/")
    storage = f"fk.sampler.v1.{setup.sampler.pk}.{setup.point.pk}"
    # the service worker has cached the page and its files
    page.wait_for_selector("body[data-offline-ready='1']", state="attached")

    # open a tube and scan three codes, one as the QR payload with its prefix
    scan(page, "T0001")
    assert page.inner_text("[data-testid=tube-barcode]") == "T0001"
    for value in (tokens[0], f"FK1:{tokens[1]}", tokens[2]):
        scan(page, value)
    wait_uploaded(page)
    page.wait_for_selector(
        "[data-testid=scan-list] li[data-action=add][data-status=accepted] >> nth=2"
    )
    assert page.inner_text("[data-testid=tube-count]").replace(" ", "") == "3/10"
    shot(page, "mt-sampler-phone-accepted")

    # the network goes: scans queue, the page says how many wait
    page.context.set_offline(True)
    for token in tokens[3:6]:
        scan(page, token)
    page.wait_for_selector("[data-testid=net-state].is-offline")
    assert waiting(page) == "3"
    assert page.locator("[data-testid=scan-list] li[data-status=queued], "
                        "[data-testid=scan-list] li[data-status=sending]").count() == 3  # fmt: skip
    shot(page, "mt-sampler-phone-offline")

    # a reload without network: the page comes from the service worker's cache, the queue
    # from localStorage
    reloaded = page.reload()
    assert reloaded is not None and reloaded.from_service_worker
    page.wait_for_selector("[data-testid=waiting][data-count='3']")
    assert page.inner_text("[data-testid=tube-barcode]") == "T0001"
    assert page.locator("[data-testid=scan-list] li[data-action=add]").count() == 6
    assert Scan.objects.count() == 3

    # back on the network but uploads cut off; a reload keeps the queue and its batch key
    page.route(API, lambda route: route.abort())
    page.context.set_offline(False)
    scan(page, tokens[6])
    page.reload()
    page.wait_for_selector("[data-testid=waiting]:not([data-count='0'])")
    before = stored_state(page, storage)
    pending = before["pending"]
    assert waiting(page) == "4"
    assert pending and 1 <= len(pending["ids"]) <= 4
    assert page.inner_text("[data-testid=tube-barcode]") == "T0001"
    assert Scan.objects.count() == 3

    # the stored batch reaches the server but its answer is lost on the way back; the retry
    # goes out under the same stored key and gets the stored answer
    lost: list[str] = []
    reached: list[str] = []

    def drop_first_answer(route: Any) -> None:
        key = route.request.headers["idempotency-key"]
        reached.append(key)
        if not lost:
            assert route.fetch().status == 200
            lost.append(key)
            route.abort()
        else:
            route.continue_()

    page.unroute(API)
    page.route(API, drop_first_answer)
    wait_uploaded(page)
    assert lost == [pending["key"]]
    assert reached.count(pending["key"]) == 2
    assert Scan.objects.count() == 7
    assert Scan.objects.values("person_id").distinct().count() == 7
    assert ScanBatch.objects.filter(idempotency_key=pending["key"]).count() == 1
    assert (
        page.locator("[data-testid=scan-list] li[data-action=add][data-status=accepted]").count()
        == 7
    )
    page.unroute(API)

    # another phone filled tube T0002 to 10; an 11th code into it is rejected, clearly
    others = persons_with_codes(city.tree.grid_a1, 10)
    scan_batch_ingest(
        actor=setup.sampler,
        point=setup.point,
        idempotency_key="other-phone",
        scans=[ScanIn(barcode="T0002", token=t) for t in others],
    )
    page.click("[data-testid=close-tube]")
    scan(page, "T0002")
    scan(page, tokens[7])
    rejected = page.locator(
        "[data-testid=scan-list] li[data-status=rejected][data-reason=tube_full]"
    )
    rejected.wait_for()
    assert rejected.locator(".smp-scan-msg").inner_text().strip()
    # the page drops the full tube and asks for the next one
    page.wait_for_selector("[data-testid=tube-panel] #smp-idle:not([hidden])")
    assert Tube.objects.get(barcode="T0002").members == 10
    assert not Scan.objects.filter(token=tokens[7]).exists()
    shot(page, "mt-sampler-phone-rejected")
    assert errors == []


def test_a_sampler_chooses_a_point_and_a_one_in_one_tube_closes_at_one(
    page: Any, live_server: Any, city: City
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    setup = campaign_setup(city.tree, {}, pool_size=10)
    setup.campaign.group_pool_sizes = {"medical": 1}
    setup.campaign.save()
    token = persons_with_codes(city.tree.grid_a1, 1, key_group="medical")[0]
    page.set_viewport_size({"width": 390, "height": 844})
    # of the campaign's two points, only the one its institution runs
    login(page, live_server.url, setup.sampler.username)
    page.goto(f"{live_server.url}/masstesting/sampler/?choose=1")
    page.wait_for_selector(f"[data-testid=point-{setup.point.pk}]")
    assert page.locator(f"[data-testid=point-{setup.other.pk}]").count() == 0
    shot(page, "mt-sampler-phone-choose")
    page.click(f"[data-testid=point-{setup.point.pk}]")
    page.wait_for_selector("#smp-sizes button.on")
    assert page.locator("#smp-sizes button").all_inner_texts() == ["1:1", "10:1"]
    shot(page, "mt-sampler-phone-idle")
    page.click("#smp-sizes button:has-text('1:1')")
    scan(page, "M0001")
    assert page.inner_text("[data-testid=tube-count]").replace(" ", "") == "0/1"
    scan(page, f"FK1:{token}")
    # at 1 of 1 the tube closes by itself and the page asks for the next tube
    page.wait_for_selector("[data-testid=tube-panel] #smp-idle:not([hidden])")
    wait_uploaded(page)
    tube = Tube.objects.get(barcode="M0001")
    assert (tube.capacity, tube.members, tube.status) == (1, 1, "closed")
    assert errors == []
