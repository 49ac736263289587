"""A thin client of GOV.UK Notify's API for the hub's text messages (docs/operations.md, "Urgent
alerts and acknowledgement"): send one, in Notify's terms, and say how a failure should be
handled. The official client (``notifications-python-client``) signs each request with a JWT
(HS256, the API key's service id as issuer, the time it was made) and raises on any answer but a
success; this module turns that into a ``SmsSent`` or a ``NotifyFailed``.

Nothing here knows of referrals: the caller chooses the template and fills its placeholders,
which never carry a patient's name, NHS number, date of birth or address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

# Notify's answers that no second try will change (docs of Notify's API, "Error codes"): 400
# (a phone number it will not send to, a missing placeholder, an unknown template) and 403 (a
# wrong API key, a clock more than 30 s out). 429 (rate limits), 5xx and no answer are tried
# again.
REFUSED_STATUSES = frozenset({400, 403})
# A key is "<key name>-<service id>-<secret id>": the service id and the secret are two UUIDs.
KEY_TAIL = 73


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
