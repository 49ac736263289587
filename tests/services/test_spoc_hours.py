"""The SPOC's own hours (services.selectors.spoc_hours, coordinators_schedule): open or closed now,
until when, across midnight, bank holidays and the clock changes (docs/directory.md "The SPOC's
hours"); and the pure helpers that word them."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from services.codes import ServiceType
from services.hours import LONDON, Schedule, Window, format_until, hours_summary
from services.models import Closure
from services.selectors import coordinators_schedule, routing_directory_forget, spoc_hours
from tests.services.directory_fixtures import (
    every_day,
    make_service,
    make_spoc_8_to_8,
    make_spoc_weekdays_closed_on_bank_holidays,
)


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def spoc_8_to_8(db):
    return make_spoc_8_to_8()


@pytest.mark.django_db
def test_no_spoc_in_the_directory_means_no_hours():
    assert spoc_hours(at=london(2026, 11, 18, 12)) is None


def test_the_spoc_open_by_day_is_open_with_its_hours(spoc_8_to_8):
    hours = spoc_hours(at=london(2026, 11, 18, 12))

    assert hours is not None
    assert (hours.open_now, hours.until, hours.opens_at) == (True, "", None)
    assert hours.hours == "Mon–Sun 08:00–20:00"
    assert hours.closed_sentence == ""


def test_closed_before_midnight_until_tomorrow_and_after_midnight_until_today(spoc_8_to_8):
    evening = spoc_hours(at=london(2026, 11, 18, 23, 59))
    small_hours = spoc_hours(at=london(2026, 11, 19, 0, 1))

    assert evening is not None and small_hours is not None
    assert (evening.open_now, evening.until) == (False, "08:00 tomorrow")
    assert (small_hours.open_now, small_hours.until) == (False, "08:00 today")
    assert evening.opens_at == small_hours.opens_at == london(2026, 11, 19, 8)
    assert evening.closed_sentence == (
        "The SPOC is closed until 08:00 tomorrow. Out of hours: Call NHS 111 0151 496 0999"
    )


def test_a_spoc_closed_on_bank_holidays_is_closed_on_one(db):
    # Monday 31 August 2026 is the Summer bank holiday in England.
    make_spoc_weekdays_closed_on_bank_holidays()

    hours = spoc_hours(at=london(2026, 8, 31, 10))

    assert hours is not None
    assert (hours.open_now, hours.until) == (False, "08:00 tomorrow")
    assert hours.hours == "Mon–Fri 08:00–20:00; closed on bank holidays"
    assert hours.closed_sentence == "The SPOC is closed until 08:00 tomorrow."


def test_a_spoc_open_on_bank_holidays_is_open_on_one(spoc_8_to_8):
    hours = spoc_hours(at=london(2026, 8, 31, 10))
    assert hours is not None and hours.open_now


@pytest.mark.parametrize(
    ("moment", "opens_at_utc"),
    [
        # Sunday 29 March 2026, clocks go forward at 01:00 GMT: 08:00 BST is 07:00 UTC.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
        # Sunday 25 October 2026, clocks go back at 02:00 BST: 08:00 GMT is 08:00 UTC; 07:30 UTC
        # is 07:30 by the wall clock, still closed.
        (datetime(2026, 10, 25, 7, 30, tzinfo=UTC), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    ],
)
def test_the_spoc_opens_at_08_00_by_the_wall_clock_on_the_clock_changes(
    spoc_8_to_8, moment, opens_at_utc
):
    hours = spoc_hours(at=moment)

    assert hours is not None
    assert not hours.open_now
    assert hours.opens_at == opens_at_utc
    assert hours.until == "08:00 today"


def test_a_night_spoc_is_open_through_both_01_30s_of_the_autumn_change(db):
    make_service("SPOC Coordinators", ServiceType.SPOC, hours=every_day(20, 8), areas=())

    for moment in (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 01:30 GMT
    ):
        hours = spoc_hours(at=moment)
        assert hours is not None and hours.open_now
    assert spoc_hours(at=london(2026, 10, 25, 12)).open_now is False  # type: ignore[union-attr]


def test_a_spoc_open_24_7_is_always_open(db):
    make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())

    hours = spoc_hours(at=london(2026, 12, 25, 3))

    assert hours is not None and hours.open_now
    assert hours.hours == "24 hours, 7 days"


def test_a_spoc_without_hours_counts_every_hour_rather_than_none(db, caplog):
    spoc = make_service("SPOC Coordinators", ServiceType.SPOC, areas=())

    schedule = coordinators_schedule(spoc, at=london(2026, 11, 18, 3))

    assert schedule.always_open
    assert "no opening hours" in caplog.text


def test_the_spocs_hours_come_from_the_directory_kept_while_its_version_stands(spoc_8_to_8):
    routing_directory_forget()
    # The directory's version, then the directory (services, areas, hours, closures, sites).
    with CaptureQueriesContext(connection) as queries:
        assert spoc_hours(at=london(2026, 11, 18, 12)).open_now  # type: ignore[union-attr]
    assert len(queries) == 6
    # The same version: the version alone.
    with CaptureQueriesContext(connection) as queries:
        assert spoc_hours(at=london(2026, 11, 18, 13)).open_now  # type: ignore[union-attr]
    assert len(queries) == 1


def test_a_closure_added_is_seen_at_the_next_read(spoc_8_to_8):
    at = london(2026, 11, 18, 12)
    assert spoc_hours(at=at).open_now  # type: ignore[union-attr]
    Closure.objects.create(
        service=spoc_8_to_8,
        starts_at=london(2026, 11, 18, 11),
        ends_at=london(2026, 11, 18, 15),
        reason="Fire alarm",
    )

    hours = spoc_hours(at=at)

    assert hours is not None and not hours.open_now
    assert hours.opens_at == london(2026, 11, 18, 15)


def test_new_opening_hours_are_seen_at_the_next_read(spoc_8_to_8):
    at = london(2026, 11, 18, 21)
    assert not spoc_hours(at=at).open_now  # type: ignore[union-attr]
    spoc_8_to_8.opening_hours.update(closes_at=time(22))

    assert spoc_hours(at=at).open_now  # type: ignore[union-attr]


def test_the_first_spoc_team_by_id_is_the_spoc(spoc_8_to_8):
    make_service("Another SPOC", ServiceType.SPOC, open_24_7=True, areas=())

    hours = spoc_hours(at=london(2026, 11, 18, 23))

    assert hours is not None and hours.service == spoc_8_to_8


def test_hours_summary_joins_days_with_the_same_hours():
    weekdays = [Window(weekday=d, opens=time(9), closes=time(17)) for d in range(5)]
    windows = (*weekdays, Window(weekday=5, opens=time(10), closes=time(13)))
    assert hours_summary(Schedule(windows=windows)) == "Mon–Fri 09:00–17:00; Sat 10:00–13:00"
    assert hours_summary(Schedule()) == "no opening hours"
    night = (Window(weekday=0, opens=time(20), closes=time(8)),)
    assert hours_summary(Schedule(windows=night)) == "Mon 20:00–08:00"


def test_format_until_says_today_tomorrow_or_the_day():
    now = london(2026, 11, 18, 23)  # a Wednesday
    assert format_until(london(2026, 11, 18, 23, 30), now=now) == "23:30 today"
    assert format_until(london(2026, 11, 19, 8), now=now) == "08:00 tomorrow"
    assert format_until(london(2026, 11, 21, 8), now=now) == "Sat 08:00"
