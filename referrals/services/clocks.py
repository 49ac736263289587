"""A referral's clocks (docs/design.md §6; docs/reference.md "Urgency"), fixed whenever it joins a queue,
changes priority or comes off hold.

Two clocks, each from its own start:

- the **accept clock** from ``accept_clock_started_at``: the moment the referral last joined a
  queue (routing, routing by hand, reopening);
- the **first-contact clock** from ``clock_started_at``: the call (or ``contact_not_before``),
  never restarted by a decline or re-route.

P1-P3 run in real time; P4-P5 count the hours of the service whose team holds the referral (the
SPOC coordinators count the SPOC service's own hours, ``team_schedule``). A hold stops both
(`referral_clocks_resume`): P1-P3 deadlines move on by the time spent on hold; P4-P5 deadlines move on by the service's opening
time the hold covered, counted in its hours after the old deadline, so the open time that was
left when the hold began is left again when it ends. Both starts move on by the time held
(docs/routing.md has worked examples).
``at_risk_at`` marks 75% of the first-contact time, for the amber warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from referrals.models import Referral
from services.clocks import clock_overrides_parse
from services.codes import CLOCKS, Clock, ServiceType
from services.hours import (
    Schedule,
    accept_deadline,
    add_open_time,
    contact_deadline,
    open_intervals,
)
from services.models import Service
from services.selectors import coordinators_schedule, service_schedule

AT_RISK_FRACTION = 0.75


@dataclass(frozen=True)
class Clocks:
    accept_by: datetime | None
    contact_by: datetime | None
    at_risk_at: datetime | None


def clocks_compute(
    *,
    priority: str,
    schedule: Schedule,
    clock: Clock,
    accept_from: datetime,
    contact_from: datetime,
) -> Clocks:
    """The deadlines for ``priority`` counted in ``schedule`` (pure)."""
    accept_by = accept_deadline(schedule, priority, accept_from, clock=clock)
    contact_by = contact_deadline(schedule, priority, contact_from, clock=clock)
    return Clocks(
        accept_by=accept_by,
        contact_by=contact_by,
        at_risk_at=at_risk_moment(contact_from, contact_by),
    )


def at_risk_moment(started: datetime, contact_by: datetime | None) -> datetime | None:
    if contact_by is None or contact_by <= started:
        return contact_by
    return started + (contact_by - started) * AT_RISK_FRACTION


def _service_clock(service: Service | None, priority: str) -> Clock:
    if service is None or service.service_type == ServiceType.SPOC:
        return CLOCKS[priority]
    try:
        overrides = clock_overrides_parse(service.clock_overrides)
    except ValueError:
        overrides = {}
    return overrides.get(priority) or CLOCKS[priority]


def team_schedule(service: Service, *, at: datetime) -> Schedule:
    """The hours the clocks of a referral held by ``service``'s team count: the SPOC's own for
    the coordinators (docs/routing.md "Clocks"), else the service's."""
    if service.service_type == ServiceType.SPOC:
        return coordinators_schedule(service, at=at)
    return service_schedule(service, at=at)


def open_time_between(schedule: Schedule, start: datetime, end: datetime) -> timedelta:
    """How much of [start, end) the service was open (pure)."""
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in open_intervals(schedule, start, end):
        total += closes - opens
    return total


def clocks_after_hold(
    *,
    clocks: Clocks,
    schedule: Schedule,
    real_time: bool,
    held_from: datetime,
    resumed_at: datetime,
    contact_from: datetime,
) -> Clocks:
    """The deadlines once a hold from ``held_from`` to ``resumed_at`` is over (pure):
    real time moves them by the time held; service hours by the open time the hold covered.
    ``contact_from`` is the first-contact clock's (already moved) start, for the amber moment."""
    if real_time:
        held: timedelta = resumed_at - held_from

        def move(deadline: datetime | None) -> datetime | None:
            return deadline + held if deadline is not None else None
    else:
        held = open_time_between(schedule, held_from, resumed_at)

        def move(deadline: datetime | None) -> datetime | None:
            return add_open_time(schedule, deadline, held) if deadline is not None else None

    contact_by = move(clocks.contact_by)
    return Clocks(
        accept_by=move(clocks.accept_by),
        contact_by=contact_by,
        at_risk_at=at_risk_moment(contact_from, contact_by),
    )


def referral_clocks_resume(referral: Referral, *, held_from: datetime, now: datetime) -> None:
    """Move the clocks of ``referral`` (not saved) past a hold from ``held_from`` to ``now``: the
    deadlines as ``clocks_after_hold`` says, and both starts by the time held."""
    held_for = max(now - held_from, timedelta(0))
    referral.clock_started_at += held_for
    if referral.accept_clock_started_at is not None:
        referral.accept_clock_started_at += held_for
    team = referral.team
    if team is None:
        return
    service = Service.objects.prefetch_related("opening_hours", "closures").get(pk=team.service_id)
    clock = _service_clock(service, referral.priority)
    moved = clocks_after_hold(
        clocks=Clocks(
            accept_by=referral.accept_by, contact_by=referral.contact_by, at_risk_at=None
        ),
        schedule=team_schedule(service, at=held_from),
        real_time=clock.real_time,
        held_from=held_from,
        resumed_at=now,
        contact_from=referral.clock_started_at,
    )
    referral.accept_by, referral.contact_by, referral.at_risk_at = (
        moved.accept_by,
        moved.contact_by,
        moved.at_risk_at,
    )


def referral_clocks_fix(referral: Referral, *, now: datetime) -> None:
    """Set ``accept_by``, ``contact_by`` and ``at_risk_at`` of ``referral`` (not saved) from its two
    starts and its team's service; all None when it has no team. Loads the service's hours and
    closures (three queries) unless they were prefetched."""
    team = referral.team
    if team is None:
        referral.accept_by = referral.contact_by = referral.at_risk_at = None
        return
    service = Service.objects.prefetch_related("opening_hours", "closures").get(pk=team.service_id)
    accept_from = referral.accept_clock_started_at or now
    clocks = clocks_compute(
        priority=referral.priority,
        schedule=team_schedule(service, at=min(accept_from, referral.clock_started_at)),
        clock=_service_clock(service, referral.priority),
        accept_from=accept_from,
        contact_from=min(referral.clock_started_at, accept_from),
    )
    referral.accept_by = clocks.accept_by
    referral.contact_by = clocks.contact_by
    referral.at_risk_at = clocks.at_risk_at
