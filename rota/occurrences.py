"""The duty rota's occurrence maths: which shifts a team's weekly patterns and one-off changes make
over a period, and the periods nobody covers. Plain Python, no database (docs/operations.md
"The duty rota").

A pattern's times are Europe/London wall-clock times on the local date an occurrence starts; an
end at or before the start means the shift ends the next day (22:00-08:00 runs overnight, and
08:00-08:00 is 24 hours). Wall times become instants as ``services.hours`` makes them (PEP 495,
``fold=0``): a time inside the spring-forward gap is read with the offset before the change
(01:30 becomes 02:30 BST), a repeated time is its first occurrence. So a 22:00-08:00 night shift
lasts 10 hours, 9 on the night the clocks go forward and 11 on the night they go back.

An occurrence is named by its pattern and the local date it starts on; a cancellation or a
replacement names the same pair. Every datetime returned is aware and in UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "LONDON",
    "Cancellation",
    "Interval",
    "OneOff",
    "Pattern",
    "Shift",
    "gaps",
    "mask_of",
    "merge",
    "occurrence_times",
    "shifts_between",
    "weekdays_of",
    "within",
]

LONDON = ZoneInfo("Europe/London")
Interval = tuple[datetime, datetime]
_DAY = timedelta(days=1)
# An occurrence lasts at most 25 hours (24 plus the hour the clocks go back), so occurrences that
# started on either of the two local dates before a period can still run into it.
_LOOK_BACK_DAYS = 2


def mask_of(weekdays: Iterable[int]) -> int:
    """Weekdays (0 = Monday) as the bits of one number: Monday is 1, Sunday 64."""
    mask = 0
    for day in weekdays:
        if not 0 <= day <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {day}")
        mask |= 1 << day
    return mask


def weekdays_of(mask: int) -> tuple[int, ...]:
    """The weekdays (0 = Monday) of a mask made by ``mask_of``, in order."""
    return tuple(day for day in range(7) if mask & (1 << day))


@dataclass(frozen=True)
class Pattern:
    """A weekly shift pattern: on ``weekdays``, ``start`` to ``end`` local time, for occurrences
    starting from ``valid_from`` to ``valid_until`` (inclusive; None: no end); on a bank holiday
    only when ``on_bank_holidays`` (the local date the occurrence starts on counts)."""

    id: int
    weekdays: frozenset[int]
    start: time
    end: time
    valid_from: date
    valid_until: date | None = None
    on_bank_holidays: bool = True

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("a pattern runs on at least one weekday, 0 (Monday) to 6 (Sunday)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("pattern times are Europe/London wall-clock times, without tzinfo")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("a pattern cannot end before it starts")

    def runs_on(self, day: date, bank_holidays: Collection[date]) -> bool:
        if day < self.valid_from or (self.valid_until is not None and day > self.valid_until):
            return False
        if day.weekday() not in self.weekdays:
            return False
        return self.on_bank_holidays or day not in bank_holidays


@dataclass(frozen=True)
class OneOff:
    """A shift outside the patterns, ``starts_at`` to ``ends_at``; when it ``replaces`` an
    occurrence (pattern id, local start date), that occurrence does not happen."""

    id: int
    starts_at: datetime
    ends_at: datetime
    replaces: tuple[int, date] | None = None

    def __post_init__(self) -> None:
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError("a shift must end after it starts")


@dataclass(frozen=True)
class Cancellation:
    """The occurrence of pattern ``pattern_id`` starting on local date ``day`` does not happen."""

    pattern_id: int
    day: date


@dataclass(frozen=True)
class Shift:
    """One shift, in UTC: an occurrence of a pattern (``pattern_id`` and its local start date
    ``day``) or a one-off (``one_off_id``; with ``pattern_id`` and ``day`` too when it replaces an
    occurrence)."""

    starts_at: datetime
    ends_at: datetime
    pattern_id: int | None = None
    day: date | None = None
    one_off_id: int | None = None


def occurrence_times(pattern: Pattern, day: date) -> Interval:
    """The start and end, in UTC, of ``pattern``'s occurrence starting on local date ``day``
    (whether or not it runs then)."""
    starts_at = _instant(day, pattern.start)
    ends_at = _instant(day + _DAY if pattern.end <= pattern.start else day, pattern.end)
    if ends_at <= starts_at:
        # Only a shift ending inside the spring-forward gap, moved forward past a short start.
        ends_at = starts_at
    return starts_at, ends_at


def shifts_between(
    *,
    patterns: Iterable[Pattern],
    one_offs: Iterable[OneOff] = (),
    cancellations: Iterable[Cancellation] = (),
    start: datetime,
    end: datetime,
    bank_holidays: Collection[date] = frozenset(),
) -> list[Shift]:
    """Every shift overlapping [start, end), earliest start first (then earliest end), unclipped:
    the patterns' occurrences less those cancelled or replaced, and the one-offs. Overlapping
    shifts are all kept (two people on duty at once). Raises ``ValueError`` on naive datetimes."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    one_offs = list(one_offs)
    removed = {(c.pattern_id, c.day) for c in cancellations} | {
        o.replaces for o in one_offs if o.replaces is not None
    }
    first_day = start.astimezone(LONDON).date() - _LOOK_BACK_DAYS * _DAY
    last_day = end.astimezone(LONDON).date()
    found: list[Shift] = []
    for pattern in patterns:
        day = max(first_day, pattern.valid_from)
        while day <= last_day:
            if pattern.runs_on(day, bank_holidays) and (pattern.id, day) not in removed:
                starts_at, ends_at = occurrence_times(pattern, day)
                if starts_at < end and ends_at > start:
                    found.append(Shift(starts_at, ends_at, pattern_id=pattern.id, day=day))
            day += _DAY
    for one_off in one_offs:
        starts_at, ends_at = one_off.starts_at.astimezone(UTC), one_off.ends_at.astimezone(UTC)
        if starts_at < end and ends_at > start:
            pattern_id, day_replaced = one_off.replaces or (None, None)
            found.append(
                Shift(
                    starts_at,
                    ends_at,
                    pattern_id=pattern_id,
                    day=day_replaced,
                    one_off_id=one_off.id,
                )
            )
    return sorted(
        found, key=lambda s: (s.starts_at, s.ends_at, s.pattern_id or 0, s.one_off_id or 0)
    )


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Intervals sorted and merged: overlapping or touching ones become one."""
    merged: list[Interval] = []
    for opens, closes in sorted(intervals):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def gaps(covered: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The periods within [start, end) that no interval of ``covered`` covers, in order."""
    found: list[Interval] = []
    cursor = start
    for opens, closes in merge(covered):
        if closes <= cursor:
            continue
        if opens >= end:
            break
        if opens > cursor:
            found.append((cursor, opens))
        cursor = max(cursor, closes)
    if cursor < end:
        found.append((cursor, end))
    return found


def within(intervals: Iterable[Interval], limits: Iterable[Interval]) -> list[Interval]:
    """The parts of ``intervals`` that lie inside ``limits`` (both any order), merged."""
    bounds = merge(limits)
    found = []
    for opens, closes in merge(intervals):
        for low, high in bounds:
            if low < closes and high > opens:
                found.append((max(opens, low), min(closes, high)))
    return merge(found)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _instant(day: date, wall: time) -> datetime:
    """The instant of wall time ``wall`` on local ``day`` by the fold=0 rule (module docstring)."""
    return datetime.combine(day, wall.replace(fold=0), tzinfo=LONDON).astimezone(UTC)
