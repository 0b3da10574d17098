"""Normalisers for identity documents and phone numbers (python-stdnum, phonenumbers)."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import phonenumbers
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric


class FieldError(ValueError):
    """A validation failure tied to one named field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


_PASSPORT = re.compile(r"^[A-Z0-9]{5,20}$")


@lru_cache(maxsize=8192)
def _birthplace_valid(number: str) -> None:
    """stdnum's division-code lookup, cached: it depends only on the code and birth year."""
    ric.get_birth_place(number)


def _validate_resident_id(value: str) -> str:
    # Same checks as ric.validate, in the same order, with the costly place lookup cached.
    number = ric.compact(value)
    if len(number) != 18:
        raise stdnum_exc.InvalidLength()
    if not number[:-1].isdigit():
        raise stdnum_exc.InvalidFormat()
    if number[-1] != ric.calc_check_digit(number):
        raise stdnum_exc.InvalidChecksum()
    birth = ric.get_birth_date(number)
    # the cache key keeps only what the lookup reads: division code and birth year
    _birthplace_valid(f"{number[:6]}{birth.year:04d}0101000X")
    return number


def normalize_id_number(id_type: str, value: str, *, field: str = "id_number") -> str:
    value = (value or "").strip().upper().replace(" ", "")
    if not value:
        raise FieldError(field, _("ID number is required"))
    if id_type == "resident_id":
        try:
            return _validate_resident_id(value)
        except stdnum_exc.InvalidChecksum:
            raise FieldError(field, _("resident ID checksum is wrong")) from None
        except stdnum_exc.InvalidLength:
            raise FieldError(field, _("resident ID must have 18 characters")) from None
        except stdnum_exc.InvalidComponent:
            raise FieldError(field, _("resident ID has an invalid birth date or region")) from None
        except stdnum_exc.ValidationError:
            raise FieldError(field, _("resident ID is not valid")) from None
    if not _PASSPORT.match(value):
        raise FieldError(field, _("document number must be 5-20 letters or digits"))
    return value


def resident_id_facts(value: str) -> tuple[str, dt.date]:
    """Sex ("M"/"F") and birth date carried inside a valid resident ID."""
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return sex, ric.get_birth_date(value)


def normalize_phone(value: str, *, field: str = "phone") -> str:
    """Return E.164; mainland China is the default region."""
    value = (value or "").strip()
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        raise FieldError(field, _("phone number cannot be read")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise FieldError(field, _("phone number is not a valid number"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
