"""When a feedback text may go (experience/rules.py): no database."""

from __future__ import annotations

from datetime import datetime

import pytest

from experience.rules import LONDON, survey_due, within_sending_hours


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Inside the hours: at once.
        (datetime(2026, 6, 10, 10, 0, tzinfo=LONDON), datetime(2026, 6, 10, 10, 0, tzinfo=LONDON)),
        (
            datetime(2026, 6, 10, 18, 59, tzinfo=LONDON),
            datetime(2026, 6, 10, 18, 59, tzinfo=LONDON),
        ),
        # Early morning: 10:00 that day; evening and night: 10:00 the next.
        (datetime(2026, 6, 10, 6, 30, tzinfo=LONDON), datetime(2026, 6, 10, 10, 0, tzinfo=LONDON)),
        (datetime(2026, 6, 10, 19, 0, tzinfo=LONDON), datetime(2026, 6, 11, 10, 0, tzinfo=LONDON)),
        (datetime(2026, 6, 10, 23, 50, tzinfo=LONDON), datetime(2026, 6, 11, 10, 0, tzinfo=LONDON)),
        # The night the clocks go back (25 October 2026): still 10:00 London time.
        (
            datetime(2026, 10, 25, 1, 30, tzinfo=LONDON),
            datetime(2026, 10, 25, 10, 0, tzinfo=LONDON),
        ),
    ],
)
def test_a_text_waits_for_the_sending_hours_in_london(at, expected):
    assert within_sending_hours(at) == expected


def test_a_survey_is_due_the_set_days_after_the_death_in_the_sending_hours():
    died = datetime(2026, 3, 1, 3, 15, tzinfo=LONDON)
    assert survey_due(died_at=died, after_days=90) == datetime(2026, 5, 30, 10, 0, tzinfo=LONDON)
    afternoon = datetime(2026, 3, 1, 15, 0, tzinfo=LONDON)
    assert survey_due(died_at=afternoon, after_days=90) == datetime(
        2026, 5, 30, 15, 0, tzinfo=LONDON
    )
