"""The demo rota: somebody on duty in every team at any hour, but for the night team's gap."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from devtools.demo.directory import seed_directory
from devtools.demo.rota import GAP_TEAM, seed_rota
from devtools.demo.users import seed_users
from rota.models import ShiftChange, ShiftPattern
from rota.occurrences import LONDON
from rota.selectors import on_duty, rota_overview
from services.models import Team

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("hour", [2, 9, 15, 21])
def test_every_demo_team_has_somebody_on_duty_but_the_night_teams_gap(hour: int) -> None:
    seeded_at = datetime(2026, 6, 10, hour, 30, tzinfo=LONDON)
    with time_machine.travel(seeded_at, tick=False):
        users = seed_users(password="x")
        services = seed_directory(users=users)
        seed_rota(users=users, services=services, now=timezone.now())
        seed_rota(users=users, services=services, now=timezone.now())  # idempotent
        teams = {t.pk: t.name for t in Team.objects.all()}
        duty = on_duty(team_ids=teams, at=seeded_at)
        covered = {teams[t] for t, people in duty.items() if people}
        expected = set(teams.values()) - ({GAP_TEAM} if hour in (2, 21) else set())
        assert covered == expected
        gaps = rota_overview(now=seeded_at, hours=12).gaps
        assert [g.team.name for g in gaps] == [GAP_TEAM]
        assert ShiftPattern.objects.count() == 2 * len(teams)
        assert ShiftChange.objects.count() == 1
        phones = {p.phone.as_e164 for p in ShiftPattern.objects.all()}
        assert len(phones) == 2 * len(teams)
        assert all(phone.startswith("+447700900") for phone in phones)


def test_the_demo_gap_is_tonight_from_8_pm(settings: Any) -> None:
    seeded_at = datetime(2026, 6, 10, 9, 30, tzinfo=LONDON)
    with time_machine.travel(seeded_at, tick=False):
        users = seed_users(password="x")
        seed_rota(users=users, services=seed_directory(users=users), now=timezone.now())
        (gap,) = rota_overview(now=seeded_at, hours=12).gaps
    assert gap.starts_at == datetime(2026, 6, 10, 20, tzinfo=LONDON)
    assert gap.sentence(now=seeded_at) == f"{GAP_TEAM} has nobody on duty from today 20:00"
    assert gap.open_ended and gap.ends_at == seeded_at + timedelta(hours=12)
