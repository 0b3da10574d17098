"""Helpers for screening tests: risk areas, screening records, assistance-request sheets."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import random
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from django.apps import apps

from fangkong.core.models import Region, User
from fangkong.screening.models import RiskArea, ScreeningRecord
from fangkong.screening.services import arrivals as services
from tests.factories import make_resident_id

SHANGHAI = ZoneInfo("Asia/Shanghai")


def ensure_default_rules() -> None:
    """Re-seed the measure plans and the rule table of the data migrations.

    A test on `transactional_db` (the browser tests) ends with a flush that empties every
    table, data migrations included, and later tests in the same worker would find no rules.
    """
    for module in (
        "fangkong.people.migrations.0003_default_measure_plans",
        "fangkong.screening.migrations.0002_default_rules",
    ):
        importlib.import_module(module).forwards(apps, None)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def make_area(
    *,
    code: str = "",
    name: str = "",
    level: str = "high",
    kind: str = "area",
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
) -> RiskArea:
    return RiskArea.objects.create(
        division_code=code,
        name=name or code,
        level=level,
        kind=kind,
        valid_from=valid_from or local(2022, 1, 1),
        valid_to=valid_to,
        source="测试通告",
    )


def screening_data(
    destination: Region,
    *,
    name: str = "李四",
    id_number: str | None = None,
    phone: str = "13900139000",
    source: str = "checkpoint",
    origin_code: str = "",
    origin_place: str = "上海市浦东新区",
    route: list[dict[str, Any]] | None = None,
    arrival_at: dt.datetime | None = None,
    travel_mode: str = "train",
) -> services.ScreeningData:
    return services.screening_validate(
        name=name,
        id_type="resident_id",
        id_number=id_number or make_resident_id(),
        phone=phone,
        address="东街8号2单元301",
        source=source,
        destination=destination,
        origin_code=origin_code,
        origin_place=origin_place,
        route=route,
        arrival_at=arrival_at,
        travel_mode=travel_mode,
    )


def make_screening(actor: User, destination: Region, **kwargs: Any) -> ScreeningRecord:
    """A pending record entered by `actor` (whose jurisdiction must hold the destination)."""
    kwargs.setdefault("arrival_at", dt.datetime.now(tz=SHANGHAI) - dt.timedelta(hours=3))
    return services.screening_create(actor=actor, data=screening_data(destination, **kwargs))


def sheet_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def resident_ids(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    out = []
    while len(out) < n:
        value = make_resident_id(rng)
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out
