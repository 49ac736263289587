"""Response-time buckets and blocks (spoc/dashboards/blocks.py)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from spoc.dashboards.blocks import (
    BLOCK_EPOCH,
    MAX_BLOCK_LEVEL,
    block_parents,
    block_pieces,
    block_start,
    bucket_sql,
    response_bucket,
)

days = st.dates(min_value=date(1999, 6, 1), max_value=date(2031, 12, 31))


def test_buckets_by_hand() -> None:
    assert [response_bucket(m) for m in (0, 1, 59)] == [0, 1, 59]
    assert [response_bucket(m) for m in (60, 64, 65, 137, 239)] == [60, 60, 65, 135, 235]
    assert [response_bucket(m) for m in (240, 254, 255, 1_000, 1_439)] == [
        240,
        240,
        255,
        990,
        1_425,
    ]
    # 2 days 3 h 17 min: the hour it began.
    assert [response_bucket(m) for m in (1_440, 1_499, 3_077, 10_838)] == [
        1_440,
        1_440,
        3_060,
        10_800,
    ]


@pytest.mark.django_db
def test_bucket_sql_equals_python() -> None:
    minutes = [*range(0, 1_600), 2_879, 2_880, 3_077, 10_838, 100_000]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m, {bucket_sql('m')} FROM unnest(%s::int[]) AS t(m) ORDER BY m", [minutes]
        )
        assert cursor.fetchall() == [(m, response_bucket(m)) for m in minutes]


def test_bucket_sql_equals_python_on_sqlite() -> None:
    minutes = [*range(0, 1_600), 2_879, 2_880, 3_077, 10_838, 100_000]
    with sqlite3.connect(":memory:") as db:
        rows = db.execute(
            f"SELECT value, {bucket_sql('value')} FROM json_each(?) ORDER BY value",
            [json.dumps(minutes)],
        ).fetchall()
    assert rows == [(m, response_bucket(m)) for m in minutes]


@given(first=days, length=st.integers(min_value=0, max_value=1_200))
def test_pieces_cover_the_period_once_with_aligned_blocks(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    pieces = block_pieces(first, last)
    covered = []
    for level, start in pieces:
        assert 0 <= level <= MAX_BLOCK_LEVEL
        assert block_start(start, level) == start
        covered += [start + timedelta(days=n) for n in range(1 << level)]
    assert covered == [first + timedelta(days=n) for n in range(length + 1)]
    # At most two blocks of each level below the largest, and few in all.
    for level in range(MAX_BLOCK_LEVEL):
        assert sum(1 for lv, _ in pieces if lv == level) <= 2
    assert len(pieces) <= 2 * MAX_BLOCK_LEVEL + length // (1 << MAX_BLOCK_LEVEL) + 1


def test_twelve_months_take_few_pieces() -> None:
    pieces = block_pieces(date(2025, 11, 24), date(2026, 11, 23))
    assert len(pieces) <= 16
    assert block_pieces(date(2026, 3, 2), date(2026, 3, 2)) == [(0, date(2026, 3, 2))]


@given(day=days, level=st.integers(min_value=1, max_value=MAX_BLOCK_LEVEL))
def test_a_block_is_its_two_halves(day: date, level: int) -> None:
    parents, [(parent, first), (same, second)] = block_parents([day], level)
    assert parents == [parent] and parent == same == block_start(day, level)
    assert first == block_start(day, level - 1) or second == block_start(day, level - 1)
    assert (second - first).days == 1 << (level - 1) and (parent - BLOCK_EPOCH).days % (
        1 << level
    ) == 0
