"""Key material for the personal-data vault, the audit chain and Django's signing key.

Production reads keys from the environment only. Demo mode generates keys once into the data
directory so that `make run` needs no set-up; a production start refuses those demo keys.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DEMO_KEYS_FILE = "demo-keys.json"


@dataclass(frozen=True)
class KeyMaterial:
    secret_key: str
    pii_keys: dict[str, bytes]  # key id -> 32-byte AES key; first is the active one
    active_key_id: str
    blind_index_key: bytes
    audit_key: bytes  # HMAC key of the audit chain; outside the database, so a writer can't forge


def _b64key(name: str, text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: key is not valid base64") from None
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name}: key must decode to 32 bytes, got {len(raw)}")
    return raw


def parse_pii_keys(spec: str) -> tuple[dict[str, bytes], str]:
    """Parse `kid:base64[,kid:base64...]`; the first entry encrypts, all entries decrypt."""
    keys: dict[str, bytes] = {}
    for part in spec.split(","):
        kid, sep, b64 = part.strip().partition(":")
        if not sep or not kid.isalnum():
            raise ImproperlyConfigured(
                "FANGKONG_PII_KEYS must look like 'k2:<base64 32 bytes>,k1:<base64>'"
            )
        keys[kid] = _b64key("FANGKONG_PII_KEYS", b64)
    if not keys:
        raise ImproperlyConfigured("FANGKONG_PII_KEYS holds no key")
    return keys, next(iter(keys))


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _write_private(path: Path, payload: dict[str, str], *, replace: bool) -> None:
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.chmod(tmp, 0o600)
    # os.replace keeps two processes starting at once from reading a half-written file
    if replace or not path.exists():
        os.replace(tmp, path)
    else:
        tmp.unlink()


def load_demo_keys(data_dir: Path) -> KeyMaterial:
    path = data_dir / DEMO_KEYS_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        payload = {
            "secret_key": secrets.token_urlsafe(50),
            "pii_keys": f"demo1:{_new_key()}",
            "blind_index_key": _new_key(),
            "audit_key": _new_key(),
        }
        _write_private(path, payload, replace=False)
    payload = json.loads(path.read_text())
    if "audit_key" not in payload:
        # a data dir from before the keyed audit chain: keep its keys, add the missing one
        _write_private(path, {**payload, "audit_key": _new_key()}, replace=True)
        payload = json.loads(path.read_text())
    keys, active = parse_pii_keys(payload["pii_keys"])
    return KeyMaterial(
        secret_key=payload["secret_key"],
        pii_keys=keys,
        active_key_id=active,
        blind_index_key=_b64key("blind_index_key", payload["blind_index_key"]),
        audit_key=_b64key("audit_key", payload["audit_key"]),
    )


def load_production_keys(
    *, secret_key: str, pii_spec: str, blind_index_b64: str, audit_b64: str, data_dir: Path
) -> KeyMaterial:
    keys, active = parse_pii_keys(pii_spec)
    blind = _b64key("FANGKONG_BLIND_INDEX_KEY", blind_index_b64)
    audit = _b64key("FANGKONG_AUDIT_KEY", audit_b64)
    demo_path = data_dir / DEMO_KEYS_FILE
    if demo_path.exists():
        demo = json.loads(demo_path.read_text())
        demo_keys, _ = parse_pii_keys(demo["pii_keys"])
        if set(demo_keys.values()) & set(keys.values()) or demo["secret_key"] == secret_key:
            raise ImproperlyConfigured(
                "production mode refuses the demo keys: set fresh FANGKONG_PII_KEYS, "
                "FANGKONG_BLIND_INDEX_KEY and FANGKONG_SECRET_KEY"
            )
        if _b64key("blind_index_key", demo["blind_index_key"]) == blind:
            raise ImproperlyConfigured("production mode refuses the demo blind-index key")
        if "audit_key" in demo and _b64key("audit_key", demo["audit_key"]) == audit:
            raise ImproperlyConfigured("production mode refuses the demo audit key")
    if len(secret_key) < 40:
        raise ImproperlyConfigured("FANGKONG_SECRET_KEY must be at least 40 characters")
    if audit in (blind, *keys.values()):
        # one key doing two jobs: whoever may compute blind indexes could forge the audit chain
        raise ImproperlyConfigured("FANGKONG_AUDIT_KEY must differ from the other keys")
    return KeyMaterial(
        secret_key=secret_key,
        pii_keys=keys,
        active_key_id=active,
        blind_index_key=blind,
        audit_key=audit,
    )
