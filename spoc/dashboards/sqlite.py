"""SQL functions of the dashboard summaries on the embedded SQLite default (docs/design.md §2).

PostgreSQL computes Europe/London local dates and hours in SQL (``AT TIME ZONE``); SQLite has no
time zones, so these deterministic Python functions are registered on every SQLite connection
and the summary statements call them (``spoc/dashboards/services.py``, ``SQLITE``).

Django stores an aware datetime on SQLite as text in UTC without an offset
(``2026-03-29 00:59:59.500000``; no fraction when the microseconds are zero) and a date as
``YYYY-MM-DD``, so those strings compare in time order and are what these functions read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)


def parse_stored(value: str) -> datetime:
    """A datetime as Django stores it on SQLite, as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def stored_utc(value: str | None) -> datetime | None:
    return None if value is None else parse_stored(value)


def as_stored(value: Any) -> Any:
    """A parameter value as Django stores it on SQLite (datetimes in UTC without an offset)."""
    if isinstance(value, datetime):
        return str(value.astimezone(UTC).replace(tzinfo=None))
    if isinstance(value, date):
        return value.isoformat()
    return value


def json_array(values: Iterable[Any]) -> str:
    """A list parameter as a JSON array, read on SQLite with ``json_each`` (PostgreSQL: an array)."""
    return json.dumps([as_stored(value) for value in values])


def _local(value: str | None) -> datetime | None:
    moment = stored_utc(value)
    return None if moment is None else moment.astimezone(LONDON)


def london_date(value: str | None) -> str | None:
    """``(ts AT TIME ZONE 'Europe/London')::date``."""
    moment = _local(value)
    return None if moment is None else moment.date().isoformat()


def london_hour(value: str | None) -> int | None:
    """``extract(hour FROM ts AT TIME ZONE 'Europe/London')``."""
    moment = _local(value)
    return None if moment is None else moment.hour


def london_time(value: str | None) -> str | None:
    """``(ts AT TIME ZONE 'Europe/London')::time`` as ``HH:MM:SS.ffffff``, which compares with
    ``'08:00'`` as the time does."""
    moment = _local(value)
    return None if moment is None else moment.time().isoformat(timespec="microseconds")


def iso_weekday(value: str | None) -> int | None:
    """``extract(isodow FROM day)``: Monday 1 to Sunday 7."""
    return None if value is None else date.fromisoformat(value).isoweekday()


def minutes_between(later: str | None, earlier: str | None) -> int | None:
    """``greatest(0, floor(extract(epoch FROM later - earlier) / 60))``, exactly."""
    end, start = stored_utc(later), stored_utc(earlier)
    if end is None or start is None:
        return None
    return max(0, (end - start) // _MINUTE)


def seconds_between(later: str | None, earlier: str | None) -> int | None:
    """``greatest(0, floor(extract(epoch FROM later - earlier)))``, exactly."""
    end, start = stored_utc(later), stored_utc(earlier)
    if end is None or start is None:
        return None
    return max(0, (end - start) // _SECOND)


def within_seconds(later: str | None, earlier: str | None, seconds: int) -> int | None:
    """``later - earlier <= seconds * interval '1 second'``, exactly (1 or 0; NULL as NULL)."""
    end, start = stored_utc(later), stored_utc(earlier)
    if end is None or start is None:
        return None
    return int(end - start <= timedelta(seconds=seconds))


def days_before(value: str | None, days: int) -> str | None:
    """``day - n`` for a date."""
    return None if value is None else (date.fromisoformat(value) - timedelta(days=days)).isoformat()


FUNCTIONS = {
    "london_date": (1, london_date),
    "london_hour": (1, london_hour),
    "london_time": (1, london_time),
    "iso_weekday": (1, iso_weekday),
    "minutes_between": (2, minutes_between),
    "seconds_between": (2, seconds_between),
    "within_seconds": (3, within_seconds),
    "days_before": (2, days_before),
}


def register_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: add the functions to each new SQLite connection."""
    if connection.vendor != "sqlite":
        return
    for name, (arity, function) in FUNCTIONS.items():
        connection.connection.create_function(name, arity, function, deterministic=True)
