"""What a death does to referrals (docs/design.md §7): the rules of recording one, closing the
patient's open referrals, and bereavement referrals for the people left.

Recording a death composes patients (the death record, ``Patient.died_at``), calls (pending
call-backs) and referrals, so the one service that does it all in a transaction,
``death_record``, is in the highest app it needs (workspace/services.py, docs/architecture.md
"Apps and layering"); this module holds the referral side and the checks: who may record a death
(``may_record_death``), what makes a death record invalid (``death_problems``), whether the
preferred place was achieved (``preferred_place_achieved``, and every outcome flag the record
keeps, ``death_place_fields``), closing the patient's own open referrals
(``referrals_close_on_death``: completed with outcome ``PATIENT_DIED`` by the action
``CLOSE_ON_DEATH``, the owner kept; a referral for a related person, or for a need of
``AFTER_DEATH_NEEDS``, is support for the living and stays open), and one
``BEREAVEMENT_SUPPORT`` referral at P5 for each related person ticked (who must have consented to
be contacted), not to be contacted before the death plus ``BEREAVEMENT_CONTACT_AFTER_DAYS``
(``bereavement_referrals_create``; the routing task ranks by the bereaved person's postcode and
age, ``referrals.services.routing._ranking_inputs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from patients.codes import PlaceOfDeath
from patients.models import DeathRecord, Patient, RelatedPerson
from patients.names import display_name
from referrals.bereavement import screen_component, screen_priority
from referrals.codes import ReferralOutcome
from referrals.models import Referral, ReferralEvent
from referrals.services.acting import referral_record
from referrals.services.bereavement import bereavement_screens_save
from referrals.transitions import OPEN_STATUSES, Action, ReferralStatus, check_action
from services.codes import AFTER_DEATH_NEEDS, Need, Priority
from spoc.core.api import DomainConflict
from spoc.core.dates import nhs_date, nhs_datetime

# Clocks on two machines disagree by a few seconds; a death "now" is not in the future.
CLOCK_SKEW = timedelta(minutes=1)
# DeathRecord.verified_by's max_length.
VERIFIED_BY_MAX = 200
# docs/reference.md "place of death": a private residence of any kind (20) is met by the patient's own
# home (21) or another private residence (22).
PRIVATE_RESIDENCES = frozenset({PlaceOfDeath.OWN_HOME, PlaceOfDeath.OTHER_PRIVATE_RESIDENCE})

Errors = dict[str, list[str]]
FUTURE = "A death cannot be recorded in the future."
# DeathCorrection.reason's max_length.
REASON_MAX = 1000
CORRECT_REFUSED = "Only team leads and SPOC coordinators correct or withdraw a recorded death."
NOTHING_CHANGED = (
    "Nothing was changed: change the time, place, whether it was expected or who verified it, "
    "or withdraw the death if it was recorded in error."
)


class DeathAlreadyRecorded(DomainConflict):
    """The patient's death is already recorded (a 409 in the API)."""

    code = "death_already_recorded"

    def __init__(self, record: DeathRecord) -> None:
        super().__init__(
            f"This patient's death is already recorded (died {nhs_datetime(record.died_at)})."
        )
        self.record = record


def may_record_death(user: Any) -> bool:
    """Registered clinicians who work a team queue, and SPOC coordinators (docs/design.md §1)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_perm("accounts.coordinate"):
        return True
    return bool(getattr(user, "is_clinician", False)) and user.has_perm("accounts.work_team_queue")


def preferred_place_achieved(*, place: str, first: str, second: str) -> bool | None:
    """Whether the actual place of death meets the 1st or 2nd preferred place (docs/reference.md).

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


def death_place_fields(
    *, place: str, first: str, second: str, care_preferred: str, last_days_place: str
) -> dict[str, str | bool | None]:
    """The fields of a ``DeathRecord`` about places (docs/metrics.md "Deaths"), by name: the
    actual place, the preferred places in force, the place of the last days, and whether each
    preference was met: the 1st or 2nd preferred place of death, the 1st alone (the national
    benchmark counts the first preference only), and the preferred place of care by the place
    the patient was cared for in the last days of life (None when either is not recorded). One
    rule for all three: ``preferred_place_achieved``."""
    return {
        "place": place,
        "preferred_place_first": first,
        "preferred_place_second": second,
        "preferred_place_of_care": care_preferred,
        "last_days_place": last_days_place,
        "preferred_place_achieved": preferred_place_achieved(
            place=place, first=first, second=second
        ),
        "first_preference_achieved": preferred_place_achieved(place=place, first=first, second=""),
        "preferred_care_achieved": (
            preferred_place_achieved(place=last_days_place, first=care_preferred, second="")
            if last_days_place
            else None
        ),
    }


def bereavement_contact_not_before(died_at: datetime) -> datetime:
    """When bereavement support may first contact the family (docs/design.md §7, a local setting)."""
    return died_at + timedelta(days=settings.BEREAVEMENT_CONTACT_AFTER_DAYS)


def death_problems(
    errors: Errors,
    *,
    patient: Patient,
    died_at: Any,
    place: Any,
    expected: Any,
    verified_by: Any,
    bereavement_for: Any,
    last_days_place: Any = "",
    now: datetime | None = None,
) -> list[RelatedPerson]:
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
            f"({nhs_date(patient.date_of_birth)})."
        )
    if place not in PlaceOfDeath.values:
        errors.setdefault("place", []).append("Choose the place of death.")
    if last_days_place and last_days_place not in PlaceOfDeath.values:
        errors.setdefault("last_days_place", []).append(
            "Choose where the patient was cared for in the last days of life, or leave it not known."
        )
    if expected is not None and not isinstance(expected, bool):
        errors.setdefault("expected", []).append(
            "Say whether the death was expected, or leave it unknown."
        )
    if not isinstance(verified_by, str):
        errors.setdefault("verified_by", []).append("Enter text.")
    else:
        text = verified_by.strip()
        if len(text) > VERIFIED_BY_MAX:
            errors.setdefault("verified_by", []).append(
                f"This is {len(text)} characters long; the most is {VERIFIED_BY_MAX}."
            )
        if "\x00" in text:
            errors.setdefault("verified_by", []).append(
                "Remove the null character pasted into this text."
            )
    return _bereaved(errors, patient=patient, ids=bereavement_for)


def _bereaved(errors: Errors, *, patient: Patient, ids: Any) -> list[RelatedPerson]:
    if not isinstance(ids, list | tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        errors.setdefault("bereavement_for", []).append(
            "Choose people from the patient's carers and relatives."
        )
        return []
    wanted = list(dict.fromkeys(ids))
    found = {
        person.pk: person for person in RelatedPerson.objects.filter(patient=patient, pk__in=wanted)
    }
    problems: list[str] = []
    if len(found) != len(wanted):
        problems.append("Choose people from this patient's carers and relatives.")
    for person in found.values():
        if not person.consent_to_contact:
            problems.append(
                f"{display_name(person.given_name, person.family_name)} has not consented to be "
                f"contacted: record their consent first, or untick them."
            )
    if problems:
        errors.setdefault("bereavement_for", []).extend(problems)
    return [found[i] for i in wanted if i in found]


def referrals_close_on_death(
    *, patient: Patient, user: Any, record: DeathRecord, now: datetime
) -> tuple[list[Referral], list[Referral]]:
    """Close the patient's own open referrals (action ``CLOSE_ON_DEATH``, outcome
    ``PATIENT_DIED``) and return them with the open referrals left open: those for a related
    person (``for_person``) and those for a need of ``AFTER_DEATH_NEEDS`` (docs/design.md §7:
    a death does not end support for the living). Both lists have their team and person loaded.
    Inside the caller's transaction (``workspace.services.death_record``)."""
    open_referrals = list(
        Referral.objects.select_for_update(of=("self",))
        .select_related("team", "for_person")
        .filter(patient=patient, status__in=OPEN_STATUSES)
        .order_by("pk")
    )
    referrals = [r for r in open_referrals if not stays_open_on_death(r)]
    kept = [r for r in open_referrals if stays_open_on_death(r)]
    events = []
    for referral in referrals:
        # What a withdrawal of the death needs to put the referral back (death_withdraw).
        data: dict[str, Any] = {
            "outcome": ReferralOutcome.PATIENT_DIED,
            "death_record_id": record.pk,
        }
        if referral.status == ReferralStatus.ON_HOLD:
            data["hold"] = {
                "held_at": referral.held_at.isoformat() if referral.held_at else None,
                "reason": referral.hold_reason,
                "status_before_hold": referral.status_before_hold,
            }
        previous = referral.status
        referral.status = check_action(Action.CLOSE_ON_DEATH, previous)
        referral.outcome = ReferralOutcome.PATIENT_DIED
        referral.closed_at = now
        referral.updated_at = now
        referral.held_at, referral.hold_reason, referral.status_before_hold = None, "", ""
        events.append(
            ReferralEvent(
                referral=referral,
                kind=ReferralEvent.Kind.COMPLETED,
                at=now,
                actor=user,
                from_status=previous,
                to_status=referral.status,
                team_id=referral.team_id,
                data=data,
            )
        )
    Referral.objects.bulk_update(
        referrals,
        [
            "status",
            "outcome",
            "closed_at",
            "updated_at",
            "held_at",
            "hold_reason",
            "status_before_hold",
        ],
    )
    ReferralEvent.objects.bulk_create(events)
    return referrals, kept


def stays_open_on_death(referral: Referral) -> bool:
    """A referral that is support for the living: for a related person, or for a need that may
    still be met once the patient has died (``AFTER_DEATH_NEEDS``)."""
    return referral.for_person_id is not None or referral.need in AFTER_DEATH_NEEDS


def bereavement_referrals_create(
    *,
    patient: Patient,
    people: list[RelatedPerson],
    user: Any,
    died_at: datetime,
    record: DeathRecord,
    now: datetime,
    screens: Mapping[int, Mapping[str, str]] | None = None,
) -> list[Referral]:
    """One bereavement referral per person, awaiting routing; a person who already has an open
    one is not given a second. ``screens``: the complete bereavement risk screens answered, by
    person id (``bereavement_screens_check``); a screened person's referral gets the screen's
    priority and keeps the screen, an unscreened one is P5 and not screened (docs/triage.md,
    "Bereavement risk screen"). Inside the caller's transaction; the caller enqueues routing after
    commit (``routing_enqueue_after_commit``)."""
    screens = screens or {}
    if not people:
        return []
    already = set(
        Referral.objects.filter(
            for_person__in=people,
            need=Need.BEREAVEMENT_SUPPORT,
            status__in=OPEN_STATUSES,
        ).values_list("for_person_id", flat=True)
    )
    not_before = bereavement_contact_not_before(died_at)
    name = display_name(patient.given_name, patient.family_name)
    referrals = [
        Referral(
            patient=patient,
            for_person=person,
            # The recorder ticked this person, who consents to be contacted (_bereaved).
            for_person_consent_at=now,
            for_person_consent_by=user,
            call=None,
            need=Need.BEREAVEMENT_SUPPORT,
            priority=(
                screen_priority(screen_component(screens[person.pk]))
                if person.pk in screens
                else Priority.P5
            ),
            status=ReferralStatus.AWAITING_ROUTING,
            note=(
                f"Bereavement support for {display_name(person.given_name, person.family_name)} "
                f"({person.get_relationship_display().lower()}) after the death of {name}."
            ),
            contact_not_before=not_before,
            # docs/reference.md: contact_not_before delays the start of the first-contact clock (a
            # death recorded late starts it now, not in the past).
            clock_started_at=max(not_before, now),
            created_at=now,
            created_by=user,
            updated_at=now,
        )
        for person in people
        if person.pk not in already
    ]
    Referral.objects.bulk_create(referrals)
    ReferralEvent.objects.bulk_create(
        [
            ReferralEvent(
                referral=referral,
                kind=ReferralEvent.Kind.CREATED,
                at=now,
                actor=user,
                from_status="",
                to_status=referral.status,
                data={
                    "need": referral.need,
                    "priority": referral.priority,
                    "death_record_id": record.pk,
                    "for_person_id": referral.for_person_id,
                },
            )
            for referral in referrals
        ]
    )
    bereavement_screens_save(referrals, screens=screens, user=user, now=now)
    return referrals


def may_correct_death(user: Any) -> bool:
    """Team leads and SPOC coordinators (docs/patients-and-calls.md, "Correcting or withdrawing a
    death"): a death's correction changes what several teams see, so it needs someone who
    answers for a team's or the service's records."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_perm("accounts.coordinate") or user.has_perm("accounts.lead_team")


def referrals_reopen_on_withdrawal(
    *, record: DeathRecord, correction_id: int, reason: str, user: Any
) -> tuple[list[Referral], list[Referral]]:
    """Put back the referrals that recording ``record`` closed, each to the status it had then
    (action ``REOPEN_ON_WITHDRAWAL``, a ``REOPENED`` event naming the correction), its hold with
    it; its owner and clocks are as they were (a deadline that passed meanwhile is overdue at
    once, and escalates). A referral changed since (reopened by hand, closed again) is left as it
    is. Returns (reopened, left), team loaded. Inside the caller's transaction."""
    closing = {
        event.referral_id: event
        for event in ReferralEvent.objects.filter(
            kind=ReferralEvent.Kind.COMPLETED, data__death_record_id=record.pk
        )
    }
    referrals = list(
        Referral.objects.select_for_update(of=("self",))
        .select_related("team")
        .filter(pk__in=list(closing))
        .order_by("pk")
    )
    reopened, left = [], []
    for referral in referrals:
        event = closing[referral.pk]
        if not (
            referral.status == ReferralStatus.COMPLETED
            and referral.outcome == ReferralOutcome.PATIENT_DIED
            and referral.closed_at == event.at
        ):
            left.append(referral)
            continue
        before = referral.status
        referral.status = check_action(
            Action.REOPEN_ON_WITHDRAWAL, before, before_hold=event.from_status
        )
        referral.outcome = ""
        referral.closed_at = None
        hold = event.data.get("hold")
        if hold:
            held_at = hold.get("held_at")
            referral.held_at = datetime.fromisoformat(held_at) if held_at else None
            referral.hold_reason = hold.get("reason", "")
            referral.status_before_hold = hold.get("status_before_hold", "")
        _withdrawal_recorded(
            referral,
            kind=ReferralEvent.Kind.REOPENED,
            text="note",
            before=before,
            record=record,
            correction_id=correction_id,
            reason=reason,
            user=user,
        )
        reopened.append(referral)
    return reopened, left


def bereavement_cancel_on_withdrawal(
    *, record: DeathRecord, correction_id: int, reason: str, user: Any
) -> tuple[list[Referral], list[Referral]]:
    """The bereavement referrals recording ``record`` made: those nobody has contacted yet are
    entered in error (an ``ENTERED_IN_ERROR`` event naming the correction); those already in
    contact with the person stay open, for their team to close with the family. Returns
    (cancelled, kept open), person and team loaded. Inside the caller's transaction."""
    referrals = list(
        Referral.objects.select_for_update(of=("self",))
        .select_related("team", "for_person")
        .filter(
            events__kind=ReferralEvent.Kind.CREATED,
            events__data__death_record_id=record.pk,
            status__in=OPEN_STATUSES,
        )
        .order_by("pk")
    )
    cancelled, kept = [], []
    for referral in referrals:
        if referral.first_contact_at is not None:
            kept.append(referral)
            continue
        before = referral.status
        referral.status = check_action(Action.ENTER_IN_ERROR, before)
        referral.closed_at = timezone.now()
        _withdrawal_recorded(
            referral,
            kind=ReferralEvent.Kind.ENTERED_IN_ERROR,
            text="reason",
            before=before,
            record=record,
            correction_id=correction_id,
            reason=reason,
            user=user,
        )
        cancelled.append(referral)
    return cancelled, kept


def _withdrawal_recorded(
    referral: Referral,
    *,
    kind: str,
    text: str,
    before: str,
    record: DeathRecord,
    correction_id: int,
    reason: str,
    user: Any,
) -> None:
    """Save ``referral`` with its event naming the withdrawn death and the correction, the
    withdrawal's reason under ``text`` (the key the event's kind shows on the timeline)."""
    referral_record(
        referral,
        kind=kind,
        user=user,
        from_status=before,
        data={
            text: f"The death recorded was withdrawn as entered in error: {reason}",
            "death_record_id": record.pk,
            "death_correction_id": correction_id,
        },
    )
