"""A thin client of GOV.UK Notify's API for the hub's text messages (docs/operations.md, "Urgent
alerts and acknowledgement", "Feedback texts"): send one, in Notify's terms, and say how a failure
should be handled; and the steps every kind of text takes around it (``text_take``,
``text_sent``, ``text_failed``, ``text_receipt``), on any model with the fields of a text
(``phone``, ``send_tries``, ``next_send_at``, ``sending_until``, ``last_error``, ``sent_at``,
``notify_id``, ``status``, ``status_at``): the urgent alerts' and the feedback invitations'. The official client (``notifications-python-client``) signs each request with a JWT
(HS256, the API key's service id as issuer, the time it was made) and raises on any answer but a
success; this module turns that into a ``SmsSent`` or a ``NotifyFailed``.

Nothing here knows of referrals: the caller chooses the template and fills its placeholders,
which never carry a patient's name, NHS number, date of birth or address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

# Notify's answers that no second try will change (docs of Notify's API, "Error codes"): 400
# (a phone number it will not send to, a missing placeholder, an unknown template) and 403 (a
# wrong API key, a clock more than 30 s out). 429 (rate limits), 5xx and no answer are tried
# again.
REFUSED_STATUSES = frozenset({400, 403})
# A key is "<key name>-<service id>-<secret id>": the service id and the secret are two UUIDs.
KEY_TAIL = 73


class TextStatus(models.TextChoices):
    """Where a text message is: the hub's own states, then GOV.UK Notify's statuses of a text
    message (its delivery receipts)."""

    # Not yet taken by Notify (never sent, or every attempt so far failed).
    PENDING = "PENDING", "Waiting to be sent"
    # Notify refused it (a 400 or 403): sending it again would not help.
    REFUSED = "REFUSED", "Refused by Notify"
    # Nobody with a mobile number to send it to.
    NO_RECIPIENT = "NO_RECIPIENT", "Nobody to send it to"
    # GOV.UK Notify's own statuses of a text message.
    CREATED = "created", "Sent to Notify"
    SENDING = "sending", "Sending"
    PENDING_DELIVERY = "pending", "Waiting for the phone"
    SENT = "sent", "Sent (international)"
    DELIVERED = "delivered", "Delivered"
    PERMANENT_FAILURE = "permanent-failure", "Not delivered: wrong number"
    TEMPORARY_FAILURE = "temporary-failure", "Not delivered: phone off or unreachable"
    TECHNICAL_FAILURE = "technical-failure", "Not delivered: Notify's provider failed"


# What a delivery receipt may say: Notify's statuses of a text after it took it.
RECEIPT_STATUSES = frozenset(TextStatus) - {
    TextStatus.PENDING,
    TextStatus.REFUSED,
    TextStatus.NO_RECIPIENT,
    TextStatus.CREATED,
}


class NotifyFailed(Exception):
    """Notify did not take the message. ``refused``: it said no and would say no again (do not
    retry); otherwise try again later. ``detail``: Notify's status and error, no message text."""

    def __init__(self, detail: str, *, refused: bool) -> None:
        super().__init__(detail)
        self.detail = detail[:200]
        self.refused = refused


@dataclass(frozen=True)
class SmsSent:
    notification_id: uuid.UUID


def notify_configured() -> bool:
    return len(settings.NOTIFY_API_KEY) >= KEY_TAIL


def _client() -> NotificationsAPIClient:
    return NotificationsAPIClient(
        settings.NOTIFY_API_KEY,
        base_url=settings.NOTIFY_BASE_URL,
        timeout=settings.NOTIFY_TIMEOUT_SECONDS,
    )


def _error_detail(exc: APIError) -> str:
    errors: Any = exc.message
    if isinstance(errors, list):
        parts = [
            f"{e.get('error', '')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)
        ]
        return f"HTTP {exc.status_code} " + "; ".join(parts)
    return f"HTTP {exc.status_code} {errors}"


def sms_send(
    *, phone: str, template_kind: str, personalisation: dict[str, str], reference: str
) -> SmsSent:
    """Ask Notify to send the template of ``template_kind`` (a key of ``NOTIFY_TEMPLATES``) to
    ``phone`` (E.164). Returns Notify's id for the message; raises NotifyFailed."""
    template_id = settings.NOTIFY_TEMPLATES.get(template_kind, "")
    if not notify_configured():
        raise NotifyFailed("NOTIFY_API_KEY is not set", refused=False)
    if not template_id:
        raise NotifyFailed(f"No Notify template for {template_kind}", refused=False)
    try:
        answer = _client().send_sms_notification(
            phone_number=phone,
            template_id=template_id,
            personalisation=personalisation,
            reference=reference,
        )
    except APIError as exc:
        raise NotifyFailed(_error_detail(exc), refused=exc.status_code in REFUSED_STATUSES) from exc
    except Exception as exc:  # a connection refused or reset, a timeout, a bad URL
        raise NotifyFailed(f"No answer: {exc.__class__.__name__}", refused=False) from exc
    try:
        return SmsSent(notification_id=uuid.UUID(str(answer["id"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise NotifyFailed("Notify's answer had no notification id", refused=False) from exc


# --- The steps of sending any text ----------------------------------------------------------


def text_take(rows: QuerySet[Any], *, now: datetime, lease_seconds: int) -> bool:
    """Take the text of ``rows`` (one row, with the caller's own conditions) for sending: one
    conditional update, so two workers never send it twice. Only a text never taken by Notify
    and not held by another worker's lease is taken; the lease lets another worker take it once
    this one has died. Returns whether this worker has it."""
    return bool(
        rows.filter(sent_at__isnull=True, status=TextStatus.PENDING)
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
        .update(sending_until=now + timedelta(seconds=lease_seconds))
    )


def text_sent(message: Any, sent: SmsSent, *, at: datetime) -> None:
    """Set on ``message`` (not saved) that Notify took it: its id, the time, no lease, no
    error, nothing more to send."""
    message.sent_at = at
    message.notify_id = sent.notification_id
    message.status = TextStatus.CREATED
    message.status_at = at
    message.sending_until = None
    message.send_tries += 1
    message.last_error = ""
    message.next_send_at = None


def text_failed(
    message: Any,
    exc: NotifyFailed,
    *,
    now: datetime,
    first_wait_seconds: int,
    longest_wait_seconds: int,
) -> None:
    """Set on ``message`` (not saved) that Notify did not take it: what went wrong (Notify's
    error, never the text) and, unless Notify refused it (never tried again), when to try
    again, the wait doubling from ``first_wait_seconds`` to ``longest_wait_seconds``."""
    message.send_tries += 1
    message.last_error = exc.detail
    message.sending_until = None
    if exc.refused:
        message.status = TextStatus.REFUSED
        message.status_at = now
        message.next_send_at = None
    else:
        tries: int = message.send_tries
        wait = min(first_wait_seconds * 2 ** (tries - 1), longest_wait_seconds)
        message.next_send_at = now + timedelta(seconds=wait)


def text_receipt(rows: QuerySet[Any], *, notification_id: Any, status: str) -> tuple[Any, bool]:
    """Record Notify's delivery receipt on the text of ``rows`` with Notify's id
    ``notification_id``, locked: its status and when. Returns the row (None when no text has
    that id) and whether the status changed (a receipt Notify repeats changes nothing). Call it
    in a transaction. Raises ValueError for a status that is not a receipt's."""
    if status not in RECEIPT_STATUSES:
        raise ValueError(status)
    message = rows.select_for_update(of=("self",)).filter(notify_id=notification_id).first()
    if message is None or message.status == status:
        return message, False
    message.status = status
    message.status_at = timezone.now()
    message.save(update_fields=["status", "status_at"])
    return message, True
