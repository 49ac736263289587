from datetime import timedelta

import pytest

from services.clocks import InvalidClockOverride, clock_overrides_parse
from services.codes import CLOCKS


def test_no_overrides_means_the_defaults():
    assert clock_overrides_parse(None) == {}
    assert clock_overrides_parse({}) == {}


def test_real_time_override_in_minutes():
    clocks = clock_overrides_parse({"P2": {"contact_within_minutes": 180}})
    assert clocks["P2"].contact_within == timedelta(hours=3)
    assert clocks["P2"].accept_within == CLOCKS["P2"].accept_within
    assert clocks["P2"].real_time


def test_service_hours_override_switches_the_accept_clock():
    clocks = clock_overrides_parse({"P5": {"accept_service_hours": 8, "contact_working_days": 3}})
    assert clocks["P5"].accept_service_hours == 8
    assert clocks["P5"].accept_working_days is None
    assert clocks["P5"].contact_working_days == 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"P9": {"contact_within_minutes": 5}}, "Unknown priority"),
        ({"P2": {}}, "at least one"),
        ({"P2": {"contact_within_minutes": 0}}, "above 0"),
        ({"P2": {"contact_within_minutes": "ten"}}, "whole number"),
        ({"P2": {"contact_within_minutes": True}}, "whole number"),
        ({"P2": {"contact_working_days": 2}}, "not a clock of this priority"),
        ({"P4": {"contact_within_minutes": 60}}, "not a clock of this priority"),
        ({"P4": {"accept_service_hours": 2, "accept_working_days": 1}}, "not both"),
    ],
)
def test_invalid_overrides_name_the_problem(raw, message):
    with pytest.raises(InvalidClockOverride, match=message):
        clock_overrides_parse(raw)
