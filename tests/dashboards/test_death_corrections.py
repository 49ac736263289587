"""A death corrected or withdrawn reaches every figure that depends on it (docs/metrics.md,
"Deaths"): random histories of deaths recorded, corrected (time, place) and withdrawn through the
real services, the job run after each; at the end the summaries equal a rebuild and both equal
the figures worked out from the death records themselves."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import time_machine
from django.contrib.auth.models import Group
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from calls.models import CallBack
from patients.codes import PlaceOfDeath
from patients.models import CarePlan, DeathRecord
from referrals.models import Referral
from referrals.transitions import OPEN_STATUSES
from spoc.accounts.roles import Role, roles_sync
from spoc.dashboards.models import CallBackDayStat, DeathBlockStat, OpenCallBack, OpenReferral
from spoc.dashboards.selectors import DashboardScope, dashboard_figures
from spoc.dashboards.services import summaries_refresh
from tests.dashboards import builders
from tests.dashboards.builders import random_histories, table_rows
from tests.dashboards.test_summaries import refreshed_equals_rebuilt
from tests.factories import TeamFactory, UserFactory
from workspace.services import death_correct, death_record, death_withdraw

BASE = builders.local(2026, 10, 10)  # the window spans the October clock change
NOW = BASE + timedelta(days=50)
PLACES = [PlaceOfDeath.OWN_HOME, PlaceOfDeath.HOSPITAL, PlaceOfDeath.HOSPICE]

step = st.tuples(
    st.sampled_from(["record", "correct_time", "correct_place", "withdraw"]),
    st.integers(min_value=0, max_value=2),  # which patient
    st.integers(min_value=0, max_value=40),  # day of the window
    st.integers(min_value=0, max_value=23),  # hour
)


def expected_deaths() -> dict[str, list[int]]:
    """The deaths table worked out from the death records standing, by hand."""
    standing = list(DeathRecord.objects.recorded())
    preference = [d for d in standing if d.preferred_place_achieved is not None]
    return {
        "Died in first preferred place (benchmark)": [
            sum(1 for d in preference if d.first_preference_achieved),
            len(preference),
        ],
        "Died in first or second preferred place": [
            sum(1 for d in preference if d.preferred_place_achieved),
            len(preference),
        ],
        "No preferred place recorded": [len(standing) - len(preference), len(standing)],
    }


class TestCorrectionsRecomputeTheFigures(TestCase):
    @random_histories
    @given(steps=st.lists(step, min_size=2, max_size=10))
    def test_random_corrections(self, steps: list[tuple[str, int, int, int]]) -> None:
        roles_sync()
        user = UserFactory(username="coordinator_prop", is_clinician=True)
        user.groups.add(Group.objects.get(name=Role.SPOC_COORDINATOR))
        teams = [TeamFactory(), TeamFactory()]
        patients = []
        with time_machine.travel(BASE, tick=False):
            for index in range(3):
                call = builders.call_at(
                    BASE + timedelta(hours=index), user=user, chosen="P3", suggested="P3"
                )
                assert call.patient is not None
                # A referral on day 0 and another on day 20: the team a death counts for is the
                # latest referral's before it, so a corrected time can move it.
                for day, team in ((0, teams[0]), (20, teams[1])):
                    later = builders.call_at(
                        BASE + timedelta(days=day, hours=index + 1),
                        user=user,
                        chosen="P3",
                        suggested="P3",
                        patient=call.patient,
                    )
                    builders.referral_for(later, team=team, status="QUEUED")
                CallBack.objects.create(
                    call=call, patient=call.patient, due_at=BASE + timedelta(days=45)
                )
                if index:
                    CarePlan.objects.create(
                        patient=call.patient,
                        version=1,
                        ppd_first=PLACES[index],
                        created_at=BASE,
                        created_by=user,
                    )
                patients.append(call.patient)
        with time_machine.travel(NOW, tick=False):
            for operation, which, day, hour in steps:
                patient = patients[which]
                at = BASE + timedelta(days=day, hours=hour)
                standing = DeathRecord.objects.recorded().filter(patient=patient).first()
                if operation == "record" and standing is None:
                    death_record(
                        patient_id=patient.pk,
                        user=user,
                        died_at=at,
                        place=PLACES[(day + which) % 3],
                        expected=True,
                        verified_by="",
                        bereavement_for=[],
                    )
                elif operation == "correct_time" and standing and standing.died_at != at:
                    death_correct(
                        patient_id=patient.pk,
                        user=user,
                        reason="The time was the verification's",
                        changes={"died_at": at},
                    )
                elif operation == "correct_place" and standing:
                    place = PLACES[(PLACES.index(standing.place) + 1) % 3]  # type: ignore[arg-type]
                    death_correct(
                        patient_id=patient.pk,
                        user=user,
                        reason="The place was wrong",
                        changes={"place": place},
                    )
                elif operation == "withdraw" and standing:
                    death_withdraw(patient_id=patient.pk, user=user, reason="Wrong patient")
                # The job runs after each step, so that every correction reaches summaries
                # already kept (a rebuild would hide a figure the job left stale).
                summaries_refresh(horizon_seconds=0)
            incremental = refreshed_equals_rebuilt()

            # One outcome row per death standing, on its local date, none for a withdrawn one.
            standing_deaths = list(DeathRecord.objects.recorded())
            assert sorted((row[0], row[2]) for row in incremental["DeathOutcome"]) == sorted(
                (d.pk, d.died_at.astimezone(builders.LONDON).date()) for d in standing_deaths
            )
            by_day = Counter(d.died_at.astimezone(builders.LONDON).date() for d in standing_deaths)
            assert (
                Counter(
                    {
                        day: n
                        for day, n in _level_zero_deaths().items()
                        if n  # a day whose deaths all moved away keeps no row
                    }
                )
                == by_day
            )
            # The deaths table over the whole window equals the records'.
            figures = dashboard_figures(
                scope=DashboardScope(
                    BASE.date(),
                    (BASE + timedelta(days=45)).date(),
                    None,
                    None,
                    None,
                    None,
                    suppress=False,
                    own_team_ids=(),
                ),
                now=NOW,
            )
            rows = {row[0]: row[1:3] for row in table_rows(figures, "deaths")}
            for label, counts in expected_deaths().items():
                assert rows[label] == counts, label
            # Referrals closed by a death withdrawn are open again, and counted open; call-backs
            # it cancelled are pending again, and counted pending.
            open_ids = set(
                Referral.objects.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True)
            )
            assert set(OpenReferral.objects.values_list("referral_id", flat=True)) == open_ids
            pending = set(
                CallBack.objects.filter(status=CallBack.Status.PENDING).values_list("pk", flat=True)
            )
            assert set(OpenCallBack.objects.values_list("call_back_id", flat=True)) == pending
            cancelled = CallBack.objects.filter(status=CallBack.Status.CANCELLED).count()
            assert (
                sum(CallBackDayStat.objects.filter(level=0).values_list("cancelled", flat=True))
                == cancelled
            )


def _level_zero_deaths() -> Counter[date]:
    counts: Counter[date] = Counter()
    for day, deaths in DeathBlockStat.objects.filter(level=0).values_list("local_date", "deaths"):
        counts[day] += deaths
    return counts
