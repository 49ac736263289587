"""Opening hours for the pure tests of services.hours and the ranker: a moment in London, a weekly
schedule, and hypothesis strategies that draw schedules and moments around a base date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from hypothesis import strategies as st

from services.hours import LONDON, ClosurePeriod, Schedule, Window


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def weekly(opens: int, closes: int, weekdays: range = range(7)) -> Schedule:
    return Schedule(windows=tuple(Window(day, time(opens), time(closes)) for day in weekdays))


def drawn(
    base: datetime,
    *,
    days: int,
    minutes: Sequence[int],
    max_windows: int,
    max_closures: int,
) -> tuple[st.SearchStrategy[datetime], st.SearchStrategy[Schedule]]:
    """Strategies for a moment within ``days`` of ``base`` and for a schedule: weekly windows that
    open and close on the hour or at ``minutes`` past it, closures of up to 20 days starting at
    such a moment, or open all the time."""
    wall_times = st.builds(time, st.integers(0, 23), st.sampled_from(list(minutes)))
    windows = (
        st.tuples(st.integers(0, 6), wall_times, wall_times)
        .filter(lambda w: w[1] != w[2])
        .map(lambda w: Window(*w))
    )
    instants = st.integers(0, 60 * 24 * days).map(lambda m: base + timedelta(minutes=m))
    closures = st.tuples(instants, st.integers(1, 24 * 20)).map(
        lambda c: ClosurePeriod(c[0], c[0] + timedelta(hours=c[1]))
    )
    schedules = st.builds(
        Schedule,
        always_open=st.booleans(),
        windows=st.lists(windows, max_size=max_windows).map(tuple),
        closures=st.lists(closures, max_size=max_closures).map(tuple),
    )
    return instants, schedules
