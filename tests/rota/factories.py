"""Rota rows for tests, made directly (the services are tested on their own)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from django.contrib.auth.models import Group
from django.utils import timezone

from rota.models import ShiftChange, ShiftPattern, ShiftRole
from rota.occurrences import LONDON, mask_of
from services.models import Team, TeamMembership
from spoc.accounts.roles import Role, roles_sync
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory

DEMO_PHONE = "+447700900123"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in London."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def member(team: Team, *, lead: bool = False, **user_fields: Any) -> Any:
    """A nurse (a team lead with ``lead``) of ``team``: a role that works shifts."""
    roles_sync()
    user = UserFactory(**user_fields)
    user.groups.add(Group.objects.get(name=Role.TEAM_LEAD if lead else Role.SPECIALIST_NURSE))
    TeamMembershipFactory(
        user=user,
        team=team,
        role=TeamMembership.Role.LEAD if lead else TeamMembership.Role.MEMBER,
    )
    return user


def pattern(
    team: Team,
    person: Any,
    *,
    weekdays: Iterable[int] = range(7),
    start: time = time(8),
    end: time = time(20),
    valid_from: date = date(2026, 1, 1),
    valid_until: date | None = None,
    on_bank_holidays: bool = True,
    role: str = ShiftRole.SPECIALIST_NURSE,
    phone: str = DEMO_PHONE,
) -> ShiftPattern:
    return ShiftPattern.objects.create(
        team=team,
        user=person,
        role=role,
        phone=phone,
        weekdays=mask_of(weekdays),
        start_time=start,
        end_time=end,
        valid_from_date=valid_from,
        valid_until_date=valid_until,
        runs_on_bank_holidays=on_bank_holidays,
        created_by=person,
        created_at=timezone.now(),
    )


def extra(
    team: Team,
    person: Any,
    starts_at: datetime,
    ends_at: datetime,
    *,
    role: str = ShiftRole.DOCTOR,
    phone: str = "+447700900456",
) -> ShiftChange:
    return ShiftChange.objects.create(
        team=team,
        kind=ShiftChange.Kind.EXTRA,
        user=person,
        role=role,
        phone=phone,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=person,
        created_at=timezone.now(),
    )


def cancel(shift_pattern: ShiftPattern, day: date) -> ShiftChange:
    return ShiftChange.objects.create(
        team=shift_pattern.team,
        kind=ShiftChange.Kind.CANCELLED,
        pattern=shift_pattern,
        occurrence_date=day,
        created_by=shift_pattern.user,
        created_at=timezone.now(),
    )


def team_with_cover(name: str = "Night team", **fields: Any) -> tuple[Team, Any, Any]:
    """A team with a day person (08:00-20:00) and a night person (20:00-08:00) every day."""
    team = TeamFactory(name=name, **fields)
    day_person = member(team, first_name="Siân", last_name="O'Brien")
    night_person = member(team, first_name="Minh", last_name="Nguyễn")
    pattern(team, day_person)
    pattern(team, night_person, start=time(20), end=time(8), phone="+447700900999")
    return team, day_person, night_person
