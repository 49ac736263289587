"""What the hub owes the systems that sent referrals (docs/interop.md, "The referrer hears
back"): the events not yet turned into response messages, the referrals whose sender's breach
time passed unaccepted, and the messages that could not be delivered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from referrals.models import OutboxMessage, Referral, ReferralEvent
from referrals.selectors import patients_visible_to, referrals_visible_to
from referrals.transitions import ReferralStatus

K = ReferralEvent.Kind

# The events the sender hears of: each changes the status it knows. Not CREATED (the answer to
# its message told it), not the first routing (a referral placed in a queue is what it asked
# for; a ROUTED or UNROUTABLE after a decline or "route again" is), not holds, reassignments or
# interventions (the status it knows stands), and not its own withdrawal (the answer to its
# update told it).
OUTBOX_EVENT_KINDS = (
    K.CLAIMED,
    K.RELEASED,
    K.DECLINED,
    K.REROUTE_REQUESTED,
    K.ROUTED,
    K.UNROUTABLE,
    K.ROUTED_MANUALLY,
    K.CONTACTED,
    K.COMPLETED,
    K.CANCELLED,
    K.REOPENED,
    K.ENTERED_IN_ERROR,
)
_FIRST_ROUTING = Q(kind__in=(K.ROUTED, K.UNROUTABLE), data__attempt__lte=1)
# referrals/services/electronic.py: the sender's withdrawal carries its message's id.
_SENDERS_OWN_WITHDRAWAL = Q(kind=K.CANCELLED, actor__isnull=True, data__has_key="message_id")

# Not accepted: waiting for routing or in a queue, or held before anyone accepted it.
_UNACCEPTED = Q(status__in=(ReferralStatus.AWAITING_ROUTING, ReferralStatus.QUEUED)) | Q(
    status=ReferralStatus.ON_HOLD, accepted_at__isnull=True
)


def outbox_events_unsent(*, now: datetime, limit: int = 500) -> list[ReferralEvent]:
    """The events of partners' referrals that the sender hears of and that have no message yet,
    no older than OUTBOX_EVENT_LOOKBACK_DAYS, oldest first (so one referral's are in the order
    they happened), with the referral, its team, call and sender, and the event's team. The
    lookback bounds what the job, every 10 s, reads (the index on the events' time), and keeps
    history loaded into a new hub from being told to its senders."""
    return list(
        ReferralEvent.objects.filter(
            at__gte=now - timedelta(days=settings.OUTBOX_EVENT_LOOKBACK_DAYS),
            referral__sender__isnull=False,
            kind__in=OUTBOX_EVENT_KINDS,
            outbox_message__isnull=True,
        )
        .exclude(_FIRST_ROUTING)
        .exclude(_SENDERS_OWN_WITHDRAWAL)
        .select_related(
            "referral__team", "referral__call", "referral__sender", "referral__for_person", "team"
        )
        .order_by("id")[:limit]
    )


def outbox_breaches_due(*, now: datetime, limit: int = 500) -> list[Referral]:
    """Partners' referrals still not accepted at their breach time (the sender's, else the
    accept-by time) that have had no breach notice, with their team, call and sender."""
    return list(
        Referral.objects.filter(sender__isnull=False)
        .filter(_UNACCEPTED)
        .alias(breach_at=Coalesce("sender_breach_at", "accept_by"))
        .filter(breach_at__lte=now)
        .exclude(outbox__kind=OutboxMessage.Kind.NOT_ACCEPTED)
        .select_related("team", "call", "sender", "for_person")
        .order_by("id")[:limit]
    )


@dataclass(frozen=True)
class Undelivered:
    """A message that could not be delivered, and how many later messages of its referral wait
    behind it (a referral's messages go in order)."""

    message: OutboxMessage
    waiting: int


def outbox_visible_to(user: Any) -> Q:
    """The messages of the referrals ``user`` may see, and the letters to GP practices about
    the patients they may see (a letter has no referral of its own)."""
    return Q(referral__in=referrals_visible_to(user)) | Q(
        letter__patient__in=patients_visible_to(user)
    )


def outbox_undelivered(*, user: Any, limit: int = 100) -> tuple[list[Undelivered], int]:
    """The response messages that could not be delivered (FAILED), oldest first, at most
    ``limit``, and how many there are: for coordinators (anyone else gets none), of the referrals
    they may see. Each message has its referral (with its team) and its partner, or its letter
    (without the PDF) and the letter's practice. One query, two when there are more than
    ``limit``."""
    if "accounts.coordinate" not in (
        user.get_all_permissions() if user.is_authenticated else set()
    ):
        return [], 0
    failed = OutboxMessage.objects.filter(outbox_visible_to(user)).filter(
        status=OutboxMessage.Status.FAILED
    )
    behind = (
        OutboxMessage.objects.filter(
            referral_id=OuterRef("referral_id"),
            pk__gt=OuterRef("pk"),
            status=OutboxMessage.Status.PENDING,
        )
        .order_by()
        .values("referral_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = [
        Undelivered(message=message, waiting=message.waiting)
        for message in failed.select_related("referral__team", "partner", "letter__practice")
        # The letter's PDF (tens of kilobytes each) is never shown on the list.
        .defer("letter__pdf")
        .annotate(waiting=Coalesce(Subquery(behind, output_field=IntegerField()), 0))
        .order_by("id")[:limit]
    ]
    total = len(rows) if len(rows) < limit else failed.count()
    return rows, total
