"""Referrals sent by partner systems as BaRS messages (docs/interop.md, "Referrals in"): made,
updated and withdrawn by the system that sent them, never by a member of staff. interop/bars.py
reads the message; these functions change the records, each in one transaction with its
ReferralEvent and its access-log row (the partner, from the request, is who acted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.models import Patient, PossibleMatch
from referrals.models import Referral, ReferralEvent
from referrals.services.acting import referral_record, text_required
from referrals.services.enqueue import routing_enqueue_after_commit
from referrals.transitions import OPEN_STATUSES, Action, ReferralStatus, check_action
from spoc.accounts.models import PartnerSystem
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.api import DomainConflict

# As a referral's note and its reason for cancelling (Referral.note, Referral.cancel_reason).
NOTE_MAX = 2000
CANCEL_REASON_MAX = 500


@dataclass(frozen=True)
class SentReferral:
    """What a partner's message asks for, read and checked (interop/bars.py)."""

    sender: PartnerSystem
    # The sender's own identifier of the request (its updates name it) and of the message.
    reference: str
    message_id: str
    requester: str
    need: str
    priority: str
    note: str
    breach_at: datetime | None
    # Set when the hub cannot map what was asked to a need: the referral goes straight to the
    # SPOC coordinators with this reason (referrals/services/routing.py).
    coordinators_reason: str = ""


def referral_receive(*, patient: Patient, sent: SentReferral) -> Referral:
    """Make the referral a partner sent, for ``patient``, and route it once saved, like a
    referral made by a call. Raises ValidationError (field-keyed) for what the record cannot
    hold, and DomainConflict when the sender already sent a request with this reference."""
    text_required(sent.note, field="note", required=False, max_length=NOTE_MAX)
    now = timezone.now()
    referral = Referral(
        patient=patient,
        need=sent.need,
        note=sent.note,
        priority=sent.priority,
        status=ReferralStatus.AWAITING_ROUTING,
        # The first-contact clock runs from the moment the hub has the referral.
        clock_started_at=now,
        unroutable_reason=sent.coordinators_reason,
        sender=sent.sender,
        sender_requester=sent.requester,
        sender_reference=sent.reference,
        sender_message_id=sent.message_id,
        sender_breach_at=sent.breach_at,
        created_at=now,
        updated_at=now,
    )
    referral.full_clean(
        exclude=["patient", "call", "created_by", "sender", "team", "owner", "for_person"],
        validate_constraints=False,
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                referral.save()
        except IntegrityError as exc:
            raise DomainConflict(
                "A referral with this reference was already received from you: send an update."
            ) from exc
        ReferralEvent.objects.create(
            referral=referral,
            kind=ReferralEvent.Kind.CREATED,
            at=now,
            actor=None,
            from_status="",
            to_status=referral.status,
            data={
                "need": referral.need,
                "priority": referral.priority,
                "sender": sent.sender.name,
                "message_id": sent.message_id,
            },
        )
        access_log_record(
            action=AccessLog.Action.CREATE,
            object_type="referral",
            object_id=referral.pk,
            patient_id=patient.pk,
            detail={"sender": sent.sender.client_id},
        )
        routing_enqueue_after_commit(referral.pk)
    return referral


@dataclass(frozen=True)
class SenderUpdate:
    """An update a partner sent to a referral it made: more information, or its withdrawal."""

    sender: PartnerSystem
    reference: str
    message_id: str
    note: str
    # Set when the sender withdraws the request (ServiceRequest revoked or entered in error).
    cancel_reason: str = ""


def referral_sender_update(*, update: SenderUpdate) -> Referral:
    """Add what the sender says to the referral's timeline, or cancel the referral with the
    sender's reason. A referral already closed is left as it is (its status tells the sender).
    Raises Referral.DoesNotExist when this sender has no referral with that reference."""
    note = text_required(update.note, field="note", required=False, max_length=NOTE_MAX)
    reason = text_required(
        update.cancel_reason, field="note", required=False, max_length=CANCEL_REASON_MAX
    )
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(of=("self",))
            .select_related("team")
            .get(sender=update.sender, sender_reference=update.reference)
        )
        before = referral.status
        if reason and before in OPEN_STATUSES:
            referral.status = check_action(Action.CANCEL, before)
            referral.cancel_reason = reason
            referral.closed_at = timezone.now()
            kind = ReferralEvent.Kind.CANCELLED
            data = {"reason": reason}
        elif note or reason:
            kind = ReferralEvent.Kind.SENDER_UPDATE
            data = {"note": note or reason}
        else:
            raise ValidationError({"note": ["The update says nothing new: add a note."]})
        referral_record(
            referral,
            kind=kind,
            user=None,
            from_status=before,
            data={**data, "sender": update.sender.name, "message_id": update.message_id},
        )
    return referral


def possible_match_decide(*, match_id: int, user: Any, same_person: bool) -> PossibleMatch:
    """A coordinator's answer to a possible match (patients.services.patient_for_message). The
    same person: the referrals of the record the message registered move to the patient the hub
    knew (who takes its NHS number if they had none) and that record is removed. Different
    people: both stay. Raises PossibleMatch.DoesNotExist for a match already decided or gone,
    and DomainConflict when the new record has had more recorded on it than its referrals (a
    call, a care plan, a death, ...): those cannot be merged here."""
    with transaction.atomic():
        match = (
            PossibleMatch.objects.select_for_update(of=("self",))
            .select_related("patient", "candidate")
            .get(pk=match_id, status=PossibleMatch.Status.OPEN)
        )
        now = timezone.now()
        match.decided_at = now
        match.decided_by = user
        new, known = match.patient, match.candidate
        if not same_person or new is None:
            match.status = PossibleMatch.Status.DIFFERENT_PEOPLE
            match.save()
            access_log_record(
                action=AccessLog.Action.UPDATE,
                user=user,
                object_type="possible_match",
                object_id=match.pk,
                patient_id=known.pk,
                detail={"decision": "different_people", "other_patient_id": match.patient_id},
            )
            return match
        for relation in Patient._meta.related_objects:
            model = relation.related_model
            if isinstance(model, str) or model in (Referral, PossibleMatch):
                continue
            if model._default_manager.filter(**{relation.field.name: new}).exists():
                raise DomainConflict(
                    "More has been recorded on the new record since it arrived: these records "
                    "cannot be merged here."
                )
        moved = list(Referral.objects.filter(patient=new).values_list("pk", flat=True))
        Referral.objects.filter(pk__in=moved).update(patient=known, updated_at=now)
        match.status = PossibleMatch.Status.SAME_PERSON
        match.save()
        PossibleMatch.objects.filter(patient=new).exclude(pk=match.pk).delete()
        number = new.nhs_number
        new_id = new.pk
        new.delete()
        if number and not known.nhs_number:
            known.nhs_number = number
            known.nhs_number_status = new.nhs_number_status
            known.updated_at = now
            known.save(update_fields=["nhs_number", "nhs_number_status", "updated_at"])
        access_log_record(
            action=AccessLog.Action.UPDATE,
            user=user,
            object_type="patient",
            object_id=known.pk,
            patient_id=known.pk,
            detail={"merged_patient_id": new_id, "referrals": len(moved)},
        )
    return match
