"""The rota's occurrence maths, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from rota.occurrences import (
    LONDON,
    Cancellation,
    OneOff,
    Pattern,
    gaps,
    mask_of,
    merge,
    occurrence_times,
    shifts_between,
    weekdays_of,
    within,
)

EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in London."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def night(pattern_id: int = 1, **fields: object) -> Pattern:
    values: dict = {
        "id": pattern_id,
        "weekdays": EVERY_DAY,
        "start": time(22),
        "end": time(8),
        "valid_from": date(2026, 1, 1),
    }
    values.update(fields)
    return Pattern(**values)


def day_shift(pattern_id: int = 2, **fields: object) -> Pattern:
    values: dict = {
        "id": pattern_id,
        "weekdays": EVERY_DAY,
        "start": time(8),
        "end": time(22),
        "valid_from": date(2026, 1, 1),
    }
    values.update(fields)
    return Pattern(**values)


def spans(shifts: list) -> list[tuple[datetime, datetime]]:
    return [(s.starts_at.astimezone(LONDON), s.ends_at.astimezone(LONDON)) for s in shifts]


def test_weekday_mask_round_trips() -> None:
    assert mask_of([0]) == 1
    assert mask_of([6]) == 64
    assert mask_of(range(7)) == 127
    assert weekdays_of(mask_of([0, 2, 4])) == (0, 2, 4)
    with pytest.raises(ValueError, match="weekday"):
        mask_of([7])


def test_pattern_needs_a_weekday_and_ordered_dates() -> None:
    with pytest.raises(ValueError, match="at least one weekday"):
        night(weekdays=frozenset())
    with pytest.raises(ValueError, match="cannot end before"):
        night(valid_from=date(2026, 2, 1), valid_until=date(2026, 1, 31))


def test_night_shift_runs_past_midnight_into_the_next_day() -> None:
    shifts = shifts_between(patterns=[night()], start=at(2026, 6, 10, 23), end=at(2026, 6, 11, 1))
    assert spans(shifts) == [(at(2026, 6, 10, 22), at(2026, 6, 11, 8))]
    assert shifts[0].day == date(2026, 6, 10)


def test_shift_started_the_evening_before_is_found_after_midnight() -> None:
    shifts = shifts_between(patterns=[night()], start=at(2026, 6, 11, 3), end=at(2026, 6, 11, 4))
    assert spans(shifts) == [(at(2026, 6, 10, 22), at(2026, 6, 11, 8))]


def test_end_equal_to_start_is_a_24_hour_shift() -> None:
    pattern = night(start=time(9), end=time(9))
    starts_at, ends_at = occurrence_times(pattern, date(2026, 6, 10))
    assert ends_at - starts_at == timedelta(hours=24)


def test_night_shift_on_the_night_the_clocks_go_back_lasts_11_hours() -> None:
    # 25 October 2026: 02:00 BST becomes 01:00 GMT.
    starts_at, ends_at = occurrence_times(night(), date(2026, 10, 24))
    assert ends_at - starts_at == timedelta(hours=11)
    assert starts_at == datetime(2026, 10, 24, 21, tzinfo=UTC)
    assert ends_at == datetime(2026, 10, 25, 8, tzinfo=UTC)


def test_night_shift_on_the_night_the_clocks_go_forward_lasts_9_hours() -> None:
    # 29 March 2026: 01:00 GMT becomes 02:00 BST.
    starts_at, ends_at = occurrence_times(night(), date(2026, 3, 28))
    assert ends_at - starts_at == timedelta(hours=9)


def test_day_and_night_leave_no_gap_across_either_clock_change() -> None:
    for start in (at(2026, 3, 27, 12), at(2026, 10, 23, 12)):
        end = start + timedelta(days=4)
        shifts = shifts_between(patterns=[night(), day_shift()], start=start, end=end)
        assert gaps([(s.starts_at, s.ends_at) for s in shifts], start, end) == []


def test_shift_starting_in_the_skipped_hour_moves_forward() -> None:
    pattern = night(start=time(1, 30), end=time(6))
    starts_at, _ = occurrence_times(pattern, date(2026, 3, 29))
    assert starts_at.astimezone(LONDON) == at(2026, 3, 29, 2, 30)


def test_bank_holiday_skips_a_pattern_that_does_not_run_on_them() -> None:
    christmas = date(2026, 12, 25)
    office = day_shift(start=time(9), end=time(17), weekdays=WEEKDAYS, on_bank_holidays=False)
    shifts = shifts_between(
        patterns=[office],
        start=at(2026, 12, 24),
        end=at(2026, 12, 29),
        bank_holidays={christmas, date(2026, 12, 28)},
    )
    # Thursday 24th only: Friday 25th and Monday 28th are bank holidays, 26-27th a weekend.
    assert [s.day for s in shifts] == [date(2026, 12, 24)]


def test_bank_holiday_keeps_a_pattern_that_runs_on_them() -> None:
    shifts = shifts_between(
        patterns=[day_shift()],
        start=at(2026, 12, 25),
        end=at(2026, 12, 26),
        bank_holidays={date(2026, 12, 25)},
    )
    assert [s.day for s in shifts] == [date(2026, 12, 25)]


def test_bank_holiday_counts_by_the_day_a_night_shift_starts() -> None:
    # The night of Christmas Eve is not a bank holiday shift; that of Christmas night is.
    pattern = night(on_bank_holidays=False)
    shifts = shifts_between(
        patterns=[pattern],
        start=at(2026, 12, 25, 3),
        end=at(2026, 12, 26, 3),
        bank_holidays={date(2026, 12, 25)},
    )
    assert [s.day for s in shifts] == [date(2026, 12, 24)]


def test_validity_dates_bound_the_occurrences_inclusive() -> None:
    pattern = day_shift(valid_from=date(2026, 6, 10), valid_until=date(2026, 6, 12))
    shifts = shifts_between(patterns=[pattern], start=at(2026, 6, 8), end=at(2026, 6, 15))
    assert [s.day for s in shifts] == [date(2026, 6, 10), date(2026, 6, 11), date(2026, 6, 12)]


def test_last_night_shift_of_a_pattern_still_runs_into_the_next_day() -> None:
    pattern = night(valid_until=date(2026, 6, 10))
    shifts = shifts_between(patterns=[pattern], start=at(2026, 6, 11, 7), end=at(2026, 6, 11, 9))
    assert [s.day for s in shifts] == [date(2026, 6, 10)]


def test_weekdays_limit_the_occurrences() -> None:
    pattern = day_shift(weekdays=frozenset({0, 2}))
    shifts = shifts_between(patterns=[pattern], start=at(2026, 6, 8), end=at(2026, 6, 15))
    assert [s.day for s in shifts] == [date(2026, 6, 8), date(2026, 6, 10)]


def test_overlapping_shifts_are_both_kept_earliest_first() -> None:
    late = day_shift(pattern_id=5, start=time(12), end=time(20))
    shifts = shifts_between(
        patterns=[late, day_shift()], start=at(2026, 6, 10, 13), end=at(2026, 6, 10, 14)
    )
    assert [s.pattern_id for s in shifts] == [2, 5]


def test_cancelled_occurrence_does_not_happen_and_leaves_a_gap() -> None:
    start, end = at(2026, 6, 10, 8), at(2026, 6, 12, 8)
    shifts = shifts_between(
        patterns=[night(), day_shift()],
        cancellations=[Cancellation(pattern_id=1, day=date(2026, 6, 10))],
        start=start,
        end=end,
    )
    assert (1, date(2026, 6, 10)) not in {(s.pattern_id, s.day) for s in shifts}
    covered = [(s.starts_at, s.ends_at) for s in shifts]
    assert gaps(covered, start, end) == [
        (at(2026, 6, 10, 22).astimezone(UTC), at(2026, 6, 11, 8).astimezone(UTC))
    ]


def test_replaced_occurrence_gives_way_to_its_replacement() -> None:
    replacement = OneOff(
        id=9,
        starts_at=at(2026, 6, 10, 22),
        ends_at=at(2026, 6, 11, 6),
        replaces=(1, date(2026, 6, 10)),
    )
    shifts = shifts_between(
        patterns=[night()],
        one_offs=[replacement],
        start=at(2026, 6, 10, 23),
        end=at(2026, 6, 11, 7),
    )
    assert [(s.one_off_id, s.pattern_id, s.day) for s in shifts] == [(9, 1, date(2026, 6, 10))]
    assert gaps(
        [(s.starts_at, s.ends_at) for s in shifts], at(2026, 6, 10, 23), at(2026, 6, 11, 7)
    ) == [(at(2026, 6, 11, 6).astimezone(UTC), at(2026, 6, 11, 7).astimezone(UTC))]


def test_extra_shift_adds_a_second_person() -> None:
    extra = OneOff(id=3, starts_at=at(2026, 6, 10, 20), ends_at=at(2026, 6, 11, 2))
    shifts = shifts_between(
        patterns=[night()], one_offs=[extra], start=at(2026, 6, 10, 23), end=at(2026, 6, 10, 23, 1)
    )
    assert [(s.pattern_id, s.one_off_id) for s in shifts] == [(None, 3), (1, None)]


def test_one_off_must_end_after_it_starts_and_be_aware() -> None:
    with pytest.raises(ValueError, match="end after"):
        OneOff(id=1, starts_at=at(2026, 6, 10, 9), ends_at=at(2026, 6, 10, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        OneOff(id=1, starts_at=datetime(2026, 6, 10, 9), ends_at=at(2026, 6, 10, 10))


def test_naive_period_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        shifts_between(patterns=[], start=datetime(2026, 6, 10), end=at(2026, 6, 11))


def test_shifts_outside_the_period_are_left_out_and_empty_period_has_none() -> None:
    assert (
        shifts_between(patterns=[night()], start=at(2026, 6, 10, 9), end=at(2026, 6, 10, 21)) == []
    )
    assert (
        shifts_between(patterns=[night()], start=at(2026, 6, 10, 23), end=at(2026, 6, 10, 23)) == []
    )


def test_gaps_of_nothing_is_the_whole_period() -> None:
    assert gaps([], at(2026, 6, 10), at(2026, 6, 11)) == [(at(2026, 6, 10), at(2026, 6, 11))]


def test_gaps_ignore_cover_outside_the_period_and_merge_touching_shifts() -> None:
    covered = [
        (at(2026, 6, 9), at(2026, 6, 10, 2)),
        (at(2026, 6, 10, 4), at(2026, 6, 10, 6)),
        (at(2026, 6, 10, 6), at(2026, 6, 10, 9)),
        (at(2026, 6, 12), at(2026, 6, 13)),
    ]
    assert gaps(covered, at(2026, 6, 10), at(2026, 6, 10, 12)) == [
        (at(2026, 6, 10, 2), at(2026, 6, 10, 4)),
        (at(2026, 6, 10, 9), at(2026, 6, 10, 12)),
    ]


def test_merge_and_within() -> None:
    assert merge(
        [(at(2026, 6, 10, 5), at(2026, 6, 10, 6)), (at(2026, 6, 10, 1), at(2026, 6, 10, 5))]
    ) == [(at(2026, 6, 10, 1), at(2026, 6, 10, 6))]
    open_hours = [(at(2026, 6, 10, 9), at(2026, 6, 10, 17))]
    assert within(
        [(at(2026, 6, 10, 6), at(2026, 6, 10, 10)), (at(2026, 6, 10, 16), at(2026, 6, 10, 20))],
        open_hours,
    ) == [
        (at(2026, 6, 10, 9), at(2026, 6, 10, 10)),
        (at(2026, 6, 10, 16), at(2026, 6, 10, 17)),
    ]
