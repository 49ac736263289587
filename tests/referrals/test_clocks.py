"""A referral's clocks for every priority (referrals.services.clocks.clocks_compute, pure): real time
for P1-P3, the service's hours and working days for P4-P5, each from its own start, with the
amber moment at 75%."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from referrals.services.clocks import COORDINATORS_SCHEDULE, at_risk_moment, clocks_compute
from services.codes import CLOCKS
from services.hours import Schedule, Window

# Friday 17-Jan-2025 16:00 GMT; a service open Monday to Friday 09:00-17:00.
FRIDAY_4PM = datetime(2025, 1, 17, 16, 0, tzinfo=UTC)
WEEKDAYS = Schedule(windows=tuple(Window(weekday=d, opens=time(9), closes=time(17)) for d in range(5)))


def utc(day, hour, minute=0):
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("priority", "accept_by", "contact_by"), [
    # Real time from the call, whatever the service's hours.
    ("P1", utc(17, 16, 5), utc(17, 16, 30)),
    ("P2", utc(17, 16, 15), utc(17, 18)),
    ("P3", utc(17, 17), utc(17, 20)),
    # 4 service hours: 1 on Friday, 3 on Monday; 2 working days: Monday, Tuesday.
    ("P4", utc(20, 12), utc(21, 16)),
    # 1 working day: Monday 16:00; 5 working days: Monday to Friday.
    ("P5", utc(20, 16), utc(24, 16)),
])
def test_every_priority_at_a_weekday_service_called_on_friday_afternoon(priority, accept_by, contact_by):
    clocks = clocks_compute(priority=priority, schedule=WEEKDAYS, clock=CLOCKS[priority],
                            accept_from=FRIDAY_4PM, contact_from=FRIDAY_4PM)
    assert (clocks.accept_by, clocks.contact_by) == (accept_by, contact_by)
    assert clocks.at_risk_at == FRIDAY_4PM + (contact_by - FRIDAY_4PM) * 0.75


@pytest.mark.parametrize(("priority", "accept_by", "contact_by"), [
    ("P4", utc(17, 20), utc(19, 16)),
    ("P5", utc(18, 16), utc(22, 16)),
])
def test_the_coordinators_count_every_hour(priority, accept_by, contact_by):
    clocks = clocks_compute(priority=priority, schedule=COORDINATORS_SCHEDULE, clock=CLOCKS[priority],
                            accept_from=FRIDAY_4PM, contact_from=FRIDAY_4PM)
    assert (clocks.accept_by, clocks.contact_by) == (accept_by, contact_by)


def test_a_reroute_restarts_the_accept_clock_only():
    rerouted = FRIDAY_4PM + timedelta(minutes=40)
    clocks = clocks_compute(priority="P2", schedule=COORDINATORS_SCHEDULE, clock=CLOCKS["P2"],
                            accept_from=rerouted, contact_from=FRIDAY_4PM)
    assert clocks.accept_by == rerouted + timedelta(minutes=15)
    assert clocks.contact_by == FRIDAY_4PM + timedelta(hours=2)


def test_a_weekend_hold_moves_a_p4_deadline_by_the_opening_time_it_covered():
    # Held from Friday 16:30 to Monday 09:30 (65 hours of wall time): the start moves on 65 hours,
    # to Monday 09:00, and 2 working days from there is Wednesday 09:00.
    held_for = utc(20, 9, 30) - utc(17, 16, 30)
    clocks = clocks_compute(priority="P4", schedule=WEEKDAYS, clock=CLOCKS["P4"],
                            accept_from=FRIDAY_4PM + held_for, contact_from=FRIDAY_4PM + held_for)
    assert clocks.contact_by == utc(22, 9)
    assert clocks.accept_by == utc(20, 13)


def test_the_amber_moment_is_three_quarters_of_the_way():
    assert at_risk_moment(FRIDAY_4PM, FRIDAY_4PM + timedelta(hours=4)) == FRIDAY_4PM + timedelta(hours=3)
    assert at_risk_moment(FRIDAY_4PM, None) is None
    # A deadline already at or before the start is at risk from the deadline itself.
    assert at_risk_moment(FRIDAY_4PM, FRIDAY_4PM - timedelta(minutes=5)) == FRIDAY_4PM - timedelta(minutes=5)
