"""The routing ranker (docs/design.md §5): which service should take this referral, and why.

Pure: the caller loads the candidate services (and, for routing, each one's open-referral count)
and gets back *every* candidate, ranked or excluded, each with short reasons a call handler can
read ("Why this team?"). Nothing here knows about referrals or the database.

Ranking among eligible services, first difference wins:

1. a service reporting RED with no units free comes last ("RED with no units only if nothing
   else": it cannot take anyone, so any other eligible service is preferred to it);
2. can meet its first-contact deadline for this priority;
3. the need's order of preference of service types (``NEED_SERVICE_TYPES``, or the
   ``service_types`` the caller passes: ``services.codes.service_types_for``);
4. capacity: GREEN, then AMBER or unknown (stale after ``CAPACITY_STALE_AFTER``), then RED;
5. open referrals per unit of capacity (when the caller passes counts);
6. name, then id, so the answer never depends on the order candidates arrive in.

``winner`` is the one rule that picks the service a referral goes to from that order: routing
queues on it, and the directory search marks it (docs/routing.md, "The winner").
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TypedDict, Unpack

from services.codes import (
    CLOCKS,
    NEED_SERVICE_TYPES,
    SELF_REFERRER_TYPES,
    SITE_NEEDS,
    CallerType,
    CapacityRag,
    Clock,
    Need,
    ServiceStatus,
    ServiceType,
)
from services.hours import (
    HORIZON_DAYS,
    Schedule,
    accept_deadline,
    contact_deadline,
    format_local,
    next_opening,
)
from services.postcodes import InvalidPostcode, area_covers, normalise_postcode

__all__ = [
    "CAPACITY_STALE_AFTER",
    "DEFAULT_CALENDAR_CAPS",
    "Capacity",
    "RankCriteria",
    "RankedService",
    "ServiceCandidate",
    "rank_services",
    "winner",
]

# docs/design.md §3: a capacity report counts for 24 hours; after that the service's state is unknown.
CAPACITY_STALE_AFTER = timedelta(hours=24)

# docs/design.md §5: for P4-P5 a service "can meet" its deadline only if that deadline, counted in the
# service's own hours, falls within this calendar time of the clock's start. These are the pure
# defaults; routing and the directory search pass the settings' values (services.selectors).
DEFAULT_CALENDAR_CAPS: Mapping[str, timedelta] = MappingProxyType(
    {"P4": timedelta(days=4), "P5": timedelta(days=10)}
)

# Capacity order (lower is better); RED with no units is also forced last overall (key step 1).
_GREEN, _AMBER_OR_UNKNOWN, _RED, _RED_NO_UNITS = 0, 1, 2, 3


@dataclass(frozen=True)
class Capacity:
    """A service's latest capacity report: RAG status and free units (beds, visits), if known."""

    rag: str
    units: int | None
    reported_at: datetime

    def __post_init__(self) -> None:
        if self.reported_at.tzinfo is None or self.reported_at.utcoffset() is None:
            raise ValueError("reported_at must be a timezone-aware datetime")


@dataclass(frozen=True)
class ServiceCandidate:
    """What the ranker needs to know about one service (loaded by the caller from the directory).

    ``referrer_types`` empty means every referrer type is accepted. ``coverage_areas`` are outward
    codes or sectors (``services.postcodes.normalise_area``); ``site_ids`` are the hospital sites
    an in-reach service serves. ``clock_overrides`` maps a priority to this service's clock.
    """

    id: int
    name: str
    service_type: str
    status: str
    schedule: Schedule
    coverage_areas: tuple[str, ...] = ()
    site_ids: tuple[int, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    referrer_types: tuple[str, ...] = ()
    accepts_self_referral: bool = True
    capacity: Capacity | None = None
    # Left out of the hash so that candidates stay hashable with a plain dict here.
    clock_overrides: Mapping[str, Clock] = field(default_factory=dict, hash=False)

    @property
    def temporarily_closed(self) -> bool:
        return self.status == ServiceStatus.TEMPORARILY_CLOSED


@dataclass(frozen=True)
class RankedService:
    """The ranker's verdict on one candidate.

    Eligible services have ``rank`` 1..n, their clocks and reasons; excluded services have
    ``rank`` ``None``, ``excluded_reason`` (the first reason) and every exclusion in ``reasons``.
    Datetimes are UTC.
    """

    candidate: ServiceCandidate
    eligible: bool
    rank: int | None
    can_meet_deadline: bool
    earliest_response_at: datetime | None
    contact_by: datetime | None
    accept_by: datetime | None
    reasons: tuple[str, ...]
    excluded_reason: str | None


class RankCriteria(TypedDict, total=False):
    """What a ranking may be asked beyond the need, the priority and the moment (``rank_services``
    says what each one does; every one may be left out)."""

    postcode: str | None
    site_id: int | None
    age: int | None
    referrer_type: str | None
    exclude: Collection[int]
    open_referrals: Mapping[int, int] | None
    contact_from: datetime | None
    service_types: tuple[str, ...] | None


@dataclass(frozen=True)
class _Request:
    need: str
    priority: str
    at: datetime
    preferred: tuple[str, ...]
    postcode: str | None
    raw_postcode: str | None
    site_id: int | None
    age: int | None
    referrer_type: str | None
    exclude: frozenset[int]
    open_referrals: Mapping[int, int] | None
    calendar_caps: Mapping[str, timedelta]
    contact_from: datetime


def rank_services(
    *,
    candidates: Iterable[ServiceCandidate],
    need: str,
    priority: str,
    at: datetime,
    calendar_caps: Mapping[str, timedelta] | None = None,
    **criteria: Unpack[RankCriteria],
) -> list[RankedService]:
    """Rank every candidate for ``need`` at ``priority``, with the clock starting at ``at``.

    Returns one entry per candidate: the eligible ones in rank order (rank 1 is the winner), then
    the excluded ones ordered by name. ``at`` is when the referral joins a queue and the accept
    clock starts (the call, a re-route, or ``contact_not_before``). ``contact_from`` is the start
    of the first-contact clock when it began earlier and does not restart (a re-route: the call);
    by default ``at``. ``exclude`` holds services that declined this referral.
    ``service_types``: the types that meet the need, in order of preference, when they are not
    the need's ``NEED_SERVICE_TYPES`` (a screened bereavement referral).
    ``open_referrals`` maps service id to open referrals (``None``: not considered, as in the
    directory search). An unknown age or referrer type excludes no one; a missing or malformed
    postcode (or site, for ``SITE_NEEDS``) excludes everyone, with that reason. Raises
    ``ValueError`` for a naive ``at``, an unknown priority or a service clock without limits.
    """
    if unknown := criteria.keys() - RankCriteria.__optional_keys__:
        raise TypeError(
            f"rank_services() got unexpected keyword arguments: {', '.join(sorted(unknown))}"
        )
    postcode, contact_from = criteria.get("postcode"), criteria.get("contact_from")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware datetime")
    if contact_from is not None and (
        contact_from.tzinfo is None or contact_from.utcoffset() is None
    ):
        raise ValueError("contact_from must be a timezone-aware datetime")
    if priority not in CLOCKS:
        raise ValueError(f"unknown priority {priority!r}")
    normalised: str | None = None
    if postcode is not None:
        try:
            normalised = normalise_postcode(postcode)
        except InvalidPostcode:
            normalised = None
    request = _Request(
        need=need,
        priority=priority,
        at=at.astimezone(UTC),
        preferred=criteria.get("service_types") or NEED_SERVICE_TYPES.get(need, ()),
        postcode=normalised,
        raw_postcode=postcode,
        site_id=criteria.get("site_id"),
        age=criteria.get("age"),
        referrer_type=criteria.get("referrer_type"),
        exclude=frozenset(criteria.get("exclude", ())),
        open_referrals=criteria.get("open_referrals"),
        calendar_caps={**DEFAULT_CALENDAR_CAPS, **(calendar_caps or {})},
        contact_from=(contact_from or at).astimezone(UTC),
    )
    ranked: list[tuple[tuple[object, ...], RankedService]] = []
    excluded: list[RankedService] = []
    for candidate in candidates:
        exclusions = _exclusions(candidate, request)
        if exclusions:
            excluded.append(_excluded(candidate, exclusions))
            continue
        assessed = _assess(candidate, request)
        if isinstance(assessed, RankedService):
            excluded.append(assessed)
        else:
            ranked.append(assessed)
    ranked.sort(key=lambda pair: pair[0])
    excluded.sort(key=lambda item: _name_key(item.candidate))
    return [replace(item, rank=rank) for rank, (_, item) in enumerate(ranked, start=1)] + excluded


def winner(
    ranked: Iterable[RankedService], *, with_intake_team: Container[int]
) -> RankedService | None:
    """The service a referral goes to: the first in ``rank_services`` order that is eligible, can
    meet its first-contact deadline and has an intake team to queue on (its id is in
    ``with_intake_team``, which the caller knows from the directory); ``None`` when there is none,
    and the SPOC coordinators decide.

    That is rank 1 unless rank 1 cannot meet the deadline or has no team. A service that cannot
    meet the deadline never wins, even as the only eligible one (docs/design.md §5: "a service closed
    for a fortnight does not win"); so a service reporting RED with no units, ranked after one that
    cannot meet the deadline, wins when it can.
    """
    for item in ranked:
        if item.eligible and item.can_meet_deadline and item.candidate.id in with_intake_team:
            return item
    return None


def _exclusions(candidate: ServiceCandidate, request: _Request) -> list[str]:
    """Every rule ``candidate`` breaks, cheapest checks only; empty when it may be ranked.

    All are reported, not only the first, so that "nobody covers this postcode" shows on every
    row of the answer.
    """
    reasons: list[str] = []
    if candidate.service_type not in request.preferred:
        reasons.append(
            f"Excluded: {_label(ServiceType, candidate.service_type)} does not provide "
            f"{_label(Need, request.need)}"
        )
    if candidate.status == ServiceStatus.INACTIVE:
        reasons.append("Excluded: inactive")
    elif candidate.status == ServiceStatus.TEMPORARILY_CLOSED:
        reasons.append("Excluded: temporarily closed")
    elif candidate.status != ServiceStatus.ACTIVE:
        reasons.append(f"Excluded: status {candidate.status}")
    if candidate.id in request.exclude:
        reasons.append("Excluded: declined this referral before")
    coverage = _coverage_exclusion(candidate, request)
    if coverage:
        reasons.append(coverage)
    if request.age is not None:
        if candidate.min_age is not None and request.age < candidate.min_age:
            reasons.append(f"Excluded: age {request.age} below minimum {candidate.min_age}")
        if candidate.max_age is not None and request.age > candidate.max_age:
            reasons.append(f"Excluded: age {request.age} above maximum {candidate.max_age}")
    referrer = request.referrer_type
    if referrer is not None:
        if candidate.referrer_types and referrer not in candidate.referrer_types:
            reasons.append(
                f"Excluded: does not accept referrals from {_label(CallerType, referrer)}"
            )
        elif referrer in SELF_REFERRER_TYPES and not candidate.accepts_self_referral:
            reasons.append(
                f"Excluded: does not accept self-referral ({_label(CallerType, referrer)})"
            )
    return reasons


def _coverage_exclusion(candidate: ServiceCandidate, request: _Request) -> str | None:
    if request.need in SITE_NEEDS:
        if request.site_id is None:
            return "Excluded: no hospital site recorded"
        if request.site_id not in candidate.site_ids:
            return f"Excluded: does not serve hospital site {request.site_id}"
        return None
    if request.raw_postcode is None:
        return "Excluded: no postcode recorded"
    if request.postcode is None:
        return f"Excluded: postcode {request.raw_postcode.strip()!r} is not valid"
    if not _covers(candidate.coverage_areas, request.postcode):
        return f"Excluded: does not cover {request.postcode}"
    return None


def _covers(areas: Iterable[str], postcode: str) -> bool:
    """Like ``covers_postcode``, but a malformed stored area covers nothing instead of raising:
    one bad directory row must not stop every referral from being routed."""
    for area in areas:
        try:
            if area_covers(area, postcode):
                return True
        except InvalidPostcode:
            continue
    return False


def _assess(
    candidate: ServiceCandidate, request: _Request
) -> tuple[tuple[object, ...], RankedService] | RankedService:
    """Clocks, reasons and sort key of a candidate that passed ``_exclusions``.

    Returns an excluded ``RankedService`` instead when the service never opens within the horizon.
    """
    at, priority = request.at, request.priority
    schedule = candidate.schedule
    earliest = next_opening(schedule, at)
    if earliest is None:
        return _excluded(candidate, [f"Excluded: no opening in the next {HORIZON_DAYS} days"])
    clock = candidate.clock_overrides.get(priority) or CLOCKS[priority]
    contact_by = contact_deadline(schedule, priority, request.contact_from, clock=clock)
    accept_by = accept_deadline(schedule, priority, at, clock=clock)

    can_meet, deadline_reason = _deadline(clock, earliest, contact_by, request)
    opening = (
        "Open now"
        if earliest == at
        else f"Closed; opens {format_local(earliest, now=at, with_day=True)}"
    )
    reasons = [opening, deadline_reason]
    preference = request.preferred.index(candidate.service_type)
    reasons.append(
        f"Preferred service type {preference + 1} of {len(request.preferred)} "
        f"for {_label(Need, request.need)}"
    )
    capacity_order, capacity_reason, units = _capacity(candidate.capacity, at)
    reasons.append(capacity_reason)
    load = 0.0
    if request.open_referrals is not None:
        count = request.open_referrals.get(candidate.id, 0)
        load = count / max(units, 1) if units is not None else float(count)
        per = f" for {units} free units" if units is not None else ""
        reasons.append(f"{count} open referral{'' if count == 1 else 's'}{per}")

    key = (
        capacity_order == _RED_NO_UNITS,
        not can_meet,
        preference,
        capacity_order,
        load,
        *_name_key(candidate),
    )
    result = RankedService(
        candidate=candidate,
        eligible=True,
        rank=None,  # set once every candidate is sorted
        can_meet_deadline=can_meet,
        earliest_response_at=earliest,
        contact_by=contact_by,
        accept_by=accept_by,
        reasons=tuple(reasons),
        excluded_reason=None,
    )
    return key, result


def _deadline(
    clock: Clock, earliest: datetime, contact_by: datetime | None, request: _Request
) -> tuple[bool, str]:
    """Whether the service can meet its first-contact deadline (docs/design.md §5), and why.

    Real-time clocks: it must open by the deadline. Service-hours clocks: the deadline, counted
    in its own hours, must fall within the priority's calendar cap (no cap configured: any
    reachable deadline), so that a service closed for a fortnight does not win.
    """
    at, priority = request.at, request.priority
    cannot = f"Cannot meet the {priority} deadline"
    if contact_by is None:
        return False, f"{cannot}: not enough opening time in the next {HORIZON_DAYS} days"
    due = format_local(contact_by, now=at)
    if clock.real_time and earliest > contact_by:
        return False, f"{cannot}: next opening {format_local(earliest, now=at)} is after {due}"
    cap = None if clock.real_time else request.calendar_caps.get(priority)
    if cap is not None and contact_by > at + cap:
        return False, f"{cannot}: contact by {due} is more than {_span(cap)} away"
    return True, f"Can meet the {priority} deadline (contact by {due})"


def _capacity(capacity: Capacity | None, at: datetime) -> tuple[int, str, int | None]:
    """(order, reason, free units to divide the load by, or None when unknown)."""
    if capacity is None:
        return _AMBER_OR_UNKNOWN, "Capacity unknown (not reported)", None
    if at - capacity.reported_at > CAPACITY_STALE_AFTER:
        return _AMBER_OR_UNKNOWN, "Capacity unknown (stale)", None
    units = capacity.units
    free = "" if units is None else f" ({units} units free)"
    if capacity.rag == CapacityRag.GREEN:
        return _GREEN, f"Capacity GREEN{free}", units
    if capacity.rag == CapacityRag.AMBER:
        return _AMBER_OR_UNKNOWN, f"Capacity AMBER{free}", units
    if capacity.rag == CapacityRag.RED:
        if units == 0:
            return _RED_NO_UNITS, "Capacity RED, no units free: used only if nothing else", 0
        return _RED, f"Capacity RED{free}", units
    return _AMBER_OR_UNKNOWN, f"Capacity unknown ({capacity.rag})", None


def _excluded(candidate: ServiceCandidate, reasons: list[str]) -> RankedService:
    return RankedService(
        candidate=candidate,
        eligible=False,
        rank=None,
        can_meet_deadline=False,
        earliest_response_at=None,
        contact_by=None,
        accept_by=None,
        reasons=tuple(reasons),
        excluded_reason=reasons[0],
    )


def _name_key(candidate: ServiceCandidate) -> tuple[str, str, int]:
    return candidate.name.casefold(), candidate.name, candidate.id


def _label(choices: type[ServiceType] | type[Need] | type[CallerType], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _span(duration: timedelta) -> str:
    if duration % timedelta(days=1) == timedelta(0):
        return f"{duration.days} days"
    return f"{duration / timedelta(hours=1):g} hours"
