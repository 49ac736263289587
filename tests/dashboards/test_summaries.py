"""The summary job: incremental equals rebuilt equals raw, after random sequences of events; the
safe horizon; idempotence."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db.models import Sum
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from calls.models import Call
from patients.models import DeathRecord, HospitalAdmission
from referrals.models import Referral
from spoc.accounts.roles import Role, roles_sync
from spoc.dashboards.blocks import response_bucket
from spoc.dashboards.models import (
    SUMMARY_MODELS,
    CallDayStat,
    CallHourStat,
    DeathBlockStat,
    EquityDeathStat,
    EquityReferralStat,
    InterventionDayStat,
    ReferralDayStat,
    ResponseBlockStat,
    ResponseMinuteStat,
    SummaryPendingDay,
    SummaryWatermark,
)
from spoc.dashboards.selectors import (
    DashboardScope,
    patients_supported,
    period_blocks,
    response_histograms,
)
from spoc.dashboards.services import summaries_rebuild, summaries_refresh
from tests.dashboards import builders
from tests.dashboards.builders import random_histories
from tests.factories import TeamFactory, UserFactory

BLOCKED = (
    (CallDayStat, ("calls", "overrides")),
    (InterventionDayStat, ("interventions", "bed_days_saved", "primary_care_avoided")),
    (ReferralDayStat, ("referrals", "contacted_on_time", "contacted_late")),
    (ResponseBlockStat, ("referrals",)),
    (
        DeathBlockStat,
        (
            "deaths",
            "preferred_place_achieved",
            "first_preference_achieved",
            "preferred_care_achieved",
            "three_plus_admissions",
        ),
    ),
    (EquityReferralStat, ("referrals", "contacted_on_time", "contacted_late")),
    (EquityDeathStat, ("deaths", "preference_recorded", "first_preference_achieved")),
)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for model in SUMMARY_MODELS:
        fields = [f.name for f in model._meta.fields if f.name != "id"]
        out[model.__name__] = sorted(model._default_manager.values_list(*fields))
    return out


def raw_rows() -> list[tuple[datetime, int, str, int | None]]:
    """(moment, team or 0, priority, patient) of every call with a patient and every referral."""
    calls = [
        (c.received_at, 0, c.chosen_priority, c.patient_id)
        for c in Call.objects.exclude(patient=None)
    ]
    return calls + [
        (r.created_at, r.team_id or 0, r.priority, r.patient_id) for r in Referral.objects.all()
    ]


# One step of a random history: (operation, day offset, hour, choice).
step = st.tuples(
    st.sampled_from(
        [
            "call",
            "referral",
            "claim",
            "contact",
            "reroute",
            "intervention",
            "death",
            "admission",
            "refresh",
        ]
    ),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=23),
    st.integers(0, 4),
)


def refreshed_equals_rebuilt() -> dict[str, Any]:
    """Refresh the summaries, check that rebuilding them from nothing gives the same rows, and
    return them."""
    summaries_refresh(horizon_seconds=0)
    incremental = snapshot()
    summaries_rebuild()
    assert snapshot() == incremental
    return incremental


class TestIncrementalEqualsRebuild(TestCase):
    @random_histories
    @given(steps=st.lists(step, min_size=1, max_size=14))
    def test_random_histories(self, steps: list[tuple[str, int, int, int]]) -> None:
        roles_sync()
        user = UserFactory(username="prop_user")
        user.groups.add(Group.objects.get(name=Role.CALL_HANDLER))
        teams = [TeamFactory(), TeamFactory()]
        # 2026-10-10 onwards: the window spans the October clock change.
        base = builders.local(2026, 10, 10)
        calls: list[Call] = []
        referrals: list[Referral] = []
        for operation, day, hour, choice in steps:
            at = base + timedelta(days=day, hours=hour)
            if operation == "call" or (operation != "refresh" and not calls):
                calls.append(
                    builders.call_at(
                        at,
                        user=user,
                        chosen=f"P{choice + 1}",
                        suggested="P2",
                        patient=calls[choice % len(calls)].patient
                        if calls and choice % 2
                        else None,
                    )
                )
                # A new patient's groups (an edit of a known patient's reaches the summaries
                # only with a later row or a rebuild, docs/metrics.md "Equity").
                if not (calls[:-1] and choice % 2):
                    builders.equity_of(
                        calls[-1].patient,
                        ethnic=("A", "M", "99")[choice % 3],
                        diagnosis=("CANCER", "RESPIRATORY")[hour % 2],
                        postcode=("L9 7AL", "L20 3AB")[day % 2],
                        decile=(3, None)[day % 2],
                    )
            elif operation == "referral":
                call = calls[choice % len(calls)]
                team = teams[choice % 2] if choice else None
                referrals.append(
                    builders.referral_for(
                        call,
                        team=team,
                        status="QUEUED" if team else "AWAITING_ROUTING",
                        priority=f"P{choice + 1}",
                        contact_by=call.received_at + timedelta(hours=2),
                    )
                )
            elif operation in {"claim", "contact", "reroute", "intervention"} and referrals:
                referral = referrals[choice % len(referrals)]
                if operation == "claim":
                    builders.referral_change(
                        referral,
                        status="ACCEPTED",
                        owner=user,
                        team=referral.team or teams[0],
                        accepted_at=referral.created_at + timedelta(minutes=hour * 7),
                    )
                elif operation == "contact":
                    builders.referral_change(
                        referral,
                        kind="CONTACTED",
                        status="IN_PROGRESS",
                        owner=user,
                        team=referral.team or teams[0],
                        first_contact_at=referral.created_at + timedelta(minutes=day * 97),
                    )
                elif operation == "reroute":
                    builders.referral_change(
                        referral,
                        kind="ROUTED",
                        team=teams[(choice + 1) % 2],
                        priority=f"P{choice + 1}",
                        status=referral.status if referral.team else "QUEUED",
                    )
                else:
                    builders.intervention_for(
                        referral,
                        at=at,
                        user=user,
                        bed_days=choice or None,
                        primary_care=choice % 2 == 0,
                    )
            elif operation == "death":
                patient = calls[choice % len(calls)].patient
                if patient is not None and not DeathRecord.objects.filter(patient=patient).exists():
                    builders.death_of(
                        patient,
                        at=at,
                        place=("21", "30", "10")[hour % 3],
                        first="20" if choice else "",
                        second="30" if choice > 1 else "",
                        care_preferred="21" if hour % 2 else "",
                        last_days_place=("21", "30", "")[day % 3],
                        user=user,
                        usual_residence="OWN_HOME" if choice % 2 else "",
                    )
            elif operation == "admission":
                patient = calls[choice % len(calls)].patient
                on, emergency = (at - timedelta(days=choice * 20)).date(), choice != 3
                # One admission of a kind per patient and day (admission_unique_per_day): a
                # drawn repeat of the same step adds nothing.
                if (
                    patient is not None
                    and not HospitalAdmission.objects.filter(
                        patient=patient, admitted_on=on, emergency=emergency
                    ).exists()
                ):
                    builders.admission_of(patient, on=on, emergency=emergency)
            if operation == "refresh":
                summaries_refresh(horizon_seconds=0)
        incremental = refreshed_equals_rebuilt()
        # And both equal the raw tables.
        assert sum(r[-1] for r in incremental["CallHourStat"]) == Call.objects.count()
        assert (
            sum(r[6] for r in incremental["ReferralDayStat"] if r[0] == 0)
            == Referral.objects.count()
        )
        raw_pairs = {(r.team_id or 0, r.patient_id) for r in Referral.objects.all()}
        assert {(row[1], row[3]) for row in incremental["PatientDay"] if row[1] != 0} == {
            p for p in raw_pairs if p[0] != 0
        }
        assert len(incremental["DeathOutcome"]) == DeathRecord.objects.count()
        # Each referral in each equity breakdown once, in its patient's group now; each death too.
        for dimension, group_of in (
            ("ETHNIC", lambda p: p.ethnic_category),
            ("DIAGNOSIS", lambda p: p.diagnosis_group),
            ("DEPRIVATION", lambda p: "3" if p.postcode == "L9 7AL" else ""),
        ):
            raw = Counter(group_of(r.patient) for r in Referral.objects.select_related("patient"))
            kept: Counter[str] = Counter()
            for referral_row in EquityReferralStat.objects.filter(level=0, dimension=dimension):
                kept[referral_row.grp] += referral_row.referrals
            assert +kept == raw
            died = Counter(
                group_of(d.patient) for d in DeathRecord.objects.select_related("patient")
            )
            kept_deaths: Counter[str] = Counter()
            for death_row in EquityDeathStat.objects.filter(level=0, dimension=dimension):
                kept_deaths[death_row.grp] += death_row.deaths
            assert +kept_deaths == died
        open_ids = set(
            Referral.objects.filter(
                status__in=["AWAITING_ROUTING", "QUEUED", "ACCEPTED", "IN_PROGRESS", "ON_HOLD"]
            ).values_list("pk", flat=True)
        )
        assert {row[0] for row in incremental["OpenReferral"]} == open_ids
        # Distinct patients from the first-day rows equal the raw distinct count, for any range.
        for first, last in [(0, 40), (3, 9), (10, 10), (20, 35)]:
            date_from, date_to = (
                (base + timedelta(days=first)).date(),
                (base + timedelta(days=last)).date(),
            )
            in_range = [
                (d.astimezone(builders.LONDON).date(), team, priority, patient)
                for d, team, priority, patient in raw_rows()
            ]
            in_range = [r for r in in_range if date_from <= r[0] <= date_to]
            for team in [None, *teams]:
                for priority in [None, "P1", "P2"]:
                    expected = {
                        r[3]
                        for r in in_range
                        if (team is None or r[1] == team.pk)
                        and (priority is None or r[2] == priority)
                    }
                    scope = DashboardScope(
                        date_from,
                        date_to,
                        priority,
                        None,
                        team.pk if team else None,
                        (team.pk,) if team else None,
                        suppress=False,
                        own_team_ids=(),
                    )
                    assert patients_supported(scope=scope) == len(expected)
                    # The histogram blocks of the range equal its per-minute rows, bucketed.
                    per_minute: dict[tuple[str, str], dict[int, int]] = {}
                    for row in ResponseMinuteStat.objects.filter(
                        local_date__gte=date_from, local_date__lte=date_to
                    ):
                        if (team is None or row.team_id == team.pk) and (
                            priority is None or row.priority == priority
                        ):
                            for key in ((row.metric, row.priority), (row.metric, "All")):
                                histogram = per_minute.setdefault(key, {})
                                bucket = response_bucket(row.minutes)
                                histogram[bucket] = histogram.get(bucket, 0) + row.referrals
                    assert {
                        k: dict(v) for k, v in response_histograms(scope=scope).items()
                    } == per_minute
            # The tables kept in blocks: the period's blocks add up to its days.
            for model, counts in BLOCKED:
                days = model.objects.filter(
                    level=0, local_date__gte=date_from, local_date__lte=date_to
                )
                blocks = model.objects.filter(
                    period_blocks(
                        DashboardScope(
                            date_from,
                            date_to,
                            None,
                            None,
                            None,
                            None,
                            suppress=False,
                            own_team_ids=(),
                        )
                    )
                )
                assert blocks.aggregate(*map(Sum, counts)) == days.aggregate(*map(Sum, counts))


@pytest.mark.django_db
def test_safe_horizon_holds_back_new_ids(make_user: Any) -> None:
    handler = make_user(Role.CALL_HANDLER, username="handler_hz")
    builders.call_at(builders.local(2026, 3, 2, 9), user=handler)
    now = timezone.now()
    # First run only notes the largest id; nothing is read yet.
    first = summaries_refresh(now=now, horizon_seconds=60)
    assert first.ranges["calls"][1] == 0 and CallHourStat.objects.count() == 0
    # Within the horizon: still nothing.
    summaries_refresh(now=now + timedelta(seconds=30), horizon_seconds=60)
    assert CallHourStat.objects.count() == 0
    # Once the noted id is a horizon old, it is read.
    third = summaries_refresh(now=now + timedelta(seconds=61), horizon_seconds=60)
    assert third.ranges["calls"][1] == Call.objects.get().pk
    assert CallHourStat.objects.get().calls == 1
    assert SummaryWatermark.objects.get(source="calls").last_id == Call.objects.get().pk


@pytest.mark.django_db
def test_refresh_twice_changes_nothing(make_user: Any) -> None:
    handler = make_user(Role.CALL_HANDLER, username="handler_tw")
    team = TeamFactory()
    builders.referral_for(builders.call_at(builders.local(2026, 3, 2, 9), user=handler), team=team)
    summaries_refresh(horizon_seconds=0)
    before = snapshot()
    again = summaries_refresh(horizon_seconds=0)
    assert again.dates == 0
    assert snapshot() == before
    assert sum(r[6] for r in before["ReferralDayStat"] if r[0] == 0) == 1


@pytest.mark.django_db
def test_catching_up_is_spread_over_runs_oldest_days_first(make_user: Any, settings: Any) -> None:
    """After a long stop, each run recomputes at most DASHBOARD_MAX_DAYS_PER_RUN dates, the
    oldest first; the rest wait for the next runs, none is lost, and the result equals a rebuild."""
    settings.DASHBOARD_MAX_DAYS_PER_RUN = 3
    handler = make_user(Role.CALL_HANDLER, username="handler_cap")
    team = TeamFactory()
    days = [builders.local(2026, 3, day, 9) for day in range(2, 12)]
    for at in reversed(days):
        builders.referral_for(builders.call_at(at, user=handler), team=team)

    first = summaries_refresh(horizon_seconds=0)
    assert (first.dates, first.pending) == (3, 7)
    assert set(CallHourStat.objects.values_list("local_date", flat=True)) == {
        at.date() for at in days[:3]
    }
    assert SummaryPendingDay.objects.count() == 7

    # Rows arriving during the catch-up (a day already done, a newer day) are not lost either.
    builders.call_at(days[0] + timedelta(hours=2), user=handler)
    builders.call_at(builders.local(2026, 3, 20, 9), user=handler)
    runs = []
    while True:
        run = summaries_refresh(horizon_seconds=0)
        runs.append((run.dates, run.pending))
        if run.pending == 0:
            break
    assert all(dates <= 3 for dates, _ in runs)
    # 2 Mar again and 20 Mar join the 7 waiting dates: 9 dates in three runs of 3.
    assert runs == [(3, 6), (3, 3), (3, 0)]
    assert summaries_refresh(horizon_seconds=0).dates == 0
    assert sum(row.calls for row in CallHourStat.objects.all()) == Call.objects.count() == 12
    refreshed_equals_rebuilt()


@pytest.mark.django_db
def test_a_rebuild_forgets_the_pending_days(make_user: Any) -> None:
    handler = make_user(Role.CALL_HANDLER, username="handler_cap_rebuild")
    for day in (2, 3, 4):
        builders.call_at(builders.local(2026, 3, day, 9), user=handler)
    assert summaries_refresh(horizon_seconds=0, max_days=1).pending == 2
    summaries_rebuild()
    assert not SummaryPendingDay.objects.exists()
    assert sum(row.calls for row in CallHourStat.objects.all()) == 3
    assert summaries_refresh(horizon_seconds=0, max_days=1).dates == 0
