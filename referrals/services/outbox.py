"""The outbox of response messages to the systems that sent referrals (docs/interop.md, "The
referrer hears back"). interop/outbox.py decides what to say and sends it; these functions keep
the rows: adding a message once, handing the next one due to one worker, recording each attempt,
and a coordinator's "send again".

The rules the rows keep:

- one message per event, one breach notice per referral (unique constraints);
- a referral's messages are sent in the order they were made: a message is handed out only when
  every earlier message of its referral has been sent;
- a message is handed to one worker at a time (``SELECT ... FOR UPDATE SKIP LOCKED``, then
  ``sending_until``), and one destination (a partner, or for a letter its GP practice) has one
  message on its way at a time, so a destination that hangs holds up no more than one worker;
- after ``OUTBOX_MAX_ATTEMPTS`` failed attempts, backing off, a message is FAILED and waits for
  ``outbox_resend``; the messages of its referral after it wait too.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from referrals.models import OutboxMessage
from referrals.selectors.outbox import outbox_visible_to
from spoc.accounts.models import PartnerSystem
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.api import DomainConflict
from spoc.core.identifiers import is_endpoint

# How long a worker may take over one message before another may take it: more than the
# delivery task's hard time limit (interop/tasks.py, 60 s), so a message still being sent is
# never sent by a second worker; a worker that died leaves it to be sent again after this.
SENDING_LEASE = timedelta(seconds=90)
ERROR_MAX = 200


class AlreadySent(DomainConflict):
    code = "already_sent"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: OUTBOX_RETRY_BASE_SECONDS,
    doubling each time, at most OUTBOX_RETRY_MAX_SECONDS (15 s, 30 s, 1, 2, 4, 8 min, then 15 min
    with the defaults)."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_MAX_SECONDS)
    )


def outbox_add(
    *,
    referral_id: int,
    partner_id: int,
    kind: str,
    body: dict[str, Any],
    now: datetime,
    event_id: int | None = None,
) -> bool:
    """Add a message to send now (``event_id``: the event it tells of; none for a breach notice).
    Returns False, adding nothing, when that event or that referral's breach notice already has
    its message."""
    try:
        with transaction.atomic():
            OutboxMessage.objects.create(
                referral_id=referral_id,
                partner_id=partner_id,
                event_id=event_id,
                kind=kind,
                body=body,
                created_at=now,
                next_attempt_at=now,
            )
    except IntegrityError:
        return False
    return True


def outbox_take_next(
    *,
    now: datetime,
    skip_partner_ids: Collection[int],
    skip_practice_ids: Collection[int] = (),
) -> OutboxMessage | None:
    """The next message due, taken for this worker (its attempt counted, ``sending_until`` set)
    and committed before it is sent, or None. Due: waiting, its time come, not being sent by
    another worker, every earlier message of its referral sent, no other message to its
    destination on its way, and its destination not skipped: a response message's partner not in
    ``skip_partner_ids``, a letter's GP practice not in ``skip_practice_ids``. Oldest first."""
    pending = OutboxMessage.Status.PENDING
    earlier_unsent = OutboxMessage.objects.filter(
        referral_id=OuterRef("referral_id"), pk__lt=OuterRef("pk")
    ).exclude(status=OutboxMessage.Status.SENT)
    # The same destination: the same partner, or (a letter has no partner) the same practice.
    # A NULL on either side matches nothing, so a letter is never busy because of a partner.
    destination_busy = OutboxMessage.objects.filter(
        Q(partner_id=OuterRef("partner_id"))
        | Q(letter__practice_id=OuterRef("letter__practice_id")),
        status=pending,
        sending_until__gt=now,
    )
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=pending, next_attempt_at__lte=now)
            .filter(Q(sending_until__isnull=True) | Q(sending_until__lte=now))
            .exclude(partner_id__in=skip_partner_ids)
            .filter(Q(letter__isnull=True) | ~Q(letter__practice_id__in=skip_practice_ids))
            .exclude(Exists(earlier_unsent))
            .exclude(Exists(destination_busy))
            .select_related("partner", "letter__practice")
            .order_by("id")
            .first()
        )
        if message is None:
            return None
        message.attempts += 1
        message.last_attempt_at = now
        message.sending_until = now + SENDING_LEASE
        message.save(update_fields=["attempts", "last_attempt_at", "sending_until"])
    return message


def outbox_attempt_record(
    *, message: OutboxMessage, now: datetime, error: str = "", final: bool = False
) -> OutboxMessage:
    """Record the attempt ``outbox_take_next`` handed out: sent (no ``error``), or failed with a
    short ``error`` (never patient details): tried again after ``retry_delay``, or FAILED once
    its attempts reach OUTBOX_MAX_ATTEMPTS or when ``final`` (there is nowhere to send it).
    Changes nothing if the message was taken again meanwhile (a lease that ran out)."""
    changes: dict[str, Any] = {"sending_until": None}
    if not error:
        changes.update(status=OutboxMessage.Status.SENT, sent_at=now, last_error="")
    else:
        changes["last_error"] = error[:ERROR_MAX]
        if final or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            changes["status"] = OutboxMessage.Status.FAILED
        else:
            changes["next_attempt_at"] = now + retry_delay(message.attempts)
    OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxMessage.Status.PENDING, attempts=message.attempts
    ).update(**changes)
    for field, value in changes.items():
        setattr(message, field, value)
    return message


def outbox_resend(*, message_id: int, user: Any) -> OutboxMessage:
    """Send a FAILED message again (a coordinator's "send again", once the partner is back or
    its endpoint is put right): it waits again, due now, with its attempts counted from zero,
    and the messages of its referral after it follow it. A message already waiting is returned
    as it is. Access-logged. Raises PermissionDenied for anyone but a coordinator,
    OutboxMessage.DoesNotExist for a message of a referral the user may not see, and
    AlreadySent (a 409) for a message already delivered."""
    if not user.is_authenticated or not user.has_perm("accounts.coordinate"):
        raise PermissionDenied("Only coordinators send messages to referrers again.")
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(of=("self",))
            .select_related("referral", "letter")
            .filter(outbox_visible_to(user))
            .get(pk=message_id)
        )
        if message.status == OutboxMessage.Status.SENT:
            raise AlreadySent("This message was delivered already.")
        if message.status == OutboxMessage.Status.PENDING:
            return message
        now = timezone.now()
        message.status = OutboxMessage.Status.PENDING
        message.attempts = 0
        message.next_attempt_at = now
        message.sending_until = None
        message.save(update_fields=["status", "attempts", "next_attempt_at", "sending_until"])
        access_log_record(
            action=AccessLog.Action.UPDATE,
            user=user,
            object_type="outbox_message",
            object_id=message.pk,
            patient_id=(message.referral or message.letter).patient_id,  # type: ignore[union-attr]
            detail={"action": "resend", "referral_id": message.referral_id},
        )
    return message


def partner_endpoint_problem(partner: PartnerSystem) -> str:
    """Why nothing can be sent to ``partner`` (no endpoint registered, switched off, an endpoint
    that is not https, registered before the hub required it), or ""."""
    if not partner.is_active:
        return "The partner system is switched off."
    if not partner.endpoint:
        return "No endpoint is registered for the partner system."
    if not is_endpoint(partner.endpoint):
        return "The partner's endpoint is not an https address."
    return ""
