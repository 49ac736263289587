"""Reading an ORUK file into checked records, without touching the database.

Every record is read in full and every problem is noted, so that one run tells the directory
admin everything that is wrong with a file; nothing is imported unless nothing is wrong. The
checks that need the database (does an organisation referred to but not in the file exist?)
are made by the import, with the same error type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from services.clocks import InvalidClockOverride, clock_overrides_parse
from services.codes import CallerType, OrganisationType, ServiceType
from services.oruk.reader import RecordReader
from services.oruk.records import (
    DirectoryRecords,
    OrganisationRecord,
    OrukImportError,
    OrukProblem,
    ServiceRecord,
    SiteRecord,
    TeamRecord,
)
from services.oruk.shape import (
    BYDAY,
    ODS_SCHEME,
    ORGANISATION_TYPE_TAXONOMY,
    ORUK_TO_STATUS,
    SERVICE_TYPE_TAXONOMY,
    SITE_CODE_TYPE,
    WEEKLY,
    organization_id,
)
from services.postcodes import InvalidPostcode, normalise_area, normalise_postcode
from spoc.core.identifiers import is_ods_code

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_MAX_AGE = 150  # years: anything above is a typing error, not an eligibility rule
# Schedule fields that date a schedule or limit its repeats: not representable here.
_DATED_SCHEDULE_FIELDS = ("valid_from", "valid_to", "dtstart", "until", "count")


def directory_parse(data: Any) -> DirectoryRecords:
    """Check every record of an ORUK file and return it as records ready to store.

    Raises :class:`OrukImportError` listing every problem found (record, field, reason).
    """
    problems: list[OrukProblem] = []
    if not isinstance(data, dict):
        raise OrukImportError([OrukProblem("file", None, None, "", "must be a JSON object.")])
    lists: dict[str, list[Any]] = {}
    for kind in ("organizations", "locations", "services"):
        value = data.get(kind, [])
        if not isinstance(value, list):
            problems.append(OrukProblem(kind, None, None, "", "must be a list."))
            value = []
        lists[kind] = value

    organisations = _read_all("organizations", lists["organizations"], problems, _organisation)
    _no_duplicates(
        problems,
        "organizations",
        organisations,
        {
            "id": lambda r: r.ref,
            "organization_identifiers": lambda r: r.ods_code,
        },
    )
    ods_by_ref = {record.ref: record.ods_code for record in organisations}
    sites = _read_all("locations", lists["locations"], problems, lambda r: _site(r, ods_by_ref))
    _no_duplicates(
        problems,
        "locations",
        sites,
        {
            "id": lambda r: r.ref,
            "external_identifier": lambda r: r.code,
        },
    )
    services = _read_all("services", lists["services"], problems, lambda r: _service(r, ods_by_ref))
    _no_duplicates(
        problems,
        "services",
        services,
        {
            "id": lambda r: r.ref,
            "name": lambda r: r.name,
            "contacts[0].name": lambda r: r.team.name if r.team else None,
        },
    )
    if problems:
        raise OrukImportError(problems)
    return DirectoryRecords(tuple(organisations), tuple(sites), tuple(services))


def _read_all(
    kind: str, raws: list[Any], problems: list[OrukProblem], read: Callable[[RecordReader], Any]
) -> list[Any]:
    records = []
    for index, raw in enumerate(raws):
        reader = RecordReader(kind, index, raw, problems)
        record = read(reader)
        if reader.ok:
            records.append(record)
    return records


def _no_duplicates(
    problems: list[OrukProblem],
    kind: str,
    records: list[Any],
    keys: dict[str, Callable[[Any], Any]],
) -> None:
    """A problem on each record whose value at a path (``keys``) an earlier record already has."""
    for path, key in keys.items():
        seen: dict[Any, int] = {}
        for record in records:
            value = key(record)
            if value is None:
                continue
            if value in seen:
                problems.append(
                    OrukProblem(
                        kind,
                        record.index,
                        record.ref,
                        path,
                        f"{value!r} is already used by {kind}[{seen[value]}].",
                    )
                )
            else:
                seen[value] = record.index


def _org_ref(reader: RecordReader, ods_by_ref: dict[str, str]) -> str:
    """The ODS code an ``organization_id`` names: an organisation of the file, or one already
    in the directory by its export id ``org-<ODS code>`` (whose existence the import checks)."""
    ref = reader.text("organization_id", reader.raw.get("organization_id"), required=True)
    if ref in ods_by_ref:
        return ods_by_ref[ref]
    prefix = organization_id("")
    if ref.startswith(prefix) and is_ods_code(ref.removeprefix(prefix)):
        return ref.removeprefix(prefix)
    if ref:
        reader.problem("organization_id", f"{ref!r} is not the id of an organization in this file.")
    return ""


def _organisation(reader: RecordReader) -> OrganisationRecord:
    raw = reader.raw
    ref = reader.text("id", raw.get("id"), required=True)
    name = reader.text("name", raw.get("name"), required=True)
    schemes = [
        (position, entry.get("identifier"))
        for position, entry in enumerate(
            reader.items("organization_identifiers", raw.get("organization_identifiers"))
        )
        if isinstance(entry, dict) and entry.get("identifier_scheme") == ODS_SCHEME
    ]
    ods_code = ""
    if len(schemes) != 1:
        reader.problem(
            "organization_identifiers",
            f"needs exactly one identifier with scheme {ODS_SCHEME!r}, not {len(schemes)}.",
        )
    else:
        position, value = schemes[0]
        ods_code = value.strip().upper() if isinstance(value, str) else ""
        if not is_ods_code(ods_code):
            reader.problem(
                f"organization_identifiers[{position}].identifier",
                f"{value!r} is not an ODS code (3 to 10 letters and digits).",
            )
    org_type = reader.code("attributes", ORGANISATION_TYPE_TAXONOMY, OrganisationType)
    return OrganisationRecord(reader.index, ref, ods_code, name, org_type)


def _site(reader: RecordReader, ods_by_ref: dict[str, str]) -> SiteRecord:
    raw = reader.raw
    ref = reader.text("id", raw.get("id"), required=True)
    name = reader.text("name", raw.get("name"), required=True)
    ods_code = _org_ref(reader, ods_by_ref)
    code = reader.text(
        "external_identifier", raw.get("external_identifier"), required=True, max_length=20
    )
    if raw.get("external_identifier_type", SITE_CODE_TYPE) != SITE_CODE_TYPE:
        reader.problem("external_identifier_type", f"must be {SITE_CODE_TYPE!r}: the site's code.")
    postcode = ""
    for position, address in enumerate(reader.items("addresses", raw.get("addresses"), at_most=1)):
        path = f"addresses[{position}].postal_code"
        given = reader.text(path, reader.obj(f"addresses[{position}]", address).get("postal_code"))
        if given:
            try:
                postcode = normalise_postcode(given)
            except InvalidPostcode as error:
                reader.problem(path, str(error))
    return SiteRecord(reader.index, ref, code, name, postcode, ods_code)


def _service(reader: RecordReader, ods_by_ref: dict[str, str]) -> ServiceRecord:
    raw = reader.raw
    ref = reader.text("id", raw.get("id"), required=True)
    name = reader.text("name", raw.get("name"), required=True)
    ods_code = _org_ref(reader, ods_by_ref)
    status = raw.get("status")
    if status is None:
        reader.problem("status", "is required.")
    elif not isinstance(status, str) or status not in ORUK_TO_STATUS:
        reader.problem(
            "status",
            f"{status!r} is not a service status we hold (one of {', '.join(ORUK_TO_STATUS)}).",
        )
        status = None
    fields: dict[str, Any] = {
        "service_type": reader.code("attributes", SERVICE_TYPE_TAXONOMY, ServiceType),
        "status": ORUK_TO_STATUS[status] if status else "",
        "description": reader.text("description", raw.get("description"), max_length=2000),
        "phone": reader.phones("phones", raw.get("phones")),
        "email": reader.email("email", raw.get("email")),
        "assured_date": _date(reader, "assured_date", raw.get("assured_date")),
        "alert": reader.text("alert", raw.get("alert"), max_length=500),
        "min_age": _age(reader, "minimum_age", raw.get("minimum_age")),
        "max_age": _age(reader, "maximum_age", raw.get("maximum_age")),
        "referrer_types": _referrer_types(reader, raw.get("spoc_referrer_types")),
        "accepts_self_referral": reader.flag(
            "spoc_accepts_self_referral", raw.get("spoc_accepts_self_referral"), default=True
        ),
        "open_24_7": reader.flag("spoc_open_24_7", raw.get("spoc_open_24_7"), default=False),
        "closed_on_bank_holidays": reader.flag(
            "spoc_closed_on_bank_holidays", raw.get("spoc_closed_on_bank_holidays"), default=False
        ),
        "clock_overrides": _clock_overrides(reader, raw.get("spoc_clock_overrides")),
        "out_of_hours_message": reader.text(
            "spoc_out_of_hours_message", raw.get("spoc_out_of_hours_message"), max_length=200
        ),
        "out_of_hours_phone": (
            reader.phone("spoc_out_of_hours_phone", raw["spoc_out_of_hours_phone"])
            if raw.get("spoc_out_of_hours_phone")
            else ""
        ),
    }
    if (
        fields["min_age"] is not None
        and fields["max_age"] is not None
        and fields["min_age"] > fields["max_age"]
    ):
        reader.problem(
            "maximum_age", f"{fields['max_age']} is below the minimum age {fields['min_age']}."
        )
    sites = sorted(
        {
            reader.text(f"spoc_sites[{n}]", code, required=True, max_length=20)
            for n, code in enumerate(reader.items("spoc_sites", raw.get("spoc_sites")))
        }
    )
    return ServiceRecord(
        index=reader.index,
        ref=ref,
        name=name,
        ods_code=ods_code,
        fields=fields,
        team=_team(reader, raw.get("contacts")),
        areas=_areas(reader, raw.get("service_areas")),
        hours=_hours(reader, raw.get("schedules")),
        closures=_closures(reader, raw.get("spoc_closures")),
        site_codes=tuple(sites),
    )


def _date(reader: RecordReader, path: str, value: Any) -> date | None:
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.isoformat() != value:
        reader.problem(path, f"{value!r} is not a date YYYY-MM-DD.")
    return parsed


def _age(reader: RecordReader, path: str, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_AGE:
        reader.problem(path, f"{value!r} is not an age in whole years from 0 to {_MAX_AGE}.")
        return None
    return value


def _referrer_types(reader: RecordReader, value: Any) -> list[str]:
    codes = reader.items("spoc_referrer_types", value)
    for position, code in enumerate(codes):
        if code not in CallerType.values:
            reader.problem(
                f"spoc_referrer_types[{position}]", f"{code!r} is not a known referrer type."
            )
    return sorted({code for code in codes if code in CallerType.values})


def _clock_overrides(reader: RecordReader, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    try:
        if not isinstance(value, dict):
            raise InvalidClockOverride("must be a JSON object of priorities.")
        clock_overrides_parse(value)
    except InvalidClockOverride as error:
        reader.problem("spoc_clock_overrides", str(error))
        return {}
    return value


def _team(reader: RecordReader, value: Any) -> TeamRecord | None:
    """The intake team, from the one contact (none: the service's team is left as it is)."""
    entries = reader.items("contacts", value, at_most=1)
    if not entries:
        return None
    contact = reader.obj("contacts[0]", entries[0])
    return TeamRecord(
        name=reader.text("contacts[0].name", contact.get("name"), required=True),
        duty_phone=reader.phones("contacts[0].phones", contact.get("phones")),
        duty_email=reader.email("contacts[0].email", contact.get("email")),
    )


def _areas(reader: RecordReader, value: Any) -> tuple[str, ...]:
    areas: set[str] = set()
    for position, entry in enumerate(reader.items("service_areas", value)):
        area = reader.obj(f"service_areas[{position}]", entry)
        if area.get("extent_type") != "text":
            reader.problem(
                f"service_areas[{position}].extent_type", "must be 'text' (postcode areas)."
            )
            continue
        extent = reader.text(
            f"service_areas[{position}].extent",
            area.get("extent"),
            required=True,
            max_length=100_000,
        )
        for piece in filter(None, (part.strip() for part in extent.split(","))):
            try:
                areas.add(normalise_area(piece))
            except InvalidPostcode as error:
                reader.problem(f"service_areas[{position}].extent", str(error))
    return tuple(sorted(areas))


def _time(reader: RecordReader, path: str, value: Any) -> time | None:
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        reader.problem(path, f"{value!r} is not a time HH:MM (00:00 to 23:59).")
        return None
    return time(int(match[1]), int(match[2]))


def _hours(reader: RecordReader, value: Any) -> tuple[tuple[int, time, time], ...]:
    windows: list[tuple[int, time, time]] = []
    for position, entry in enumerate(reader.items("schedules", value)):
        path = f"schedules[{position}]"
        schedule = reader.obj(path, entry)
        if schedule.get("freq", WEEKLY) != WEEKLY:
            reader.problem(f"{path}.freq", f"must be {WEEKLY!r}: opening hours repeat every week.")
        if schedule.get("interval", 1) not in (1, None):
            reader.problem(f"{path}.interval", "must be 1: opening hours repeat every week.")
        for name in _DATED_SCHEDULE_FIELDS:
            if schedule.get(name) is not None:
                reader.problem(
                    f"{path}.{name}",
                    "dated schedules are not supported: give weekly hours and list "
                    "exceptions in spoc_closures.",
                )
        byday = schedule.get("byday")
        days: list[str | None] = (
            [part.strip() for part in byday.split(",")] if isinstance(byday, str) else [None]
        )
        if any(day not in BYDAY for day in days):
            reader.problem(
                f"{path}.byday", f"{byday!r} is not a weekday code (MO, TU, WE, TH, FR, SA, SU)."
            )
            days = []
        opens_at = _time(reader, f"{path}.opens_at", schedule.get("opens_at"))
        closes_at = _time(reader, f"{path}.closes_at", schedule.get("closes_at"))
        if opens_at is not None and opens_at == closes_at:
            reader.problem(
                f"{path}.closes_at",
                "equals opens_at: a window cannot be empty (for round-the-clock service "
                "set spoc_open_24_7).",
            )
        elif opens_at is not None and closes_at is not None:
            for day in days:
                window = (BYDAY.index(str(day)), opens_at, closes_at)
                if window in windows:
                    reader.problem(
                        path, f"repeats the window {day} {opens_at:%H:%M}-{closes_at:%H:%M}."
                    )
                windows.append(window)
    return tuple(sorted(windows))


def _datetime(reader: RecordReader, path: str, value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        reader.problem(path, f"{value!r} is not a date and time with a UTC offset (ISO 8601).")
        return None
    return parsed.astimezone(UTC)


def _closures(reader: RecordReader, value: Any) -> tuple[tuple[datetime, datetime, str], ...]:
    closures: list[tuple[datetime, datetime, str]] = []
    for position, entry in enumerate(reader.items("spoc_closures", value)):
        path = f"spoc_closures[{position}]"
        closure = reader.obj(path, entry)
        starts_at = _datetime(reader, f"{path}.starts_at", closure.get("starts_at"))
        ends_at = _datetime(reader, f"{path}.ends_at", closure.get("ends_at"))
        reason = reader.text(f"{path}.reason", closure.get("reason"), required=True)
        if starts_at is not None and ends_at is not None:
            if ends_at <= starts_at:
                reader.problem(f"{path}.ends_at", "must be after starts_at.")
            closures.append((starts_at, ends_at, reason))
    return tuple(sorted(closures))
