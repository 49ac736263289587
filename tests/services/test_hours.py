"""Opening-hours maths in Europe/London, across DST changes and closures."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.codes import CLOCKS, Clock, Priority
from services.hours import (
    HORIZON_DAYS,
    LONDON,
    ClosurePeriod,
    Schedule,
    Window,
    accept_deadline,
    add_open_time,
    add_working_days,
    contact_deadline,
    format_local,
    is_open,
    next_opening,
    open_intervals,
)
from tests.services.schedules import drawn, local, weekly

# 2026: clocks go forward at 01:00 GMT on Sunday 29 March, back at 02:00 BST on Sunday 25 October.
SPRING_FORWARD_EVE = (2026, 3, 28)  # Saturday
FALL_BACK_EVE = (2026, 10, 24)  # Saturday


OFFICE = weekly(9, 17, range(5))  # Monday to Friday 09:00-17:00
NIGHT = weekly(20, 8)  # every night 20:00-08:00
ALWAYS = Schedule(always_open=True)
NEVER = Schedule()
CHRISTMAS_DAY = ClosurePeriod(local(2026, 12, 25), local(2026, 12, 26), "Christmas Day")
OFFICE_WITH_CHRISTMAS = Schedule(windows=OFFICE.windows, closures=(CHRISTMAS_DAY,))


def intervals(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, ...]]:
    return [
        tuple(t.astimezone(LONDON) for t in pair) for pair in open_intervals(schedule, start, end)
    ]


# --- data validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("opens", "closes"), [(time(9), time(9)), (time(0), time(0))])
def test_window_that_opens_and_closes_at_the_same_time_is_refused(
    opens: time, closes: time
) -> None:
    with pytest.raises(ValueError, match="always_open"):
        Window(0, opens, closes)


@pytest.mark.parametrize("weekday", [-1, 7])
def test_window_weekday_must_be_monday_to_sunday(weekday: int) -> None:
    with pytest.raises(ValueError, match="weekday"):
        Window(weekday, time(9), time(17))


def test_window_times_are_wall_clock_without_tzinfo() -> None:
    with pytest.raises(ValueError, match="wall-clock"):
        Window(0, time(9, tzinfo=UTC), time(17))


def test_window_closing_at_or_before_opening_crosses_midnight() -> None:
    assert Window(0, time(20), time(8)).crosses_midnight
    assert Window(0, time(8), time(0)).crosses_midnight
    assert not Window(0, time(9), time(17)).crosses_midnight


def test_closure_needs_aware_datetimes_and_a_positive_length() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ClosurePeriod(datetime(2026, 1, 1), local(2026, 1, 2))
    with pytest.raises(ValueError, match="end after"):
        ClosurePeriod(local(2026, 1, 2), local(2026, 1, 2))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(OFFICE, datetime(2026, 1, 5, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        open_intervals(OFFICE, datetime(2026, 1, 5), local(2026, 1, 6))


# --- is_open and open_intervals -----------------------------------------------------------------


def test_office_hours_are_half_open() -> None:
    assert not is_open(OFFICE, local(2026, 1, 5, 8, 59))
    assert is_open(OFFICE, local(2026, 1, 5, 9))
    assert is_open(OFFICE, local(2026, 1, 5, 16, 59))
    assert not is_open(OFFICE, local(2026, 1, 5, 17))
    assert not is_open(OFFICE, local(2026, 1, 10, 12))  # Saturday


def test_night_window_crosses_midnight() -> None:
    monday_night = Schedule(windows=(Window(0, time(20), time(8)),))
    assert not is_open(monday_night, local(2026, 1, 5, 19, 59))
    assert is_open(monday_night, local(2026, 1, 5, 20))
    assert is_open(monday_night, local(2026, 1, 6, 7, 59))  # Tuesday morning, Monday's window
    assert not is_open(monday_night, local(2026, 1, 6, 8))
    assert not is_open(monday_night, local(2026, 1, 6, 20))  # no Tuesday window


def test_window_until_midnight_ends_at_midnight() -> None:
    evenings = Schedule(windows=(Window(0, time(8), time(0)),))
    assert intervals(evenings, local(2026, 1, 5), local(2026, 1, 7)) == [
        (local(2026, 1, 5, 8), local(2026, 1, 6))
    ]


def test_night_service_on_spring_forward_night_runs_11_real_hours() -> None:
    start = local(*SPRING_FORWARD_EVE, 12)
    first = next(open_intervals(NIGHT, start, start + timedelta(days=1)))
    assert first == (local(*SPRING_FORWARD_EVE, 20), local(2026, 3, 29, 8))
    assert first[1] - first[0] == timedelta(hours=11)
    assert first[0].utcoffset() == timedelta(0)  # returned in UTC


def test_night_service_on_fall_back_night_runs_13_real_hours() -> None:
    start = local(*FALL_BACK_EVE, 12)
    opens, closes = next(open_intervals(NIGHT, start, start + timedelta(days=1)))
    assert (opens, closes) == (local(*FALL_BACK_EVE, 20), local(2026, 10, 25, 8))
    assert closes - opens == timedelta(hours=13)


def test_night_service_is_open_through_the_repeated_hour() -> None:
    first_0130 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second_0130 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    assert is_open(NIGHT, first_0130)
    assert is_open(NIGHT, second_0130)


def test_nonexistent_opening_time_is_moved_forward_by_the_gap() -> None:
    sunday = Schedule(windows=(Window(6, time(1, 30), time(3)),))
    assert intervals(sunday, local(2026, 3, 29), local(2026, 3, 30)) == [
        (local(2026, 3, 29, 2, 30), local(2026, 3, 29, 3))
    ]


def test_window_inside_the_skipped_hour_moves_forward_whole() -> None:
    sunday = Schedule(windows=(Window(6, time(1, 15), time(1, 45)),))
    assert intervals(sunday, local(2026, 3, 29), local(2026, 3, 30)) == [
        (local(2026, 3, 29, 2, 15), local(2026, 3, 29, 2, 45))
    ]


def test_window_emptied_by_the_skipped_hour_does_not_happen_that_day() -> None:
    # Opens at "01:30" (read as 02:30 BST), closes at 02:15 BST: nothing is left.
    sunday = Schedule(windows=(Window(6, time(1, 30), time(2, 15)),))
    assert intervals(sunday, local(2026, 3, 29), local(2026, 3, 30)) == []
    assert len(intervals(sunday, local(2026, 4, 5), local(2026, 4, 6))) == 1


def test_ambiguous_opening_time_is_its_first_occurrence() -> None:
    sunday = Schedule(windows=(Window(6, time(1, 30), time(4)),))
    opens, closes = next(open_intervals(sunday, local(2026, 10, 25), local(2026, 10, 26)))
    assert opens == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    assert closes - opens == timedelta(hours=3, minutes=30)


def test_bank_holiday_closure_closes_a_weekday_service_all_day() -> None:
    assert is_open(OFFICE, local(2026, 12, 25, 10))
    assert not is_open(OFFICE_WITH_CHRISTMAS, local(2026, 12, 25, 10))
    assert intervals(OFFICE_WITH_CHRISTMAS, local(2026, 12, 24), local(2026, 12, 29)) == [
        (local(2026, 12, 24, 9), local(2026, 12, 24, 17)),
        (local(2026, 12, 28, 9), local(2026, 12, 28, 17)),
    ]


def test_bank_holiday_next_opening_skips_to_the_next_working_day() -> None:
    assert next_opening(OFFICE_WITH_CHRISTMAS, local(2026, 12, 24, 17, 30)) == local(
        2026, 12, 28, 9
    )


def test_closure_overlapping_part_of_a_night_window_splits_it() -> None:
    closure = ClosurePeriod(local(2026, 1, 5, 22), local(2026, 1, 6, 2), "staff training")
    night = Schedule(windows=NIGHT.windows, closures=(closure,))
    assert intervals(night, local(2026, 1, 5, 12), local(2026, 1, 6, 12)) == [
        (local(2026, 1, 5, 20), local(2026, 1, 5, 22)),
        (local(2026, 1, 6, 2), local(2026, 1, 6, 8)),
    ]
    assert not is_open(night, local(2026, 1, 6, 1))
    assert next_opening(night, local(2026, 1, 5, 23)) == local(2026, 1, 6, 2)


def test_always_open_service_is_open_for_the_whole_range() -> None:
    start, end = local(2026, 3, 28), local(2026, 3, 31)
    assert list(open_intervals(ALWAYS, start, end)) == [(start, end)]
    assert is_open(ALWAYS, local(2026, 3, 29, 1, 30))


def test_always_open_service_still_honours_closures() -> None:
    closure = ClosurePeriod(local(2026, 6, 1, 9), local(2026, 6, 1, 13), "fire alarm test")
    schedule = Schedule(always_open=True, closures=(closure,))
    assert intervals(schedule, local(2026, 6, 1), local(2026, 6, 2)) == [
        (local(2026, 6, 1), local(2026, 6, 1, 9)),
        (local(2026, 6, 1, 13), local(2026, 6, 2)),
    ]
    assert not is_open(schedule, local(2026, 6, 1, 10))
    assert next_opening(schedule, local(2026, 6, 1, 10)) == local(2026, 6, 1, 13)


def test_overlapping_and_touching_windows_are_merged() -> None:
    split = Schedule(
        windows=(
            Window(0, time(9), time(12)),
            Window(0, time(11), time(13)),
            Window(0, time(13), time(15)),
            Window(0, time(16), time(17)),
        )
    )
    assert intervals(split, local(2026, 1, 5), local(2026, 1, 6)) == [
        (local(2026, 1, 5, 9), local(2026, 1, 5, 15)),
        (local(2026, 1, 5, 16), local(2026, 1, 5, 17)),
    ]


def test_open_intervals_are_clipped_to_the_range() -> None:
    assert intervals(OFFICE, local(2026, 1, 5, 10), local(2026, 1, 5, 11)) == [
        (local(2026, 1, 5, 10), local(2026, 1, 5, 11))
    ]
    assert intervals(OFFICE, local(2026, 1, 5, 11), local(2026, 1, 5, 10)) == []


def test_results_do_not_depend_on_the_input_time_zone() -> None:
    in_london = local(2026, 7, 3, 17, 30)
    in_utc = in_london.astimezone(UTC)
    assert next_opening(OFFICE, in_london) == next_opening(OFFICE, in_utc)
    assert is_open(OFFICE, local(2026, 7, 3, 9, 30))
    assert is_open(OFFICE, datetime(2026, 7, 3, 8, 30, tzinfo=UTC))  # 09:30 BST
    assert not is_open(OFFICE, datetime(2026, 7, 3, 7, 30, tzinfo=UTC))  # 08:30 BST


# --- next_opening -------------------------------------------------------------------------------


def test_next_opening_on_friday_evening_is_monday_morning() -> None:
    assert next_opening(OFFICE, local(2026, 1, 9, 17, 30)) == local(2026, 1, 12, 9)


def test_next_opening_is_now_when_open() -> None:
    at = local(2026, 1, 5, 10, 17)
    assert next_opening(OFFICE, at) == at


def test_next_opening_is_none_for_a_service_that_never_opens() -> None:
    assert next_opening(NEVER, local(2026, 1, 5)) is None


def test_next_opening_is_none_when_closed_beyond_the_horizon() -> None:
    closure = ClosurePeriod(local(2026, 1, 1), local(2028, 1, 1), "service suspended")
    assert next_opening(Schedule(always_open=True, closures=(closure,)), local(2026, 1, 5)) is None
    assert next_opening(OFFICE, local(2026, 1, 9, 18), horizon_days=2) is None


def test_next_opening_after_a_long_closure() -> None:
    closure = ClosurePeriod(local(2026, 1, 1), local(2026, 6, 1), "refurbishment")
    schedule = Schedule(windows=OFFICE.windows, closures=(closure,))
    assert next_opening(schedule, local(2026, 1, 5)) == local(2026, 6, 1, 9)


# --- add_open_time ------------------------------------------------------------------------------


def test_four_service_hours_from_15_00_end_at_11_00_the_next_day() -> None:
    assert add_open_time(OFFICE, local(2026, 1, 6, 15), timedelta(hours=4)) == local(2026, 1, 7, 11)


def test_service_hours_skip_the_weekend() -> None:
    assert add_open_time(OFFICE, local(2026, 1, 9, 15), timedelta(hours=4)) == local(
        2026, 1, 12, 11
    )


def test_service_hours_ending_exactly_at_closing_time_stay_on_that_day() -> None:
    assert add_open_time(OFFICE, local(2026, 1, 6, 13), timedelta(hours=4)) == local(2026, 1, 6, 17)


def test_service_hours_start_counting_at_the_next_opening_when_closed() -> None:
    assert add_open_time(OFFICE, local(2026, 1, 6, 7), timedelta(hours=4)) == local(2026, 1, 6, 13)


def test_service_hours_count_real_time_across_the_short_night() -> None:
    # 11 real hours on the spring-forward night, then one more on Sunday evening.
    assert add_open_time(NIGHT, local(*SPRING_FORWARD_EVE, 20), timedelta(hours=12)) == local(
        2026, 3, 29, 21
    )


def test_zero_service_hours_is_the_start_and_negative_is_refused() -> None:
    start = local(2026, 1, 10, 3)
    assert add_open_time(OFFICE, start, timedelta(0)) == start
    with pytest.raises(ValueError, match="negative"):
        add_open_time(OFFICE, start, timedelta(hours=-1))


def test_service_hours_never_accumulate_at_a_closed_service() -> None:
    assert add_open_time(NEVER, local(2026, 1, 5), timedelta(hours=1)) is None


# --- add_working_days ---------------------------------------------------------------------------


def test_one_working_day_from_friday_is_monday_same_time() -> None:
    assert add_working_days(OFFICE, local(2026, 1, 9, 10, 15), 1) == local(2026, 1, 12, 10, 15)


def test_five_working_days_over_a_weekend() -> None:
    assert add_working_days(OFFICE, local(2026, 1, 9, 10), 5) == local(2026, 1, 16, 10)


def test_working_days_keep_the_time_of_day_even_when_closed_then() -> None:
    assert add_working_days(OFFICE, local(2026, 1, 5, 22), 1) == local(2026, 1, 6, 22)


def test_a_24_7_service_opens_every_day() -> None:
    assert add_working_days(ALWAYS, local(2026, 1, 9, 10), 1) == local(2026, 1, 10, 10)
    assert add_working_days(ALWAYS, local(2026, 1, 9, 10), 5) == local(2026, 1, 14, 10)


def test_a_bank_holiday_closed_all_day_is_not_a_working_day() -> None:
    assert add_working_days(OFFICE_WITH_CHRISTMAS, local(2026, 12, 24, 11), 1) == local(
        2026, 12, 28, 11
    )


def test_a_day_closed_only_in_part_is_still_a_working_day() -> None:
    morning = ClosurePeriod(local(2026, 1, 6, 9), local(2026, 1, 6, 12), "training")
    schedule = Schedule(windows=OFFICE.windows, closures=(morning,))
    assert add_working_days(schedule, local(2026, 1, 5, 10), 1) == local(2026, 1, 6, 10)


def test_working_days_keep_the_wall_time_across_a_clock_change() -> None:
    result = add_working_days(ALWAYS, local(2026, 3, 27, 9), 3)
    assert result == local(2026, 3, 30, 9)
    assert result - local(2026, 3, 27, 9) == timedelta(days=3, hours=-1)  # one hour was skipped


def test_working_day_landing_on_a_nonexistent_time_moves_forward() -> None:
    result = add_working_days(ALWAYS, local(2026, 3, 28, 1, 30), 1)
    assert result == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 BST


def test_early_hours_of_a_night_window_count_as_a_working_day() -> None:
    # docs/reference.md counts a day on which the service has any open time.
    friday_night = Schedule(windows=(Window(4, time(20), time(8)),))
    assert add_working_days(friday_night, local(2026, 1, 9, 21), 1) == local(2026, 1, 10, 21)
    assert add_working_days(friday_night, local(2026, 1, 9, 21), 2) == local(2026, 1, 16, 21)


def test_zero_working_days_is_the_start_and_negative_is_refused() -> None:
    start = local(2026, 1, 10, 3)
    assert add_working_days(OFFICE, start, 0) == start
    with pytest.raises(ValueError, match="negative"):
        add_working_days(OFFICE, start, -1)


def test_working_days_beyond_the_horizon_are_none() -> None:
    assert add_working_days(NEVER, local(2026, 1, 5), 1) is None
    assert add_working_days(ALWAYS, local(2026, 1, 5), HORIZON_DAYS) is not None
    assert add_working_days(ALWAYS, local(2026, 1, 5), HORIZON_DAYS + 1) is None


# --- clocks -------------------------------------------------------------------------------------


def test_real_time_clocks_ignore_opening_hours() -> None:
    saturday = local(2026, 1, 10, 3)
    assert contact_deadline(OFFICE, Priority.P2, saturday) == saturday + timedelta(hours=2)
    assert accept_deadline(OFFICE, Priority.P2, saturday) == saturday + timedelta(minutes=15)
    assert contact_deadline(NEVER, "P1", saturday) == saturday + timedelta(minutes=30)
    assert accept_deadline(NEVER, "P3", saturday) == saturday + timedelta(hours=1)


def test_real_time_clock_counts_real_hours_across_the_clock_change() -> None:
    start = local(2026, 3, 29, 0, 30)  # GMT; clocks go forward at 01:00
    deadline = contact_deadline(ALWAYS, "P3", start)
    assert deadline == datetime(2026, 3, 29, 4, 30, tzinfo=UTC)
    assert deadline is not None and deadline.astimezone(LONDON).hour == 5


def test_p4_accept_is_four_service_hours_and_contact_two_working_days() -> None:
    start = local(2026, 1, 9, 15)  # Friday
    assert accept_deadline(OFFICE, "P4", start) == local(2026, 1, 12, 11)
    assert contact_deadline(OFFICE, "P4", start) == local(2026, 1, 13, 15)


def test_p5_accept_is_one_working_day_and_contact_five() -> None:
    start = local(2026, 1, 9, 15)
    assert accept_deadline(OFFICE, "P5", start) == local(2026, 1, 12, 15)
    assert contact_deadline(OFFICE, "P5", start) == local(2026, 1, 16, 15)


def test_service_hours_clock_starts_at_the_start_even_when_closed() -> None:
    sunday = local(2026, 1, 11, 12)
    assert accept_deadline(OFFICE, "P4", sunday) == local(2026, 1, 12, 13)
    assert contact_deadline(OFFICE, "P5", sunday) == local(2026, 1, 16, 12)


def test_clock_override_replaces_the_default() -> None:
    slower = Clock("asap", True, timedelta(minutes=30), timedelta(hours=3))
    start = local(2026, 1, 9, 15)
    assert contact_deadline(OFFICE, "P2", start, clock=slower) == local(2026, 1, 9, 18)
    assert accept_deadline(OFFICE, "P2", start, clock=slower) == local(2026, 1, 9, 15, 30)
    in_hours = Clock(
        "urgent", False, accept_within=timedelta(hours=1), contact_within=timedelta(hours=3)
    )
    assert accept_deadline(OFFICE, "P4", start, clock=in_hours) == local(2026, 1, 9, 16)
    assert contact_deadline(OFFICE, "P4", start, clock=in_hours) == local(2026, 1, 12, 10)


def test_clock_without_limits_and_unknown_priority_are_refused() -> None:
    start = local(2026, 1, 9, 15)
    with pytest.raises(ValueError, match="unknown priority"):
        contact_deadline(OFFICE, "P9", start)
    with pytest.raises(ValueError, match="no first-contact limit"):
        contact_deadline(OFFICE, "P4", start, clock=Clock("urgent", False))
    with pytest.raises(ValueError, match="no accept limit"):
        accept_deadline(OFFICE, "P2", start, clock=Clock("asap", True))


def test_default_clocks_match_reference_urgency_table() -> None:
    assert CLOCKS["P2"].contact_within == timedelta(hours=2)
    assert CLOCKS["P4"].accept_service_hours == 4
    assert CLOCKS["P5"].contact_working_days == 5


# --- format_local -------------------------------------------------------------------------------


def test_format_local_is_24_hour_london_time_with_the_day_when_not_today() -> None:
    now = local(2026, 6, 10, 14)  # Wednesday, BST
    assert format_local(datetime(2026, 6, 10, 19, 0, tzinfo=UTC), now=now) == "20:00"
    assert format_local(local(2026, 6, 10, 20), now=now, with_day=True) == "Wed 20:00"
    assert format_local(local(2026, 6, 11, 1, 30), now=now) == "Thu 01:30"
    assert format_local(local(2026, 6, 16, 9), now=now) == "Tue 09:00"
    assert format_local(local(2026, 6, 17, 9), now=now) == "Wed 17 Jun 2026 09:00"
    assert format_local(local(2026, 6, 9, 9), now=now) == "Tue 9 Jun 2026 09:00"  # the past


# --- properties ---------------------------------------------------------------------------------

BASE = local(2026, 3, 23)  # the Monday before the spring clock change

instants, schedules = drawn(BASE, days=60, minutes=(0, 15, 30, 45), max_windows=6, max_closures=3)


@settings(deadline=None)
@given(schedule=schedules, at=instants)
def test_next_opening_is_open(schedule: Schedule, at: datetime) -> None:
    opening = next_opening(schedule, at)
    if opening is not None:
        assert opening >= at
        assert is_open(schedule, opening)
        assert (opening == at) == is_open(schedule, at)


@settings(deadline=None)
@given(schedule=schedules, start=instants, days=st.integers(0, 20))
def test_open_intervals_are_ordered_disjoint_and_never_in_a_closure(
    schedule: Schedule, start: datetime, days: int
) -> None:
    end = start + timedelta(days=days, hours=7)
    found = list(open_intervals(schedule, start, end))
    previous_end = None
    for opens, closes in found:
        assert start <= opens < closes <= end
        if previous_end is not None:
            assert opens > previous_end
        previous_end = closes
        for closure in schedule.closures:
            assert closes <= closure.starts_at or opens >= closure.ends_at
        assert is_open(schedule, opens)
        assert is_open(schedule, closes - timedelta(microseconds=1))
        if closes < end:
            assert not is_open(schedule, closes)


@settings(deadline=None)
@given(schedule=schedules, start=instants, minutes=st.integers(1, 60 * 30))
def test_add_open_time_accumulates_exactly_the_duration(
    schedule: Schedule, start: datetime, minutes: int
) -> None:
    duration = timedelta(minutes=minutes)
    result = add_open_time(schedule, start, duration)
    if result is not None:
        counted = sum(
            (closes - opens for opens, closes in open_intervals(schedule, start, result)),
            timedelta(0),
        )
        assert counted == duration


@settings(deadline=None)
@given(schedule=schedules, start=instants, days=st.integers(1, 6))
def test_working_days_land_on_the_same_wall_time_of_a_later_open_day(
    schedule: Schedule, start: datetime, days: int
) -> None:
    result = add_working_days(schedule, start, days)
    if result is None:
        return
    result_local, start_local = result.astimezone(LONDON), start.astimezone(LONDON)
    assert result_local.date() > start_local.date()
    if result_local.utcoffset() == start_local.utcoffset():
        assert result_local.time() == start_local.time()
    day_start = datetime.combine(result_local.date(), time(0), tzinfo=LONDON)
    assert next(open_intervals(schedule, day_start, day_start + timedelta(days=1)), None)
