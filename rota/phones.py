"""The phone a person on duty is reached on: a UK number, kept in E.164 (``+447700900123``).

A number must be one the ``phonenumbers`` metadata holds valid for the United Kingdom, or be in
Ofcom's range of mobile numbers for drama (07700 900000 to 07700 900999), which the metadata does
not list as valid but which reaches nobody: the demo and the tests give those, so that an alert
sent by mistake rings no one's phone.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber, to_python

PHONE_MESSAGE = "Enter a UK phone number, like 0151 496 0000 or 07700 900123."
# Ofcom: "Telephone numbers for drama purposes", mobile range 07700 900000 to 07700 900999.
_DRAMA_MOBILE = range(7700900000, 7700901000)


def uk_phone_acceptable(number: Any) -> bool:
    """Whether ``number`` (a PhoneNumber or phonenumbers' own) is a UK number we accept."""
    if not isinstance(number, phonenumbers.PhoneNumber) or number.country_code != 44:
        return False
    return phonenumbers.is_valid_number(number) or number.national_number in _DRAMA_MOBILE


def uk_phone(value: str) -> PhoneNumber:
    """``value`` as typed (``07700 900123``, ``+44 7700 900123``) read as a UK number; raises
    ``ValidationError`` with ``PHONE_MESSAGE`` when it is not one."""
    number = to_python(value.strip(), region="GB") if isinstance(value, str) else value
    if not number or not uk_phone_acceptable(number):
        raise ValidationError(PHONE_MESSAGE, code="invalid")
    return number


def validate_uk_phone(value: Any) -> None:
    if value and not uk_phone_acceptable(value):
        raise ValidationError(PHONE_MESSAGE, code="invalid")


class UkPhoneField(PhoneNumberField):
    """The project's phone field, held to ``uk_phone_acceptable`` and stored in E.164 whenever it
    is acceptable (the library would keep a drama number as typed)."""

    default_validators = [validate_uk_phone]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("region", "GB")
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value: Any) -> Any:
        parsed = to_python(value, region="GB") if isinstance(value, str) else value
        if parsed and uk_phone_acceptable(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return super().get_prep_value(value)
