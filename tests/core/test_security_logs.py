"""No ID or phone number reaches a log record, from any logger, at any level.

The person flows run with every logger at DEBUG, Django's request logging on and SQL logging
forced on (so plaintext that reached a query parameter would show too). Records are checked as
emitted, before the RedactPersonalData filter: that filter is the last line, not the first.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from fangkong.core.logredact import RedactPersonalData, redact
from fangkong.core.models import User
from tests.core.test_security_responses import (
    _leaks,
    id_forms,
    phone_forms,
    run_person_flows,
    without_birth_dates,
)
from tests.factories import Tree, make_resident_id

pytestmark = pytest.mark.django_db

_STANDARD = set(vars(logging.LogRecord("n", 0, "p", 0, "m", None, None))) | {"message", "asctime"}


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _loggers() -> list[logging.Logger]:
    names = [
        n for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)
    ]
    return [logging.root, *(logging.getLogger(n) for n in names)]


@pytest.fixture
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Attach a handler to every logger (propagating or not) and open every level."""
    capture = _Capture()
    saved = []
    for logger in _loggers():
        saved.append((logger, logger.level, logger.disabled))
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        logger.addHandler(capture)
    connection.force_debug_cursor = True
    try:
        yield capture.records
    finally:
        connection.force_debug_cursor = False
        for logger, level, disabled in saved:
            logger.removeHandler(capture)
            logger.setLevel(level)
            logger.disabled = disabled


def _text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    parts += [record.exc_text or "", record.stack_info or ""]
    parts += [repr(v) for k, v in vars(record).items() if k not in _STANDARD]
    return "\n".join(parts)


def _assert_clean(records: list[logging.LogRecord], secrets: dict[str, list[str]]) -> None:
    problems = [
        f"{r.name}:{r.levelname} {r.getMessage()[:120]!r} leaks {leak}"
        for r in records
        for leak in _leaks(_text(r), secrets)
    ]
    assert not problems, "\n".join(problems)


def test_person_flows_log_no_personal_data(
    tree: Tree, users: dict[str, User], every_log_record: list[logging.LogRecord]
) -> None:
    record = run_person_flows(tree, users)
    names = {r.name for r in every_log_record}
    # the capture is real: request warnings (404, 409, 422) and SQL statements were seen
    assert "django.request" in names and "django.db.backends" in names
    assert any("Not Found" in r.getMessage() for r in every_log_record)
    _assert_clean(every_log_record, without_birth_dates(record.secrets))


_IMPORTING = importlib.util.find_spec("fangkong.people.services.imports") is not None


@pytest.mark.skipif(not _IMPORTING, reason="fangkong.people.services.imports is not there yet")
def test_import_with_bad_rows_logs_no_personal_data(
    tree: Tree,
    users: dict[str, User],
    every_log_record: list[logging.LogRecord],
    settings: Any,
    tmp_path: Any,
) -> None:
    from fangkong.people.services import imports as importing

    settings.DATA_DIR = tmp_path
    good, bad = make_resident_id(), make_resident_id()
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    short_phone = "1391234"
    rows = [
        ["姓名", "身份证号", "手机号", "社区", "网格"],
        ["好人", good, "13511112222", tree.community_a1.name, tree.grid_a1.name],
        ["坏号", bad, "13533334444", tree.community_a1.name, tree.grid_a1.name],
        ["坏电话", make_resident_id(), short_phone, tree.community_a1.name, tree.grid_a1.name],
        ["越界", make_resident_id(), "13555556666", tree.community_b1.name, tree.grid_b1.name],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    job = importing.import_job_create(
        actor=users["town_a1"],
        filename="名单.csv",
        content=buffer.getvalue().encode("utf-8"),
        enqueue=False,
    )
    job = importing.import_job_run(job_id=job.pk)
    assert job.error_count >= 2, (job.status, job.message)
    secrets = {
        "good": id_forms(good, birth=False),
        "bad": [bad, bad[:17]],
        "short_phone": [short_phone],
        **{f"phone_{i}": phone_forms(r[2]) for i, r in enumerate(rows[1:]) if len(r[2]) == 11},
        **{f"id_{i}": id_forms(r[1], birth=False) for i, r in enumerate(rows[1:])},
    }
    _assert_clean(every_log_record, secrets)
    # the row errors themselves name row and field only
    reasons = " ".join(e.reason for e in job.row_errors.all())
    assert not _leaks(reasons, secrets)


# --- the redaction filter, the last line of defence ---------------------------------------


def test_redact_masks_ids_and_phones() -> None:
    idn = "11010519491231002X"
    assert redact(f"id={idn} phone=13812345678") == "id=1101**********002X phone=138****5678"
    assert redact(f"lower {idn.lower()}") == "lower 1101**********002x"
    assert redact("+8613812345678") == "+86138****5678"
    assert redact("tel:8613812345678,") == "tel:86138****5678,"
    assert redact("138 1234 5678 / 138-1234-5678") == "138****5678 / 138****5678"
    assert redact("id 110105194912310021.") == "id 1101**********0021."


def test_redact_leaves_other_numbers_alone() -> None:
    for text in (
        "job 12345 took 1380 ms",
        "order 123456789012345678901",  # 21 digits: not an ID
        "value 12812345678",  # 12x is not a mobile prefix
        "uuid 9f1c0c4e-1380-4000-8000-000000000000",
    ):
        assert redact(text) == text


def test_redact_filter_rewrites_the_record_with_its_args() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "looked up %s by %s", ("13812345678", "张三"), None
    )
    assert RedactPersonalData().filter(record) is True
    assert record.getMessage() == "looked up 138****5678 by 张三"
    clean = logging.LogRecord("t", logging.INFO, __file__, 1, "count %s", (5,), None)
    RedactPersonalData().filter(clean)
    assert clean.args == (5,) and clean.getMessage() == "count 5"


def test_redact_filter_cleans_tracebacks() -> None:
    try:
        raise ValueError("cannot read 110105194912310021 or +8613812345678")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactPersonalData().filter(record)
    text = logging.Formatter().format(record)
    assert "110105194912310021" not in text and "13812345678" not in text
    assert "1101**********0021" in text and "+86138****5678" in text


def test_console_handler_carries_the_redact_filter(settings: Any) -> None:
    console = settings.LOGGING["handlers"]["console"]
    assert "redact" in console["filters"]
    assert settings.LOGGING["filters"]["redact"]["()"].endswith("RedactPersonalData")
