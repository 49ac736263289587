"""A referral's clocks for every priority (referrals.services.clocks.clocks_compute, pure): real time
for P1-P3, the service's hours and working days for P4-P5, each from its own start, with the
amber moment at 75%."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from referrals.services.clocks import (
    at_risk_moment,
    clocks_after_hold,
    clocks_compute,
    open_time_between,
)
from services.codes import CLOCKS
from services.hours import Schedule, Window

# Friday 17-Jan-2025 16:00 GMT; a service open Monday to Friday 09:00-17:00.
FRIDAY_4PM = datetime(2025, 1, 17, 16, 0, tzinfo=UTC)
WEEKDAYS = Schedule(
    windows=tuple(Window(weekday=d, opens=time(9), closes=time(17)) for d in range(5))
)
# The SPOC's hours, as its directory row gives them (services.selectors.coordinators_schedule).
SPOC_24_7 = Schedule(always_open=True)
SPOC_8_TO_8 = Schedule(
    windows=tuple(Window(weekday=d, opens=time(8), closes=time(20)) for d in range(7))
)


def utc(day, hour, minute=0):
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


def called_friday_4pm(priority, schedule=WEEKDAYS):
    """The clocks of a referral of `priority` from a call at FRIDAY_4PM."""
    return clocks_compute(
        priority=priority,
        schedule=schedule,
        clock=CLOCKS[priority],
        accept_from=FRIDAY_4PM,
        contact_from=FRIDAY_4PM,
    )


@pytest.mark.parametrize(
    ("priority", "accept_by", "contact_by"),
    [
        # Real time from the call, whatever the service's hours.
        ("P1", utc(17, 16, 5), utc(17, 16, 30)),
        ("P2", utc(17, 16, 15), utc(17, 18)),
        ("P3", utc(17, 17), utc(17, 20)),
        # 4 service hours: 1 on Friday, 3 on Monday; 2 working days: Monday, Tuesday.
        ("P4", utc(20, 12), utc(21, 16)),
        # 1 working day: Monday 16:00; 5 working days: Monday to Friday.
        ("P5", utc(20, 16), utc(24, 16)),
    ],
)
def test_every_priority_at_a_weekday_service_called_on_friday_afternoon(
    priority, accept_by, contact_by
):
    clocks = called_friday_4pm(priority)
    assert (clocks.accept_by, clocks.contact_by) == (accept_by, contact_by)
    assert clocks.at_risk_at == FRIDAY_4PM + (contact_by - FRIDAY_4PM) * 0.75


@pytest.mark.parametrize(
    ("priority", "accept_by", "contact_by"),
    [
        ("P4", utc(17, 20), utc(19, 16)),
        ("P5", utc(18, 16), utc(22, 16)),
    ],
)
def test_coordinators_open_24_7_count_every_hour(priority, accept_by, contact_by):
    clocks = called_friday_4pm(priority, schedule=SPOC_24_7)
    assert (clocks.accept_by, clocks.contact_by) == (accept_by, contact_by)


@pytest.mark.parametrize(
    ("priority", "accept_by", "contact_by"),
    [
        # Real time whatever the SPOC's hours.
        ("P2", utc(17, 16, 15), utc(17, 18)),
        ("P3", utc(17, 17), utc(17, 20)),
        # 4 SPOC hours: Friday 16:00-20:00; 2 working days: Saturday and Sunday (open every day).
        ("P4", utc(17, 20), utc(19, 16)),
        ("P5", utc(18, 16), utc(22, 16)),
    ],
)
def test_coordinators_open_8_to_8_count_the_spocs_hours_for_p4_p5(priority, accept_by, contact_by):
    clocks = called_friday_4pm(priority, schedule=SPOC_8_TO_8)
    assert (clocks.accept_by, clocks.contact_by) == (accept_by, contact_by)


def test_a_p4_reaching_the_closed_spoc_at_night_waits_for_its_hours():
    # Friday 22:00: the SPOC opens at 08:00 on Saturday; 4 of its hours end at 12:00.
    clocks = clocks_compute(
        priority="P4",
        schedule=SPOC_8_TO_8,
        clock=CLOCKS["P4"],
        accept_from=utc(17, 22),
        contact_from=utc(17, 22),
    )
    assert clocks.accept_by == utc(18, 12)
    assert clocks.contact_by == utc(19, 22)


def test_a_reroute_restarts_the_accept_clock_only():
    rerouted = FRIDAY_4PM + timedelta(minutes=40)
    clocks = clocks_compute(
        priority="P2",
        schedule=SPOC_24_7,
        clock=CLOCKS["P2"],
        accept_from=rerouted,
        contact_from=FRIDAY_4PM,
    )
    assert clocks.accept_by == rerouted + timedelta(minutes=15)
    assert clocks.contact_by == FRIDAY_4PM + timedelta(hours=2)


def test_a_hold_gives_back_the_opening_time_it_covered():
    # A P4 from Friday 16:00: accept by Monday 12:00, contact by Tuesday 16:00. Held from Monday
    # 11:00 to Wednesday 11:00, which covers 16 open hours (Mon 11-17, Tue 9-17, Wed 9-11): 1 open
    # hour of the accept clock and 13 of the contact clock were left, and are left again.
    before = called_friday_4pm("P4")
    after = clocks_after_hold(
        clocks=before,
        schedule=WEEKDAYS,
        real_time=False,
        held_from=utc(20, 11),
        resumed_at=utc(22, 11),
        contact_from=FRIDAY_4PM + (utc(22, 11) - utc(20, 11)),
    )
    assert after.accept_by == utc(22, 12)
    assert after.contact_by == utc(23, 16)


def test_a_weekend_hold_costs_a_weekday_service_nothing():
    before = called_friday_4pm("P4")
    after = clocks_after_hold(
        clocks=before,
        schedule=WEEKDAYS,
        real_time=False,
        held_from=utc(18, 10),
        resumed_at=utc(20, 8),
        contact_from=FRIDAY_4PM,
    )
    assert (after.accept_by, after.contact_by) == (before.accept_by, before.contact_by)


def test_a_real_time_hold_moves_the_deadlines_by_the_time_held():
    before = called_friday_4pm("P2")
    after = clocks_after_hold(
        clocks=before,
        schedule=WEEKDAYS,
        real_time=True,
        held_from=utc(17, 16, 10),
        resumed_at=utc(17, 17, 10),
        contact_from=utc(17, 17),
    )
    assert (after.accept_by, after.contact_by) == (utc(17, 17, 15), utc(17, 19))
    assert after.at_risk_at == utc(17, 18, 30)


def test_open_time_between_counts_only_opening_hours():
    assert open_time_between(WEEKDAYS, utc(17, 16), utc(20, 10)) == timedelta(hours=2)
    assert open_time_between(WEEKDAYS, utc(20, 10), utc(17, 16)) == timedelta(0)


def test_the_amber_moment_is_three_quarters_of_the_way():
    assert at_risk_moment(FRIDAY_4PM, FRIDAY_4PM + timedelta(hours=4)) == FRIDAY_4PM + timedelta(
        hours=3
    )
    assert at_risk_moment(FRIDAY_4PM, None) is None
    # A deadline already at or before the start is at risk from the deadline itself.
    assert at_risk_moment(FRIDAY_4PM, FRIDAY_4PM - timedelta(minutes=5)) == FRIDAY_4PM - timedelta(
        minutes=5
    )
