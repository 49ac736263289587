"""What the export writes and the import reads: ids, code maps and value formats.

Kept in one module so that the two directions cannot drift apart (the round trip export ->
import -> export is identical only while they agree on every name and format here).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.utils.text import slugify

from services.codes import ServiceStatus

# Our code lists travel as HSDS attributes, each under a taxonomy of its own.
ORGANISATION_TYPE_TAXONOMY = "spoc-organisation-type"
SERVICE_TYPE_TAXONOMY = "spoc-service-type"
# NHS Organisation Data Service codes (docs/reference.md "Interoperability").
ODS_SCHEME = "ODS"
ODS_IDENTIFIER_TYPE = "ODS code"
SITE_CODE_TYPE = "spoc-site-code"
SERVICE_AREA_NAME = "Postcode areas"
# Sectors contain a space ("L9 7"), so areas are listed with a comma between them.
AREA_SEPARATOR = ", "
# HSDS schedules follow iCalendar (RFC 5545): weekly recurrence, weekdays as two-letter codes.
WEEKLY = "WEEKLY"
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index = our weekday, 0 = Monday
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIME_FORMAT = "%H:%M"

# HSDS service status. "defunct" has no counterpart here: a service that is gone is INACTIVE.
STATUS_TO_ORUK: dict[str, str] = {
    ServiceStatus.ACTIVE: "active",
    ServiceStatus.INACTIVE: "inactive",
    ServiceStatus.TEMPORARILY_CLOSED: "temporarily closed",
}
ORUK_TO_STATUS: dict[str, str] = {oruk: code for code, oruk in STATUS_TO_ORUK.items()}

_UK_COUNTRY_CODE = 44  # includes the Crown Dependencies (Isle of Man, Jersey, Guernsey)


def organization_id(ods_code: str) -> str:
    """The export id of an organisation: stable because ODS codes are."""
    return f"org-{ods_code}"


def location_id(site_code: str) -> str:
    """The export id of a site."""
    return f"loc-{site_code}"


def service_ids(names: Iterable[str]) -> dict[str, str]:
    """The export id of each service name: ``"svc-" + slugify(name)``.

    Names are unique but their slugs need not be ("A & B", "A B"): names are taken in sorted
    order and a clash gets the first free ``-2``, ``-3``... suffix, so the same names always get
    the same ids, in any database.
    """
    ids: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(names):
        base = "svc-" + (slugify(name) or "service")
        candidate, suffix = base, 2
        while candidate in used:
            candidate, suffix = f"{base}-{suffix}", suffix + 1
        ids[name] = candidate
        used.add(candidate)
    return ids


def phone_display(value: Any) -> str | None:
    """A stored phone number as people dial it: national format for UK numbers, international
    otherwise (so nothing is lost); ``None`` when there is none. Text that does not parse is
    returned as it is."""
    if not value:
        return None
    try:
        number = value if isinstance(value, phonenumbers.PhoneNumber) else phone_parse(str(value))
    except ValueError:
        return str(value)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == _UK_COUNTRY_CODE
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def phone_e164(value: Any) -> str:
    """A stored phone number in E.164 (``""`` when there is none), for comparisons."""
    if not value:
        return ""
    try:
        number = value if isinstance(value, phonenumbers.PhoneNumber) else phone_parse(str(value))
    except ValueError:
        return str(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_parse(raw: str) -> phonenumbers.PhoneNumber:
    """Parse ``raw`` as dialled in the UK; raises ValueError with a message for the user."""
    try:
        return phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{raw!r} is not a phone number.") from error


def uk_phone_e164(raw: str) -> str:
    """A valid UK phone number in E.164; raises ValueError naming what is wrong."""
    number = phone_parse(raw)
    if not phonenumbers.is_valid_number(number) or number.country_code != _UK_COUNTRY_CODE:
        raise ValueError(f"{raw!r} is not a valid UK phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
