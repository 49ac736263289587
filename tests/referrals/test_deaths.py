"""Recording a death: the service, the page, the API, and bereavement routing through a real
worker (docs/design.md §7)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from calls.models import CallBack, TelephonyCall
from patients.codes import CprDecision, PlaceOfDeath, Relationship
from patients.models import CarePlan, DeathRecord, Patient, RelatedPerson
from referrals.codes import ReferralOutcome
from referrals.models import Referral, ReferralEvent
from referrals.services.deaths import DeathAlreadyRecorded, preferred_place_achieved
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import CallerType, Need, Priority, ServiceType
from services.models import TeamMembership
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.clients import api_client
from tests.clock import WEEKDAY_MORNING
from tests.conftest import wait_for
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory
from tests.services.directory_fixtures import make_service
from workspace.services import death_record

P = PlaceOfDeath


# --- The preferred-place rule (pure) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "first", "second", "achieved"),
    [
        (P.OWN_HOME, P.OWN_HOME, "", True),
        (P.HOSPICE, P.OWN_HOME, P.HOSPICE, True),
        (P.HOSPITAL, P.OWN_HOME, P.HOSPICE, False),
        # A preferred "private residence" (20) is met by own home (21) or another one (22) ...
        (P.OWN_HOME, P.PRIVATE_RESIDENCE, "", True),
        (P.OTHER_PRIVATE_RESIDENCE, P.PRIVATE_RESIDENCE, "", True),
        (P.PRIVATE_RESIDENCE, P.PRIVATE_RESIDENCE, "", True),
        # ... but own home is not met by somebody else's house, nor by an unspecified residence.
        (P.OTHER_PRIVATE_RESIDENCE, P.OWN_HOME, "", False),
        (P.PRIVATE_RESIDENCE, P.OWN_HOME, "", False),
        (P.CARE_HOME, P.HOSPITAL, P.PRIVATE_RESIDENCE, False),
        (P.OWN_HOME, "", "", None),
    ],
)
def test_preferred_place_achieved_rule(place, first, second, achieved):
    assert preferred_place_achieved(place=place, first=first, second=second) is achieved


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def directory(db):
    """Two bereavement services by area and a children's one, the SPOC team, a community team."""
    return {
        "community": make_service(
            "Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True
        ),
        "north": make_service(
            "Northbank Bereavement",
            ServiceType.BEREAVEMENT,
            open_24_7=True,
            areas=("L9",),
            min_age=18,
        ),
        "south": make_service(
            "Southmere Bereavement",
            ServiceType.BEREAVEMENT,
            open_24_7=True,
            areas=("L20",),
            min_age=18,
        ),
        "children": make_service(
            "Young Minds Bereavement",
            ServiceType.BEREAVEMENT,
            open_24_7=True,
            areas=("L9", "L20"),
            max_age=17,
        ),
        "spoc": make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=()),
    }


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.SPOC_COORDINATOR, username="coord1", is_clinician=True)


@pytest.fixture
def patient(db):
    return PatientFactory(postcode="L9 7AL", date_of_birth=date(1948, 3, 14))


def person(patient, *, consent=True, postcode="", dob=None, main_carer=False, **fields):
    defaults = {
        "given_name": "Siân",
        "family_name": "O'Brien",
        "relationship": Relationship.SPOUSE_PARTNER,
    }
    return RelatedPerson.objects.create(
        patient=patient,
        consent_to_contact=consent,
        postcode=postcode,
        date_of_birth=dob,
        is_main_carer=main_carer,
        created_at=timezone.now(),
        **{**defaults, **fields},
    )


def care_plan(patient, user, *, first="", second="", ppc=""):
    return CarePlan.objects.create(
        patient=patient,
        version=1,
        ppd_first=first,
        ppd_second=second,
        ppc=ppc,
        created_at=timezone.now(),
        created_by=user,
    )


def recorded(patient, user, **overrides):
    """What ``death_record`` did (``DeathRecorded``)."""
    values = {
        "patient_id": patient.pk,
        "user": user,
        "died_at": timezone.now() - timedelta(hours=3),
        "place": P.OWN_HOME,
        "expected": True,
        "verified_by": "Jo Kennedy, district nurse",
        "bereavement_for": [],
    }
    return death_record(**{**values, **overrides})


def record(patient, user, **overrides):
    """The saved ``DeathRecord``."""
    return recorded(patient, user, **overrides).record


def referral(patient, status, *, team=None, owner=None, need=Need.URGENT_HOME_VISIT):
    return ReferralFactory(
        call=CallFactory(patient=patient),
        patient=patient,
        status=status,
        team=team,
        owner=owner,
        need=need,
    )


def son_supported(patient, *, team):
    """The patient's son, whose bereavement support is already queued for ``team``."""
    son = person(patient, given_name="Seán", family_name="Nguyễn", relationship=Relationship.CHILD)
    ReferralFactory(
        call=CallFactory(patient=patient),
        patient=patient,
        for_person=son,
        need=Need.BEREAVEMENT_SUPPORT,
        status=ReferralStatus.QUEUED,
        team=team,
    )
    return son


def routed(referral: Referral) -> Referral:
    """``referral`` routed now."""
    result = referral_route(referral_id=referral.pk)
    assert result is not None
    return result


def assert_clocks_wait_for_contact(referral: Referral) -> None:
    """The routed referral's clocks start when the family may first be contacted: both deadlines
    fall after ``contact_not_before``."""
    start, accept_by, contact_by = (
        referral.contact_not_before,
        referral.accept_by,
        referral.contact_by,
    )
    assert start is not None and accept_by is not None and contact_by is not None, referral
    assert accept_by >= start
    assert contact_by > start


# --- The service --------------------------------------------------------------------------------


def test_death_closes_open_referrals_but_not_bereavement_and_cancels_pending_call_backs(
    directory, coordinator, patient, make_user
):
    team = directory["community"].team
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse1", is_clinician=True)
    queued = referral(patient, ReferralStatus.QUEUED, team=team)
    accepted = referral(patient, ReferralStatus.ACCEPTED, team=team, owner=nurse)
    held = referral(patient, ReferralStatus.ON_HOLD, team=team, owner=nurse)
    awaiting = referral(patient, ReferralStatus.AWAITING_ROUTING)
    done = referral(patient, ReferralStatus.COMPLETED, team=team, owner=nurse)
    bereavement = referral(
        patient, ReferralStatus.QUEUED, team=directory["north"].team, need=Need.BEREAVEMENT_SUPPORT
    )
    call = CallFactory(patient=patient)
    pending = CallBack.objects.create(
        call=call, patient=patient, due_at=timezone.now() + timedelta(hours=2)
    )
    done_call_back = CallBack.objects.create(
        call=call, patient=patient, due_at=timezone.now(), status=CallBack.Status.DONE
    )
    died_at = timezone.now() - timedelta(hours=2)

    death = record(patient, coordinator, died_at=died_at)

    patient.refresh_from_db()
    assert patient.died_at == died_at == death.died_at
    for closed in (queued, accepted, held, awaiting):
        previous = closed.status
        closed.refresh_from_db()
        assert closed.status == ReferralStatus.COMPLETED
        assert closed.outcome == ReferralOutcome.PATIENT_DIED
        assert closed.closed_at is not None
        event = closed.events.get(kind=ReferralEvent.Kind.COMPLETED)
        assert (event.from_status, event.to_status) == (previous, ReferralStatus.COMPLETED)
        assert event.data["outcome"] == ReferralOutcome.PATIENT_DIED
        assert event.data["death_record_id"] == death.pk
        assert event.actor == coordinator
    # The hold is kept in the event, so that withdrawing the death can put it back.
    assert "hold" in held.events.get(kind=ReferralEvent.Kind.COMPLETED).data
    accepted.refresh_from_db()
    assert accepted.owner == nurse  # the owner is kept
    done.refresh_from_db()
    bereavement.refresh_from_db()
    assert done.outcome == "" and not done.events.filter(kind=ReferralEvent.Kind.COMPLETED).exists()
    assert bereavement.status == ReferralStatus.QUEUED
    pending.refresh_from_db()
    done_call_back.refresh_from_db()
    assert pending.status == CallBack.Status.CANCELLED and pending.done_by == coordinator
    assert done_call_back.status == CallBack.Status.DONE
    log = AccessLog.objects.get(object_type="death_record")
    assert log.patient_id == patient.pk and log.action == AccessLog.Action.CREATE
    assert log.detail == {
        "referrals_closed": 4,
        "referrals_kept_open": 1,
        "call_backs_cancelled": 1,
        "call_backs_kept": 0,
        "bereavement_referrals": 0,
    }


def family_call_backs(patient, carer):
    """Pending call-backs about ``patient``: three owed to the family (a call from a relative, a
    professional's call from the carer's number, a missed phone call from the carer's mobile),
    two to the patient and a professional (cancelled by a death as before)."""
    due = timezone.now() + timedelta(hours=2)

    def after(caller_type, phone=""):
        call = CallFactory(patient=patient, caller_type=caller_type, caller_phone=phone)
        return CallBack.objects.create(call=call, patient=patient, due_at=due)

    missed = TelephonyCall.objects.create(
        external_id="missed-carer-1",
        caller_number=str(carer.phone_alt),
        rang_at=timezone.now(),
        outcome=TelephonyCall.Outcome.MISSED,
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return {
        "relative": after(CallerType.CARER_FAMILY, "+447700900222"),
        "carers_number": after(CallerType.OTHER, str(carer.phone)),
        "missed": CallBack.objects.create(telephony_call=missed, patient=patient, due_at=due),
        "patient": after(CallerType.PATIENT, "+447700900111"),
        "nurse": after(CallerType.DISTRICT_NURSE, "+447700900333"),
    }


def test_a_death_closes_the_patients_own_referrals_and_leaves_support_for_the_living(
    directory, coordinator, patient
):
    team = directory["community"].team
    carer = person(patient, main_carer=True, phone="+447700900123", phone_alt="+447700900124")
    own = referral(patient, ReferralStatus.QUEUED, team=team)
    carer_support = referral(patient, ReferralStatus.QUEUED, team=team, need=Need.CARER_SUPPORT)
    for_the_carer = ReferralFactory(
        call=CallFactory(patient=patient),
        patient=patient,
        for_person=carer,
        need=Need.SPECIALIST_FOLLOW_UP,
        status=ReferralStatus.QUEUED,
        team=team,
    )
    bereavement = referral(patient, ReferralStatus.AWAITING_ROUTING, need=Need.BEREAVEMENT_SUPPORT)
    call_backs = family_call_backs(patient, carer)

    result = recorded(patient, coordinator)

    assert [r.pk for r in result.closed] == [own.pk]
    assert [r.pk for r in result.kept_open] == [
        carer_support.pk,
        for_the_carer.pk,
        bereavement.pk,
    ]
    for kept in result.kept_open:
        status = kept.status
        kept.refresh_from_db()
        assert kept.status == status and kept.outcome == ""
    assert result.call_backs_cancelled == 2
    family = {call_backs[name].pk for name in ("relative", "carers_number", "missed")}
    assert {cb.pk for cb in result.call_backs_kept} == family
    for name, call_back in call_backs.items():
        call_back.refresh_from_db()
        if call_back.pk in family:
            assert call_back.status == CallBack.Status.PENDING, name
            assert call_back.cancelled_by_death is None
        else:
            assert call_back.status == CallBack.Status.CANCELLED, name
            assert call_back.cancelled_by_death == result.record


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_the_page_and_the_call_backs_list_say_what_stayed_open(
    client, directory, coordinator, patient
):
    carer = person(patient, main_carer=True, phone="+447700900123")
    referral(patient, ReferralStatus.QUEUED, team=directory["community"].team)
    CallBack.objects.create(
        call=CallFactory(
            patient=patient,
            caller_type=CallerType.CARER_FAMILY,
            caller_name="Siân O'Brien",
            caller_relationship="wife",
        ),
        patient=patient,
        due_at=timezone.now() + timedelta(hours=3),
    )
    client.force_login(coordinator)

    response = client.post(
        reverse("patients:death", args=[patient.pk]),
        _form(bereavement_for=[carer.pk]),
        follow=True,
    )

    message = next(str(m) for m in response.context["messages"])
    assert "1 call-back to the family stays pending: Siân O'Brien (due " in message
    assert "There were no open referrals" not in message
    listed = client.get(reverse("calls:call-backs")).content.decode()
    assert 'data-testid="call-back-patient-died"' in listed
    assert "Patient died " in listed
    assert "Call back Siân O&#x27;Brien (wife)" in listed


@pytest.mark.parametrize(
    ("first", "second", "place", "achieved"),
    [
        (P.OWN_HOME, P.HOSPICE, P.HOSPICE, True),
        (P.OWN_HOME, "", P.HOSPITAL, False),
        ("", "", P.HOSPITAL, None),
    ],
)
def test_preferred_place_in_force_is_kept_with_the_death(
    coordinator, patient, first, second, place, achieved
):
    care_plan(patient, coordinator, first=first, second=second)
    death = record(patient, coordinator, place=place)
    death.refresh_from_db()
    assert (death.preferred_place_first, death.preferred_place_second) == (first, second)
    assert death.preferred_place_achieved is achieved


@pytest.mark.parametrize(
    ("first", "second", "place", "achieved", "first_achieved"),
    [
        (P.PRIVATE_RESIDENCE, "", P.OWN_HOME, True, True),
        (P.OWN_HOME, P.HOSPICE, P.HOSPICE, True, False),
        (P.OWN_HOME, P.HOSPICE, P.HOSPITAL, False, False),
        ("", "", P.HOSPITAL, None, None),
    ],
)
def test_the_first_preference_is_kept_apart_from_the_second(
    coordinator, patient, first, second, place, achieved, first_achieved
):
    care_plan(patient, coordinator, first=first, second=second)
    death = record(patient, coordinator, place=place)
    death.refresh_from_db()
    assert (death.preferred_place_achieved, death.first_preference_achieved) == (
        achieved,
        first_achieved,
    )


@pytest.mark.parametrize(
    ("ppc", "last_days_place", "care_achieved"),
    [
        (P.PRIVATE_RESIDENCE, P.OTHER_PRIVATE_RESIDENCE, True),
        (P.OWN_HOME, P.HOSPITAL, False),
        (P.OWN_HOME, "", None),
        ("", P.HOSPICE, None),
    ],
)
def test_the_preferred_place_of_care_is_compared_with_the_last_days(
    coordinator, patient, ppc, last_days_place, care_achieved
):
    care_plan(patient, coordinator, first=P.OWN_HOME, ppc=ppc)
    death = record(patient, coordinator, place=P.HOSPITAL, last_days_place=last_days_place)
    death.refresh_from_db()
    assert (death.preferred_place_of_care, death.last_days_place) == (ppc, last_days_place)
    assert death.preferred_care_achieved is care_achieved


def test_a_last_days_place_that_is_not_a_code_is_refused(coordinator, patient):
    with pytest.raises(ValidationError) as error:
        record(patient, coordinator, last_days_place="<script>")
    assert "last_days_place" in error.value.message_dict
    assert not DeathRecord.objects.exists()


def test_without_a_care_plan_no_preference_is_recorded(coordinator, patient):
    assert record(patient, coordinator).preferred_place_achieved is None


def test_bereavement_referral_for_each_ticked_person_at_p5_not_before_death_plus_14_days(
    directory, coordinator, patient
):
    carer = person(patient, postcode="L20 3AB", main_carer=True)
    son = person(patient, given_name="Seán", relationship=Relationship.CHILD, is_next_of_kin=True)
    died_at = timezone.now() - timedelta(hours=5)

    record(patient, coordinator, died_at=died_at, bereavement_for=[carer.pk, son.pk, carer.pk])

    referrals = Referral.objects.filter(need=Need.BEREAVEMENT_SUPPORT).order_by("pk")
    assert [r.for_person_id for r in referrals] == [carer.pk, son.pk]
    for created in referrals:
        assert created.priority == Priority.P5
        assert created.status == ReferralStatus.AWAITING_ROUTING
        assert created.call_id is None and created.patient_id == patient.pk
        assert created.contact_not_before == died_at + timedelta(days=14)
        assert created.clock_started_at == created.contact_not_before
        assert created.events.get().kind == ReferralEvent.Kind.CREATED
    assert AccessLog.objects.get(object_type="death_record").detail["bereavement_referrals"] == 2

    # Routed by the bereaved person's postcode, else the patient's; the clock starts later.
    carers, sons = (routed(r) for r in referrals)
    assert carers.team == directory["south"].team
    assert sons.team == directory["north"].team
    assert_clocks_wait_for_contact(carers)
    assert_clocks_wait_for_contact(sons)


def test_bereaved_persons_age_decides_eligibility(directory, coordinator, patient):
    grandchild = person(
        patient,
        given_name="Róisín",
        relationship=Relationship.OTHER_RELATIVE,
        dob=timezone.localdate() - timedelta(days=365 * 12),
    )
    widow = person(patient, dob=date(1950, 1, 1))
    record(patient, coordinator, bereavement_for=[grandchild.pk, widow.pk])
    teams = {
        r.for_person_id: routed(r).team
        for r in Referral.objects.filter(need=Need.BEREAVEMENT_SUPPORT)
    }
    assert teams == {grandchild.pk: directory["children"].team, widow.pk: directory["north"].team}


def test_contact_delay_is_a_setting(settings, coordinator, patient):
    settings.BEREAVEMENT_CONTACT_AFTER_DAYS = 21
    died_at = timezone.now() - timedelta(days=1)
    record(patient, coordinator, died_at=died_at, bereavement_for=[person(patient).pk])
    assert Referral.objects.get().contact_not_before == died_at + timedelta(days=21)


def test_a_person_without_consent_is_refused_and_nothing_is_saved(directory, coordinator, patient):
    team = directory["community"].team
    open_referral = referral(patient, ReferralStatus.QUEUED, team=team)
    willing = person(patient)
    unwilling = person(patient, given_name="Nguyễn", family_name="Mai", consent=False)

    with pytest.raises(ValidationError) as caught:
        record(patient, coordinator, bereavement_for=[willing.pk, unwilling.pk])

    assert "has not consented to be contacted" in caught.value.message_dict["bereavement_for"][0]
    assert "MAI, Nguyễn" in caught.value.message_dict["bereavement_for"][0]
    assert not DeathRecord.objects.exists()
    open_referral.refresh_from_db()
    assert open_referral.status == ReferralStatus.QUEUED
    assert not Referral.objects.filter(need=Need.BEREAVEMENT_SUPPORT).exists()
    patient.refresh_from_db()
    assert patient.died_at is None


def test_a_death_cannot_be_recorded_twice(coordinator, patient):
    record(patient, coordinator)
    with pytest.raises(DeathAlreadyRecorded, match="already recorded"):
        record(patient, coordinator, place=P.HOSPICE)
    assert DeathRecord.objects.get().place == P.OWN_HOME


def test_bad_input_gets_field_errors_and_saves_nothing(coordinator, patient, make_user):
    stranger = PatientFactory()
    someone_elses = person(stranger)
    cases: list[tuple[dict[str, object], str, str]] = [
        ({"died_at": timezone.now() + timedelta(hours=1)}, "died_at", "in the future"),
        (
            {"died_at": timezone.make_aware(datetime(1948, 3, 13, 12))},
            "died_at",
            "before the patient's date of birth",
        ),
        ({"died_at": datetime(2024, 1, 1, 12)}, "died_at", "date and time"),  # naive on purpose
        ({"place": "99"}, "place", "Choose the place"),
        ({"expected": "maybe"}, "expected", "expected"),
        ({"verified_by": "x" * 201}, "verified_by", "201 characters"),
        ({"verified_by": "Dr \x00"}, "verified_by", "null character"),
        ({"bereavement_for": [someone_elses.pk]}, "bereavement_for", "this patient's carers"),
        ({"bereavement_for": ["1"]}, "bereavement_for", "Choose people"),
    ]
    for overrides, field, message in cases:
        with pytest.raises(ValidationError) as caught:
            record(patient, coordinator, **overrides)
        assert message in " ".join(caught.value.message_dict[field]), (overrides, caught.value)
    assert not DeathRecord.objects.exists()


def test_who_may_record_a_death(directory, patient, make_user):
    team = directory["community"].team
    referral(patient, ReferralStatus.QUEUED, team=team)
    handler = make_user(Role.CALL_HANDLER, username="h1")
    unregistered = make_user(Role.SPECIALIST_NURSE, username="hca1", is_clinician=False)
    manager = make_user(Role.MANAGER, username="m1", is_clinician=True)
    for user in (handler, unregistered, manager):
        with pytest.raises(PermissionDenied):
            record(patient, user)
    outsider = make_user(Role.SPECIALIST_NURSE, username="n2", is_clinician=True)
    with pytest.raises(Patient.DoesNotExist):
        record(patient, outsider)
    nurse = make_user(Role.SPECIALIST_NURSE, username="n1", is_clinician=True)
    TeamMembership.objects.create(user=nurse, team=team)
    assert record(patient, nurse).recorded_by == nurse


def test_the_service_says_what_it_did(directory, coordinator, patient, make_user):
    team = directory["community"].team
    queued = referral(patient, ReferralStatus.QUEUED, team=team)
    awaiting = referral(patient, ReferralStatus.AWAITING_ROUTING, need=Need.CARER_SUPPORT)
    referral(patient, ReferralStatus.COMPLETED, team=team)
    carer = person(patient, main_carer=True)
    # The son already has bereavement support open (a call made it): he is not given a second.
    son = son_supported(patient, team=directory["north"].team)
    CallBack.objects.create(
        call=CallFactory(patient=patient),
        patient=patient,
        due_at=timezone.now() + timedelta(hours=1),
    )

    result = recorded(patient, coordinator, bereavement_for=[carer.pk, son.pk])

    assert result.record == DeathRecord.objects.get(patient=patient)
    assert [(r.pk, r.need, r.team) for r in result.closed] == [
        (queued.pk, Need.URGENT_HOME_VISIT, team)
    ]
    assert all(r.status == ReferralStatus.COMPLETED for r in result.closed)
    # Carer support, and the son's bereavement support, are support for the living.
    kept_son = Referral.objects.get(for_person=son)
    assert [r.pk for r in result.kept_open] == [awaiting.pk, kept_son.pk]
    made = Referral.objects.get(need=Need.BEREAVEMENT_SUPPORT, for_person=carer)
    assert [(r.pk, r.for_person) for r in result.bereavement] == [(made.pk, carer)]
    assert result.already_supported == (son,)
    assert result.call_backs_cancelled == 1


def test_the_service_says_when_there_was_nothing_to_close_or_offer(coordinator, patient):
    result = recorded(patient, coordinator)
    assert (
        result.closed,
        result.bereavement,
        result.already_supported,
        result.call_backs_cancelled,
    ) == ((), (), (), 0)


# --- The page -----------------------------------------------------------------------------------


def _form(**overrides):
    moment = timezone.localtime() - timedelta(hours=2)
    return {
        "died_date": moment.strftime("%Y-%m-%d"),
        "died_time": moment.strftime("%H:%M"),
        "place": P.HOSPICE,
        "expected": "yes",
        "verified_by": "Dr H. Walsh",
        **overrides,
    }


def test_page_records_the_death_and_the_patient_page_shows_it(client, coordinator, patient):
    care_plan(patient, coordinator, first=P.HOSPICE)
    carer = person(patient, main_carer=True)
    client.force_login(coordinator)
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert 'data-testid="record-death"' in detail

    page = client.get(reverse("patients:death", args=[patient.pk]))
    assert page.status_code == 200
    assert "Record a death" in page.content.decode()
    assert AccessLog.objects.filter(
        object_type="patient", patient_id=patient.pk, detail={"page": "death"}
    ).exists()

    response = client.post(
        reverse("patients:death", args=[patient.pk]),
        _form(verified_by="<script>alert(1)</script>", bereavement_for=[carer.pk]),
    )
    assert response.status_code == 302
    death = DeathRecord.objects.get(patient=patient)
    assert (
        death.place == P.HOSPICE
        and death.preferred_place_achieved is True
        and death.expected is True
    )
    assert Referral.objects.filter(for_person=carer, need=Need.BEREAVEMENT_SUPPORT).count() == 1
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert 'data-testid="death-summary"' in detail and "Achieved" in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "<script>alert" not in detail
    assert 'data-testid="record-death"' not in detail
    # Opening the form again once recorded goes back to the patient.
    assert client.get(reverse("patients:death", args=[patient.pk])).status_code == 302


def test_page_shows_field_errors_and_saves_nothing(client, coordinator, patient):
    unwilling = person(patient, consent=False)
    client.force_login(coordinator)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(
        reverse("patients:death", args=[patient.pk]),
        _form(died_date=tomorrow.isoformat(), bereavement_for=[unwilling.pk]),
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "A death cannot be recorded in the future." in content
    assert "has not consented to be contacted" in content
    response = client.post(
        reverse("patients:death", args=[patient.pk]), _form(died_date="1940-01-01")
    )
    assert "before the patient&#x27;s date of birth" in response.content.decode()
    response = client.post(
        reverse("patients:death", args=[patient.pk]), _form(place="", died_time="25:99")
    )
    assert response.status_code == 200 and response.context["form"].errors.keys() >= {
        "place",
        "died_time",
    }
    assert not DeathRecord.objects.exists()


def test_an_empty_post_says_what_is_missing_and_saves_nothing(client, coordinator, patient):
    client.force_login(coordinator)
    response = client.post(reverse("patients:death", args=[patient.pk]), {})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"place"}
    assert not DeathRecord.objects.exists()


def test_page_is_refused_to_call_handlers(client, handler, patient):
    client.force_login(handler)
    assert client.get(reverse("patients:death", args=[patient.pk])).status_code == 403
    assert client.post(reverse("patients:death", args=[patient.pk]), _form()).status_code == 403
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert 'data-testid="record-death"' not in detail
    assert not DeathRecord.objects.exists()


# --- The page: pre-ticked people, the message, the banner, bad input --------------------------


def _checked(content, person_):
    """Whether the person's box is ticked in the page."""
    match = re.search(rf'<input[^>]*name="bereavement_for"[^>]*value="{person_.pk}"[^>]*>', content)
    assert match, f"no box for {person_}"
    return " checked" in match.group(0)


def test_main_carer_and_consenting_next_of_kin_are_ticked_when_the_form_first_shows(
    client, coordinator, patient
):
    carer = person(patient, main_carer=True)
    next_of_kin = person(
        patient, given_name="Seán", relationship=Relationship.CHILD, is_next_of_kin=True
    )
    unwilling_kin = person(
        patient,
        given_name="Nguyễn",
        family_name="Mai",
        relationship=Relationship.SIBLING,
        is_next_of_kin=True,
        consent=False,
    )
    friend = person(patient, given_name="Zoë", relationship=Relationship.FRIEND)
    client.force_login(coordinator)

    content = client.get(reverse("patients:death", args=[patient.pk])).content.decode()

    assert _checked(content, carer) and _checked(content, next_of_kin)
    assert not _checked(content, unwilling_kin) and not _checked(content, friend)
    # Names and who they are render as typed.
    assert "O&#x27;BRIEN, Siân" in content and "MAI, Nguyễn" in content
    assert "Brother or sister, next of kin. <strong>No consent to be contacted</strong>" in content
    assert "Spouse or partner, main carer" in content


def test_a_main_carer_who_has_not_consented_is_not_ticked(client, coordinator, patient):
    carer = person(patient, main_carer=True, is_next_of_kin=True, consent=False)
    client.force_login(coordinator)
    content = client.get(reverse("patients:death", args=[patient.pk])).content.decode()
    assert not _checked(content, carer)


def test_after_an_error_the_users_own_ticks_win(client, coordinator, patient):
    carer = person(patient, main_carer=True)
    friend = person(patient, given_name="Zoë", relationship=Relationship.FRIEND)
    client.force_login(coordinator)
    # The carer unticked, the friend ticked; the place left out.
    response = client.post(
        reverse("patients:death", args=[patient.pk]), _form(place="", bereavement_for=[friend.pk])
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert not _checked(content, carer) and _checked(content, friend)
    assert not DeathRecord.objects.exists()


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_future_date_and_missing_place_give_an_error_summary_and_lose_nothing(
    client, coordinator, patient
):
    carer = person(patient, main_carer=True)
    friend = person(patient, given_name="Zoë", relationship=Relationship.FRIEND)
    client.force_login(coordinator)

    response = client.post(
        reverse("patients:death", args=[patient.pk]),
        {
            "died_date_day": "11",
            "died_date_month": "6",
            "died_date_year": "2026",
            "died_time": "08:05",
            "expected": "no",
            "verified_by": "Dr Siân O'Brien, GP",
            "bereavement_for": [friend.pk],
        },
    )

    content = response.content.decode()
    assert response.status_code == 200
    summary = content[content.index('class="nhsuk-error-summary"') : content.index("</div></div>")]
    assert "There is a problem" in summary
    assert (
        '<a href="#id_died_date_0">Date of death: A death cannot be recorded in the future.</a>'
        in summary
    )
    assert '<a href="#id_place_0">Place of death: Select the place of death</a>' in summary
    # Nothing typed is lost.
    for box in (
        'name="died_date_day" value="11"',
        'name="died_date_month" value="6"',
        'name="died_date_year" value="2026"',
        'name="died_time" value="08:05"',
        'value="Dr Siân O&#x27;Brien, GP"',
    ):
        assert box in content, box
    assert re.search(r'<input[^>]*name="expected"[^>]*value="no"[^>]*checked', content)
    assert _checked(content, friend) and not _checked(content, carer)
    # No place is chosen for the user, then or now.
    assert not re.search(r'<input[^>]*name="place"[^>]*checked', content)
    assert not DeathRecord.objects.exists()
    patient.refresh_from_db()
    assert patient.died_at is None


def test_no_place_is_preselected_and_the_form_uses_nhs_components(client, coordinator, patient):
    person(patient, main_carer=True)
    client.force_login(coordinator)
    content = client.get(reverse("patients:death", args=[patient.pk])).content.decode()
    assert not re.search(r'<input[^>]*name="place"[^>]*checked', content)
    for code, label in PlaceOfDeath.choices:
        assert f'value="{code}"' in content and f">{label}<".replace("'", "&#x27;") in content
        assert f">Code {code}<" in content
    # Date, place, expected, support, and the six questions of the carer's risk screen.
    assert content.count('<legend class="nhsuk-fieldset__legend') == 4 + 6
    assert 'class="nhsuk-date-input"' in content and 'class="nhsuk-checkboxes"' in content
    assert 'name="died_time"' in content and 'type="time"' not in content
    assert 'aria-describedby="id_died_time-hint"' in content


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_success_message_names_the_referrals_closed_and_the_people_offered_support(
    client, directory, coordinator, patient
):
    team = directory["community"].team
    referral(patient, ReferralStatus.QUEUED, team=team)
    referral(patient, ReferralStatus.AWAITING_ROUTING, need=Need.CARER_SUPPORT)
    carer = person(patient, main_carer=True)
    son = person(
        patient,
        given_name="Seán",
        family_name="Nguyễn",
        relationship=Relationship.CHILD,
        is_next_of_kin=True,
    )
    CallBack.objects.create(
        call=CallFactory(patient=patient),
        patient=patient,
        due_at=timezone.now() + timedelta(hours=1),
    )
    client.force_login(coordinator)

    response = client.post(
        reverse("patients:death", args=[patient.pk]),
        {
            "died_date_day": "10",
            "died_date_month": "6",
            "died_date_year": "2026",
            "died_time": "08:05",
            "place": P.OWN_HOME,
            "expected": "yes",
            "bereavement_for": [carer.pk, son.pk],
        },
        follow=True,
    )

    name = f"{patient.family_name.upper()}, Siân"
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        f"Death recorded for {name}. 1 open referral closed: urgent home visit (Community Palliative Care "
        "team). 1 referral for the people left stays open: carer support, not yet routed to a team. "
        "Bereavement support referrals made for "
        "O'BRIEN, Siân (spouse or partner) and NGUYỄN, Seán (son or daughter): being routed now, with no "
        "contact before 24 June 2026. 1 pending call-back cancelled."
    ]
    assert "O&#x27;BRIEN, Siân (spouse or partner) and NGUYỄN, Seán" in response.content.decode()


def test_success_message_says_when_nothing_was_closed_or_offered(client, coordinator, patient):
    client.force_login(coordinator)
    response = client.post(reverse("patients:death", args=[patient.pk]), _form(), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"Death recorded for {patient.family_name.upper()}, Siân. There were no open referrals to close. "
        "No bereavement support referrals were made."
    ]


@pytest.mark.parametrize(
    ("first", "second", "place", "words"),
    [
        (
            P.OWN_HOME,
            "",
            P.OWN_HOME,
            "at patient's own home (preferred: patient's own home, achieved)",
        ),
        (
            P.OWN_HOME,
            P.HOSPICE,
            P.HOSPITAL,
            "at hospital (preferred: patient's own home or hospice, not achieved)",
        ),
        ("", "", P.HOSPICE, "at hospice (no preference recorded)"),
    ],
)
@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_deceased_banner_says_where_and_whether_the_wish_was_met(
    client, coordinator, patient, first, second, place, words
):
    care_plan(patient, coordinator, first=first, second=second)
    client.force_login(coordinator)
    client.post(
        reverse("patients:death", args=[patient.pk]),
        {
            "died_date_day": "9",
            "died_date_month": "6",
            "died_date_year": "2026",
            "died_time": "23:30",
            "place": place,
            "expected": "unknown",
        },
    )
    content = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    line = re.search(r'data-testid="banner-death"[^>]*>([^<]*)<', content)
    assert line and line.group(1) == f"Died 9 June 2026, {words}".replace("'", "&#x27;")


def test_after_death_the_banner_drops_live_care_plan_alerts(
    client, directory, coordinator, patient
):
    plan = care_plan(patient, coordinator, first=P.HOSPICE)
    CarePlan.objects.filter(pk=plan.pk).update(
        cpr_decision=CprDecision.NOT_FOR_CPR,
        respect_exists=True,
        key_worker_name="Nia Evans",
        review_date=timezone.localdate() - timedelta(days=3),
    )
    carer = person(patient, main_carer=True)
    client.force_login(coordinator)
    before = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    for code in ("CPR", "RESPECT", "KEY_WORKER", "PPD", "CARE_PLAN_REVIEW_OVERDUE"):
        assert f'data-alert="{code}"' in before, code

    client.post(reverse("patients:death", args=[patient.pk]), _form(bereavement_for=[carer.pk]))

    after = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    banner = after[after.index('<section class="hub-banner') : after.index("</section>")]
    for code in (
        "CPR",
        "CPR_UNKNOWN",
        "RESPECT",
        "KEY_WORKER",
        "PPD",
        "NO_PPD",
        "CARE_PLAN_REVIEW_OVERDUE",
    ):
        assert f'data-alert="{code}"' not in banner, code
    assert "DNACPR" not in banner and "Key worker" not in banner
    assert 'data-testid="banner-death"' in banner and "hub-banner--deceased" in banner
    # The family's bereavement support is open work still.
    assert "1 open referral" in banner


# --- The API ------------------------------------------------------------------------------------


# The API reads died_at in London time and 14 days are added to it on the calendar; across a
# clock change that is an hour off 14 x 24 h. No clock change falls in the 14 days from here.
@time_machine.travel(WEEKDAY_MORNING, tick=True)
def test_api_records_a_death_then_refuses_a_second(coordinator, patient):
    carer = person(patient, postcode="L20 3AB")
    url = f"/api/v1/patients/{patient.pk}/death/"
    died_at = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    body = {
        "died_at": died_at.isoformat(),
        "place": P.OWN_HOME,
        "expected": False,
        "verified_by": "Jo Kennedy",
        "bereavement_for": [carer.pk],
        "last_days_place": P.HOSPICE,
    }

    response = api_client(coordinator).post(url, body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert (
        data["patient_id"] == patient.pk
        and data["place"] == P.OWN_HOME
        and data["expected"] is False
    )
    assert data["preferred_place_achieved"] is None
    assert data["first_preference_achieved"] is None
    assert (data["last_days_place"], data["preferred_care_achieved"]) == (P.HOSPICE, None)
    assert [r["for_person_id"] for r in data["bereavement_referrals"]] == [carer.pk]
    assert data["bereavement_referrals"][0]["for_person_name"] == "O'BRIEN, Siân"
    effects = data["effects"]
    assert effects["referrals_closed"] == [] and effects["call_backs_cancelled"] == 0
    assert effects["bereavement_already_open"] == []
    assert [
        (r["for_person_id"], r["for_person_name"]) for r in effects["bereavement_referrals_created"]
    ] == [(carer.pk, "O'BRIEN, Siân")]
    assert (
        data["bereavement_referrals"][0]["contact_not_before"]
        == (died_at + timedelta(days=14)).astimezone(UTC).isoformat()
    )
    assert (
        AccessLog.objects.filter(
            object_type="death_record", patient_id=patient.pk, action=AccessLog.Action.CREATE
        ).count()
        == 1
    )

    again = api_client(coordinator).post(url, body, format="json")
    assert again.status_code == 409 and "already recorded" in again.json()["detail"]
    assert DeathRecord.objects.count() == 1

    read = api_client(coordinator).get(url)
    assert read.status_code == 200 and read.json()["id"] == data["id"]
    assert AccessLog.objects.filter(
        object_type="death_record", action=AccessLog.Action.VIEW
    ).exists()


def test_api_bad_input_is_400_with_field_errors(coordinator, patient):
    url = f"/api/v1/patients/{patient.pk}/death/"
    api = api_client(coordinator)
    future = api.post(
        url,
        {"died_at": (timezone.now() + timedelta(days=1)).isoformat(), "place": P.HOSPICE},
        format="json",
    )
    assert future.status_code == 400 and "in the future" in future.json()["died_at"][0]
    bad = api.post(
        url,
        {"died_at": "yesterday", "place": "99", "bereavement_for": ["x"], "last_days_place": "9"},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json().keys() >= {"died_at", "place", "bereavement_for", "last_days_place"}
    unwilling = person(patient, consent=False)
    refused = api.post(
        url,
        {
            "died_at": timezone.now().isoformat(),
            "place": P.HOSPICE,
            "bereavement_for": [unwilling.pk],
        },
        format="json",
    )
    assert refused.status_code == 400 and "consented" in refused.json()["bereavement_for"][0]
    assert not DeathRecord.objects.exists()


def test_api_refuses_handlers_and_hides_patients_a_nurse_cannot_see(handler, make_user, patient):
    url = f"/api/v1/patients/{patient.pk}/death/"
    body = {"died_at": timezone.now().isoformat(), "place": P.HOSPICE}
    assert api_client(handler).post(url, body, format="json").status_code == 403
    nurse = make_user(Role.SPECIALIST_NURSE, username="n9", is_clinician=True)
    assert api_client(nurse).post(url, body, format="json").status_code == 404
    assert api_client(nurse).get(url).status_code == 404
    assert not DeathRecord.objects.exists()


def test_api_says_which_referrals_were_closed_and_who_already_had_support(
    directory, coordinator, patient
):
    team = directory["community"].team
    queued = referral(patient, ReferralStatus.QUEUED, team=team)
    awaiting = referral(patient, ReferralStatus.AWAITING_ROUTING, need=Need.CARER_SUPPORT)
    son = son_supported(patient, team=directory["north"].team)
    body = {
        "died_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "place": P.HOSPICE,
        "bereavement_for": [son.pk],
    }

    response = api_client(coordinator).post(
        f"/api/v1/patients/{patient.pk}/death/", body, format="json"
    )

    assert response.status_code == 201, response.json()
    effects = response.json()["effects"]
    assert effects["referrals_closed"] == [
        {
            "id": queued.pk,
            "need": Need.URGENT_HOME_VISIT,
            "team_id": team.pk,
            "team_name": team.name,
        },
    ]
    kept_son = Referral.objects.get(for_person=son)
    assert effects["referrals_kept_open"] == [
        {
            "id": awaiting.pk,
            "need": Need.CARER_SUPPORT,
            "team_id": None,
            "team_name": "",
            "status": ReferralStatus.AWAITING_ROUTING,
            "for_person_id": None,
        },
        {
            "id": kept_son.pk,
            "need": Need.BEREAVEMENT_SUPPORT,
            "team_id": directory["north"].team.pk,
            "team_name": directory["north"].team.name,
            "status": ReferralStatus.QUEUED,
            "for_person_id": son.pk,
        },
    ]
    assert effects["call_backs_kept"] == []
    assert effects["bereavement_referrals_created"] == []
    assert effects["bereavement_already_open"] == [{"id": son.pk, "name": "NGUYỄN, Seán"}]
    # Reading the death back gives the record, without the effects of the request that made it.
    read = api_client(coordinator).get(f"/api/v1/patients/{patient.pk}/death/").json()
    assert "effects" not in read and read["id"] == response.json()["id"]


# --- Bereavement routing through the real broker and worker -------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_bereavement_referral_is_routed_by_a_real_worker(
    directory, coordinator, celery_worker_process
):
    patient = PatientFactory(postcode="L9 7AL")
    carer = person(patient, postcode="L20 3AB", main_carer=True)
    team = directory["community"].team
    open_referral = referral(patient, ReferralStatus.QUEUED, team=team)
    died_at = timezone.now() - timedelta(hours=1)

    death_record(
        patient_id=patient.pk,
        user=coordinator,
        died_at=died_at,
        place=P.OWN_HOME,
        expected=True,
        verified_by="",
        bereavement_for=[carer.pk],
    )

    bereavement = Referral.objects.get(need=Need.BEREAVEMENT_SUPPORT)
    wait_for(
        lambda: Referral.objects.filter(pk=bereavement.pk, status=ReferralStatus.QUEUED).exists(),
        timeout=30,
    )
    bereavement.refresh_from_db()
    assert bereavement.team == directory["south"].team
    assert bereavement.events.filter(kind=ReferralEvent.Kind.ROUTED).count() == 1
    # Routed now, but its clocks start when the family may first be contacted.
    assert bereavement.contact_not_before == died_at + timedelta(days=14)
    assert (
        bereavement.routed_at is not None and bereavement.routed_at < bereavement.contact_not_before
    )
    assert_clocks_wait_for_contact(bereavement)
    open_referral.refresh_from_db()
    assert open_referral.status == ReferralStatus.COMPLETED
