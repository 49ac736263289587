"""A team's queue (DESIGN.md §1, nurse journey): what is most at risk first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When

from referrals.models import Referral
from referrals.selectors import referrals_visible_to
from referrals.transitions import ReferralStatus
from services.models import Team

QUEUE_STATUSES = (ReferralStatus.QUEUED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS,
                  ReferralStatus.ON_HOLD)


def teams_for_queue(*, user: Any) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).select_related("service").order_by("name")


def team_queue(*, user: Any, team: Team, now: datetime) -> QuerySet[Referral]:
    """Open referrals of the team: breached first (contact-by passed and not yet contacted), then
    by the nearest due time. One query, with patient, team and owner joined."""
    not_contacted = Q(status__in=[ReferralStatus.QUEUED, ReferralStatus.ACCEPTED])
    return (
        referrals_visible_to(user)
        .filter(team=team, status__in=QUEUE_STATUSES)
        .select_related("patient", "owner", "team")
        .annotate(breached=Case(When(not_contacted & Q(contact_by__lt=now), then=Value(0)),
                                default=Value(1), output_field=IntegerField()))
        .order_by("breached", "contact_by", "accept_by", "id")
    )


def team_queue_version(*, user: Any, team: Team) -> str:
    """A short fingerprint that changes whenever the queue does, so that a poll can answer
    "nothing changed" without rendering (one aggregate query)."""
    stats = (referrals_visible_to(user).filter(team=team, status__in=QUEUE_STATUSES)
             .aggregate(n=Count("id"), last=Max("updated_at")))
    last = stats["last"].isoformat() if stats["last"] else "-"
    return f"{team.pk}:{stats['n']}:{last}"
