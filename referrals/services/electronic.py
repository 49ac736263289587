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

from patients.models import Patient, PossibleMatch, RelatedPerson
from referrals.models import Referral, ReferralEvent
from referrals.selectors import patients_writable_by
from referrals.services.acting import referral_record, text_required
from referrals.services.enqueue import routing_enqueue_after_commit
from referrals.transitions import OPEN_STATUSES, Action, ReferralStatus, check_action
from services.codes import AFTER_DEATH_NEEDS, PERSON_NEEDS, after_death_needs_words
from spoc.accounts.models import PartnerSystem
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.api import DomainConflict
from spoc.core.dates import nhs_date_short, nhs_time

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
    # The carer or relative it is for (one of the patient's), when not the patient: the sender
    # answers for their consent to be contacted (docs/interop.md).
    for_person: RelatedPerson | None = None


def referral_receive(*, patient: Patient, sent: SentReferral) -> Referral:
    """Make the referral a partner sent, for ``patient``, and route it once saved, like a
    referral made by a call. Raises ValidationError (field-keyed) for what the record cannot
    hold, and DomainConflict when the sender already sent a request with this reference."""
    text_required(sent.note, field="note", required=False, max_length=NOTE_MAX)
    if sent.for_person is not None and (
        sent.for_person.patient_id != patient.pk or sent.need not in PERSON_NEEDS
    ):
        raise ValidationError(
            {
                "for_person": [
                    "Only carer support and bereavement support can be for one of the patient's "
                    "carers or relatives."
                ]
            }
        )
    if patient.died_at is not None and sent.need not in AFTER_DEATH_NEEDS:
        raise ValidationError(
            {
                "patient": [
                    "The hub has this patient's death recorded: only "
                    f"{after_death_needs_words()} can be referred."
                ]
            }
        )
    now = timezone.now()
    referral = Referral(
        patient=patient,
        for_person=sent.for_person,
        # Said by the sender, who has the referral: received now.
        for_person_consent_at=now if sent.for_person is not None else None,
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
        exclude=[
            "patient",
            "call",
            "created_by",
            "sender",
            "team",
            "owner",
            "for_person",
            "for_person_consent_by",
        ],
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
                **({"for_person_id": sent.for_person.pk} if sent.for_person is not None else {}),
            },
        )
        access_log_record(
            action=AccessLog.Action.CREATE,
            object_type="referral",
            object_id=referral.pk,
            patient_id=patient.pk,
            detail={"sender": sent.sender.client_id},
        )
        routing_enqueue_after_commit(referral.pk, priority=referral.priority)
    return referral


@dataclass(frozen=True)
class SenderUpdate:
    """An update a partner sent to a referral it made: more information, or its withdrawal."""

    sender: PartnerSystem
    reference: str
    message_id: str
    note: str
    # Set when the sender withdraws the request (ServiceRequest revoked or entered in error): why,
    # in a line (cut to fit the referral's cancel reason; the note is kept whole in the event).
    cancel_reason: str = ""


def referral_sender_update(*, update: SenderUpdate) -> Referral:
    """Add what the sender says to the referral: to its note, where whoever holds it reads it,
    and to its timeline; or cancel the referral with the sender's reason. A referral already
    closed is left as it is (its status tells the sender). Raises Referral.DoesNotExist when
    this sender has no referral with that reference."""
    note = text_required(update.note, field="note", required=False, max_length=NOTE_MAX)
    reason = update.cancel_reason.strip()
    if len(reason) > CANCEL_REASON_MAX:
        reason = reason[: CANCEL_REASON_MAX - 1] + "\u2026"
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(of=("self",))
            .select_related("team")
            .get(sender=update.sender, sender_reference=update.reference)
        )
        before = referral.status
        data: dict[str, Any] = {"note": note} if note else {}
        if reason and before in OPEN_STATUSES:
            referral.status = check_action(Action.CANCEL, before)
            referral.cancel_reason = reason
            referral.closed_at = timezone.now()
            kind = ReferralEvent.Kind.CANCELLED
            data["reason"] = reason
        elif note or reason:
            kind = ReferralEvent.Kind.SENDER_UPDATE
            data["note"] = note or reason
            referral.note = _with_update(referral.note, data["note"], sender=update.sender)
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


def _with_update(note: str, update: str, *, sender: PartnerSystem) -> str:
    """The referral's note with the sender's update after it, marked with who and when, so that
    the team reads it where they read the referral; when it does not fit, a pointer to the
    history, where it is whole."""
    now = timezone.now()
    # An absolute time: the note is read on later days too.
    stamp = f"[Update from {sender.name}, {nhs_date_short(now)}, {nhs_time(now)}]"
    for addition in (f"{stamp} {update}", f"{stamp} See the referral's history."):
        combined = f"{note}\n\n{addition}" if note else addition
        if len(combined) <= NOTE_MAX:
            return combined
    return note


def possible_match_decide(*, match_id: int, user: Any, same_person: bool) -> PossibleMatch:
    """A coordinator's answer to a possible match (patients.services.patient_for_message). The
    same person: the referrals of the record the message registered move to the patient the hub
    knew (who takes its NHS number if they had none; each referral's history says so), other
    possible matches of that record follow it, and the record is removed. Different people: both
    stay. Either answer is access-logged.

    Raises PossibleMatch.DoesNotExist for a match already decided, gone, or about a patient the
    user may not change; DomainConflict when the records cannot be merged here: the new record
    is gone, has had more recorded on it than its referrals (a call, a care plan, a death, ...),
    or the patient the hub knew has died and the referrals are for their care."""
    with transaction.atomic():
        match = (
            PossibleMatch.objects.select_for_update(of=("self",))
            .select_related("patient", "candidate")
            .filter(candidate__in=patients_writable_by(user))
            .get(pk=match_id, status=PossibleMatch.Status.OPEN)
        )
        now = timezone.now()
        match.decided_at = now
        match.decided_by = user
        new, known = match.patient, match.candidate
        if not same_person:
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
        if new is None:
            raise DomainConflict(
                "The record the message made is no longer in the hub: there is nothing to merge."
            )
        # Both records held still while the referrals move (a message may be attaching one).
        list(Patient.objects.select_for_update().filter(pk__in=[new.pk, known.pk]))
        for relation in Patient._meta.related_objects:
            model = relation.related_model
            if isinstance(model, str) or model in (Referral, PossibleMatch):
                continue
            if model._default_manager.filter(**{relation.field.name: new}).exists():
                raise DomainConflict(
                    "More has been recorded on the new record since it arrived: these records "
                    "cannot be merged here."
                )
        referrals = list(Referral.objects.select_for_update().filter(patient=new))
        if known.died_at is not None and any(
            r.need not in AFTER_DEATH_NEEDS and r.status in OPEN_STATUSES for r in referrals
        ):
            raise DomainConflict(
                "The patient the hub knew has died: their open referrals for care cannot move "
                "to that record. Cancel them, or keep the records apart."
            )
        for referral in referrals:
            referral.patient = known
            referral.updated_at = now
            ReferralEvent.objects.create(
                referral=referral,
                kind=ReferralEvent.Kind.PATIENT_CONFIRMED,
                at=now,
                actor=user,
                from_status=referral.status,
                to_status=referral.status,
                team=referral.team,
                data={"from_patient_id": new.pk, "to_patient_id": known.pk},
            )
        Referral.objects.bulk_update(referrals, ["patient", "updated_at"])
        match.status = PossibleMatch.Status.SAME_PERSON
        match.save()
        PossibleMatch.objects.filter(patient=new).exclude(pk=match.pk).delete()
        # Messages that found the new record a possible match of theirs now ask about the known.
        PossibleMatch.objects.filter(candidate=new, status=PossibleMatch.Status.OPEN).update(
            candidate=known
        )
        number, status, new_id = new.nhs_number, new.nhs_number_status, new.pk
        new.delete()
        if number and not known.nhs_number:
            known.nhs_number = number
            known.nhs_number_status = status
            known.updated_at = now
            known.save(update_fields=["nhs_number", "nhs_number_status", "updated_at"])
        access_log_record(
            action=AccessLog.Action.UPDATE,
            user=user,
            object_type="patient",
            object_id=known.pk,
            patient_id=known.pk,
            detail={"merged_patient_id": new_id, "referrals": len(referrals)},
        )
    return match
