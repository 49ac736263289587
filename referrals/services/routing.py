"""Routing: put a referral that is awaiting routing into the right team's queue (docs/design.md §5).

The service loads the referral (locked), the directory and the open-referral counts, asks the
pure ranker (``services.ranking`` through ``services.selectors.directory_rank``) and saves the
answer: the referral joins the winner's intake team queue, or the SPOC coordinators' fallback
queue when no service can take it, with its clocks fixed and the ranker's whole answer kept as
"Why this team?". Safe to run twice: only a referral still ``AWAITING_ROUTING`` is touched, under
``SELECT ... FOR UPDATE``, so a redelivered task changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from referrals.models import Referral, ReferralEvent
from referrals.services.alerts import URGENT
from referrals.services.clocks import Clocks, at_risk_moment, clocks_compute, team_schedule
from referrals.transitions import OPEN_STATUSES, Action, ReferralStatus, check_action
from services.codes import CLOCKS, SITE_NEEDS, Need, service_types_for
from services.hours import LONDON
from services.models import Service, Team
from services.postcodes import InvalidPostcode, normalise_postcode
from services.ranking import RankedService, winner
from services.selectors import (
    directory_rank,
    directory_version,
    services_with_intake_team,
    spoc_hours_of,
    spoc_service_of,
)

logger = logging.getLogger(__name__)

# Referral.unroutable_reason's max_length.
UNROUTABLE_REASON_MAX = 300
# After this many declines the coordinators decide (docs/design.md §5).
MAX_DECLINES = 2


class RoutingConfigurationError(RuntimeError):
    """The directory has no SPOC coordinators' team to take unroutable referrals.

    A configuration fault, not a property of the referral: the task fails loudly (and the
    sweeper retries it) rather than leaving the referral silently unqueued.
    """


def referral_route(*, referral_id: int) -> Referral | None:
    """Route one referral that is awaiting routing; return it (``None`` if it does not exist).

    A referral in any other status is returned unchanged, with no event: a second delivery of the
    routing task is harmless. Otherwise, in one transaction: the ranker is run with the clock at
    now (or ``contact_not_before`` when that is later) and the winner's intake team receives the
    referral (``QUEUED``, event ``ROUTED``); with no eligible service it goes to the SPOC
    coordinators' team (``QUEUED``, ``unroutable_reason`` set, event ``UNROUTABLE``). Either way
    ``accept_by`` / ``contact_by`` are fixed, ``routing_attempt`` goes up by one and
    ``routing_decision`` keeps every candidate with its reasons.

    Raises ``RoutingConfigurationError`` when a referral is unroutable and the directory has no
    SPOC team, and ``IllegalAction`` if the transition map forbids the move. Runs a constant
    number of queries, whatever the size of the directory, and none for the directory when this
    process kept it at the version read with the referral (docs/routing.md "The directory kept
    in the routing worker").
    """
    with transaction.atomic():
        # The directory's version, read in the transaction's first statement: every directory
        # edit committed before the routing began is in it.
        referral = (
            Referral.objects.select_for_update(of=("self",))
            .select_related("patient", "call", "for_person", "bereavement_screen")
            .annotate(directory_version=directory_version())
            .filter(pk=referral_id)
            .first()
        )
        if referral is None:
            logger.warning("Referral %s not found: nothing to route.", referral_id)
            return None
        if referral.status != ReferralStatus.AWAITING_ROUTING:
            return referral
        check_action(Action.ROUTE, referral.status)

        now = timezone.now()
        at = max(now, referral.contact_not_before) if referral.contact_not_before else now
        declined = [int(service_id) for service_id in referral.declined_service_ids]
        # The first-contact clock never restarts: a re-route still counts from the call.
        contact_from = min(referral.clock_started_at, at)
        types = referral_service_types(referral)
        ranked, services = directory_rank(
            need=referral.need,
            priority=referral.priority,
            at=at,
            directory_version=referral.directory_version,
            **_ranking_inputs(referral, now=now),
            exclude=declined,
            open_referrals=_open_referrals_by_service(types=types),
            contact_from=contact_from,
            service_types=types,
        )
        attempt = referral.routing_attempt + 1
        twice_declined = len(declined) >= MAX_DECLINES
        # A referral made with a reason for the coordinators (an electronic referral whose
        # request the hub could not map to a need) goes to them on its first routing.
        made_for_coordinators = referral.unroutable_reason if attempt == 1 else ""
        chosen = (
            None
            if twice_declined or made_for_coordinators
            else winner(ranked, with_intake_team=services_with_intake_team(services))
        )
        decision = routing_decision(
            ranked=ranked, services=services, at=now, attempt=attempt, winner=chosen
        )
        if chosen is not None:
            team = services[chosen.candidate.id].team
            clocks = Clocks(
                accept_by=chosen.accept_by,
                contact_by=chosen.contact_by,
                at_risk_at=at_risk_moment(contact_from, chosen.contact_by),
            )
            kind = ReferralEvent.Kind.ROUTED
            data: dict[str, Any] = {
                "attempt": attempt,
                "service_id": chosen.candidate.id,
                "service_name": chosen.candidate.name,
                "team_name": team.name,
            }
            referral.unroutable_reason = ""
        else:
            team = _coordinators_team(services)
            clock = CLOCKS[referral.priority]
            clocks = clocks_compute(
                priority=referral.priority,
                schedule=team_schedule(team.service, at=at),
                clock=clock,
                accept_from=at,
                contact_from=contact_from,
            )
            if twice_declined:
                reason = declined_twice_reason(declined, services)
            else:
                reason = made_for_coordinators or unroutable_reason(
                    referral=referral, ranked=ranked
                )
            if clock.real_time:
                # Nobody may be there to read it until the SPOC opens: say so, and where
                # callers are sent meanwhile (docs/routing.md "The coordinators' fallback").
                reason = with_spoc_closed(reason, team.service, now=now)
            kind = ReferralEvent.Kind.UNROUTABLE
            data = {"attempt": attempt, "reason": reason, "team_name": team.name}
            referral.unroutable_reason = reason

        from_status = referral.status
        referral.status = ReferralStatus.QUEUED
        referral.team = team
        referral.accept_by = clocks.accept_by
        referral.contact_by = clocks.contact_by
        referral.at_risk_at = clocks.at_risk_at
        referral.routing_attempt = attempt
        referral.routed_at = now
        referral.accept_clock_started_at = at
        referral.routing_decision = decision
        referral.updated_at = now
        referral.save(
            update_fields=[
                "status",
                "team",
                "accept_by",
                "contact_by",
                "at_risk_at",
                "routing_attempt",
                "routed_at",
                "accept_clock_started_at",
                "routing_decision",
                "unroutable_reason",
                "updated_at",
            ]
        )
        ReferralEvent.objects.create(
            referral=referral,
            kind=kind,
            at=now,
            actor=None,
            from_status=from_status,
            to_status=referral.status,
            team=team,
            data=data,
        )
        new_referral_notify_after_commit(referral)
    return referral


def new_referral_notify_after_commit(referral: Referral) -> None:
    """Once the transaction commits, email the team on duty that the referral joined its queue
    and, for P1-P3, start its urgent alert."""
    transaction.on_commit(
        _new_referral_notifier(referral.pk, urgent=referral.priority in URGENT), robust=True
    )


def _new_referral_notifier(referral_id: int, *, urgent: bool) -> Any:
    def notify_new_referral() -> None:
        # Email is a courtesy on top of the queue: a broker fault only loses the email.
        from referrals.tasks import alerts_start_task, notify_new_referral_task

        try:
            notify_new_referral_task.delay(referral_id)
        except Exception:
            logger.exception(
                "Could not enqueue the new-referral email for referral %s.", referral_id
            )
        # A P1-P3 referral's urgent alert (referrals/services/alerts.py); a broker fault
        # delays it until the alert walk starts it (every 30 s).
        if not urgent:
            return
        try:
            alerts_start_task.delay(referral_id)
        except Exception:
            logger.exception("Could not enqueue the urgent alert for referral %s.", referral_id)

    return notify_new_referral


def _ranking_inputs(referral: Referral, *, now: datetime) -> dict[str, Any]:
    """Postcode, site, age and referrer type of the referral, for the ranker.

    A referral for someone other than the patient (a bereaved relative, a carer) is ranked by
    that person's postcode, else the patient's, and by that person's age when their date of
    birth is known, else by no age (docs/design.md §7): never by the patient's. Nor by the
    hospital the patient is in: the person is not there (docs/routing.md, "Who a referral is
    for").
    """
    patient = referral.patient
    call = referral.call
    site_id = call.patient_site_id if call is not None and call.patient_site_id else None
    person = referral.for_person if referral.for_person_id is not None else None
    if person is not None:
        postcode = person.postcode or patient.postcode
        age = _age_in_years(person.date_of_birth, now) if person.date_of_birth else None
        site_id = None
    else:
        postcode = patient.postcode
        age = _age_in_years(patient.date_of_birth, now)
        site_id = site_id or patient.location_site_id
    return {
        "postcode": postcode or None,
        "site_id": site_id,
        "age": age,
        "referrer_type": call.caller_type if call is not None else None,
    }


def _age_in_years(date_of_birth: Any, now: datetime) -> int:
    today = now.astimezone(LONDON).date()
    birthday_to_come = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - birthday_to_come


def referral_service_types(referral: Referral) -> tuple[str, ...]:
    """The service types that meet the referral's need, in order of preference: for a
    bereavement referral, by the result of its risk screen when it has one
    (``services.codes.service_types_for``; docs/routing.md, "Bereavement routing by the risk
    screen"). Reads the screen the caller selected with the referral (no query then)."""
    screen = getattr(referral, "bereavement_screen", None)
    return service_types_for(
        referral.need, bereavement_component=screen.component if screen is not None else None
    )


def _open_referrals_by_service(*, types: tuple[str, ...]) -> dict[int, int]:
    """Open referrals per service (through its intake team) of the types that may take it,
    passed to the ranker to spread load. One query: the services of those types, joined to
    their teams, and for each team a count over the (team, status) index alone (an index-only
    scan, whatever the table's size)."""
    rows = (
        Referral.objects.filter(status__in=OPEN_STATUSES, team__service__service_type__in=types)
        .values("team__service_id")
        .annotate(count=Count("*"))
        .order_by()
    )
    return {row["team__service_id"]: row["count"] for row in rows}


def _team_of(service: Service | None) -> Team | None:
    # A reverse one-to-one without a row raises RelatedObjectDoesNotExist (an AttributeError).
    return getattr(service, "team", None) if service is not None else None


def declined_twice_reason(declined: list[int], services: Mapping[int, Service]) -> str:
    names = [
        services[service_id].name if service_id in services else f"service {service_id}"
        for service_id in declined
    ]
    return _clip(f"Declined by {' and '.join(names)}: a coordinator decides where it goes")


def _coordinators_team(services: Mapping[int, Service]) -> Team:
    """The SPOC coordinators' intake team (the first by id if there are several), from the
    directory already loaded for ranking, its service's hours with it: no extra query."""
    spoc = spoc_service_of(services.values())
    if spoc is None:
        raise RoutingConfigurationError(
            "No SPOC coordinators' team in the directory: add a service of type SPOC with an "
            "intake team to receive referrals that no partner service can take."
        )
    team: Team = spoc.team
    # The loaded service (hours and closures prefetched), not a new query through the team.
    team.service = spoc
    return team


def with_spoc_closed(reason: str, spoc: Service, *, now: datetime) -> str:
    """``reason``, followed by the SPOC's closure and its divert when the SPOC is closed at
    ``now``; the closure is kept whole and the reason shortened if they do not fit."""
    closed = spoc_hours_of(spoc, at=now).closed_sentence
    if not closed:
        return reason
    room = UNROUTABLE_REASON_MAX - len(closed) - 2
    head = reason if len(reason) <= room else reason[: max(room - 1, 0)].rstrip() + "…"
    return _clip(f"{head}{' ' if head.endswith(('.', '…')) else '. '}{closed}")


def unroutable_reason(*, referral: Referral, ranked: list[RankedService]) -> str:
    """A short sentence for the coordinators saying why no partner service took the referral."""
    need_label = _need_label(referral.need)
    priority = referral.priority
    types = referral_service_types(referral)
    relevant = [item for item in ranked if item.candidate.service_type in types]
    if not relevant:
        return _clip(f"No service in the directory provides {need_label}")
    late = [item for item in relevant if item.eligible and not item.can_meet_deadline]
    if late:
        best = late[0]
        why = next((r for r in best.reasons if r.startswith("Cannot meet")), "")
        return _clip(
            f"No service can meet the {priority} deadline for {need_label}; "
            f"the nearest is {best.candidate.name}. {why}".strip()
        )
    if all(item.eligible for item in relevant):
        return _clip(f"No service that can take {need_label} at {priority} has an intake team")
    excluded = [item for item in relevant if not item.eligible]
    shared = [
        reason
        for reason in excluded[0].reasons
        if all(reason in item.reasons for item in excluded[1:])
    ]
    if shared:
        if referral.need not in SITE_NEEDS and any(
            reason.startswith("Excluded: does not cover") for reason in shared
        ):
            return _clip(f"No service covers {_postcode(referral)} for {need_label} at {priority}")
        return _clip(
            f"No service can take {need_label} at {priority}: {_without_prefix(shared[0])}"
        )
    summary = "; ".join(
        f"{item.candidate.name}: {_without_prefix(item.excluded_reason or '')}" for item in excluded
    )
    return _clip(f"No service can take {need_label} at {priority}. {summary}")


def routing_decision(
    *,
    ranked: list[RankedService],
    services: Mapping[int, Service],
    at: datetime,
    attempt: int,
    winner: RankedService | None,
) -> dict[str, Any]:
    """The ranker's answer as JSON for ``Referral.routing_decision`` ("Why this team?"): every
    candidate, ranked or excluded, with its reasons."""
    return {
        "at": at.isoformat(),
        "attempt": attempt,
        "winner_service_id": winner.candidate.id if winner is not None else None,
        "candidates": [_candidate_json(item, services) for item in ranked],
    }


def _candidate_json(item: RankedService, services: Mapping[int, Service]) -> dict[str, Any]:
    team = _team_of(services.get(item.candidate.id))
    return {
        "service_id": item.candidate.id,
        "service_name": item.candidate.name,
        "team_name": team.name if team is not None else None,
        "eligible": item.eligible,
        "rank": item.rank,
        "can_meet_deadline": item.can_meet_deadline,
        "earliest_response_at": _iso(item.earliest_response_at),
        "accept_by": _iso(item.accept_by),
        "contact_by": _iso(item.contact_by),
        "reasons": list(item.reasons),
        "excluded_reason": item.excluded_reason,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _need_label(need: str) -> str:
    try:
        return str(Need(need).label)
    except ValueError:
        return need


def _postcode(referral: Referral) -> str:
    """The postcode routing used: the person the referral is for, else the patient."""
    person = referral.for_person if referral.for_person_id is not None else None
    raw = (person.postcode if person is not None else "") or referral.patient.postcode
    if not raw:
        return "an unknown postcode"
    try:
        return normalise_postcode(raw)
    except InvalidPostcode:
        return raw.strip()


def _without_prefix(reason: str) -> str:
    return reason.removeprefix("Excluded: ")


def _clip(text: str) -> str:
    if len(text) <= UNROUTABLE_REASON_MAX:
        return text
    return text[: UNROUTABLE_REASON_MAX - 1].rstrip() + "…"
