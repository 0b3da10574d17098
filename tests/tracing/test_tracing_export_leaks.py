"""Issue 8, item 3: the 协查 export carries what the exporter entered, never another
jurisdiction's registry data decrypted for a contact matched by ID number."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from fangkong.screening.assistance_layout import COLUMNS
from tests.factories import Tree, make_person, make_resident_id
from tests.factories.tracing import confirmed_case

pytestmark = pytest.mark.django_db

BASE = "/api/v1/tracing"
FIELDS = [f for f, _zh, _en in COLUMNS]


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default"],
        }
    }


def test_a_contact_matched_by_id_elsewhere_is_exported_with_what_the_exporter_entered(
    tree: Tree, users: dict[str, Any], api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    idn = make_resident_id()
    make_person(
        tree.grid_b1, name="王五", id_number=idn, phone="13955556666", address="西街9号7单元701"
    )
    patient = make_person(tree.grid_a1, name="赵六")
    with django_capture_on_commit_callbacks(execute=True):
        case = confirmed_case(actor=users["town_a1"], person=patient)
    api = api_as("town_a1")
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(
            f"{BASE}/cases/{case.pk}/exposures",
            {
                "items": [
                    {
                        "contact": {"id_number": idn, "name": "王五", "phone": "13700001111"},
                        "context": "household",
                        "day": str(case.onset_date or case.confirmed_at.date()),
                    }
                ]
            },
        )
    assert r.status_code == 200, r.content
    r = api.post(f"{BASE}/cases/{case.pk}/assistance-export", {"reason": "发西城区协查"})
    assert r.status_code == 200, r.content
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2
    row = dict(zip(FIELDS, rows[1], strict=False))
    text = " ".join(str(v) for v in rows[1] if v)
    # the registry's phone and address of the other district never reach the workbook
    assert "13955556666" not in text and "西街9号" not in text
    assert row["id_number"] == idn and row["name"] == "王五"
    assert str(row["phone"]).endswith("13700001111")
