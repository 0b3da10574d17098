"""Logging filter that masks anything shaped like an ID or phone number, or a self-service
link's secret, as a last line."""

from __future__ import annotations

import logging
import re

_ID = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9])")
# Phones are stored in E.164 (+8613812345678), so the country code must not stop a match;
# spaces or dashes between the 3-4-4 groups are how people type them.
_PHONE = re.compile(r"(?<![0-9])((?:\+?86[- ]?)?1[3-9][0-9])[- ]?[0-9]{4}[- ]?([0-9]{4})(?![0-9])")
# The secret of a self-service link is the path itself (/hs/<secret>/): a 404 or an access
# log line must not hand it to whoever reads the logs.
_LINK = re.compile(r"(/hs/)[A-Za-z0-9_-]{8,}")
_FORMATTER = logging.Formatter()


def redact(text: str) -> str:
    text = _LINK.sub(r"\1***", text)
    text = _ID.sub(lambda m: m.group(1)[:4] + "*" * 10 + m.group(2), text)
    return _PHONE.sub(r"\1****\2", text)


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # A traceback can quote a value too; handlers print exc_text when it is already set.
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
