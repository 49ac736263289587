"""Reads of the feedback app: whom a nurse may offer the feedback text to, and the invitation
behind a link (docs/security.md, "The feedback form")."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from experience.models import Invitation
from patients.models import Patient
from patients.names import display_name

# UK mobile numbers in E.164 (Ofcom's numbering plan: 07 numbers, +447): Notify texts only
# mobiles, and a text to a landline never arrives.
UK_MOBILE_PREFIX = "+447"
PATIENT = "patient"
PERSON = "person-"
# A token is 43 characters (32 random bytes, URL-safe base64); anything much longer is not one.
TOKEN_MAX = 64


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a link's token: what is stored and looked up, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def mobile_of(*numbers: Any) -> Any:
    """The first UK mobile number among ``numbers`` (phone fields); None without one."""
    for number in numbers:
        if number and str(number.as_e164).startswith(UK_MOBILE_PREFIX):
            return number
    return None


def feedback_recipients(*, patient: Patient) -> list[tuple[str, str, Any]]:
    """Whom a feedback text may go to, as (choice, label, mobile): the patient while alive, and
    each person around the patient, each with the UK mobile number on their record; nobody
    without one. One query (the related people)."""
    found: list[tuple[str, str, Any]] = []
    if patient.died_at is None:
        mobile = mobile_of(patient.phone, patient.phone_alt)
        if mobile:
            found.append((PATIENT, "The patient", mobile))
    for person in patient.related_people.all():
        mobile = mobile_of(person.phone, person.phone_alt)
        if mobile:
            name = display_name(person.given_name, person.family_name)
            found.append(
                (f"{PERSON}{person.pk}", f"{name} ({person.get_relationship_display()})", mobile)
            )
    return found


def feedback_options(*, patient: Patient, survey: bool = False) -> list[tuple[str, str]]:
    """The choices of the complete action's feedback question (with ``survey``, of the death
    page's survey question: the people around the patient only): who, and the number shown so
    the nurse can read it back to them."""
    return [
        (choice, f"{label}, {mobile.as_national}")
        for choice, label, mobile in feedback_recipients(patient=patient)
        if not (survey and choice == PATIENT)
    ]


def invitation_open(*, token: str, now: datetime) -> Invitation | None:
    """The invitation whose link carries ``token`` while it may still be answered: sent, not
    answered, not cancelled, not expired. None otherwise, whichever the reason (the form says
    the same for all)."""
    if not token or len(token) > TOKEN_MAX:
        return None
    return Invitation.objects.filter(
        token_hash=token_hash(token),
        sent_at__isnull=False,
        answered_at__isnull=True,
        cancelled_at__isnull=True,
        expires_at__gt=now,
    ).first()
