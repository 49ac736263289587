"""Dates, times and counts on screen in the NHS.UK style, in London time across clock changes."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import Context, Template

from spoc.core.dates import (
    nhs_date,
    nhs_date_banner,
    nhs_date_short,
    nhs_datetime,
    nhs_datetime_short,
    nhs_duration,
    nhs_month,
    nhs_number_format,
    nhs_time,
    nhs_weekday_date,
)

LONDON = ZoneInfo("Europe/London")


def test_dates_in_words_and_short_for_tables():
    assert nhs_date(date(2026, 12, 2)) == "2 December 2026"
    assert nhs_date_short(date(2026, 12, 2)) == "2 Dec 2026"
    assert nhs_date_short(date(2026, 9, 30)) == "30 Sep 2026"
    assert nhs_weekday_date(date(2026, 12, 2)) == "Wednesday 2 December 2026"
    assert nhs_month(date(2026, 9, 1)) == "September 2026"


def test_a_banner_date_is_day_month_year_with_english_months():
    assert nhs_date_banner(date(1941, 3, 7)) == "07-Mar-1941"
    assert nhs_date_banner(date(2026, 9, 30)) == "30-Sep-2026"
    assert nhs_date_banner(None) == ""


def test_an_iso_date_string_is_a_date():
    assert nhs_date("2026-12-02") == "2 December 2026"
    assert nhs_date_short("2027-01-01") == "1 Jan 2027"


def test_none_and_empty_are_blank():
    for function in (
        nhs_date,
        nhs_date_short,
        nhs_month,
        nhs_weekday_date,
        nhs_time,
        nhs_datetime,
        nhs_datetime_short,
        nhs_number_format,
    ):
        assert function(None) == ""
        assert function("") == ""


def test_times_are_24_hour_in_london():
    # 13:32 UTC in summer is 14:32 on the wall in London (BST); in winter the same.
    assert nhs_time(datetime(2026, 7, 1, 13, 32, tzinfo=UTC)) == "14:32"
    assert nhs_time(datetime(2026, 12, 2, 14, 32, tzinfo=UTC)) == "14:32"
    assert nhs_time(datetime(2026, 12, 2, 14, 32, 5, tzinfo=UTC), seconds=True) == "14:32:05"
    assert nhs_time(time(9, 5)) == "09:05"


def test_a_datetime_is_dated_by_its_london_day():
    # 23:30 UTC on 30 June is 00:30 on 1 July in London.
    moment = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert nhs_date(moment) == "1 July 2026"
    assert nhs_datetime(moment, today=date(2026, 8, 1)) == "1 July 2026, 00:30"
    assert nhs_datetime_short(moment, today=date(2026, 8, 1)) == "1 Jul 2026, 00:30"


def test_today_and_yesterday_at_midnight():
    today = date(2026, 12, 2)
    assert nhs_datetime(datetime(2026, 12, 2, 0, 0, tzinfo=LONDON), today=today) == "today 00:00"
    assert (
        nhs_datetime(datetime(2026, 12, 1, 23, 59, tzinfo=LONDON), today=today) == "yesterday 23:59"
    )
    assert (
        nhs_datetime(datetime(2026, 11, 30, 23, 59, tzinfo=LONDON), today=today)
        == "30 November 2026, 23:59"
    )
    assert nhs_datetime(datetime(2026, 12, 3, 8, 0, tzinfo=LONDON), today=today) == "tomorrow 08:00"
    assert (
        nhs_datetime_short(datetime(2026, 12, 2, 14, 32, tzinfo=LONDON), today=today)
        == "today 14:32"
    )


def test_yesterday_across_the_spring_clock_change():
    # Clocks went forward at 01:00 UTC on Sunday 29 March 2026. 23:30 UTC on the 28th is 23:30
    # GMT on Saturday: yesterday, seen on Sunday.
    assert (
        nhs_datetime(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), today=date(2026, 3, 29))
        == "yesterday 23:30"
    )
    # 23:30 UTC on the 29th is 00:30 BST on Monday the 30th: today, seen on Monday.
    assert (
        nhs_datetime(datetime(2026, 3, 29, 23, 30, tzinfo=UTC), today=date(2026, 3, 30))
        == "today 00:30"
    )


def test_yesterday_across_the_autumn_clock_change():
    # Clocks went back at 01:00 UTC on Sunday 25 October 2026; 00:30 UTC is 01:30 BST, the first
    # of the two 01:30s, and 01:30 UTC the second (GMT).
    today = date(2026, 10, 26)
    assert nhs_datetime(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), today=today) == "yesterday 01:30"
    assert nhs_datetime(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), today=today) == "yesterday 01:30"
    # 23:30 UTC on the Saturday is 00:30 BST on Sunday the 25th.
    assert (
        nhs_datetime(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), today=today) == "yesterday 00:30"
    )


def test_year_boundary():
    assert (
        nhs_datetime(datetime(2026, 12, 31, 23, 45, tzinfo=UTC), today=date(2027, 1, 1))
        == "yesterday 23:45"
    )
    assert (
        nhs_datetime(datetime(2026, 12, 30, 23, 45, tzinfo=UTC), today=date(2027, 1, 1))
        == "30 December 2026, 23:45"
    )
    assert nhs_date_short(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == "1 Jan 2027"


@time_machine.travel(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), tick=False)
def test_today_is_the_london_date_now_by_default():
    # 00:30 UTC on 29 March is still 00:30 GMT that day; 23:50 UTC on the 28th was yesterday.
    assert nhs_datetime(datetime(2026, 3, 28, 23, 50, tzinfo=UTC)) == "yesterday 23:50"
    assert nhs_datetime(datetime(2026, 3, 29, 2, 0, tzinfo=UTC)) == "today 03:00"


def test_counts_get_thousands_separators():
    assert nhs_number_format(999) == "999"
    assert nhs_number_format(3000) == "3,000"
    assert nhs_number_format(1234567) == "1,234,567"
    assert nhs_number_format("12000") == "12,000"
    assert nhs_number_format(0) == "0"
    assert nhs_number_format("n/a") == "n/a"
    assert nhs_number_format("<5") == "<5"
    assert nhs_number_format(-4500) == "-4,500"
    assert nhs_number_format(12345.5) == "12,345.5"
    assert nhs_number_format(Decimal("1234.50")) == "1,234.50"


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(seconds=59), "0 minutes"),
        (timedelta(minutes=-3), "0 minutes"),
        (timedelta(minutes=1, seconds=30), "1 minute"),
        (timedelta(minutes=25), "25 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=2, minutes=5), "2 hours 5 minutes"),
        (timedelta(days=3, hours=4, minutes=10), "3 days 4 hours"),
    ],
)
def test_nhs_duration_says_whole_minutes_in_at_most_two_units(span, expected):
    assert nhs_duration(span) == expected


@time_machine.travel(datetime(2026, 12, 2, 14, 0, tzinfo=UTC), tick=False)
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ d|nhs_date }}", "2 December 2026"),
        ("{{ d|nhs_date_short }}", "2 Dec 2026"),
        ("{{ t|nhs_time }}", "14:32"),
        ("{{ t|nhs_time:'seconds' }}", "14:32:07"),
        ("{{ t|nhs_datetime }}", "today 14:32"),
        ("{{ old|nhs_datetime }}", "2 November 2026, 09:10"),
        ("{{ old|nhs_datetime_short }}", "2 Nov 2026, 09:10"),
        ("{{ none|nhs_datetime|default:'Not set' }}", "Not set"),
        ("{{ n|nhs_number_format }}", "3,000"),
    ],
)
def test_template_filters(source, expected):
    context = Context(
        {
            "d": date(2026, 12, 2),
            "t": datetime(2026, 12, 2, 14, 32, 7, tzinfo=UTC),
            "old": datetime(2026, 11, 2, 9, 10, tzinfo=UTC),
            "none": None,
            "n": 3000,
        }
    )
    assert Template("{% load hub %}" + source).render(context) == expected
