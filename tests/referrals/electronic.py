"""Referrals and patients as partner systems make them: through the real BaRS service
(interop.bars.message_process) with the messages of tests/interop/bars_messages.py, for the tests
of the screens that show them (the board, the referral page, the patient page)."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from interop.bars import message_process
from patients.models import Patient, PossibleMatch
from referrals.models import GpLetter, OutboxMessage, Referral
from services.codes import OrganisationType
from services.models import Organisation
from spoc.accounts.models import PartnerSystem
from spoc.accounts.partners import Scope, partner_register
from tests.interop.bars_messages import referral_message, update_message
from tests.referrals.factories import PatientFactory

REQUESTER = "Dr Thu Nguyễn, Clinical advisor, NHS 111 North West (NLO01)"


def nhs_111() -> PartnerSystem:
    """NHS 111 North West (NLO01), which may send referrals."""
    issued = partner_register(
        name="NHS 111 North West", ods_code="NLO01", scopes=[Scope.SEND_REFERRALS]
    )
    return issued.partner


def process(partner: PartnerSystem, message: dict[str, Any]) -> None:
    answer = message_process(
        partner=partner,
        body=json.dumps(message).encode(),
        request_id="",
        base="http://testserver/fhir/R4/",
    )
    assert answer.status == 200, answer.body


def sent(partner: PartnerSystem, **fields: Any) -> tuple[Referral, dict[str, Any]]:
    """The referral a message of ``partner`` made (``fields``: referral_message's), and the
    message, for its updates."""
    message = referral_message(**fields)
    process(partner, message)
    reference = fields.get("reference", "111-CASE-0001")
    return Referral.objects.get(sender=partner, sender_reference=reference), message


def updated(partner: PartnerSystem, message: dict[str, Any], **fields: Any) -> None:
    process(partner, update_message(message, **fields))


def possible_match(
    partner: PartnerSystem, *, n: int = 0, given: str = "Siân", family: str = "O'Brien"
) -> tuple[PossibleMatch, Patient, Referral]:
    """A patient the hub knows without an NHS number, then a message about someone of the same
    name, date of birth and postcode: the open match, the known patient, and the referral (on the
    new record). ``n`` makes each call's people and reference its own."""
    # A date of birth of its own (not the factories' 1948-03-14, which would match them too).
    birth = (date(1930, 1, 1) + timedelta(days=n)).isoformat()
    known = PatientFactory(
        nhs_number=None,
        nhs_number_status="03",
        given_name=given,
        family_name=family,
        date_of_birth=birth,
        postcode="L9 7AL",
    )
    referral, _ = sent(
        partner,
        reference=f"111-MATCH-{n:04d}",
        nhs_number=None,
        given=given,
        family=family,
        birth_date=birth,
    )
    match = PossibleMatch.objects.get(candidate=known, status=PossibleMatch.Status.OPEN)
    return match, known, referral


def undelivered(referral: Referral, *, error: str = "HTTP 503") -> OutboxMessage:
    """A message to ``referral``'s sender that failed every attempt: its breach notice."""
    return _failed(
        referral=referral,
        partner=referral.sender,
        kind=OutboxMessage.Kind.NOT_ACCEPTED,
        last_error=error,
        body={"resourceType": "Bundle", "type": "message"},
    )


def _failed(**fields: Any) -> OutboxMessage:
    """An outbox message that failed all its attempts, just now."""
    now = timezone.now()
    return OutboxMessage.objects.create(
        created_at=now,
        status=OutboxMessage.Status.FAILED,
        attempts=8,
        next_attempt_at=now,
        last_attempt_at=now,
        **fields,
    )


def undelivered_letter(referral: Referral, *, error: str = "HTTP 503") -> OutboxMessage:
    """A letter to ``referral``'s patient's GP practice (one of its own) that failed every
    attempt, as if for the referral's first event."""
    now = timezone.now()
    practice, _ = Organisation.objects.get_or_create(
        ods_code=f"Y{referral.pk:05d}",
        defaults={"name": "Walton Surgery", "org_type": OrganisationType.GP_PRACTICE},
    )
    letter = GpLetter.objects.create(
        kind=GpLetter.Kind.COMPLETION,
        patient_id=referral.patient_id,
        practice=practice,
        referral=referral,
        event=referral.events.order_by("id").first(),
        letter_id=uuid.uuid4(),
        created_at=now,
        pdf=b"%PDF-1.4 " + b"x" * 50_000,
    )
    return _failed(
        letter=letter,
        kind=OutboxMessage.Kind.GP_LETTER,
        last_error=error,
        body={"resourceType": "Bundle", "type": "document"},
    )
