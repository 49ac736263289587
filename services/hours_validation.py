"""Checks on weekly opening hours typed by a directory admin (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from services.hours import Window

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK = 7 * 24 * 60


def window_label(window: Window) -> str:
    label = f"{_DAY_NAMES[window.weekday]} {window.opens:%H:%M}-{window.closes:%H:%M}"
    return label + (" (to next day)" if window.closes <= window.opens else "")


def _span(window: Window) -> tuple[int, int]:
    """Minutes from Monday 00:00 (wall clock); a window past midnight ends on the next day."""
    start = window.weekday * 1440 + window.opens.hour * 60 + window.opens.minute
    end_of_day = window.closes.hour * 60 + window.closes.minute
    length = end_of_day - (window.opens.hour * 60 + window.opens.minute)
    if length <= 0:
        length += 1440
    return start, start + length


def overlapping_windows(windows: Sequence[Window]) -> list[tuple[str, str]]:
    """Pairs of windows that overlap, as labels, including a Sunday night window running into
    Monday. Windows that merely touch (one closes when the next opens) do not overlap."""
    spans = [_span(w) for w in windows]
    clashes = []
    for i in range(len(windows)):
        for j in range(i + 1, len(windows)):
            a_start, a_end = spans[i]
            b_start, b_end = spans[j]
            # Compare on the weekly circle: shift b by a week either way.
            if any(
                a_start < b_end + shift and b_start + shift < a_end for shift in (-_WEEK, 0, _WEEK)
            ):
                clashes.append((window_label(windows[i]), window_label(windows[j])))
    return clashes
