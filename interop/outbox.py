"""The referrer hears back (docs/interop.md): BaRS response messages to the partner system that
sent a referral, when it is accepted, declined or routed again, first contacted, completed,
cancelled, closed on the patient's death, and once if it is still not accepted at the sender's
breach time.

Two jobs, both run by beat (spoc/celery.py, interop/tasks.py):

- ``outbox_feed`` turns the events the sender hears of into outbox rows, oldest event first,
  and adds the breach notices due. Each message is built then, once: its Bundle (and so its id)
  is the same on every attempt, and its statuses are those the event left, not whatever the
  referral has become by the time the message goes.
- ``outbox_deliver`` POSTs the messages due to each partner's endpoint, a referral's in order,
  recording each attempt (referrals/services/outbox.py keeps the rows and their rules).
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from interop.bars import response_message
from interop.codes import FHIR_JSON
from interop.mesh import mesh_drop
from interop.resources import Resource
from referrals.codes import ReferralOutcome
from referrals.models import GpLetter, OutboxMessage, Referral, ReferralEvent
from referrals.selectors.outbox import outbox_breaches_due, outbox_events_unsent
from referrals.services.outbox import (
    outbox_add,
    outbox_attempt_record,
    outbox_take_next,
    partner_endpoint_problem,
)
from referrals.transitions import ReferralStatus
from spoc.core.api import api_iso
from spoc.core.identifiers import is_endpoint

logger = logging.getLogger(__name__)

S = ReferralStatus
# One delivery run starts no new message after this long, so that with one more message timing
# out it ends well inside its soft time limit (interop/tasks.py, 50 s).
DELIVERY_BUDGET_SECONDS = 25.0


def hub_fhir_base() -> str:
    """The hub's FHIR base URL, for the references in what it sends (no request to take it from)."""
    return f"{settings.HUB_URL}/fhir/R4/"


# --- What to say ---------------------------------------------------------------------------------


def _as_the_event_left_it(referral: Referral, event: ReferralEvent) -> Referral:
    """``referral`` (a copy loaded for this event, never saved) with the status and team the
    event left it with, and no later acceptance or closing: the sender hears each change as it
    happened, even when the message is made after the referral moved on."""
    referral.status = event.to_status
    # Sent back for routing, it is with no team (the event names the team it left).
    referral.team = None if referral.status == S.AWAITING_ROUTING else event.team or referral.team
    if referral.status in (S.AWAITING_ROUTING, S.QUEUED):
        referral.accepted_at = None
    if referral.status in (S.AWAITING_ROUTING, S.QUEUED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD):
        referral.closed_at = None
    referral.updated_at = event.at
    return referral


def response_for(referral: Referral, *, status_reason: str = "", destination: str = "") -> Resource:
    """The BaRS response message about ``referral`` (its ServiceRequest and Task), answering the
    message it came in (``Referral.sender_message_id``); ``status_reason`` explains the Task's
    status when the Task has no reason of its own; ``destination`` is the partner's endpoint."""
    body = response_message(
        referral, base=hub_fhir_base(), responding_to=referral.sender_message_id, code="ok"
    )
    header = body["entry"][0]["resource"]
    if destination:
        header["destination"] = [{"endpoint": destination}]
    task = body["entry"][2]["resource"]
    if status_reason and "statusReason" not in task:
        task["statusReason"] = {"text": status_reason}
    return body


def event_response(event: ReferralEvent) -> Resource:
    referral = _as_the_event_left_it(event.referral, event)
    reason = ""
    if event.kind == ReferralEvent.Kind.COMPLETED and event.data.get("outcome"):
        outcome = str(event.data["outcome"])
        reason = ReferralOutcome(outcome).label if outcome in ReferralOutcome.values else ""
    assert referral.sender is not None
    return response_for(referral, status_reason=reason, destination=referral.sender.endpoint)


def breach_response(referral: Referral) -> Resource:
    breach_at = referral.sender_breach_at or referral.accept_by
    assert referral.sender is not None
    return response_for(
        referral,
        status_reason=f"Not accepted by {api_iso(breach_at)}.",
        destination=referral.sender.endpoint,
    )


def outbox_feed(*, now: datetime | None = None) -> int:
    """Add the messages owed: one per event the sender hears of (OUTBOX_EVENT_KINDS) in the last
    OUTBOX_EVENT_LOOKBACK_DAYS, oldest first, then one breach notice per referral still not accepted past its breach time. Safe to
    run twice, or twice at once: the unique constraints keep one message per event and one
    notice per referral. Returns how many messages it added."""
    now = now or timezone.now()
    added = 0
    for event in outbox_events_unsent(now=now):
        referral = event.referral
        assert referral.sender_id is not None
        added += outbox_add(
            referral_id=referral.pk,
            partner_id=referral.sender_id,
            event_id=event.pk,
            kind=event.kind,
            body=event_response(event),
            now=now,
        )
    for referral in outbox_breaches_due(now=now):
        assert referral.sender_id is not None
        added += outbox_add(
            referral_id=referral.pk,
            partner_id=referral.sender_id,
            kind=OutboxMessage.Kind.NOT_ACCEPTED,
            body=breach_response(referral),
            now=now,
        )
    if added:
        logger.info("Outbox: %d response message(s) to send to referrers.", added)
    return added


# --- Sending it ----------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The endpoint is used exactly as registered: a redirect is an answer, not a new address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Attempt:
    # "" when the partner took it (any 2xx); else what went wrong, short and without the body.
    error: str = ""
    # The partner could not be reached at all (refused, timed out): its other messages wait
    # for the next run instead of each waiting out the timeout now.
    unreachable: bool = False
    # Trying again cannot help (an endpoint the hub will not send to): FAILED at once.
    final: bool = False


def post_message(endpoint: str, body: Resource, *, timeout: float) -> Attempt:
    """POST ``body`` as FHIR JSON to ``endpoint``, giving up after ``timeout`` seconds on the
    connection or any read. Never raises for what the network or the partner does. An
    endpoint that is not https (nor http on this computer: spoc/core/identifiers.py) is refused
    without a connection, as a final error: the body carries patients' details."""
    if not is_endpoint(endpoint):
        return Attempt("The endpoint is not an https address.", final=True)
    # The scheme is checked above (and when the endpoint is registered): never file: or ftp:.
    request = urllib.request.Request(  # noqa: S310
        endpoint,
        data=json.dumps(body, separators=(",", ":")).encode(),
        method="POST",
        headers={
            "Content-Type": FHIR_JSON,
            "Accept": FHIR_JSON,
            # BaRS: the request's id; the same on every attempt, so a repeat can be told.
            "X-Request-ID": str(body.get("id") or ""),
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        status = exc.code
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return Attempt(f"No answer within {timeout:g} s.", unreachable=True)
        return Attempt(f"Could not connect ({type(exc.reason).__name__}).", unreachable=True)
    except TimeoutError:
        return Attempt(f"No answer within {timeout:g} s.", unreachable=True)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Attempt(f"The exchange failed ({type(exc).__name__}).", unreachable=True)
    if 200 <= status < 300:
        return Attempt()
    return Attempt(f"HTTP {status}.")


def letter_send(letter: GpLetter, body: Resource, *, timeout: float) -> Attempt:
    """Deliver a letter's document Bundle: POSTed like a response message to the practice's
    endpoint when it has one, else written to its folder of the MESH-style drop folder
    (interop/mesh.py). Never raises for what the practice's details or the folder do: an ODS
    code that cannot name a folder is a final error (the message is FAILED at once)."""
    practice = letter.practice
    if practice.endpoint:
        return post_message(practice.endpoint, body, timeout=timeout)
    try:
        mesh_drop(
            mailbox=practice.ods_code,
            message_id=str(letter.letter_id),
            document=body,
            pdf=bytes(letter.pdf),
            subject=str(body["entry"][0]["resource"].get("title", "")),
        )
    except OSError as exc:
        return Attempt(f"Could not write to the drop folder ({type(exc).__name__}).")
    except ValueError:
        # The practice's ODS code cannot name a folder: no later attempt can write it either.
        return Attempt("The practice's ODS code cannot name a drop folder.", final=True)
    return Attempt()


@dataclass
class DeliveryRun:
    sent: int = 0
    failed: int = 0


def outbox_deliver(*, budget_seconds: float = DELIVERY_BUDGET_SECONDS) -> DeliveryRun:
    """Send the messages due, one at a time, until none is due or ``budget_seconds`` have gone.
    A destination that cannot be reached (a partner, or a GP practice's endpoint) is not tried
    again in this run, so one that hangs costs at most one timeout per run and holds up no other
    destination; a message refused by its partner holds up only the later messages of its own
    referral."""
    run = DeliveryRun()
    skip_partners: set[int] = set()
    skip_practices: set[int] = set()
    deadline = time.monotonic() + budget_seconds
    timeout = settings.OUTBOX_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        message = outbox_take_next(
            now=timezone.now(), skip_partner_ids=skip_partners, skip_practice_ids=skip_practices
        )
        if message is None:
            break
        if message.letter is not None:
            # A letter to a GP practice (docs/interop.md, "The GP hears back").
            problem = ""
            attempt = letter_send(message.letter, message.body, timeout=timeout)
        else:
            assert message.partner is not None  # outbox_letter_or_sender
            problem = partner_endpoint_problem(message.partner)
            attempt = (
                Attempt(problem)
                if problem
                else post_message(message.partner.endpoint, message.body, timeout=timeout)
            )
        outbox_attempt_record(
            message=message,
            now=timezone.now(),
            error=attempt.error,
            final=bool(problem) or attempt.final,
        )
        if not attempt.error:
            run.sent += 1
            continue
        run.failed += 1
        if attempt.unreachable:
            if message.letter is not None:
                skip_practices.add(message.letter.practice_id)
            elif message.partner_id is not None:
                skip_partners.add(message.partner_id)
        logger.warning(
            "Outbox: message %d (referral %s, attempt %d) not delivered to %s: %s",
            message.pk,
            message.referral_id,
            message.attempts,
            (
                f"practice {message.letter.practice_id}"
                if message.letter is not None
                else f"partner {message.partner_id}"
            ),
            attempt.error,
        )
    return run
