"""A referral's clocks (DESIGN.md §6; REFERENCE.md "Urgency"), fixed whenever it joins a queue,
changes priority or comes off hold.

Two clocks, each from its own start:

- the **accept clock** from ``accept_clock_started_at``: the moment the referral last joined a
  queue (routing, routing by hand, reopening);
- the **first-contact clock** from ``clock_started_at``: the call (or ``contact_not_before``),
  never restarted by a decline or re-route.

P1-P3 run in real time; P4-P5 count the hours of the service whose team holds the referral (the
SPOC coordinators count every hour). A hold stops both: on resume, both starts move on by the time
spent on hold and the deadlines are computed again, so a P4-P5 deadline moves by the opening time
the hold covered, counted again from the later start (docs/routing.md has worked examples).
``at_risk_at`` marks 75% of the first-contact time, for the amber warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from referrals.models import Referral
from services.clocks import clock_overrides_parse
from services.codes import CLOCKS, Clock, ServiceType
from services.hours import Schedule, accept_deadline, contact_deadline
from services.models import Service
from services.selectors import service_schedule

# The SPOC coordinators are on duty around the clock (DESIGN.md §3), whatever hours their
# directory row says.
COORDINATORS_SCHEDULE = Schedule(always_open=True)
AT_RISK_FRACTION = 0.75


@dataclass(frozen=True)
class Clocks:
    accept_by: datetime | None
    contact_by: datetime | None
    at_risk_at: datetime | None


def clocks_compute(*, priority: str, schedule: Schedule, clock: Clock, accept_from: datetime,
                   contact_from: datetime) -> Clocks:
    """The deadlines for ``priority`` counted in ``schedule`` (pure)."""
    accept_by = accept_deadline(schedule, priority, accept_from, clock=clock)
    contact_by = contact_deadline(schedule, priority, contact_from, clock=clock)
    return Clocks(accept_by=accept_by, contact_by=contact_by,
                  at_risk_at=at_risk_moment(contact_from, contact_by))


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


def _schedule(service: Service | None, *, at: datetime) -> Schedule:
    if service is None or service.service_type == ServiceType.SPOC:
        return COORDINATORS_SCHEDULE
    return service_schedule(service, at=at)


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
        schedule=_schedule(service, at=min(accept_from, referral.clock_started_at)),
        clock=_service_clock(service, referral.priority),
        accept_from=accept_from,
        contact_from=min(referral.clock_started_at, accept_from),
    )
    referral.accept_by = clocks.accept_by
    referral.contact_by = clocks.contact_by
    referral.at_risk_at = clocks.at_risk_at
