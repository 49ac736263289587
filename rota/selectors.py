"""Reads of the duty rota: who is on duty, the shifts over a period, the gaps in cover, and who may
read or change a team's rota (docs/operations.md "The duty rota").

Every read loads the patterns and the changes of the teams asked about in two queries, whatever
the number of teams and shifts, and hands them to the pure maths of ``rota.occurrences``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from rota.models import ShiftChange, ShiftPattern, ShiftRole
from rota.occurrences import (
    LONDON,
    Cancellation,
    OneOff,
    Pattern,
    gaps,
    shifts_between,
    weekdays_of,
    within,
)
from services.hours import open_intervals
from services.models import Closure, OpeningHours, Service, Team, TeamMembership
from services.selectors import bank_holiday_dates, service_schedule, services_with_directory_data
from spoc.core.dates import nhs_datetime

_TICK = timedelta(microseconds=1)
# rota.occurrences looks back this many local dates for occurrences still running.
_LOOK_BACK = timedelta(days=2)


@dataclass(frozen=True)
class OnDuty:
    team_id: int
    user_id: int
    name: str  # the person's display name
    role: str  # the role on this shift, for people
    phone: str  # E.164, e.g. "+447700900123"
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class RotaShift:
    """One shift of a team's rota over a period, with where it comes from: an occurrence of
    pattern ``pattern_id`` starting on local date ``occurrence_date``, or the one-off change
    ``change_id`` (an extra shift, or the replacement of an occurrence)."""

    team_id: int
    user_id: int
    name: str
    role: str
    role_code: str
    phone: str
    starts_at: datetime
    ends_at: datetime
    pattern_id: int | None
    occurrence_date: date | None
    change_id: int | None
    kind: str  # "PATTERN", or ShiftChange.Kind EXTRA / REPLACED

    @property
    def days_to_end(self) -> int:
        """How many local dates after its start the shift ends (0 the same day, 1 the next)."""
        return (
            self.ends_at.astimezone(LONDON).date() - self.starts_at.astimezone(LONDON).date()
        ).days

    def on_duty(self) -> OnDuty:
        return OnDuty(
            team_id=self.team_id,
            user_id=self.user_id,
            name=self.name,
            role=self.role,
            phone=self.phone,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
        )


def _e164(phone: Any) -> str:
    return phone.as_e164 if phone else ""


def _of_teams(wanted: set[int] | None) -> list[Q]:
    return [] if wanted is None else [Q(team_id__in=wanted)]


def pattern_of(row: ShiftPattern) -> Pattern:
    return Pattern(
        id=row.pk,
        weekdays=frozenset(weekdays_of(row.weekdays)),
        start=row.start_time,
        end=row.end_time,
        valid_from=row.valid_from_date,
        valid_until=row.valid_until_date,
        on_bank_holidays=row.runs_on_bank_holidays,
    )


def rota_shifts(
    *, team_ids: Iterable[int] | None, start: datetime, end: datetime
) -> dict[int, list[RotaShift]]:
    """The shifts of each of ``team_ids`` (None: every team) overlapping [start, end),
    unclipped, earliest start first; a team with none is absent. Two queries."""
    wanted = None if team_ids is None else set(team_ids)
    if wanted == set() or end <= start:
        return {}
    first_day = (start - _LOOK_BACK).astimezone(LONDON).date()
    last_day = end.astimezone(LONDON).date()
    patterns = {
        row.pk: row
        for row in ShiftPattern.objects.filter(*_of_teams(wanted), valid_from_date__lte=last_day)
        .filter(Q(valid_until_date__isnull=True) | Q(valid_until_date__gte=first_day))
        .select_related("user")
    }
    changes = {
        row.pk: row
        for row in ShiftChange.objects.filter(*_of_teams(wanted))
        .filter(
            Q(starts_at__lt=end, ends_at__gt=start)
            | Q(occurrence_date__gte=first_day, occurrence_date__lte=last_day)
        )
        .select_related("user")
    }
    by_team_patterns: dict[int, list[Pattern]] = defaultdict(list)
    for row in patterns.values():
        by_team_patterns[row.team_id].append(pattern_of(row))
    by_team_one_offs: dict[int, list[OneOff]] = defaultdict(list)
    by_team_cancelled: dict[int, list[Cancellation]] = defaultdict(list)
    for change in changes.values():
        if change.kind == ShiftChange.Kind.CANCELLED:
            assert change.pattern_id is not None and change.occurrence_date is not None
            by_team_cancelled[change.team_id].append(
                Cancellation(change.pattern_id, change.occurrence_date)
            )
        else:
            assert change.starts_at is not None and change.ends_at is not None
            replaces = (
                (change.pattern_id, change.occurrence_date)
                if change.pattern_id is not None and change.occurrence_date is not None
                else None
            )
            by_team_one_offs[change.team_id].append(
                OneOff(change.pk, change.starts_at, change.ends_at, replaces=replaces)
            )
    holidays = bank_holiday_dates(first=first_day, last=last_day)
    found: dict[int, list[RotaShift]] = {}
    for team_id in wanted if wanted is not None else {*by_team_patterns, *by_team_one_offs}:
        shifts = shifts_between(
            patterns=by_team_patterns.get(team_id, ()),
            one_offs=by_team_one_offs.get(team_id, ()),
            cancellations=by_team_cancelled.get(team_id, ()),
            start=start,
            end=end,
            bank_holidays=holidays,
        )
        rows = []
        for shift in shifts:
            source: ShiftPattern | ShiftChange
            if shift.one_off_id is not None:
                source = changes[shift.one_off_id]
                kind = source.kind
            else:
                assert shift.pattern_id is not None
                source = patterns[shift.pattern_id]
                kind = "PATTERN"
            user = source.user
            assert user is not None
            rows.append(
                RotaShift(
                    team_id=team_id,
                    user_id=user.pk,
                    name=user.display_name(),
                    role=ShiftRole(source.role).label,
                    role_code=source.role,
                    phone=_e164(source.phone),
                    starts_at=shift.starts_at,
                    ends_at=shift.ends_at,
                    pattern_id=shift.pattern_id,
                    occurrence_date=shift.day,
                    change_id=shift.one_off_id,
                    kind=kind,
                )
            )
        if rows:
            found[team_id] = rows
    return found


def on_duty(*, team_ids: Iterable[int], at: datetime) -> dict[int, list[OnDuty]]:
    """Who is on duty at `at` for each of `team_ids` (teams with nobody: absent or empty list), earliest start first; a constant number of queries."""
    return {
        team_id: [shift.on_duty() for shift in shifts]
        for team_id, shifts in rota_shifts(team_ids=team_ids, start=at, end=at + _TICK).items()
    }


def cover_gaps(*, team_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The periods in [start, end) when nobody is on duty for the team."""
    shifts = rota_shifts(team_ids=[team_id], start=start, end=end).get(team_id, [])
    return gaps(((s.starts_at, s.ends_at) for s in shifts), start, end)


@dataclass(frozen=True)
class Gap:
    """A period when ``team`` is open and nobody is on its rota."""

    team: Team
    starts_at: datetime
    ends_at: datetime
    # The gap runs to the end of the period looked at, and may go on after it.
    open_ended: bool = False

    def sentence(self, *, now: datetime) -> str:
        return gap_sentence(self.team.name, self.starts_at, now=now)


def gap_sentence(team_name: str, starts_at: datetime, *, now: datetime) -> str:
    """``Night team has nobody on duty from today 22:00`` (spoc/core/dates.py wording)."""
    return f"{team_name} has nobody on duty from {nhs_datetime(starts_at, today=now.astimezone(LONDON).date())}"


@dataclass(frozen=True)
class RotaOverview:
    """Every team that keeps a rota (one with shifts in the period): who is on duty at the start,
    and the gaps ahead while its service is open, soonest first."""

    on_duty: dict[int, list[OnDuty]]
    gaps: list[Gap]


def rota_overview(*, now: datetime, hours: int) -> RotaOverview:
    """Who is on duty at ``now`` and the gaps of the next ``hours``, in every team with shifts
    in that time; the gaps count only the time the team's service is open (its hours, closures
    and bank holidays, as the directory says). Teams with no shift at all are left out: they keep
    no rota, and nobody would be on duty at any time. Five queries: the patterns, the changes,
    the services with their teams, their hours, their closures."""
    end = now + timedelta(hours=hours)
    shifts = rota_shifts(team_ids=None, start=now, end=end)
    services = (
        Service.objects.filter(team__id__in=list(shifts))
        .select_related("team")
        .prefetch_related(
            Prefetch(
                "opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens_at")
            ),
            Prefetch(
                "closures", queryset=Closure.objects.filter(ends_at__gt=now, starts_at__lt=end)
            ),
        )
        if shifts
        else []
    )
    found = []
    for service in services:
        team = service.team
        open_then = list(open_intervals(service_schedule(service, at=now), now, end))
        covered = [(s.starts_at, s.ends_at) for s in shifts[team.pk]]
        for starts_at, ends_at in within(gaps(covered, now, end), open_then):
            found.append(
                Gap(team=team, starts_at=starts_at, ends_at=ends_at, open_ended=ends_at >= end)
            )
    return RotaOverview(
        on_duty={
            team_id: [s.on_duty() for s in team_shifts if s.starts_at <= now]
            for team_id, team_shifts in shifts.items()
        },
        gaps=sorted(found, key=lambda gap: (gap.starts_at, gap.team.name)),
    )


def rota_gaps_ahead(*, now: datetime, hours: int) -> list[Gap]:
    """The gaps of ``rota_overview``."""
    return rota_overview(now=now, hours=hours).gaps


# --- who may read and change a rota ------------------------------------------------------------

# Call handlers and coordinators phone whoever is on duty in any team, and managers plan staffing:
# they read every team's rota. Nurses and team leads read their own teams'.
READ_EVERY_ROTA = ("accounts.take_calls", "accounts.coordinate", "accounts.view_dashboards")
READ_OWN_ROTA = "accounts.work_team_queue"


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def rota_reads_every_team(user: Any) -> bool:
    return _active(user) and any(user.has_perm(perm) for perm in READ_EVERY_ROTA)


def rota_readable_team_ids(user: Any, *, team_ids: Iterable[int]) -> set[int]:
    """Of ``team_ids``, those whose rota ``user`` may read. At most one query."""
    wanted = set(team_ids)
    if not _active(user) or not wanted:
        return set()
    if rota_reads_every_team(user):
        return wanted
    if not user.has_perm(READ_OWN_ROTA):
        return set()
    return set(
        TeamMembership.objects.filter(user=user, team_id__in=wanted).values_list(
            "team_id", flat=True
        )
    )


def rota_readable_by(user: Any, *, team_id: int) -> bool:
    return team_id in rota_readable_team_ids(user, team_ids=[team_id])


def rota_editable_by(user: Any, *, team_id: int) -> bool:
    """SPOC coordinators change every team's rota; a team's leads change their own."""
    if not _active(user):
        return False
    if user.has_perm("accounts.coordinate"):
        return True
    return TeamMembership.objects.filter(
        user=user, team_id=team_id, role=TeamMembership.Role.LEAD
    ).exists()


def rota_team(*, team_id: int) -> Team:
    """The team with its service; raises Team.DoesNotExist."""
    return Team.objects.select_related("service").get(pk=team_id)


def rota_patterns(*, team_id: int, today: date | None = None) -> list[ShiftPattern]:
    """The team's patterns not ended before ``today`` (London), with their people. One query."""
    today = today or timezone.localdate()
    return list(
        ShiftPattern.objects.filter(team_id=team_id)
        .filter(Q(valid_until_date__isnull=True) | Q(valid_until_date__gte=today))
        .select_related("user")
        .order_by("start_time", "user__last_name", "id")
    )


@dataclass(frozen=True)
class RotaDay:
    day: date
    shifts: list[RotaShift]
    gaps: list[tuple[datetime, datetime]]


@dataclass(frozen=True)
class RotaPage:
    """A team's rota as its page shows it: this week and next by day (a shift under the day it
    starts), who is on duty now, and the gaps from now on while the service is open."""

    team: Team
    now: datetime
    days: list[RotaDay]
    on_duty: list[RotaShift]
    gaps: list[tuple[datetime, datetime]]
    open_hours_known: bool


def rota_page(*, team_id: int, now: datetime, weeks: int = 2) -> RotaPage:
    """Raises Team.DoesNotExist. A constant number of queries: the team's service with its hours
    and closures, and the rota."""
    service = services_with_directory_data(at=now).get(team__id=team_id)
    team = service.team
    today = now.astimezone(LONDON).date()
    monday = today - timedelta(days=today.weekday())
    dates = [monday + timedelta(days=n) for n in range(7 * weeks)]
    start = datetime.combine(monday, datetime.min.time(), tzinfo=LONDON)
    end = datetime.combine(dates[-1] + timedelta(days=1), datetime.min.time(), tzinfo=LONDON)
    shifts = rota_shifts(team_ids=[team.pk], start=start, end=end).get(team.pk, [])
    schedule = service_schedule(service, at=now)
    open_hours = list(open_intervals(schedule, now, end))
    found_gaps = within(gaps(((s.starts_at, s.ends_at) for s in shifts), now, end), open_hours)
    by_day: dict[date, list[RotaShift]] = defaultdict(list)
    for shift in shifts:
        by_day[shift.starts_at.astimezone(LONDON).date()].append(shift)
    gaps_by_day: dict[date, list[tuple[datetime, datetime]]] = defaultdict(list)
    for gap in found_gaps:
        gaps_by_day[gap[0].astimezone(LONDON).date()].append(gap)
    return RotaPage(
        team=team,
        now=now,
        days=[RotaDay(day, by_day.get(day, []), gaps_by_day.get(day, [])) for day in dates],
        on_duty=[s for s in shifts if s.starts_at <= now < s.ends_at],
        gaps=found_gaps,
        open_hours_known=bool(schedule.always_open or schedule.windows),
    )


def rota_teams_for(*, user: Any, at: datetime) -> list[tuple[Team, list[OnDuty]]]:
    """The teams whose rota ``user`` may read, by name, each with who is on duty at ``at``.
    Three queries at most."""
    teams = list(Team.objects.select_related("service").order_by("name"))
    readable = rota_readable_team_ids(user, team_ids=[t.pk for t in teams])
    shown = [t for t in teams if t.pk in readable]
    duty = on_duty(team_ids=[t.pk for t in shown], at=at)
    return [(t, duty.get(t.pk, [])) for t in shown]


# The roles whose people work shifts: they take calls, work a team's queue or coordinate.
SHIFT_PERMISSIONS = ("take_calls", "work_team_queue", "coordinate")


def shift_workers() -> QuerySet[Any]:
    """The active users whose role works shifts (spoc/accounts/roles.py): who may be put on a
    rota. A rota is not only its team's members: a coordinator or a nurse of another team may
    cover a shift."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__permissions__content_type__app_label="accounts",
            groups__permissions__codename__in=SHIFT_PERMISSIONS,
        )
        .distinct()
    )


def rota_people(*, team_id: int) -> list[Any]:
    """Who may be put on the team's rota, its members first, then by name. One query."""
    members = TeamMembership.objects.filter(team_id=team_id, user=OuterRef("pk"))
    return list(
        shift_workers()
        .annotate(in_team=Exists(members))
        .order_by("-in_team", "last_name", "first_name", "username")
    )


def rota_changes_ahead(*, team_id: int, now: datetime) -> list[ShiftChange]:
    """The team's one-off changes not yet over (extra and replacement shifts that end after
    ``now``, cancellations from yesterday on), soonest first. One query."""
    yesterday = now.astimezone(LONDON).date() - timedelta(days=1)
    return list(
        ShiftChange.objects.filter(team_id=team_id)
        .filter(
            Q(ends_at__gt=now) | Q(kind=ShiftChange.Kind.CANCELLED, occurrence_date__gte=yesterday)
        )
        .select_related("user", "pattern", "pattern__user")
        .order_by("occurrence_date", "starts_at", "id")
    )
