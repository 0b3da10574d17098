"""The personal-data vault: encryption, key rotation, tamper detection, blind index, masks."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from fangkong.core import vault
from fangkong.core.keys import KeyMaterial, parse_pii_keys
from fangkong.people.models import Person
from tests.factories import make_person, make_resident_id


def _b64() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _keys(spec: str, blind: bytes | None = None) -> KeyMaterial:
    pii, active = parse_pii_keys(spec)
    return KeyMaterial(
        secret_key="x" * 50,
        pii_keys=pii,
        active_key_id=active,
        blind_index_key=blind or secrets.token_bytes(32),
        audit_key=secrets.token_bytes(32),
    )


@pytest.fixture(autouse=True)
def _fresh_ciphers() -> Iterator[None]:
    # ciphers are cached per key id; a settings override must not see another test's keys
    vault._cipher.cache_clear()
    yield
    vault._cipher.cache_clear()


def test_round_trip_and_fresh_nonce() -> None:
    a = vault.encrypt("13812345678", purpose="person.phone")
    b = vault.encrypt("13812345678", purpose="person.phone")
    assert a != b  # random nonce: equal plaintexts do not give equal ciphertexts
    assert "13812345678" not in a
    assert vault.decrypt(a, purpose="person.phone") == "13812345678"
    assert vault.decrypt(b, purpose="person.phone") == "13812345678"


def test_purpose_is_bound_as_associated_data() -> None:
    """A phone ciphertext pasted into the ID column must not decrypt as an ID."""
    token = vault.encrypt("13812345678", purpose="person.phone")
    with pytest.raises(InvalidTag):
        vault.decrypt(token, purpose="person.id_number")


def test_key_rotation_keeps_old_rows_readable(settings: Any) -> None:
    old_b64, new_b64 = _b64(), _b64()
    settings.KEYS = _keys(f"k1:{old_b64}")
    old_token = vault.encrypt("110105199001011234", purpose="person.id_number")
    assert old_token.startswith("k1:")

    # rotate: k2 becomes active, k1 stays configured for reading
    settings.KEYS = _keys(f"k2:{new_b64},k1:{old_b64}")
    vault._cipher.cache_clear()
    new_token = vault.encrypt("110105199001011234", purpose="person.id_number")
    assert new_token.startswith("k2:")
    assert vault.decrypt(old_token, purpose="person.id_number") == "110105199001011234"
    assert vault.decrypt(new_token, purpose="person.id_number") == "110105199001011234"

    # once k1 is dropped, its rows say clearly which key is missing
    settings.KEYS = _keys(f"k2:{new_b64}")
    vault._cipher.cache_clear()
    with pytest.raises(LookupError, match="'k1'"):
        vault.decrypt(old_token, purpose="person.id_number")


def test_a_different_key_under_the_same_id_fails_closed(settings: Any) -> None:
    settings.KEYS = _keys(f"k1:{_b64()}")
    token = vault.encrypt("secret", purpose="p")
    settings.KEYS = _keys(f"k1:{_b64()}")
    vault._cipher.cache_clear()
    with pytest.raises(InvalidTag):
        vault.decrypt(token, purpose="p")


def _flip(token: str, index: int) -> str:
    kid, _, body = token.partition(":")
    raw = bytearray(base64.b64decode(body))
    raw[index] ^= 0x01
    return f"{kid}:{base64.b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize("index", [0, 11, 12, 20, -1])  # nonce, ciphertext, tag
def test_tampered_ciphertext_is_rejected(index: int) -> None:
    token = vault.encrypt("110105199001011234", purpose="person.id_number")
    with pytest.raises(InvalidTag):
        vault.decrypt(_flip(token, index), purpose="person.id_number")


def test_truncated_ciphertext_is_rejected() -> None:
    token = vault.encrypt("110105199001011234", purpose="person.id_number")
    with pytest.raises(InvalidTag):
        vault.decrypt(token[:-8], purpose="person.id_number")


def test_blind_index_is_stable_keyed_and_purpose_separated(settings: Any) -> None:
    key = secrets.token_bytes(32)
    settings.KEYS = _keys(f"k1:{_b64()}", blind=key)
    first = vault.blind_index("110105199001011234", purpose="person.id_number")
    assert first == vault.blind_index("110105199001011234", purpose="person.id_number")
    assert len(first) == 40 and int(first, 16) >= 0
    assert "110105199001011234" not in first
    assert first != vault.blind_index("110105199001011235", purpose="person.id_number")
    assert first != vault.blind_index("110105199001011234", purpose="person.phone")
    # keyed: the same value under another key gives an unrelated index
    settings.KEYS = _keys(f"k1:{_b64()}", blind=secrets.token_bytes(32))
    assert first != vault.blind_index("110105199001011234", purpose="person.id_number")
    settings.KEYS = _keys(f"k1:{_b64()}", blind=key)
    assert first == vault.blind_index("110105199001011234", purpose="person.id_number")


def test_masks_have_the_documented_shape() -> None:
    assert vault.mask_id_number("37020219900101123X") == "370202***********X"
    assert vault.mask_phone("+8613812345678") == "138****5678"
    assert vault.mask_phone("13812345678") == "138****5678"
    # other documents and foreign numbers still hide their middle
    assert vault.mask_id_number("E12345678") == "E*******8"
    assert vault.mask_id_number("A1234") == "A***4"
    assert vault.mask_phone("+4915112345678") == "491********78"
    assert vault.mask_address("青岛市市南区香港中路10号3单元502") == "青岛市市南区香港中****"
    assert vault.mask_address("") == ""


@pytest.mark.django_db
def test_person_rows_hold_no_plaintext(tree: Any) -> None:
    idn = make_resident_id()
    person = make_person(tree.grid_a1, id_number=idn, phone="13912345678", address="东街8号")
    table = connection.ops.quote_name(Person._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [person.pk])  # noqa: S608
        row = " ".join(str(v) for v in cursor.fetchone())
    for plain in (idn, idn[:17], "13912345678", "+8613912345678", "东街8号"):
        assert plain not in row


def test_parse_pii_keys_rejects_bad_specs() -> None:
    good = _b64()
    keys, active = parse_pii_keys(f"k2:{good}, k1:{_b64()}")
    assert active == "k2" and list(keys) == ["k2", "k1"]
    for bad in (
        "",
        "k1",
        f"k-1:{good}",
        "k1:not-base64!",
        f"k1:{base64.b64encode(b'short').decode()}",
    ):
        with pytest.raises(ImproperlyConfigured, match="FANGKONG_PII_KEYS"):
            parse_pii_keys(bad)
