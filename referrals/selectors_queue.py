"""Reads for the nurse's work (DESIGN.md §1, §6): the team queue, most at risk first, the
nurse's own caseload, the printable queue, the navigation count and the referral page.

The clock badges are computed from stored deadlines, the same way everywhere:

- **breached**: ``contact_by`` has passed and there has been no first contact (queued or
  accepted);
- **at risk**: not breached, but 75% of the time from the clock's start to ``contact_by`` is gone
  (``at_risk_at``, stored with the other deadlines by `referrals.services.clocks`);
- **accept overdue**: ``accept_by`` has passed while the referral is still queued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, Count, Max, Q, QuerySet, Value, When
from django.utils import timezone

from patients.models import Assessment
from patients.selectors import age_on
from referrals.codes import DeclineReason, InterventionType, ReferralOutcome
from referrals.models import Intervention, Referral, ReferralEvent
from referrals.selectors import referrals_visible_to
from referrals.transitions import QUEUE_STATUSES, ReferralStatus
from services.codes import ServiceStatus
from services.models import Team, TeamMembership

CASELOAD_STATUSES = (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, ReferralStatus.ON_HOLD)
NOT_CONTACTED = (ReferralStatus.QUEUED, ReferralStatus.ACCEPTED)
# The queue page shows at most this many, most urgent first; filters narrow it.
QUEUE_LIMIT = 100


@dataclass(frozen=True)
class QueueRow:
    """A referral as the queue shows it, with its clock badges at ``now``."""

    referral: Referral
    breached: bool
    at_risk: bool
    accept_overdue: bool
    age: int | None
    area: str


def _flags(referral: Referral, now: datetime) -> QueueRow:
    not_contacted = referral.status in NOT_CONTACTED and referral.first_contact_at is None
    breached = not_contacted and referral.contact_by is not None and referral.contact_by < now
    at_risk = (not breached and not_contacted and referral.at_risk_at is not None
               and referral.at_risk_at <= now)
    accept_overdue = (referral.status == ReferralStatus.QUEUED and referral.accept_by is not None
                      and referral.accept_by < now)
    patient = referral.patient
    age = age_on(patient.date_of_birth, timezone.localdate(now)) if patient.date_of_birth else None
    # Postcodes are stored normalised ("L9 7AL"): the outward code is the part before the space.
    return QueueRow(referral=referral, breached=breached, at_risk=at_risk, accept_overdue=accept_overdue,
                    age=age, area=(patient.postcode or "").split(" ")[0])


def _rows(referrals: Iterable[Referral], now: datetime) -> list[QueueRow]:
    return [_flags(referral, now) for referral in referrals]


def _most_at_risk_first(referrals: QuerySet[Referral], now: datetime) -> QuerySet[Referral]:
    """Breached first, then at risk, then by the nearest first-contact and accept deadlines: in
    SQL, so that a long queue can be cut to its most urgent rows."""
    not_contacted = Q(status__in=NOT_CONTACTED, first_contact_at__isnull=True)
    return referrals.annotate(
        breached_first=Case(When(not_contacted & Q(contact_by__lt=now), then=Value(0)), default=Value(1)),
        at_risk_first=Case(When(not_contacted & Q(at_risk_at__lte=now), then=Value(0)), default=Value(1)),
    ).order_by("breached_first", "at_risk_first", "contact_by", "accept_by", "id")


def teams_for_queue(*, user: Any) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).select_related("service").order_by("name")


# The badge filters of the queue (a team lead's "what is at risk now").
FLAGS = {"breached": "Breached", "at_risk": "At risk", "accept_overdue": "Accept overdue"}


def team_queue(*, user: Any, team: Team, now: datetime, status: str = "", priority: str = "",
               need: str = "", flag: str = "", limit: int | None = QUEUE_LIMIT) -> list[QueueRow]:
    """Open referrals of the team, optionally filtered (``flag``: one of FLAGS): breached first,
    then at risk, then by the nearest first-contact and accept deadlines; the ``limit`` most
    urgent (None: all, for the printable queue). One query, with patient and owner joined."""
    referrals = (referrals_visible_to(user).filter(team=team, status__in=QUEUE_STATUSES)
                 .select_related("patient", "owner", "team"))
    if status:
        referrals = referrals.filter(status=status)
    if priority:
        referrals = referrals.filter(priority=priority)
    if need:
        referrals = referrals.filter(need=need)
    not_contacted = Q(status__in=NOT_CONTACTED, first_contact_at__isnull=True)
    if flag == "breached":
        referrals = referrals.filter(not_contacted & Q(contact_by__lt=now))
    elif flag == "at_risk":
        referrals = referrals.filter(not_contacted & Q(at_risk_at__lte=now) & ~Q(contact_by__lt=now))
    elif flag == "accept_overdue":
        referrals = referrals.filter(status=ReferralStatus.QUEUED, accept_by__lt=now)
    # The order is decided on the narrow columns alone, then the chosen rows are loaded with
    # their patient and owner (sorting whole rows of a long queue would spill to disk).
    ordered = _most_at_risk_first(referrals, now).values_list("pk", flat=True)
    ids = list(ordered[:limit] if limit is not None else ordered)
    position = {pk: index for index, pk in enumerate(ids)}
    chosen = sorted(referrals.filter(pk__in=ids).defer("routing_decision"), key=lambda r: position[r.pk])
    return _rows(chosen, now)


@dataclass(frozen=True)
class QueueState:
    version: str
    open_count: int


def team_queue_state(*, user: Any, team: Team, now: datetime) -> QueueState:
    """How many referrals are open in the team's queue, and a short fingerprint that changes
    whenever the queue or one of its badges does, so that a poll can answer "nothing changed"
    without rendering (one aggregate query)."""
    not_contacted = Q(status__in=NOT_CONTACTED, first_contact_at__isnull=True)
    stats = (referrals_visible_to(user).filter(team=team, status__in=QUEUE_STATUSES).aggregate(
        n=Count("id"), last=Max("updated_at"),
        breached=Count("id", filter=not_contacted & Q(contact_by__lt=now)),
        at_risk=Count("id", filter=not_contacted & Q(at_risk_at__lte=now)),
        overdue=Count("id", filter=Q(status=ReferralStatus.QUEUED, accept_by__lt=now)),
    ))
    last = stats["last"].isoformat() if stats["last"] else "-"
    return QueueState(
        version=f"{team.pk}:{stats['n']}:{last}:{stats['breached']}:{stats['at_risk']}:{stats['overdue']}",
        open_count=stats["n"])


def caseload_for(*, user: Any, now: datetime) -> list[QueueRow]:
    """The referrals this nurse holds (accepted, in progress or on hold) across her teams, most at
    risk first. One query."""
    referrals = (referrals_visible_to(user)
                 .filter(owner=user, status__in=CASELOAD_STATUSES, team__memberships__user=user)
                 .select_related("patient", "owner", "team").distinct())
    return _rows(_most_at_risk_first(referrals, now), now)


def queued_count_for(*, user: Any) -> int:
    """Referrals waiting to be claimed in the user's teams (the navigation badge). One query."""
    return Referral.objects.filter(status=ReferralStatus.QUEUED, team__memberships__user=user).count()


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def event_details(event: ReferralEvent) -> list[str]:
    """What an event's data says, in words, for the referral's history (no query)."""
    data = event.data or {}
    lines: list[str] = []
    if event.kind == ReferralEvent.Kind.DECLINED and data.get("reason"):
        lines.append(f"Reason: {_label(DeclineReason, data['reason'])}")
    elif data.get("reason"):
        lines.append(f"Reason: {data['reason']}")
    if data.get("note"):
        lines.append(f"Note: {data['note']}")
    if event.kind == ReferralEvent.Kind.REASSIGNED:
        lines.append(f"From {data.get('from') or 'nobody'} to {data.get('to', '')}")
    if event.kind == ReferralEvent.Kind.REPRIORITISED:
        lines.append(f"From {data.get('from', '')} to {data.get('to', '')}")
    if data.get("team_name") and event.kind != ReferralEvent.Kind.DECLINED:
        lines.append(f"To {data['team_name']}")
    if event.kind == ReferralEvent.Kind.COMPLETED and data.get("outcome"):
        lines.append(f"Outcome: {_label(ReferralOutcome, data['outcome'])}")
    if event.kind == ReferralEvent.Kind.INTERVENTION and data.get("kind"):
        avoided = f", admission avoided ({data.get('bed_days_saved')} bed days)" if data.get("admission_avoided") else ""
        lines.append(f"{_label(InterventionType, data['kind'])}{avoided}")
    if event.kind == ReferralEvent.Kind.RESUMED and data.get("held_minutes") is not None:
        lines.append(f"Held for {data['held_minutes']} min")
    return lines


@dataclass(frozen=True)
class ReferralPage:
    referral: Referral
    # Each event with its details in words.
    events: list[tuple[ReferralEvent, list[str]]]
    interventions: list[Intervention]
    assessments: list[Assessment]


def referral_page(*, user: Any, referral_id: int) -> ReferralPage | None:
    """A referral the user may see, with its whole history, its interventions and the
    assessments recorded on it (four queries); None when the user may not see it."""
    referral = (referrals_visible_to(user)
                .select_related("patient", "team__service", "owner", "call", "created_by", "for_person")
                .filter(pk=referral_id).first())
    if referral is None:
        return None
    events = list(referral.events.select_related("actor", "team"))
    assessment_ids = [int(e.data["assessment_id"]) for e in events
                      if e.kind == ReferralEvent.Kind.ASSESSED and e.data.get("assessment_id")]
    assessments = (list(Assessment.objects.filter(pk__in=assessment_ids).select_related("assessed_by"))
                   if assessment_ids else [])
    return ReferralPage(referral=referral, events=[(e, event_details(e)) for e in events],
                        interventions=list(referral.interventions.select_related("by")),
                        assessments=assessments)


def reassign_options(*, referral: Referral) -> list[tuple[int, str]]:
    """The other members of the referral's team, who may be given it (one query)."""
    if referral.team_id is None:
        return []
    members = (TeamMembership.objects.filter(team_id=referral.team_id).exclude(user_id=referral.owner_id or 0)
               .select_related("user").order_by("user__last_name", "user__first_name"))
    return [(m.user.pk, m.user.display_name()) for m in members]


def route_options() -> list[tuple[int, str]]:
    """Teams of active services a referral may be routed to by hand (one query)."""
    teams = Team.objects.filter(service__status=ServiceStatus.ACTIVE).order_by("name")
    return [(t.pk, t.name) for t in teams]
