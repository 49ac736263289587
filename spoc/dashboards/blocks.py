"""Blocks of days and response-time buckets (docs/metrics.md "Blocks of days", "Percentiles").

A 12-month figure summed from per-day rows reads every day's rows: for response times, per minute,
about one row per referral. Blocks and buckets make it a few thousand rows whatever the volume:

- **Buckets.** Minutes are kept to the minute under an hour, to 5 minutes under 4 hours, to 15
  minutes under a day and to the hour beyond; a bucket is named by its first minute. P4-P5 times
  run to days, where a minute's precision says nothing a manager can use.
- **Blocks.** Level 0 is one local date; level k is 2**k days starting on a multiple of 2**k days
  after ``BLOCK_EPOCH``. Any period of dates splits into at most two blocks per level
  (``block_pieces``), and a block of level k is the sum of its two halves at level k - 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

BLOCK_EPOCH = date(2000, 1, 3)
MAX_BLOCK_LEVEL = 9
# The team id of the rows that hold every team together.
ALL_TEAMS = -1
# (below this many minutes, bucket width), widest last.
BUCKET_WIDTHS = ((60, 1), (240, 5), (1_440, 15))
HOUR_BUCKET = 60


# Waits on the phone, in seconds: to the second under a minute, to 10 seconds under 10 minutes,
# to the minute beyond.
WAIT_BUCKET_WIDTHS = ((60, 1), (600, 10))
MINUTE_BUCKET = 60


def response_bucket(
    minutes: int, widths: tuple[tuple[int, int], ...] = BUCKET_WIDTHS, beyond: int = HOUR_BUCKET
) -> int:
    """The first minute of the bucket holding ``minutes`` (or with the wait widths, the first
    second of the bucket holding a number of seconds)."""
    for below, width in widths:
        if minutes < below:
            return minutes - minutes % width
    return minutes - minutes % beyond


def wait_bucket(seconds: int) -> int:
    """The first second of the bucket holding a wait of ``seconds``."""
    return response_bucket(seconds, WAIT_BUCKET_WIDTHS, MINUTE_BUCKET)


def bucket_sql(
    column: str, widths: tuple[tuple[int, int], ...] = BUCKET_WIDTHS, beyond: int = HOUR_BUCKET
) -> str:
    """``response_bucket`` of a whole number, never negative, as SQL: the same on PostgreSQL and
    SQLite, where dividing integers drops the remainder."""
    arms = " ".join(
        f"WHEN {column} < {below} THEN {column} / {width} * {width}" for below, width in widths
    )
    return f"CASE {arms} ELSE {column} / {beyond} * {beyond} END"


def block_start(day: date, level: int) -> date:
    """The first day of the level-``level`` block holding ``day``."""
    size = 1 << level
    return BLOCK_EPOCH + timedelta(days=(day - BLOCK_EPOCH).days // size * size)


def block_pieces(first: date, last: date) -> list[tuple[int, date]]:
    """The fewest aligned blocks, as (level, first day), that cover ``first`` to ``last``
    inclusive exactly once: the largest block that starts at the next uncovered day and does not
    pass ``last``, repeatedly."""
    pieces: list[tuple[int, date]] = []
    day, end = (first - BLOCK_EPOCH).days, (last - BLOCK_EPOCH).days + 1
    while day < end:
        level = 0
        while level < MAX_BLOCK_LEVEL and day % (2 << level) == 0 and day + (2 << level) <= end:
            level += 1
        pieces.append((level, BLOCK_EPOCH + timedelta(days=day)))
        day += 1 << level
    return pieces


def block_parents(days: Iterable[date], level: int) -> tuple[list[date], list[tuple[date, date]]]:
    """The first days of the level-``level`` blocks holding any of ``days``, and each of those
    blocks with each of its two halves at ``level - 1``, as (block, half) pairs."""
    half = timedelta(days=1 << (level - 1))
    parents = sorted({block_start(day, level) for day in days})
    return parents, [(parent, start) for parent in parents for start in (parent, parent + half)]
