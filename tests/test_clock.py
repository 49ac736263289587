"""The moments in tests/clock.py are what their comments promise."""

from datetime import timedelta

import holidays

from tests.clock import LONDON, WEEKDAY_MORNING


def test_weekday_morning_is_an_ordinary_working_morning_in_london() -> None:
    local = WEEKDAY_MORNING.astimezone(LONDON)
    assert local.weekday() < 5
    assert 9 <= local.hour < 12
    assert local.date() not in holidays.country_holidays("GB", subdiv="ENG", years=local.year)
    # Weeks from a clock change: the same offset a fortnight either side.
    offsets = {(local + timedelta(days=d)).utcoffset() for d in (-14, 0, 14)}
    assert len(offsets) == 1
