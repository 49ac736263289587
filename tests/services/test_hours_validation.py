from datetime import time

import pytest

from services.hours import Window
from services.hours_validation import overlapping_windows


def w(day: int, opens: int, closes: int) -> Window:
    return Window(weekday=day, opens=time(opens), closes=time(closes))


@pytest.mark.parametrize(
    ("windows", "clashes"),
    [
        ([w(0, 9, 17), w(1, 9, 17)], 0),
        ([w(0, 9, 12), w(0, 12, 17)], 0),  # touching is fine
        ([w(0, 9, 13), w(0, 12, 17)], 1),
        ([w(0, 20, 8), w(1, 7, 12)], 1),  # Monday night runs into Tuesday morning
        ([w(0, 20, 8), w(1, 8, 12)], 0),
        ([w(6, 20, 8), w(0, 7, 9)], 1),  # Sunday night wraps into Monday
        ([w(6, 22, 6), w(0, 6, 9)], 0),
        ([w(2, 9, 17), w(2, 10, 11), w(2, 16, 18)], 2),
    ],
)
def test_overlapping_windows(windows, clashes):
    assert len(overlapping_windows(windows)) == clashes


def test_overlap_message_names_both_windows():
    assert overlapping_windows([w(6, 20, 8), w(0, 7, 9)]) == [
        ("Sunday 20:00-08:00 (to next day)", "Monday 07:00-09:00")
    ]
