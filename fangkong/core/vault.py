"""The personal-data vault: AES-GCM encryption, keyed blind indexes, masking.

Ciphertext format: `<key id>:<base64(nonce || ciphertext+tag)>`, so keys can be rotated
(new writes use the active key, old rows still decrypt with theirs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

NONCE_BYTES = 12


@lru_cache(maxsize=8)
def _cipher(kid: str) -> AESGCM:
    try:
        return AESGCM(settings.KEYS.pii_keys[kid])
    except KeyError:
        raise LookupError(f"personal-data key {kid!r} is not configured") from None


def encrypt(plaintext: str, *, purpose: str) -> str:
    """Encrypt; `purpose` (e.g. "person.id_number") is bound as associated data."""
    kid = settings.KEYS.active_key_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(kid).encrypt(nonce, plaintext.encode(), purpose.encode())
    return f"{kid}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, purpose: str) -> str:
    kid, _, body = token.partition(":")
    raw = base64.b64decode(body)
    return _cipher(kid).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode()).decode()


def blind_index(value: str, *, purpose: str) -> str:
    """Keyed HMAC of a normalized value: exact lookup without storing the value."""
    msg = f"{purpose}\x00{value}".encode()
    return hmac.new(settings.KEYS.blind_index_key, msg, hashlib.sha256).hexdigest()[:40]


def mask_id_number(value: str) -> str:
    """990101***********7 style: keep the 6-digit place code and the check digit only.

    A resident ID is place (6) + birth date (8) + sequence (3, odd for men) + check digit.
    The old mask kept the first 4 and last 4 characters — the whole sequence and the check
    digit — so with the birth year shown beside it and the place known from the person's
    region only the month and day were hidden, and the check digit cut those 365 to about
    34 guesses. This mask hides the whole birth date and sequence: with the birth year and
    sex still shown, 365 days × 500 sequences ÷ 11 check values leave about 16,600
    candidates. Other documents (passports, 15-digit IDs) keep at most the first and last
    character, or the place code and last character when long enough.
    """
    if len(value) >= 15:
        return value[:6] + "*" * (len(value) - 7) + value[-1:]
    if len(value) <= 2:
        return "*" * len(value)
    return value[:1] + "*" * (len(value) - 2) + value[-1:]


def mask_phone(value: str) -> str:
    """138****5678 style for mainland mobiles; other numbers keep first 3 and last 2."""
    digits = value[3:] if value.startswith("+86") else value.lstrip("+")
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) <= 5:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def mask_name(name: str, *, keep_last: bool = True) -> str:
    """张* / 王*明 / 欧**明: enough to recognise someone you already know, no more.

    keep_last=False (张* / 欧***) for lists that circulate beyond the people who need names."""
    name = (name or "").strip()
    if not keep_last:
        return name[:1] + "*" * max(1, len(name) - 1) if name else ""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_address(value: str) -> str:
    """Keep the coarse part (district/street) and hide house-level detail."""
    keep = min(len(value) // 2, 9)
    return value[:keep] + "****" if value else ""
