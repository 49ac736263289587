from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import time
from typing import Any

import pytest
import time_machine

from rota.models import ShiftPattern
from services.models import Team, TeamMembership
from spoc.accounts.roles import Role
from tests.clock import WEEKDAY_MORNING
from tests.rota.factories import pattern
from tests.services.directory_fixtures import every_day, make_service


@pytest.fixture
def morning() -> Iterator[Any]:
    """Wednesday 10 June 2026, 10:30 London; the clock stands still."""
    with time_machine.travel(WEEKDAY_MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rota_team(db: None) -> Team:
    """A team whose service is open 08:00-22:00 every day."""
    return make_service("Evening Star", "COMMUNITY_SPC", hours=every_day(8, 22)).team


@pytest.fixture
def lead(make_user: Callable[..., Any], rota_team: Team) -> Any:
    user = make_user(Role.TEAM_LEAD, username="rota-lead", email="lead@example.nhs.uk")
    TeamMembership.objects.create(user=user, team=rota_team, role=TeamMembership.Role.LEAD)
    return user


@pytest.fixture
def nurse(make_user: Callable[..., Any], rota_team: Team) -> Any:
    user = make_user(
        Role.SPECIALIST_NURSE, username="sian.obrien", first_name="Siân", last_name="O'Brien"
    )
    TeamMembership.objects.create(user=user, team=rota_team)
    return user


@pytest.fixture
def day_pattern(rota_team: Team, nurse: Any) -> ShiftPattern:
    """The nurse, 08:00-16:00 every day: 16:00-22:00 is a gap every day."""
    return pattern(rota_team, nurse, start=time(8), end=time(16))
