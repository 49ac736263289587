"""The phone figures (docs/metrics.md "Phone calls offered" to "Call-backs on time"): on a
hand-built history worked out by hand, kept by the job as the rebuild keeps them, and equal to a
computation from the raw phone calls and call-backs after random histories."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from calls.models import CallBack, TelephonyCall
from spoc.dashboards.blocks import wait_bucket
from spoc.dashboards.models import OpenCallBack, TelephonyHourStat
from spoc.dashboards.selectors import (
    WEEKDAYS,
    DashboardScope,
    dashboard_figures,
    percentile,
)
from spoc.dashboards.services import summaries_rebuild, summaries_refresh
from tests.dashboards.builders import (
    LONDON,
    local,
    phone_call,
    phone_events,
    random_histories,
    table_rows,
)
from tests.dashboards.parity import utc
from tests.dashboards.test_summaries import refreshed_equals_rebuilt, snapshot

NOW = local(2026, 10, 26, 12)


def _scope(
    *,
    suppress: bool = False,
    date_from: date = date(2026, 3, 1),
    date_to: date = date(2026, 10, 31),
    team_ids: tuple[int, ...] | None = None,
    priority: str | None = None,
) -> DashboardScope:
    return DashboardScope(
        date_from, date_to, priority, None, None, team_ids, suppress=suppress, own_team_ids=()
    )


def _tiles(figures: dict[str, Any]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in figures["tiles"]}


def _call_back(phone: TelephonyCall, *, due_at: datetime, **fields: Any) -> CallBack:
    """The phone call's call-back (made by the telephony service for a call nobody answered, or
    booked here for one that was), due at ``due_at``, with these fields."""
    call_back, _ = CallBack.objects.update_or_create(
        telephony_call=phone, defaults={"due_at": due_at, **fields}
    )
    return call_back


@pytest.fixture
def history() -> dict[str, TelephonyCall]:
    """Ten phone calls either side of local midnight and on both clock-change days of 2026, and
    call-backs done before, on and after their due time."""
    calls = {
        # Saturday 24 October 2026 (BST).
        "answered_59": phone_call(
            "a59", rang_at=local(2026, 10, 24, 10), answered_after=59, ended_after=300
        ),
        "answered_61": phone_call(
            "a61", rang_at=local(2026, 10, 24, 10, 30), answered_after=61, ended_after=300
        ),
        # 23:59:55 on Saturday; the caller gives up on Sunday, at 00:00:05.
        "abandoned_10": phone_call(
            "ab10",
            rang_at=local(2026, 10, 24, 23, 59) + timedelta(seconds=55),
            ended_after=10,
            ending="abandoned",
        ),
        # Sunday 25 October, the 25-hour day: 00:00:30 BST.
        "abandoned_180": phone_call(
            "ab180",
            rang_at=local(2026, 10, 25, 0, 0) + timedelta(seconds=30),
            ended_after=180,
            ending="abandoned",
        ),
        # 01:30 BST and 01:30 GMT: the first and the second 01:00 hour.
        "missed": phone_call("miss", rang_at=utc(2026, 10, 25, 0, 30), ended_after=120),
        "voicemail": phone_call(
            "vm", rang_at=utc(2026, 10, 25, 1, 30), ended_after=40, ending="voicemail"
        ),
        "answered_60": phone_call(
            "a60", rang_at=local(2026, 10, 25, 12), answered_after=60, ended_after=90
        ),
        # Sunday 29 March, the 23-hour day: 00:59:59 GMT, then 02:00 BST.
        "march_before": phone_call(
            "m1", rang_at=utc(2026, 3, 29, 0, 59, 59), answered_after=5, ended_after=65
        ),
        "march_after": phone_call(
            "m2", rang_at=utc(2026, 3, 29, 1), answered_after=120, ended_after=400
        ),
        # Monday 26 October, 09:00 GMT: still ringing.
        "ringing": phone_call("ring", rang_at=local(2026, 10, 26, 9)),
    }
    due = local(2026, 10, 25, 9)
    _call_back(
        calls["abandoned_10"], due_at=due, status="DONE", done_at=due - timedelta(minutes=10)
    )
    _call_back(calls["abandoned_180"], due_at=due, status="DONE", done_at=due)
    _call_back(calls["missed"], due_at=due, status="DONE", done_at=due + timedelta(minutes=1))
    _call_back(calls["voicemail"], due_at=due, status="CANCELLED", done_at=due)
    # Booked after answered calls: overdue now, not due yet, and due after the period.
    _call_back(calls["answered_59"], due_at=local(2026, 10, 26, 10), status="PENDING")
    _call_back(calls["answered_61"], due_at=local(2026, 10, 26, 15), status="PENDING")
    _call_back(
        calls["answered_60"],
        due_at=local(2026, 11, 1, 10),
        status="DONE",
        done_at=local(2026, 11, 2, 10),
    )
    summaries_refresh(horizon_seconds=0)
    return calls


@pytest.mark.django_db
def test_phone_figures_worked_out_by_hand(history: dict[str, TelephonyCall]) -> None:
    assert {k: c.outcome for k, c in history.items()} == {
        "answered_59": "ANSWERED",
        "answered_61": "ANSWERED",
        "abandoned_10": "ABANDONED",
        "abandoned_180": "ABANDONED",
        "missed": "MISSED",
        "voicemail": "VOICEMAIL",
        "answered_60": "ANSWERED",
        "march_before": "ANSWERED",
        "march_after": "ANSWERED",
        "ringing": "RINGING",
    }
    figures = dashboard_figures(scope=_scope(), now=NOW)
    assert table_rows(figures, "phone_calls") == [
        ["Offered", 10, None],
        ["Answered", 5, 50.0],
        # 59 s, 60 s and 5 s; not 61 s nor 120 s.
        ["Answered within 60 s", 3, 30.0],
        ["Abandoned", 2, 20.0],
        ["Missed", 1, 10.0],
        ["Voicemail", 1, 10.0],
    ]
    # Waits to answer 5, 59, 60, 61 (bucket 60) and 120 s; to abandonment 10 and 180 s.
    assert table_rows(figures, "phone_waits") == [
        ["Wait to answer", 5, 60, 120],
        ["Wait to abandonment", 2, 10, 180],
    ]
    by_hour = {row[0]: row[1:] for row in table_rows(figures, "phone_calls_by_hour")}
    assert len(by_hour) == 24
    # 00: the Sunday abandoned at 00:00:30 and 29 March's 00:59:59; 01: both 01:30s of 25
    # October; 02: 29 March's 02:00 BST; 23: the Saturday call given up after midnight.
    assert by_hour["00:00"] == [2, 1, 50.0, 1, 50.0]
    assert by_hour["01:00"] == [2, 0, 0.0, 0, 0.0]
    assert by_hour["02:00"] == [1, 0, 0.0, 0, 0.0]
    assert by_hour["09:00"] == [1, 0, 0.0, 0, 0.0]
    assert by_hour["10:00"] == [2, 1, 50.0, 0, 0.0]
    assert by_hour["12:00"] == [1, 1, 100.0, 0, 0.0]
    assert by_hour["23:00"] == [1, 0, 0.0, 1, 100.0]
    assert sum(row[0] for row in by_hour.values()) == 10
    assert by_hour["03:00"] == [0, 0, None, 0, None]
    by_weekday = {row[0]: row[1:] for row in table_rows(figures, "phone_calls_by_weekday")}
    assert list(by_weekday) == list(WEEKDAYS)
    assert by_weekday["Saturday"] == [3, 1, 33.3, 1, 33.3]
    assert by_weekday["Sunday"] == [6, 2, 33.3, 1, 16.7]
    assert by_weekday["Monday"] == [1, 0, 0.0, 0, 0.0]
    assert by_weekday["Tuesday"] == [0, 0, None, 0, None]
    # Due in the period: two done by their due time (one exactly on it), one done a minute late,
    # one pending and overdue at noon on 26 October; the cancelled one, the one due at 15:00 and
    # the one due in November are left out.
    assert table_rows(figures, "call_backs") == [["Due in the period", 4, 2, 1, 1, 50.0]]
    tiles = _tiles(figures)
    assert tiles["phone_calls_offered"] == 10
    assert tiles["answered_in_target"] == 30.0
    assert tiles["abandoned"] == 20.0
    assert tiles["call_backs_on_time"] == 50.0
    # The 25-hour day keeps its two 01:00 hours apart; the 23-hour day has no 01:00.
    assert (
        TelephonyHourStat.objects.filter(local_date=date(2026, 10, 25), local_hour=1).count() == 2
    )
    assert list(
        TelephonyHourStat.objects.filter(local_date=date(2026, 3, 29))
        .order_by("hour_start_at")
        .values_list("local_hour", flat=True)
    ) == [0, 2]


@pytest.mark.django_db
def test_phone_figures_by_period_filters_and_small_numbers(
    history: dict[str, TelephonyCall],
) -> None:
    # Saturday 24 October alone: the call given up at 00:00:05 on Sunday is Saturday's.
    saturday = dashboard_figures(
        scope=_scope(date_from=date(2026, 10, 24), date_to=date(2026, 10, 24)), now=NOW
    )
    assert table_rows(saturday, "phone_calls")[0] == ["Offered", 3, None]
    assert table_rows(saturday, "phone_waits")[1] == ["Wait to abandonment", 1, 10, 10]
    assert table_rows(saturday, "call_backs") == [["Due in the period", 0, 0, 0, 0, None]]
    # The team and priority filters do not apply to the phone figures.
    filtered = dashboard_figures(scope=_scope(team_ids=(12345,), priority="P1"), now=NOW)
    everything = dashboard_figures(scope=_scope(), now=NOW)
    for key in ("phone_calls", "phone_waits", "phone_calls_by_hour", "call_backs"):
        assert table_rows(filtered, key) == table_rows(everything, key)
    # A cross-organisation view: 1 to 4 shown as <5, and percentages with a part of 1 to 4.
    suppressed = dashboard_figures(scope=_scope(suppress=True), now=NOW)
    assert table_rows(suppressed, "phone_calls")[:4] == [
        ["Offered", 10, None],
        ["Answered", 5, 50.0],
        ["Answered within 60 s", "<5", "<5"],
        ["Abandoned", "<5", "<5"],
    ]
    assert table_rows(suppressed, "call_backs") == [
        ["Due in the period", "<5", "<5", "<5", "<5", "<5"]
    ]
    assert _tiles(suppressed)["phone_calls_offered"] == 10


@pytest.mark.django_db
def test_the_job_follows_late_events_and_call_backs_done_later() -> None:
    # The answer arrives first: the call rang, as far as the hub knows, on Sunday.
    phone_events("late", ("answered", local(2026, 10, 25, 0, 0) + timedelta(seconds=10)))
    booked = phone_call("booked", rang_at=local(2026, 10, 20, 9), answered_after=5, ended_after=9)
    call_back = _call_back(booked, due_at=local(2026, 10, 21, 9), status="PENDING")
    summaries_refresh(horizon_seconds=0)
    assert OpenCallBack.objects.get().call_back_id == call_back.pk
    assert set(TelephonyHourStat.objects.values_list("local_date", flat=True)) == {
        date(2026, 10, 20),
        date(2026, 10, 25),
    }
    # Its ringing, 20 s earlier, moves it to Saturday; the call-back is done, late, and moved.
    phone_events("late", ("ringing", local(2026, 10, 24, 23, 59) + timedelta(seconds=50)))
    CallBack.objects.filter(pk=call_back.pk).update(
        status="DONE", due_at=local(2026, 10, 22, 9), done_at=local(2026, 10, 22, 10)
    )
    summaries_refresh(horizon_seconds=0)
    assert not OpenCallBack.objects.exists()
    assert set(TelephonyHourStat.objects.values_list("local_date", flat=True)) == {
        date(2026, 10, 20),
        date(2026, 10, 24),
    }
    figures = dashboard_figures(
        scope=_scope(date_from=date(2026, 10, 20), date_to=date(2026, 10, 25)), now=NOW
    )
    assert table_rows(figures, "phone_waits")[0] == ["Wait to answer", 2, 5, 20]
    assert table_rows(figures, "call_backs") == [["Due in the period", 1, 0, 1, 0, 0.0]]
    incremental = snapshot()
    summaries_rebuild()
    assert snapshot() == incremental


# --- Random histories ----------------------------------------------------------------------------

BASE = local(2026, 10, 20)
PERIODS = [(0, 12), (3, 5), (5, 5), (6, 9)]


def _raw_figures(date_from: date, date_to: date, now: datetime) -> dict[str, Any]:
    """The phone figures straight from the raw phone calls and call-backs (no summaries)."""
    offered = in_target = abandoned = 0
    by_hour: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    waits: dict[str, dict[int, int]] = {"ANSWER": defaultdict(int), "ABANDON": defaultdict(int)}
    for call in TelephonyCall.objects.all():
        rang = call.rang_at.astimezone(LONDON)
        if not date_from <= rang.date() <= date_to:
            continue
        answered_at = call.answered_at if call.outcome == "ANSWERED" else None
        ended_at = call.ended_at if call.outcome == "ABANDONED" else None
        quick = answered_at is not None and answered_at - call.rang_at <= timedelta(seconds=60)
        gave_up = ended_at is not None
        offered += 1
        in_target += quick
        abandoned += gave_up
        for n, value in enumerate((1, quick, gave_up)):
            by_hour[rang.hour][n] += value
        for metric, at in (("ANSWER", answered_at), ("ABANDON", ended_at)):
            if at is not None:
                waits[metric][wait_bucket(max(0, (at - call.rang_at) // timedelta(seconds=1)))] += 1
    on_time = late = overdue = 0
    for call_back in CallBack.objects.all():
        if not date_from <= call_back.due_at.astimezone(LONDON).date() <= date_to:
            continue
        if call_back.status == "DONE" and call_back.done_at is not None:
            on_time += call_back.done_at <= call_back.due_at
            late += call_back.done_at > call_back.due_at
        elif call_back.status == "PENDING":
            overdue += call_back.due_at < now
    due = on_time + late + overdue
    return {
        "offered": offered,
        "in_target": in_target,
        "abandoned": abandoned,
        "by_hour": {hour: counts for hour, counts in by_hour.items() if counts[0]},
        "waits": {k: (percentile(v, 0.5), percentile(v, 0.9)) for k, v in waits.items()},
        "call_backs": (on_time, late, overdue, round(100 * on_time / due, 1) if due else None),
    }


def _summary_figures(date_from: date, date_to: date, now: datetime) -> dict[str, Any]:
    figures = dashboard_figures(scope=_scope(date_from=date_from, date_to=date_to), now=now)
    calls = {row[0]: row[1] for row in table_rows(figures, "phone_calls")}
    waits = {row[0]: (row[2], row[3]) for row in table_rows(figures, "phone_waits")}
    (_, due, on_time, late, overdue, pct), *_ = table_rows(figures, "call_backs")
    assert due == on_time + late + overdue
    return {
        "offered": calls["Offered"],
        "in_target": calls["Answered within 60 s"],
        "abandoned": calls["Abandoned"],
        "by_hour": {
            int(row[0][:2]): [row[1], row[2], row[4]]
            for row in table_rows(figures, "phone_calls_by_hour")
            if row[1]
        },
        "waits": {"ANSWER": waits["Wait to answer"], "ABANDON": waits["Wait to abandonment"]},
        "call_backs": (on_time, late, overdue, pct),
    }


# One step: (operation, day offset, minute of the day, seconds, choice).
phone_step = st.tuples(
    st.sampled_from(["phone", "late_ringing", "done", "cancel", "move", "book", "refresh"]),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=0, max_value=1_439),
    st.integers(min_value=0, max_value=900),
    st.integers(0, 4),
)


class TestPhoneFiguresEqualTheRawComputation(TestCase):
    @random_histories
    @given(steps=st.lists(phone_step, min_size=1, max_size=14))
    def test_random_histories(self, steps: list[tuple[str, int, int, int, int]]) -> None:
        phones: list[TelephonyCall] = []
        for n, (operation, day, minute, seconds, choice) in enumerate(steps):
            # Local minutes from 20 October: the window spans the October clock change.
            at = (BASE + timedelta(days=day)).astimezone(UTC) + timedelta(minutes=minute)
            call_backs = list(CallBack.objects.order_by("pk"))
            pending = [c for c in call_backs if c.status == "PENDING"]
            if operation == "phone" or (operation != "refresh" and not phones):
                ending = ("ended", "abandoned", "voicemail", "ended", "ended")[choice]
                phones.append(
                    phone_call(
                        f"p{n}",
                        rang_at=at,
                        answered_after=seconds / 7 if choice in (3, 4) else None,
                        ended_after=None if choice == 4 else seconds,
                        ending=ending,
                    )
                )
            elif operation == "late_ringing":
                # A ringing heard late, up to 15 minutes before the call's first event so far.
                phone = TelephonyCall.objects.get(pk=phones[choice % len(phones)].pk)
                phone_events(
                    phone.external_id, ("ringing", phone.rang_at - timedelta(seconds=seconds))
                )
            elif operation == "book":
                phone = phones[choice % len(phones)]
                if not CallBack.objects.filter(telephony_call=phone).exists():
                    _call_back(phone, due_at=at, status="PENDING")
            elif operation in {"done", "cancel", "move"} and pending:
                call_back = pending[choice % len(pending)]
                if operation == "done":
                    call_back.status, call_back.done_at = (
                        "DONE",
                        call_back.due_at + timedelta(minutes=minute - 720),
                    )
                elif operation == "cancel":
                    call_back.status, call_back.done_at = "CANCELLED", at
                else:
                    call_back.due_at = at
                call_back.save()
            if operation == "refresh":
                summaries_refresh(horizon_seconds=0)
        refreshed_equals_rebuilt()
        now = BASE + timedelta(days=6, hours=13)
        for first, last in PERIODS:
            date_from = (BASE + timedelta(days=first)).date()
            date_to = (BASE + timedelta(days=last)).date()
            assert _summary_figures(date_from, date_to, now) == _raw_figures(
                date_from, date_to, now
            )
        assert sum(TelephonyHourStat.objects.values_list("offered", flat=True)) == len(phones)
