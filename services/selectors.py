"""Reads of the service directory, and the bridge from rows to the pure ranker's inputs."""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Unpack

import holidays
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from services.clocks import InvalidClockOverride, clock_overrides_parse
from services.codes import ServiceType
from services.hours import (
    HORIZON_DAYS,
    LONDON,
    ClosurePeriod,
    Schedule,
    Window,
    format_until,
    hours_summary,
    is_open,
    next_opening,
)
from services.models import (
    CapacityStatus,
    Closure,
    DirectoryVersion,
    OpeningHours,
    Service,
    Team,
    TeamMembership,
)
from services.ranking import Capacity, RankCriteria, RankedService, ServiceCandidate, rank_services
from spoc.audit.context import current_request
from spoc.core.pauses import RestingCache

# The closures that can matter to a search from ``at``: those ending after ``at`` less this, and
# starting before the hours' horizon from ``at``, a day more.
CLOSURES_BEFORE = timedelta(days=1)
CLOSURES_AFTER = timedelta(days=HORIZON_DAYS + 1)


def _closures_around(at: datetime) -> QuerySet[Closure]:
    """The closures that can matter to a search from ``at`` (over the hours' horizon)."""
    return Closure.objects.filter(
        ends_at__gt=at - CLOSURES_BEFORE, starts_at__lt=at + CLOSURES_AFTER
    )


def _closure_around(closure: Closure, at: datetime) -> bool:
    """``_closures_around(at)``'s condition, for a closure already loaded."""
    return closure.ends_at > at - CLOSURES_BEFORE and closure.starts_at < at + CLOSURES_AFTER


def services_with_directory_data(
    *,
    at: datetime,
    closures: QuerySet[Closure] | None = None,
    reported_by: datetime | None = None,
) -> QuerySet[Service]:
    """Every service with what ranking and the directory screens need, in a constant number of
    queries (services with latest capacity and team, then one query each for coverage, hours,
    closures and sites). The closures are those around ``at`` unless ``closures`` says which; the
    capacity is the latest report, or the latest made by ``reported_by`` when given."""
    latest = CapacityStatus.objects.filter(service=OuterRef("pk")).order_by("-reported_at", "-id")
    if reported_by is not None:
        latest = latest.filter(reported_at__lte=reported_by)
    return (
        Service.objects.select_related("organisation", "team")
        .annotate(
            capacity_rag=Subquery(latest.values("rag")[:1]),
            capacity_units=Subquery(latest.values("available_units")[:1]),
            capacity_reported_at=Subquery(latest.values("reported_at")[:1]),
        )
        .prefetch_related(
            "coverage_areas",
            Prefetch(
                "opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens_at")
            ),
            Prefetch("closures", queryset=_closures_around(at) if closures is None else closures),
            "sites",
        )
        .order_by("name")
    )


logger = logging.getLogger(__name__)


@lru_cache(maxsize=16)
def _bank_holidays(year: int) -> tuple[date, ...]:
    # England and Wales bank holidays, from the `holidays` package.
    return tuple(sorted(holidays.country_holidays("GB", subdiv="ENG", years=year)))


def bank_holiday_dates(*, first: date, last: date) -> frozenset[date]:
    """The England and Wales bank holidays from ``first`` to ``last`` inclusive (the ones
    ``bank_holiday_closures`` closes services on). No query."""
    return frozenset(
        day
        for year in range(first.year, last.year + 1)
        for day in _bank_holidays(year)
        if first <= day <= last
    )


def bank_holiday_closures(*, start: datetime, days: int) -> tuple[ClosurePeriod, ...]:
    first = start.astimezone(LONDON).date() - timedelta(days=1)
    last = first + timedelta(days=days + 2)
    closures = []
    for year in range(first.year, last.year + 1):
        for day in _bank_holidays(year):
            if first <= day <= last:
                closures.append(
                    ClosurePeriod(
                        starts_at=datetime.combine(day, time.min, tzinfo=LONDON),
                        ends_at=datetime.combine(day + timedelta(days=1), time.min, tzinfo=LONDON),
                        reason="Bank holiday",
                    )
                )
    return tuple(closures)


def service_schedule(service: Service, *, at: datetime) -> Schedule:
    """The pure Schedule of a service loaded by services_with_directory_data."""
    closures = tuple(
        ClosurePeriod(starts_at=c.starts_at, ends_at=c.ends_at, reason=c.reason)
        for c in service.closures.all()
    )
    if service.closed_on_bank_holidays:
        closures += bank_holiday_closures(start=at, days=HORIZON_DAYS)
    return Schedule(
        always_open=service.open_24_7,
        windows=tuple(
            Window(weekday=h.weekday, opens=h.opens_at, closes=h.closes_at)
            for h in service.opening_hours.all()
        ),
        closures=tuple(sorted(closures, key=lambda c: c.starts_at)),
    )


def service_capacity(service: Any) -> Capacity | None:
    if getattr(service, "capacity_rag", None) is None:
        return None
    return Capacity(
        rag=service.capacity_rag,
        units=service.capacity_units,
        reported_at=service.capacity_reported_at,
    )


def _clock_overrides_or_defaults(service: Any) -> dict[str, Any]:
    """A malformed override (saved around the edit screen's checks) falls back to the default
    clocks, loudly, rather than stopping the ranking of every service."""
    try:
        return clock_overrides_parse(service.clock_overrides)
    except InvalidClockOverride:
        logger.error(
            "Service %s has invalid clock overrides; using the default clocks.", service.pk
        )
        return {}


def coordinators_schedule(service: Service, *, at: datetime) -> Schedule:
    """The hours the SPOC coordinators count (docs/routing.md "Clocks"): the SPOC service's own,
    as ``service_schedule`` builds them (24/7 when it says open 24/7). A SPOC with no hours at
    all would leave P4-P5 referrals at the coordinators without deadlines, so it counts every
    hour instead, and says so in the log."""
    schedule = service_schedule(service, at=at)
    if schedule.always_open or schedule.windows:
        return schedule
    logger.error(
        "SPOC service %s has no opening hours and is not open 24/7; counting every hour.",
        service.pk,
    )
    return Schedule(always_open=True, closures=schedule.closures)


@dataclass(frozen=True)
class SpocHours:
    """The single point of contact's hours now, as the call screen, the coordinator board and the
    coordinator's home page show them (docs/directory.md "The SPOC's hours")."""

    service: Service
    open_now: bool
    # Closed: when it opens again ("08:00 tomorrow"); "" when open or not opening within a year.
    opens_at: datetime | None
    until: str
    hours: str

    @property
    def divert_message(self) -> str:
        return self.service.out_of_hours_message

    @property
    def divert_phone(self) -> Any:
        return self.service.out_of_hours_phone

    @property
    def closed_sentence(self) -> str:
        """``The SPOC is closed until 08:00 tomorrow. Out of hours: Call NHS 111 01514960999``
        (the number in national format), for the routing reason; "" when open."""
        if self.open_now:
            return ""
        until = f" until {self.until}" if self.until else ""
        divert = " ".join(
            part for part in (self.divert_message, _national(self.divert_phone)) if part
        )
        return f"The SPOC is closed{until}." + (f" Out of hours: {divert}" if divert else "")


def _national(phone: Any) -> str:
    return phone.as_national if phone else ""


def spoc_hours_of(service: Service, *, at: datetime) -> SpocHours:
    """The SPOC hours of ``service``, loaded with its hours and closures (no query when they were
    prefetched, as ``services_with_directory_data`` does)."""
    schedule = coordinators_schedule(service, at=at)
    open_now = is_open(schedule, at)
    opens_at = None if open_now else next_opening(schedule, at)
    return SpocHours(
        service=service,
        open_now=open_now,
        opens_at=opens_at,
        until=format_until(opens_at, now=at) if opens_at is not None else "",
        hours=hours_summary(schedule, closed_on_bank_holidays=service.closed_on_bank_holidays),
    )


def spoc_service_of(services: Iterable[Service]) -> Service | None:
    """Of ``services`` (their team loaded), the SPOC whose intake team takes the coordinators'
    referrals: of type SPOC with an intake team, the lowest team id first. No query."""
    spocs = [
        service
        for service in services
        if service.service_type == ServiceType.SPOC and getattr(service, "team", None) is not None
    ]
    return min(spocs, key=lambda service: service.team.pk) if spocs else None


def spoc_hours(*, at: datetime) -> SpocHours | None:
    """The SPOC's hours at ``at``; None when the directory has no SPOC with an intake team.

    From the directory this process keeps for routing (``routing_directory``): one query, the
    directory's version, while the kept directory is of that version; six when it is read again
    (after any change of the directory, a new closure or new hours among them)."""
    version = _version_row().first()
    service = spoc_service_of(routing_directory(at=at, version=version))
    return spoc_hours_of(service, at=at) if service is not None else None


def service_candidate(service: Any, *, at: datetime) -> ServiceCandidate:
    return ServiceCandidate(
        id=service.pk,
        name=service.name,
        service_type=service.service_type,
        status=service.status,
        schedule=service_schedule(service, at=at),
        coverage_areas=tuple(a.area for a in service.coverage_areas.all()),
        site_ids=tuple(s.pk for s in service.sites.all()),
        min_age=service.min_age,
        max_age=service.max_age,
        referrer_types=tuple(service.referrer_types or ()),
        accepts_self_referral=service.accepts_self_referral,
        capacity=service_capacity(service),
        clock_overrides=_clock_overrides_or_defaults(service),
    )


def directory_rank(
    *,
    need: str,
    priority: str,
    at: datetime,
    directory_version: int | None = None,
    **criteria: Unpack[RankCriteria],
) -> tuple[list[RankedService], dict[int, Service]]:
    """Rank every service for a need (docs/design.md §5). Returns the ranker's answer and the loaded
    services by id (for display). The caller passes open-referral counts; this app knows nothing
    of referrals.

    ``directory_version`` is the directory's version the caller read, in its transaction, with
    ``directory_version()`` (routing reads it in the query that locks the referral): with it the
    directory this process kept from an earlier call of the same version is used, without a
    query (``routing_directory``). Without it the directory is read."""
    services = {s.pk: s for s in routing_directory(at=at, version=directory_version)}
    candidates = [service_candidate(s, at=at) for s in services.values()]
    ranked = rank_services(
        candidates=candidates,
        need=need,
        priority=priority,
        at=at,
        calendar_caps=calendar_caps(),
        **criteria,
    )
    return ranked, services


def directory_version() -> Subquery:
    """The directory's version (``DirectoryVersion``) as an expression, to be read in a query the
    caller makes anyway: None where the database keeps none (SQLite, a test database emptied)."""
    return Subquery(_version_row()[:1])


def _version_row() -> QuerySet[DirectoryVersion, int]:
    """The directory's version (``DirectoryVersion``), as a query of one value or none."""
    return DirectoryVersion.objects.filter(pk=DirectoryVersion.ROW_ID).values_list(
        "version", flat=True
    )


@dataclass(frozen=True)
class _KeptDirectory:
    """The directory as it was at ``version``, every service with its team, capacity, coverage,
    hours, sites and every closure ending after ``closures_after`` (not only those around one
    moment, so that it serves later routings)."""

    version: int
    closures_after: datetime
    services: tuple[Service, ...]


# This process's directory (docs/routing.md "The directory kept in the routing worker"). Replaced
# whole, never changed in place: a thread reading the old one keeps a consistent directory.
_kept: _KeptDirectory | None = None


def routing_directory(*, at: datetime, version: int | None) -> list[Service]:
    """Every service, as ``services_with_directory_data(at=at)`` loads them, for ranking at
    ``at``: from the directory this process kept when it is of ``version`` and holds the closures
    that can matter at ``at`` (no query), else read (five queries) and kept for the next call.

    ``version`` must have been read (``directory_version()``) in the caller's transaction before
    this call: a directory read after it is then at least as new as the version, and a directory
    kept at the same version is exactly the one committed. A version that is None is never
    kept; its capacity is the report in force at ``at`` (a search of a past moment does not
    know what was reported after it). Each service returned is a copy of the kept one (with its
    team), holding only the closures around ``at``: a caller may set attributes on it without
    changing the kept one."""
    global _kept
    kept = _kept
    if version is None:
        return list(services_with_directory_data(at=at, reported_by=at))
    if kept is None or kept.version != version or at - CLOSURES_BEFORE < kept.closures_after:
        closures_after = min(at, timezone.now()) - CLOSURES_BEFORE
        loaded = services_with_directory_data(
            at=at, closures=Closure.objects.filter(ends_at__gt=closures_after)
        )
        # Routing reads nothing of the organisations, whose writes leave the version alone.
        kept = _KeptDirectory(
            version=version,
            closures_after=closures_after,
            services=tuple(loaded.select_related(None).select_related("team")),
        )
        _kept = kept
    return [_service_at(service, at=at) for service in kept.services]


def routing_directory_forget() -> None:
    """Drop the directory this process kept: the next routing reads it (bench/routing_cost.py)."""
    global _kept
    _kept = None


def _service_at(kept: Service, *, at: datetime) -> Service:
    """A copy of a kept service and of its team whose closures are those around ``at``, the ones
    ``services_with_directory_data(at=at)`` would have loaded. Its other prefetched rows are the
    kept ones, shared (read, never changed)."""
    service = copy.copy(kept)
    closures = Closure.objects.all()
    closures._result_cache = [c for c in kept.closures.all() if _closure_around(c, at)]
    closures._prefetch_done = True  # type: ignore[attr-defined]  # QuerySet's, not in the stubs
    service._prefetched_objects_cache = {  # type: ignore[attr-defined]  # Model's, likewise
        **kept._prefetched_objects_cache,  # type: ignore[attr-defined]
        "closures": closures,
    }
    team = getattr(kept, "team", None)
    if team is not None:
        # Links both ways: the copy's team is a copy whose service is this copy.
        service.team = copy.copy(team)
    return service


def services_with_intake_team(services: Mapping[int, Service]) -> frozenset[int]:
    """The ids of these services (loaded by ``directory_rank``, their team with them) that have an
    intake team to queue a referral on: what ``services.ranking.winner`` needs. No query."""
    # A reverse one-to-one without a row raises RelatedObjectDoesNotExist (an AttributeError).
    return frozenset(
        pk for pk, service in services.items() if getattr(service, "team", None) is not None
    )


def calendar_caps() -> dict[str, timedelta]:
    """The P4-P5 calendar caps of the settings (docs/design.md §5)."""
    return {
        "P4": timedelta(days=settings.ROUTING_P4_CALENDAR_CAP_DAYS),
        "P5": timedelta(days=settings.ROUTING_P5_CALENDAR_CAP_DAYS),
    }


def service_detail(*, service_id: int, at: datetime) -> Service:
    """One service with its directory data; raises Service.DoesNotExist."""
    return services_with_directory_data(at=at).get(pk=service_id)


def teams_list() -> QuerySet[Team]:
    return Team.objects.select_related("service", "service__organisation").order_by("name")


def team_leads_can_report_capacity(*, user: Any, service: Service) -> bool:
    """Only a lead of the service's intake team reports its capacity."""
    if not user.is_authenticated:
        return False
    return TeamMembership.objects.filter(
        user=user, team__service=service, role=TeamMembership.Role.LEAD
    ).exists()


# Where the request being served keeps its user's team memberships (team_memberships_of).
_MEMBERSHIPS_ATTRIBUTE = "_spoc_team_memberships"

# Where a user's team memberships are kept between requests (ROLES_KEPT_SECONDS, as their roles):
# the default cache, under their teams epoch (``_memberships_key``). What is kept holds Team
# objects: the key's start names their columns, so that while nodes of two releases share Redis
# neither takes teams of the other's shape.
_TEAM_COLUMNS = ",".join(field.attname for field in Team._meta.concrete_fields)
MEMBERSHIPS_FORMAT = "team-memberships-" + hashlib.sha256(_TEAM_COLUMNS.encode()).hexdigest()[:12]
MEMBERSHIPS_CACHE = RestingCache(
    "default",
    logger=logger,
    message="Team memberships cache unreachable: memberships read from the database for %s s.",
)


def _request_of(user: Any) -> Any:
    """The request being served when it is ``user``'s (spoc/audit/context.py), else None."""
    request = current_request()
    request_user = getattr(request, "user", None)
    if user.pk is not None and getattr(request_user, "pk", None) == user.pk:
        return request
    return None


def _memberships_key(request: Any) -> str:
    """The cache key of the request's user's memberships: their teams epoch in it, which every
    change of their memberships, or of a team of theirs, raises in the same transaction
    (services.services.teams_epoch_raise), so the next request of any process or node looks
    under a key nothing was kept under. The epoch is the user row's as this request read it."""
    if not settings.ROLES_KEPT_SECONDS:
        return ""
    return f"{MEMBERSHIPS_FORMAT}-{request.user.pk}-{request.user.teams_epoch}"


def _memberships_read(user: Any) -> list[tuple[Team, str]]:
    """(team, role) for each team ``user`` is a member of, by the team's name: one query, on the
    primary database even where a read replica serves the page (spoc/core/replica.py), as the
    user row whose teams epoch names what is kept is: a replica behind must never have a
    membership just taken away kept under the epoch that took it away."""
    memberships = (
        TeamMembership.objects.using(DEFAULT_DB_ALIAS)
        .filter(user=user)
        .select_related("team")
        .order_by("team__name", "team_id")
    )
    return [(membership.team, membership.role) for membership in memberships]


def _memberships_of_request(request: Any) -> list[tuple[Team, str]]:
    """The request's user's (team, role)s: read once per request and kept on it, and between
    requests in the default cache for ROLES_KEPT_SECONDS; a cache that fails is left alone for a
    while and the database answers."""
    kept: list[tuple[Team, str]] | None = getattr(request, _MEMBERSHIPS_ATTRIBUTE, None)
    if kept is not None:
        return kept
    memberships = MEMBERSHIPS_CACHE.kept_or_read(
        _memberships_key(request),
        read=lambda: _memberships_read(request.user),
        timeout=settings.ROLES_KEPT_SECONDS,
    )
    setattr(request, _MEMBERSHIPS_ATTRIBUTE, memberships)
    return memberships


def _memberships(user: Any) -> list[tuple[Team, str]]:
    """``user``'s (team, role)s: those of the request being served when it is hers, else read."""
    request = _request_of(user)
    return _memberships_read(user) if request is None else _memberships_of_request(request)


def team_memberships_of(*, user: Any) -> list[tuple[int, str]]:
    """(team id, role) for each team ``user`` is a member of. A page that shows referrals asks
    several times (who may see them, which actions to offer), so while a request of ``user`` is
    being served the answer is read once and kept on the request (spoc/audit/context.py), and
    between requests as their roles are (``_memberships_key``); outside one (a task, the shell)
    every call reads it afresh. A change of membership is seen from the next request on."""
    return [(team.pk, role) for team, role in _memberships(user)]


def teams_of(*, user: Any) -> list[Team]:
    """The teams ``user`` is a member of, by name: one query at most, which also answers
    ``team_memberships_of`` for the rest of the request (the team queue lists her teams and then
    shows what she may see of one)."""
    return [team for team, _ in _memberships(user)]


def services_led_by(*, user: Any) -> set[int]:
    return set(
        TeamMembership.objects.filter(user=user, role=TeamMembership.Role.LEAD).values_list(
            "team__service_id", flat=True
        )
    )


def capacity_history(*, service: Service, limit: int = 10) -> Iterable[CapacityStatus]:
    return service.capacity_reports.select_related("reported_by")[:limit]
