"""Feedback texts and answers (docs/operations.md, "Feedback texts"; docs/security.md, "The
feedback form").

- **Consent.** ``invitation_consent_record`` is called inside the transaction of the action that
  asks (completing a referral): no consent, no invitation, and no text without an invitation.
  A patient alive is asked the Friends and Family Test, due at once; for a patient who has died,
  a person around them is sent the bereaved relatives' survey, due ``BEREAVED_SURVEY_AFTER_DAYS``
  after the death. Either is moved into the sending hours (``experience/rules.py``).
- **Sending.** ``invitations_send_due`` (the beat job ``experience.send_due``) sends each
  invitation due, once: taken with a lease (``text_take``, spoc/core/notify.py, as the urgent
  alerts are), given a new random token whose SHA-256 only is kept, then texted. A text Notify
  did not take is tried again, waiting longer each time; one it refused is not. A Friends and
  Family Test text whose patient has died since, or a survey whose death is no longer on
  record (withdrawn as entered in error), is cancelled, never sent; a survey whose date of death
  was corrected later waits for its new day.
- **Answers.** ``answer_submit`` records the answers of an open link once (the invitation row
  locked, one ``Answer`` per invitation)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from experience.codes import DiedWhereWanted, FamilySupport, FftAnswer
from experience.models import WHY_MAX, Answer, Invitation
from experience.rules import survey_due, within_sending_hours
from experience.selectors import PATIENT, feedback_recipients, invitation_open, token_hash
from patients.models import Patient
from spoc.core.notify import (
    NotifyFailed,
    TextStatus,
    sms_send,
    text_failed,
    text_receipt,
    text_sent,
    text_take,
)

logger = logging.getLogger(__name__)

TEMPLATE_KINDS = {Invitation.Kind.FFT: "FEEDBACK", Invitation.Kind.BEREAVED: "BEREAVED_SURVEY"}
# A worker sending a text holds it this long; past it (the worker died), another may.
SEND_LEASE_SECONDS = 60
# A text Notify did not answer is tried again after 5 minutes, doubling to 6 hours at most: a
# feedback text is never urgent, and Notify's outages are short.
RETRY_FIRST_SECONDS = 300
RETRY_MAX_SECONDS = 6 * 3600
# One run sends at most this many (each a request to Notify of up to NOTIFY_TIMEOUT_SECONDS);
# the next run takes the rest.
BATCH = 20


class InvitationClosed(Exception):
    """The link was answered already, has expired, was cancelled, or never existed."""


def invitation_consent_record(
    *,
    patient: Patient,
    to: str,
    user: Any,
    now: datetime,
    referral_id: int | None = None,
    team_id: int | None = None,
    field: str = "feedback_to",
) -> Invitation | None:
    """Record that the person ``to`` names (``"patient"`` or ``"person-<id>"``, a choice of
    ``feedback_recipients``) agreed to a feedback text, at the mobile number on their record:
    the Friends and Family Test about the referral ``referral_id``, or, the patient having died,
    the bereaved relatives' survey. Returns the invitation; None when ``to`` is empty (no
    consent) or one was already recorded for this referral (or this death). Call it inside the
    asking action's transaction. Raises ValidationError on ``field`` (the asking form's field)
    when ``to`` is not one of the patient's choices."""
    if not to:
        return None
    mobile = {choice: number for choice, _, number in feedback_recipients(patient=patient)}
    if to not in mobile:
        raise ValidationError(
            {
                field: [
                    "Choose who agreed to the feedback text from the list: the patient while "
                    "alive, or a person around them with a mobile number on their record"
                ]
            }
        )
    if patient.died_at is not None:
        kind = Invitation.Kind.BEREAVED
        due = survey_due(died_at=patient.died_at, after_days=settings.BEREAVED_SURVEY_AFTER_DAYS)
        existing = Invitation.objects.filter(kind=kind, patient=patient)
    elif referral_id is None:
        raise ValueError("A Friends and Family Test text follows a completed referral")
    else:
        kind = Invitation.Kind.FFT
        due = within_sending_hours(now)
        existing = Invitation.objects.filter(kind=kind, referral_id=referral_id)
    if existing.exists():
        return None
    invitation = Invitation(
        kind=kind,
        patient=patient,
        referral_id=referral_id,
        team_id=team_id,
        related_person_id=None if to == PATIENT else int(to.removeprefix("person-")),
        phone=mobile[to].as_e164,
        consent_recorded_by=user,
        consent_recorded_at=now,
        due_at=max(due, now),
    )
    invitation.full_clean()
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        return None  # recorded meanwhile by another action
    return invitation


# --- Sending --------------------------------------------------------------------------------


@dataclass
class SendRun:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def _due(now: datetime) -> Q:
    return Q(
        sent_at__isnull=True,
        cancelled_at__isnull=True,
        due_at__lte=now,
    ) & (Q(next_send_at__isnull=True) | Q(next_send_at__lte=now))


def invitations_send_due(*, now: datetime | None = None) -> SendRun:
    """Send every invitation due and not yet sent (BATCH at most), each once (module
    docstring), within the sending hours only. Safe to run concurrently and to run twice."""
    now = now or timezone.now()
    run = SendRun()
    if within_sending_hours(now) != now:
        return run  # retries too wait for the morning
    due = list(
        Invitation.objects.filter(_due(now), status=TextStatus.PENDING)
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    for invitation_id in due:
        outcome = invitation_send(invitation_id=invitation_id, now=now)
        if outcome == "sent":
            run.sent.append(invitation_id)
        elif outcome == "cancelled":
            run.cancelled.append(invitation_id)
        elif outcome == "failed":
            run.failed.append(invitation_id)
    if run.sent or run.failed or run.cancelled:
        logger.info(
            "Feedback texts: %s sent, %s not taken, %s cancelled",
            len(run.sent),
            len(run.failed),
            len(run.cancelled),
        )
    return run


def _cancel_reason(invitation: Invitation) -> str:
    """Why the invitation must not be sent now; "" when it may."""
    died = invitation.patient.died_at is not None
    if invitation.kind == Invitation.Kind.FFT and died:
        return Invitation.Cancelled.PATIENT_DIED
    if invitation.kind == Invitation.Kind.BEREAVED and not died:
        return Invitation.Cancelled.NO_DEATH
    return ""


def invitation_send(*, invitation_id: int, now: datetime | None = None) -> str:
    """Send one invitation's text, once. Returns "sent", "failed" (Notify did not take it:
    tried again later unless refused), "cancelled" (no longer to be sent) or "" (nothing to do:
    sent, not due, or being sent by another worker)."""
    now = now or timezone.now()
    rows = Invitation.objects.filter(_due(now), pk=invitation_id)
    invitation = rows.select_related("patient").first()
    if invitation is None:
        return ""
    reason = _cancel_reason(invitation)
    if reason:
        cancelled = rows.filter(sending_until__isnull=True).update(
            cancelled_at=now, cancel_reason=reason
        )
        return "cancelled" if cancelled else ""
    died_at = invitation.patient.died_at
    if invitation.kind == Invitation.Kind.BEREAVED and died_at is not None:
        # A corrected date of death moves the survey with it.
        due = survey_due(died_at=died_at, after_days=settings.BEREAVED_SURVEY_AFTER_DAYS)
        if due > now:
            rows.update(due_at=due)
            return ""
    if not text_take(rows, now=now, lease_seconds=SEND_LEASE_SECONDS):
        return ""
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=settings.FEEDBACK_LINK_DAYS)
    # The token's hash is kept before the text goes: a link that arrives always opens.
    Invitation.objects.filter(pk=invitation_id).update(
        token_hash=token_hash(token), expires_at=expires_at
    )
    try:
        sent = sms_send(
            phone=invitation.phone,
            template_kind=TEMPLATE_KINDS[Invitation.Kind(invitation.kind)],
            personalisation={"link": settings.HUB_URL + reverse("feedback:form", args=[token])},
            reference=f"spoc-feedback-{invitation.pk}",
        )
    except NotifyFailed as exc:
        logger.warning("Feedback text %s not sent: %s", invitation.pk, exc.detail)
        invitation.refresh_from_db()
        text_failed(
            invitation,
            exc,
            now=timezone.now(),
            first_wait_seconds=RETRY_FIRST_SECONDS,
            longest_wait_seconds=RETRY_MAX_SECONDS,
        )
        invitation.save()
        return "failed"
    invitation.refresh_from_db()
    sent_at = timezone.now()
    text_sent(invitation, sent, at=sent_at)
    invitation.expires_at = sent_at + timedelta(days=settings.FEEDBACK_LINK_DAYS)
    invitation.save()
    return "sent"


def invitation_receipt_record(*, notification_id: Any, status: str) -> Invitation | None:
    """Record Notify's delivery receipt for a feedback text: its status and when. Returns the
    invitation, or None when no feedback text has that id."""
    with transaction.atomic():
        invitation, _ = text_receipt(
            Invitation.objects.all(), notification_id=notification_id, status=status
        )
    return invitation


# --- Answers --------------------------------------------------------------------------------


def answer_submit(
    *,
    token: str,
    rating: str,
    why: str = "",
    died_where_wanted: str = "",
    family_support: str = "",
    now: datetime | None = None,
) -> Answer:
    """Record the answers given through the link carrying ``token``, once. Raises
    InvitationClosed when the link may not be answered (answered already, expired, cancelled,
    unknown), and ValidationError keyed by field for an answer not in its list or a reason too
    long; saves nothing then."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if rating not in FftAnswer.values:
        errors["rating"] = ["Choose one answer"]
    if died_where_wanted and died_where_wanted not in DiedWhereWanted.values:
        errors["died_where_wanted"] = ["Choose one answer"]
    if family_support and family_support not in FamilySupport.values:
        errors["family_support"] = ["Choose one answer"]
    why = why.strip()
    if len(why) > WHY_MAX:
        errors["why"] = [f"Your answer must be {WHY_MAX} characters or fewer"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        found = invitation_open(token=token, now=now)
        invitation = (
            Invitation.objects.select_for_update()
            .filter(pk=found.pk, answered_at__isnull=True)
            .first()
            if found is not None
            else None
        )
        if invitation is None:
            raise InvitationClosed
        if invitation.kind == Invitation.Kind.FFT:
            died_where_wanted = family_support = ""
        answer = Answer(
            invitation=invitation,
            kind=invitation.kind,
            team_id=invitation.team_id,
            received_at=now,
            rating=rating,
            why=why,
            died_where_wanted=died_where_wanted,
            family_support=family_support,
        )
        answer.full_clean()
        answer.save()
        invitation.answered_at = now
        invitation.save(update_fields=["answered_at"])
    return answer
