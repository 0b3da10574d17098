"""Evidence files of the ledger: stored under the data directory (never a public URL),
named by a random id, and read back only through a scoped page of the obligation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from fangkong.command.models import Evidence, ObligationEvent
from fangkong.core.filejobs import copy_upload
from fangkong.core.validators import FieldError

FOLDER = "command/evidence"
# what a file must start with to be what its name says (a renamed executable is refused)
SIGNATURES: dict[str, tuple[tuple[bytes, ...], str]] = {
    ".jpg": ((b"\xff\xd8\xff",), "image/jpeg"),
    ".jpeg": ((b"\xff\xd8\xff",), "image/jpeg"),
    ".png": ((b"\x89PNG\r\n\x1a\n",), "image/png"),
    ".pdf": ((b"%PDF-",), "application/pdf"),
    ".xlsx": (
        (b"PK\x03\x04",),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ".docx": (
        (b"PK\x03\x04",),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
}


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes | IO[bytes] | Any


def evidence_path(evidence: Evidence) -> Path:
    return Path(settings.DATA_DIR) / evidence.stored_path


def store_evidence(*, event: ObligationEvent, upload: Upload) -> Evidence:
    name = Path(upload.filename or "").name[:255]
    suffix = Path(name).suffix.lower()
    if suffix not in SIGNATURES:
        raise FieldError(
            "files", _("%(name)s: only photos (jpg, png), PDF, xlsx or docx") % {"name": name}
        )
    magic, content_type = SIGNATURES[suffix]
    relative = Path(FOLDER) / f"{uuid.uuid4().hex}{suffix}"
    target = Path(settings.DATA_DIR) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    limit = int(settings.COMMAND_EVIDENCE_MAX_BYTES)
    too_large = _("%(name)s: a file may have at most %(mb)d MB") % {
        "name": name,
        "mb": limit // (1024 * 1024) or 1,
    }
    try:
        with target.open("wb") as out:
            digest = copy_upload(upload.content, out, max_bytes=limit, too_large=too_large)
        with target.open("rb") as stored:
            head = stored.read(16)
        if not head.startswith(magic):
            raise FieldError("files", _("%(name)s is not the file its name says") % {"name": name})
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Evidence.objects.create(
        event=event,
        filename=name,
        stored_path=str(relative),
        sha256=digest,
        size=target.stat().st_size,
        content_type=content_type,
    )
