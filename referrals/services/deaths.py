"""Recording a death and starting bereavement support (DESIGN.md §7).

Recording a death composes patients (the death record, ``Patient.died_at``), calls (pending
call-backs) and referrals (closing the open ones, creating bereavement referrals), so it lives
here, in the highest app it needs (DESIGN.md §2). The patient page and the API both call
``death_record``.

In one transaction, with the patient row locked: the ``DeathRecord`` with the preferred places of
death in force and whether one was achieved; ``Patient.died_at``; every open referral of the
patient except bereavement support closed with outcome ``PATIENT_DIED`` (action
``CLOSE_ON_DEATH``: a COMPLETED event, ``closed_at`` set, the owner kept); every pending
call-back cancelled; one ``BEREAVEMENT_SUPPORT`` referral at P5 for each related person ticked
(who must have consented to be contacted), not to be contacted before the death plus
``BEREAVEMENT_CONTACT_AFTER_DAYS``; and an access-log row. Routing of the bereavement referrals
is enqueued after the commit (the routing task ranks by the bereaved person's postcode and age,
``referrals.services.routing._ranking_inputs``).

``death_record`` returns a ``DeathRecorded``: the record and exactly what saving it did (the
referrals closed, the bereavement referrals made and for whom, the people ticked who already had
one, the call-backs cancelled), so the page's message and the API's answer say what happened.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from patients.codes import PlaceOfDeath
from patients.models import DeathRecord, Patient, RelatedPerson
from patients.names import display_name
from patients.selectors import care_plan_current
from referrals.codes import ReferralOutcome
from referrals.models import CallBack, Referral, ReferralEvent
from referrals.selectors import patients_visible_to
from referrals.services.calls import routing_enqueue_after_commit
from referrals.transitions import OPEN_STATUSES, Action, ReferralStatus, check_action
from services.codes import Need, Priority
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.api import DomainConflict
from spoc.core.dates import nhs_date, nhs_datetime

# Clocks on two machines disagree by a few seconds; a death "now" is not in the future.
CLOCK_SKEW = timedelta(minutes=1)
# DeathRecord.verified_by's max_length.
VERIFIED_BY_MAX = 200
# REFERENCE.md "place of death": a private residence of any kind (20) is met by the patient's own
# home (21) or another private residence (22).
PRIVATE_RESIDENCES = frozenset({PlaceOfDeath.OWN_HOME, PlaceOfDeath.OTHER_PRIVATE_RESIDENCE})

Errors = dict[str, list[str]]
FUTURE = "A death cannot be recorded in the future."


@dataclass(frozen=True)
class DeathRecorded:
    """What ``death_record`` did. ``closed`` are the referrals closed, with their team loaded
    (``team`` is None for one not yet routed); ``bereavement`` the bereavement referrals made,
    with ``for_person`` loaded, in the order the people were given; ``already_supported`` the
    people ticked who already had an open bereavement referral, so were not given a second."""

    record: DeathRecord
    closed: tuple[Referral, ...]
    bereavement: tuple[Referral, ...]
    already_supported: tuple[RelatedPerson, ...]
    call_backs_cancelled: int


class DeathAlreadyRecorded(DomainConflict):
    """The patient's death is already recorded (a 409 in the API)."""

    code = "death_already_recorded"

    def __init__(self, record: DeathRecord) -> None:
        super().__init__(f"This patient's death is already recorded (died {nhs_datetime(record.died_at)}).")
        self.record = record


def may_record_death(user: Any) -> bool:
    """Registered clinicians who work a team queue, and SPOC coordinators (DESIGN.md §1)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_perm("accounts.coordinate"):
        return True
    return bool(getattr(user, "is_clinician", False)) and user.has_perm("accounts.work_team_queue")


def preferred_place_achieved(*, place: str, first: str, second: str) -> bool | None:
    """Whether the actual place of death meets the 1st or 2nd preferred place (REFERENCE.md).

    ``None`` when no preference is recorded (neither achieved nor missed: reported apart). A
    preferred ``20`` (private residence) is met by an actual ``20``, ``21`` (own home) or ``22``
    (other private residence); any other preference, ``21`` and ``22`` included, only by the same
    code, since a death at a relative's house does not meet a wish to die in one's own home and
    an actual ``20`` does not say which private residence it was.
    """
    preferences = [code for code in (first, second) if code]
    if not preferences:
        return None
    for preferred in preferences:
        if place == preferred:
            return True
        if preferred == PlaceOfDeath.PRIVATE_RESIDENCE and place in PRIVATE_RESIDENCES:
            return True
    return False


def death_record(
    *,
    patient_id: int,
    user: Any,
    died_at: datetime,
    place: str,
    expected: bool | None,
    verified_by: str,
    bereavement_for: list[int],
    break_glass_ids: Collection[int] = (),
    request: HttpRequest | None = None,
) -> DeathRecorded:
    """Record the death of patient ``patient_id`` and everything that follows from it (see the
    module docstring). Returns the saved ``DeathRecord`` with what was done (``DeathRecorded``).

    Raises ``PermissionDenied`` when ``user`` may not record deaths (``may_record_death``),
    ``Patient.DoesNotExist`` when the patient does not exist or is not visible to the user
    (``patients_visible_to``, with the session's break-glass grants), ``DeathAlreadyRecorded``
    when the death is already recorded, and ``ValidationError`` keyed by argument name
    (``died_at``, ``place``, ``expected``, ``verified_by``, ``bereavement_for``) having saved
    nothing. ``request`` only adds the client address to the access log.
    """
    if not may_record_death(user):
        raise PermissionDenied("Only clinicians working a team queue and coordinators record deaths.")
    with transaction.atomic():
        patient = (patients_visible_to(user, break_glass_ids=break_glass_ids)
                   .select_for_update(of=("self",)).get(pk=patient_id))
        existing = DeathRecord.objects.filter(patient=patient).first()
        if existing is not None:
            raise DeathAlreadyRecorded(existing)
        now = timezone.now()
        errors: Errors = {}
        people = death_problems(errors, patient=patient, died_at=died_at, place=place,
                                expected=expected, verified_by=verified_by,
                                bereavement_for=bereavement_for, now=now)
        if errors:
            raise ValidationError(errors)
        plan = care_plan_current(patient=patient)
        first = plan.ppd_first if plan is not None else ""
        second = plan.ppd_second if plan is not None else ""
        record = DeathRecord(
            patient=patient, died_at=died_at, place=place, expected=expected,
            verified_by=verified_by.strip(), preferred_place_first=first,
            preferred_place_second=second,
            preferred_place_achieved=preferred_place_achieved(place=place, first=first, second=second),
            recorded_at=now, recorded_by=user,
        )
        try:
            with transaction.atomic():
                record.save()
        except IntegrityError:
            # Recorded by someone else between our check and our insert.
            raise DeathAlreadyRecorded(DeathRecord.objects.get(patient=patient)) from None
        Patient.objects.filter(pk=patient.pk).update(died_at=died_at, updated_at=now)
        patient.died_at = died_at
        closed = _close_open_referrals(patient=patient, user=user, record=record, now=now)
        cancelled = _cancel_call_backs(patient=patient, user=user, now=now)
        bereavement = _bereavement_referrals(patient=patient, people=people, user=user,
                                             died_at=died_at, record=record, now=now)
        access_log_record(
            action=AccessLog.Action.CREATE, user=user, request=request, object_type="death_record",
            object_id=record.pk, patient_id=patient.pk,
            detail={"referrals_closed": len(closed), "call_backs_cancelled": cancelled,
                    "bereavement_referrals": len(bereavement)},
        )
        for referral in bereavement:
            routing_enqueue_after_commit(referral.pk)
    offered = {referral.for_person_id for referral in bereavement}
    return DeathRecorded(
        record=record, closed=tuple(closed), bereavement=tuple(bereavement),
        already_supported=tuple(person for person in people if person.pk not in offered),
        call_backs_cancelled=cancelled,
    )


def bereavement_contact_not_before(died_at: datetime) -> datetime:
    """When bereavement support may first contact the family (DESIGN.md §7, a local setting)."""
    return died_at + timedelta(days=settings.BEREAVEMENT_CONTACT_AFTER_DAYS)


def death_problems(errors: Errors, *, patient: Patient, died_at: Any, place: Any, expected: Any,
                   verified_by: Any, bereavement_for: Any, now: datetime | None = None) -> list[RelatedPerson]:
    """Add every problem with these values to ``errors`` (keyed by argument name) and return the
    people to offer bereavement support to. Saves nothing: ``death_record`` calls it, and the page
    calls it too when some of its fields could not be read, so that every problem is shown at
    once."""
    now = now or timezone.now()
    if not isinstance(died_at, datetime) or died_at.tzinfo is None or died_at.utcoffset() is None:
        errors.setdefault("died_at", []).append("Give the date and time of death.")
    elif died_at > now + CLOCK_SKEW:
        errors.setdefault("died_at", []).append(FUTURE)
    elif timezone.localtime(died_at).date() < patient.date_of_birth:
        errors.setdefault("died_at", []).append(
            f"The date of death is before the patient's date of birth "
            f"({nhs_date(patient.date_of_birth)}).")
    if place not in PlaceOfDeath.values:
        errors.setdefault("place", []).append("Choose the place of death.")
    if expected is not None and not isinstance(expected, bool):
        errors.setdefault("expected", []).append("Say whether the death was expected, or leave it unknown.")
    if not isinstance(verified_by, str):
        errors.setdefault("verified_by", []).append("Enter text.")
    else:
        text = verified_by.strip()
        if len(text) > VERIFIED_BY_MAX:
            errors.setdefault("verified_by", []).append(
                f"This is {len(text)} characters long; the most is {VERIFIED_BY_MAX}.")
        if "\x00" in text:
            errors.setdefault("verified_by", []).append("Remove the null character pasted into this text.")
    return _bereaved(errors, patient=patient, ids=bereavement_for)


def _bereaved(errors: Errors, *, patient: Patient, ids: Any) -> list[RelatedPerson]:
    if not isinstance(ids, list | tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        errors.setdefault("bereavement_for", []).append("Choose people from the patient's carers and relatives.")
        return []
    wanted = list(dict.fromkeys(ids))
    found = {person.pk: person for person in RelatedPerson.objects.filter(patient=patient, pk__in=wanted)}
    problems: list[str] = []
    if len(found) != len(wanted):
        problems.append("Choose people from this patient's carers and relatives.")
    for person in found.values():
        if not person.consent_to_contact:
            problems.append(
                f"{display_name(person.given_name, person.family_name)} has not consented to be "
                f"contacted: record their consent first, or untick them.")
    if problems:
        errors.setdefault("bereavement_for", []).extend(problems)
    return [found[i] for i in wanted if i in found]


def _close_open_referrals(*, patient: Patient, user: Any, record: DeathRecord,
                          now: datetime) -> list[Referral]:
    """Close every open referral except bereavement support; return those closed."""
    referrals = list(
        Referral.objects.select_for_update(of=("self",)).select_related("team")
        .filter(patient=patient, status__in=OPEN_STATUSES)
        .exclude(need=Need.BEREAVEMENT_SUPPORT)
        .order_by("pk")
    )
    events = []
    for referral in referrals:
        previous = referral.status
        referral.status = check_action(Action.CLOSE_ON_DEATH, previous)
        referral.outcome = ReferralOutcome.PATIENT_DIED
        referral.closed_at = now
        referral.updated_at = now
        referral.held_at, referral.hold_reason, referral.status_before_hold = None, "", ""
        events.append(ReferralEvent(
            referral=referral, kind=ReferralEvent.Kind.COMPLETED, at=now, actor=user,
            from_status=previous, to_status=referral.status, team_id=referral.team_id,
            data={"outcome": ReferralOutcome.PATIENT_DIED, "death_record_id": record.pk},
        ))
    Referral.objects.bulk_update(referrals, ["status", "outcome", "closed_at", "updated_at", "held_at",
                                             "hold_reason", "status_before_hold"])
    ReferralEvent.objects.bulk_create(events)
    return referrals


def _cancel_call_backs(*, patient: Patient, user: Any, now: datetime) -> int:
    """Nobody rings a patient who has died: pending call-backs about them are cancelled."""
    return CallBack.objects.filter(
        Q(patient=patient) | Q(call__patient=patient), status=CallBack.Status.PENDING,
    ).update(status=CallBack.Status.CANCELLED, done_at=now, done_by=user)


def _bereavement_referrals(*, patient: Patient, people: list[RelatedPerson], user: Any,
                           died_at: datetime, record: DeathRecord, now: datetime) -> list[Referral]:
    """One bereavement referral per person, awaiting routing; a person who already has an open
    one is not given a second."""
    if not people:
        return []
    already = set(Referral.objects.filter(
        for_person__in=people, need=Need.BEREAVEMENT_SUPPORT, status__in=OPEN_STATUSES,
    ).values_list("for_person_id", flat=True))
    not_before = bereavement_contact_not_before(died_at)
    name = display_name(patient.given_name, patient.family_name)
    referrals = [
        Referral(
            patient=patient, for_person=person, call=None, need=Need.BEREAVEMENT_SUPPORT,
            priority=Priority.P5, status=ReferralStatus.AWAITING_ROUTING,
            note=(f"Bereavement support for {display_name(person.given_name, person.family_name)} "
                  f"({person.get_relationship_display().lower()}) after the death of {name}."),
            contact_not_before=not_before,
            # REFERENCE.md: contact_not_before delays the start of the first-contact clock (a
            # death recorded late starts it now, not in the past).
            clock_started_at=max(not_before, now),
            created_at=now, created_by=user, updated_at=now,
        )
        for person in people
        if person.pk not in already
    ]
    Referral.objects.bulk_create(referrals)
    ReferralEvent.objects.bulk_create([
        ReferralEvent(
            referral=referral, kind=ReferralEvent.Kind.CREATED, at=now, actor=user,
            from_status="", to_status=referral.status,
            data={"need": referral.need, "priority": referral.priority,
                  "death_record_id": record.pk, "for_person_id": referral.for_person_id},
        )
        for referral in referrals
    ])
    return referrals
