"""Opening-hours maths: when a service is open, and the clocks that count its hours.

Everything is computed in ``Europe/London`` wall-clock time, because that is how services publish
their hours and how docs/reference.md "Urgency" defines service hours and working days; DST changes
are real (a 20:00-08:00 night service runs 11 real hours on the spring-forward night and 13 on the
fall-back night). Inputs are aware datetimes in any time zone; every datetime returned is aware
and in UTC, so that callers' arithmetic (``deadline + timedelta(...)``) is real elapsed time rather
than wall-clock arithmetic.

Local wall times are turned into instants on the local date they belong to, with PEP 495's
``fold=0`` rule:

* a time that does not exist (01:30 on the last Sunday of March, when clocks jump 01:00 -> 02:00) is
  read with the offset in force before the change, i.e. moved forward by the length of the gap
  (01:30 -> 02:30 BST). A window lying wholly inside the gap thus moves forward whole; one that
  opens inside the gap and closes soon after it (01:30-02:15) is left empty and does not happen
  that day;
* a time that happens twice (01:30 on the last Sunday of October) is its first occurrence (BST).

The work is done day by day over the weekly windows (never minute by minute), lazily, so a caller
that stops at the first interval pays for a day or two of windows; every search is bounded by
``HORIZON_DAYS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.codes import CLOCKS, Clock
from spoc.core.dates import nhs_date_short

__all__ = [
    "HORIZON_DAYS",
    "LONDON",
    "ClosurePeriod",
    "Schedule",
    "Window",
    "accept_deadline",
    "add_open_time",
    "add_working_days",
    "contact_deadline",
    "format_local",
    "format_until",
    "hours_summary",
    "is_open",
    "next_opening",
    "open_intervals",
]

LONDON = ZoneInfo("Europe/London")

# Searches look at most this far ahead: more than a year, so an annual closure (a service shut
# over Christmas, a ward refurbishment) is stepped over, yet a service that never opens is found
# out quickly.
HORIZON_DAYS = 400

Interval = tuple[datetime, datetime]

_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)  # the resolution of datetime: "just after" an instant
_MIDNIGHT = time(0)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Window:
    """A weekly opening window on ``weekday`` (0 = Monday), in Europe/London wall-clock time.

    ``closes <= opens`` means the window runs past midnight into the next day: Monday 20:00-08:00
    is Monday 20:00 to Tuesday 08:00, and 08:00-00:00 runs until midnight. ``opens == closes``
    is refused (it would be either empty or 24 hours): use ``Schedule(always_open=True)``.
    """

    weekday: int
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("window times are Europe/London wall-clock times, without tzinfo")
        if self.opens == self.closes:
            raise ValueError(
                f"a window cannot open and close at {self.opens:%H:%M}; "
                "use Schedule(always_open=True) for a service open all day"
            )

    @property
    def crosses_midnight(self) -> bool:
        return self.closes <= self.opens


@dataclass(frozen=True)
class ClosurePeriod:
    """A dated exception (bank holiday, training day): closed over [starts_at, ends_at)."""

    starts_at: datetime
    ends_at: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError("a closure must end after it starts")


@dataclass(frozen=True)
class Schedule:
    """When a service is open: 24/7 or weekly windows, minus closures.

    Closures apply to 24/7 services too. When ``always_open`` is set, ``windows`` are ignored.
    """

    always_open: bool = False
    windows: tuple[Window, ...] = ()
    closures: tuple[ClosurePeriod, ...] = ()


def open_intervals(schedule: Schedule, start: datetime, end: datetime) -> Iterator[Interval]:
    """The open periods within [start, end): ordered, merged, clipped, closures removed.

    Each interval is half-open ``(opens, closes)`` in UTC; consecutive intervals are separated by
    a gap of closed time (touching or overlapping windows are merged). Lazy: windows are expanded
    one day at a time as the caller consumes intervals. Raises ``ValueError`` on naive datetimes.
    """
    start_utc = _to_utc(start, "start")
    end_utc = _to_utc(end, "end")
    return _open_intervals(schedule, start_utc, end_utc)


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the service is open at the instant ``at`` (windows and closures are half-open)."""
    at_utc = _to_utc(at, "at")
    return next(_open_intervals(schedule, at_utc, at_utc + _TICK), None) is not None


def next_opening(
    schedule: Schedule, at: datetime, *, horizon_days: int = HORIZON_DAYS
) -> datetime | None:
    """The first instant at or after ``at`` when the service is open.

    Returns ``at`` itself (as UTC) when the service is open at ``at``, and ``None`` when it does not
    open within ``horizon_days``.
    """
    at_utc = _to_utc(at, "at")
    first = next(_open_intervals(schedule, at_utc, at_utc + timedelta(days=horizon_days)), None)
    return None if first is None else first[0]


def add_open_time(schedule: Schedule, start: datetime, duration: timedelta) -> datetime | None:
    """The instant at which ``duration`` of open time has elapsed, counting from ``start``.

    This is docs/reference.md's "N service hours": closed time (nights, weekends, closures) does not
    count, so 4 service hours from 15:00 on a 09:00-17:00 service end at 11:00 the next open day.
    Counting starts at ``start`` even when the service is closed then. A zero duration returns
    ``start``; ``None`` when the time cannot be accumulated within ``HORIZON_DAYS``.
    """
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    start_utc = _to_utc(start, "start")
    if not duration:
        return start_utc
    remaining = duration
    for opens, closes in _open_intervals(schedule, start_utc, start_utc + HORIZON_DAYS * _DAY):
        if closes - opens >= remaining:
            return opens + remaining
        remaining -= closes - opens
    return None


def add_working_days(schedule: Schedule, start: datetime, days: int) -> datetime | None:
    """The same local time of day on the ``days``-th later local date on which the service opens.

    docs/reference.md "Urgency": "N working days means the same time of day on the Nth later day the
    service opens (a 24/7 service opens every day)". A date counts when the service has any open
    time during it, closures considered (a bank holiday closed all day does not count; the early
    hours of a night window that began the evening before do). The result may fall outside
    opening hours: a deadline, not an appointment. A wall time that does not exist on the target
    date is moved forward (see the module docstring). ``days == 0`` returns ``start``; ``None``
    when the date is not reached within ``HORIZON_DAYS``.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    start_utc = _to_utc(start, "start")
    if days == 0:
        return start_utc
    local_start = start_utc.astimezone(LONDON)
    first_day = local_start.date() + _DAY
    search_end = _local(local_start.date() + (HORIZON_DAYS + 1) * _DAY, _MIDNIGHT)
    uncounted = first_day  # the earliest date not yet counted
    counted = 0
    for opens, closes in _open_intervals(schedule, _local(first_day, _MIDNIGHT), search_end):
        day = max(opens.astimezone(LONDON).date(), uncounted)
        last_day = (closes - _TICK).astimezone(LONDON).date()
        while day <= last_day:
            counted += 1
            if counted == days:
                return _local(day, local_start.time())
            day += _DAY
        uncounted = max(uncounted, last_day + _DAY)
    return None


def contact_deadline(
    schedule: Schedule, priority: str, start: datetime, *, clock: Clock | None = None
) -> datetime | None:
    """When first contact is due for ``priority``, counting from ``start`` (docs/reference.md "Urgency").

    ``clock`` is the service's override, else the default ``CLOCKS[priority]``. Real-time clocks
    (P1-P3) run on the wall clock whatever the service's hours; the others count working days
    (``contact_working_days``) or, failing that, ``contact_within`` of open time. ``None`` when the
    deadline lies beyond ``HORIZON_DAYS`` of service time. Raises ``ValueError`` for an unknown
    priority or a clock that defines no first-contact limit.
    """
    chosen = _clock_for(priority, clock)
    return _deadline(
        schedule,
        _to_utc(start, "start"),
        real_time=chosen.real_time,
        within=chosen.contact_within,
        working_days=chosen.contact_working_days,
        missing=f"the {priority} clock has no first-contact limit",
    )


def accept_deadline(
    schedule: Schedule, priority: str, start: datetime, *, clock: Clock | None = None
) -> datetime | None:
    """When the referral must be accepted for ``priority``, counting from ``start``.

    As :func:`contact_deadline`, for the accept clock: real time (``accept_within``), else
    ``accept_service_hours`` of open time (P4: 4 service hours), ``accept_working_days`` (P5: 1
    working day) or ``accept_within`` of open time, in that order.
    """
    chosen = _clock_for(priority, clock)
    return _deadline(
        schedule,
        _to_utc(start, "start"),
        real_time=chosen.real_time,
        within=chosen.accept_within,
        working_days=chosen.accept_working_days,
        service_hours=chosen.accept_service_hours,
        missing=f"the {priority} clock has no accept limit",
    )


def _deadline(
    schedule: Schedule,
    start: datetime,
    *,
    real_time: bool,
    within: timedelta | None,
    working_days: int | None,
    service_hours: int | None = None,
    missing: str,
) -> datetime | None:
    """One clock's deadline from ``start`` (UTC): ``within`` on the wall clock for a real-time
    clock; else ``service_hours`` of open time, ``working_days``, or ``within`` of open time, the
    first one the clock sets. Raises ``ValueError(missing)`` when it sets none of them."""
    if real_time:
        if within is None:
            raise ValueError(missing)
        return start + within
    if service_hours is not None:
        return add_open_time(schedule, start, timedelta(hours=service_hours))
    if working_days is not None:
        return add_working_days(schedule, start, working_days)
    if within is not None:
        return add_open_time(schedule, start, within)
    raise ValueError(missing)


def format_local(moment: datetime, *, now: datetime, with_day: bool = False) -> str:
    """``moment`` as staff read it: Europe/London, 24-hour, relative to ``now``'s local date.

    ``20:00`` on the same day (unless ``with_day``), ``Tue 20:00`` within the coming week,
    ``Tue 5 Jan 2027 20:00`` beyond (the hub's short date, spoc/core/dates.py). Day and month
    names come from our own tables, not ``%a``/``%b``, so the server's locale cannot change them.
    """
    when, today = moment.astimezone(LONDON), now.astimezone(LONDON).date()
    if when.date() == today and not with_day:
        return f"{when:%H:%M}"
    weekday = _WEEKDAYS[when.weekday()]
    if 0 <= (when.date() - today).days < 7:
        return f"{weekday} {when:%H:%M}"
    return f"{weekday} {nhs_date_short(when.date())} {when:%H:%M}"


def format_until(moment: datetime, *, now: datetime) -> str:
    """``moment`` as the end of a wait, relative to ``now``'s local date: ``08:00 today``,
    ``08:00 tomorrow``, else as ``format_local`` with the day (``Mon 08:00``)."""
    when, today = moment.astimezone(LONDON), now.astimezone(LONDON).date()
    days = (when.date() - today).days
    if days == 0:
        return f"{when:%H:%M} today"
    if days == 1:
        return f"{when:%H:%M} tomorrow"
    return format_local(moment, now=now, with_day=True)


def hours_summary(schedule: Schedule, *, closed_on_bank_holidays: bool = False) -> str:
    """A schedule's weekly hours in a line: ``24 hours, 7 days``, ``Mon–Fri 08:00–20:00``,
    ``Mon–Fri 09:00–17:00; Sat 10:00–13:00; closed on bank holidays``. Consecutive days with the
    same windows are joined; dated closures are not listed."""
    if schedule.always_open:
        parts = ["24 hours, 7 days"]
    else:
        by_day: dict[int, tuple[tuple[time, time], ...]] = {}
        for window in sorted(schedule.windows, key=lambda w: (w.weekday, w.opens)):
            by_day[window.weekday] = (
                *by_day.get(window.weekday, ()),
                (window.opens, window.closes),
            )
        runs: list[tuple[int, int, tuple[tuple[time, time], ...]]] = []
        for day in sorted(by_day):
            if runs and runs[-1][1] == day - 1 and runs[-1][2] == by_day[day]:
                runs[-1] = (runs[-1][0], day, by_day[day])
            else:
                runs.append((day, day, by_day[day]))
        parts = [
            (_WEEKDAYS[first] if first == last else f"{_WEEKDAYS[first]}–{_WEEKDAYS[last]}")
            + " "
            + ", ".join(f"{opens:%H:%M}–{closes:%H:%M}" for opens, closes in times)
            for first, last, times in runs
        ] or ["no opening hours"]
    if closed_on_bank_holidays:
        parts.append("closed on bank holidays")
    return "; ".join(parts)


# --- internals: all datetimes below are aware and in UTC --------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _to_utc(value: datetime, name: str) -> datetime:
    _require_aware(value, name)
    return value.astimezone(UTC)


def _local(day: date, wall: time) -> datetime:
    """The instant of wall time ``wall`` on local ``day``, by the fold=0 rule (module docstring)."""
    return datetime.combine(day, wall.replace(fold=0), tzinfo=LONDON).astimezone(UTC)


def _clock_for(priority: str, clock: Clock | None) -> Clock:
    if clock is not None:
        return clock
    try:
        return CLOCKS[priority]
    except KeyError:
        raise ValueError(f"unknown priority {priority!r}") from None


def _open_intervals(schedule: Schedule, start: datetime, end: datetime) -> Iterator[Interval]:
    if end <= start:
        return
    raw = iter([(start, end)]) if schedule.always_open else _window_intervals(schedule, start, end)
    closures = _closures_between(schedule.closures, start, end)
    for opens, closes in _subtract(_merge(raw), closures):
        if opens >= end:
            return
        if closes > start:
            yield max(opens, start), min(closes, end)


def _window_intervals(schedule: Schedule, start: datetime, end: datetime) -> Iterator[Interval]:
    """Every window occurrence that may touch [start, end), ordered by opening, unmerged."""
    by_weekday: dict[int, list[Window]] = {}
    for window in schedule.windows:
        by_weekday.setdefault(window.weekday, []).append(window)
    if not by_weekday:
        return
    # Start a day early: yesterday's window may run past midnight into `start`.
    day = start.astimezone(LONDON).date() - _DAY
    last_day = end.astimezone(LONDON).date()
    while day <= last_day:
        occurrences = []
        for window in by_weekday.get(day.weekday(), ()):
            opens = _local(day, window.opens)
            closes = _local(day + _DAY if window.crosses_midnight else day, window.closes)
            if closes > opens:  # False only for a window emptied by the spring-forward gap
                occurrences.append((opens, closes))
        # Sorted by instant, not by wall time: a gap-shifted opening can overtake a later one.
        yield from sorted(occurrences)
        day += _DAY


def _merge(intervals: Iterable[Interval]) -> Iterator[Interval]:
    """Merge intervals ordered by start; touching intervals become one."""
    current: Interval | None = None
    for opens, closes in intervals:
        if current is None:
            current = (opens, closes)
        elif opens <= current[1]:
            current = (current[0], max(current[1], closes))
        else:
            yield current
            current = (opens, closes)
    if current is not None:
        yield current


def _closures_between(
    closures: Iterable[ClosurePeriod], start: datetime, end: datetime
) -> list[Interval]:
    """The closures overlapping [start, end), in UTC, ordered and merged."""
    relevant = sorted(
        (closure.starts_at.astimezone(UTC), closure.ends_at.astimezone(UTC))
        for closure in closures
        if closure.starts_at < end and closure.ends_at > start
    )
    return list(_merge(relevant))


def _subtract(intervals: Iterable[Interval], closures: list[Interval]) -> Iterator[Interval]:
    """Remove ordered, merged ``closures`` from ordered, merged ``intervals``."""
    first = 0  # closures before this index end before every interval still to come
    for opens, closes in intervals:
        while first < len(closures) and closures[first][1] <= opens:
            first += 1
        cursor = opens
        index = first
        while index < len(closures) and closures[index][0] < closes and cursor < closes:
            closed_from, closed_until = closures[index]
            if closed_from > cursor:
                yield cursor, closed_from
            cursor = max(cursor, closed_until)
            index += 1
        if cursor < closes:
            yield cursor, closes
