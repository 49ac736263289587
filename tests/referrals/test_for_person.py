"""A referral for someone other than the patient (docs/routing.md, "Who a referral is for"): on
the call screen and in the calls API, carer and bereavement support can be for one of the
patient's carers or relatives, who agreed to be contacted; such a referral is routed by that
person's postcode and age, and every list and page that shows it names the person."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from calls.models import Call
from calls.services.intake import CallInput, NeedRequest, call_submit
from patients.codes import Relationship
from patients.models import RelatedPerson
from referrals.models import Referral, ReferralEvent
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import Need, ServiceType
from tests.clients import api_client
from tests.referrals.factories import PatientFactory, ReferralFactory, member
from tests.referrals.test_api import CALLS, REFERRALS, call_body
from tests.referrals.test_call_screen import NEW, payload
from tests.services.directory_fixtures import make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory(db):
    """Carer support by area (adults only) and for young carers, the SPOC team."""
    return {
        "north": make_service(
            "Northbank Carers", ServiceType.CARER_SUPPORT, open_24_7=True, areas=("L9",), min_age=18
        ),
        "south": make_service(
            "Southmere Carers",
            ServiceType.CARER_SUPPORT,
            open_24_7=True,
            areas=("L20",),
            min_age=18,
        ),
        "young": make_service(
            "Young Carers Project",
            ServiceType.CARER_SUPPORT,
            open_24_7=True,
            areas=("L9", "L20"),
            max_age=17,
        ),
        "spoc": make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=()),
    }


@pytest.fixture
def patient(db):
    return PatientFactory(postcode="L9 7AL", date_of_birth=date(1948, 3, 14))


def person(patient, **fields):
    values = {
        "given_name": "Seán",
        "family_name": "Nguyễn",
        "relationship": Relationship.CHILD,
        "phone": "+447700900123",
        "postcode": "L20 3AB",
        "date_of_birth": date(1975, 6, 1),
        "is_main_carer": True,
        "created_at": timezone.now(),
    }
    return RelatedPerson.objects.create(patient=patient, **{**values, **fields})


def carer_support_for(carer, *, patient=None, consent=True, **overrides):
    """The call screen's payload: carer support for ``carer``, with their consent when asked,
    on a call about ``patient`` (theirs unless said)."""
    data = payload(patient or carer.patient, needs=["CARER_SUPPORT"], **overrides)
    data["for_person_carer_support"] = str(carer.pk)
    if consent:
        data["for_person_consent_carer_support"] = "on"
    return data


# --- The call screen ----------------------------------------------------------------------------


def test_the_call_screen_offers_the_patients_people_for_carer_and_bereavement_support(
    client, handler, patient
):
    carer = person(patient, family_name="O'Brien", given_name="Siân")
    client.force_login(handler)

    page = client.get(NEW, {"patient": patient.pk}).content.decode()

    assert 'name="for_person_carer_support"' in page
    assert 'name="for_person_bereavement_support"' in page
    assert f'<option value="{carer.pk}">O&#x27;BRIEN, Siân (Son or daughter, main carer)' in page
    # A clinical need is the patient's own: there is nobody else to choose.
    assert 'name="for_person_urgent_home_visit"' not in page


def test_picking_a_patient_offers_their_people_out_of_band(client, handler, patient):
    carer = person(patient)
    client.force_login(handler)

    panel = client.get(reverse("calls:patient-panel"), {"patient": patient.pk}).content.decode()

    assert 'id="need-for-carer_support" hx-swap-oob="true"' in panel
    assert f'<option value="{carer.pk}">NGUYỄN, Seán' in panel


def test_a_carers_referral_records_who_it_is_for_and_their_consent(
    client, handler, patient, morning
):
    carer = person(patient)
    client.force_login(handler)

    response = client.post(NEW, carer_support_for(carer))

    call = Call.objects.get()
    assert response["Location"] == reverse("calls:detail", args=[call.pk])
    # The call's page says whom its referral is for.
    assert "For <strong>NGUYỄN, Seán</strong>" in client.get(response["Location"]).content.decode()
    referral = Referral.objects.get()
    assert (referral.need, referral.for_person, referral.patient) == (
        Need.CARER_SUPPORT,
        carer,
        patient,
    )
    assert (referral.for_person_consent_at, referral.for_person_consent_by) == (
        timezone.now(),
        handler,
    )
    assert referral.events.get().data["for_person_id"] == carer.pk


def test_a_person_who_has_not_agreed_is_refused_and_nothing_is_lost(client, handler, patient):
    carer = person(patient)
    client.force_login(handler)

    response = client.post(
        NEW, carer_support_for(carer, consent=False, note_carer_support="Exhausted, not sleeping")
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["for_person_consent_carer_support"] == [
        "NGUYỄN, Seán has not agreed to be contacted about carer support: ask them and record "
        "that they agree, or make it for the patient."
    ]
    page = response.content.decode()
    assert "Exhausted, not sleeping" in page
    assert f'<option value="{carer.pk}" selected>' in page
    assert not Call.objects.exists() and not Referral.objects.exists()


def test_someone_of_another_patient_is_refused_without_naming_them(client, handler, patient):
    stranger = person(PatientFactory(), given_name="Róisín", family_name="Ó Súilleabháin")
    client.force_login(handler)

    response = client.post(NEW, carer_support_for(stranger, patient=patient))

    errors = response.context["form"].errors["for_person_carer_support"]
    assert errors == ["Choose who carer support is for from this patient's carers and relatives."]
    assert "Róisín" not in response.content.decode()
    assert not Referral.objects.exists()


def test_the_patients_own_care_cannot_be_for_a_relative(handler, patient):
    carer = person(patient)
    with pytest.raises(ValidationError) as caught:
        call_submit(
            data=CallInput(
                received_at=timezone.now() - timedelta(minutes=1),
                caller_type="CARER_FAMILY",
                patient_id=patient.pk,
                reason="REQUEST_VISIT",
                chosen_priority="P5",
                disposition="REFERRALS_CREATED",
                needs=(
                    NeedRequest(
                        Need.URGENT_HOME_VISIT, for_person_id=carer.pk, for_person_consent=True
                    ),
                ),
            ),
            user=handler,
        )

    assert caught.value.message_dict["for_person_urgent_home_visit"] == [
        "Urgent home visit is the patient's own care: it cannot be for NGUYỄN, Seán. Only carer "
        "support and bereavement support can be for someone else."
    ]
    assert not Referral.objects.exists()


# --- The calls API ------------------------------------------------------------------------------


def api_carer_support(handler, patient, **need):
    body = call_body(patient, needs=[{"need": "CARER_SUPPORT", **need}])
    return api_client(handler).post(
        CALLS, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )


def test_the_api_takes_for_person_id_with_consent(handler, patient):
    carer = person(patient)

    response = api_carer_support(handler, patient, for_person_id=carer.pk, for_person_consent=True)

    assert response.status_code == 201, response.json()
    assert [r["for_person_id"] for r in response.json()["referrals"]] == [carer.pk]
    assert Referral.objects.get().for_person_consent_by == handler


@pytest.mark.parametrize(
    ("need", "message"),
    [
        ({"for_person_consent": False}, "has not agreed to be contacted about carer support"),
        ({"for_person_id": "stranger"}, "from this patient's carers and relatives"),
    ],
)
def test_the_api_refuses_without_consent_or_with_someone_elses_person(
    handler, patient, need, message
):
    carer = person(patient)
    stranger = person(PatientFactory())
    fields = {"for_person_id": carer.pk, "for_person_consent": True, **need}
    if fields["for_person_id"] == "stranger":
        fields["for_person_id"] = stranger.pk

    response = api_carer_support(handler, patient, **fields)

    assert response.status_code == 400
    assert any(message in text for text in response.json()["needs"]), response.json()
    assert not Referral.objects.exists()


def test_the_patient_api_lists_their_people_for_the_calls_api(handler, patient):
    carer = person(patient, family_name="O'Brien", given_name="Siân")

    body = api_client(handler).get(f"/api/v1/patients/{patient.pk}/").json()

    assert body["related_people"] == [
        {
            "id": carer.pk,
            "display_name": "O'BRIEN, Siân",
            "relationship": "CHILD",
            "phone": "+447700900123",
            "postcode": "L20 3AB",
            "is_main_carer": True,
            "is_next_of_kin": False,
            "consent_to_contact": False,
        }
    ]


# --- Routing ------------------------------------------------------------------------------------


def test_a_carers_referral_is_routed_by_the_carers_postcode_and_age(
    client, handler, directory, patient
):
    adult = person(patient, postcode="L20 3AB", date_of_birth=date(1975, 6, 1))
    young = person(
        patient,
        given_name="Aoife",
        is_main_carer=False,
        postcode="L20 1XY",
        date_of_birth=timezone.localdate() - timedelta(days=365 * 15),
    )
    client.force_login(handler)
    for carer in (adult, young, None):
        data = payload(patient, needs=["CARER_SUPPORT"])
        if carer is not None:
            data |= {
                "for_person_carer_support": str(carer.pk),
                "for_person_consent_carer_support": "on",
            }
        assert client.post(NEW, data).status_code == 302

    teams = {referral.for_person_id: routed(referral).team for referral in Referral.objects.all()}

    # The patient lives in L9 (north) and is 78: their own carer support goes north; the son in
    # L20 goes south; the 15-year-old grandchild in L20 to the young carers' project.
    assert teams == {
        None: directory["north"].team,
        adult.pk: directory["south"].team,
        young.pk: directory["young"].team,
    }
    grandchilds = Referral.objects.get(for_person=young)
    assert grandchilds.status == ReferralStatus.QUEUED
    assert grandchilds.events.get(kind=ReferralEvent.Kind.ROUTED)


def routed(referral):
    result = referral_route(referral_id=referral.pk)
    assert result is not None
    return result


def carers_referral(carer, *, team, status=ReferralStatus.ACCEPTED, **fields):
    """Carer support for ``carer``, in ``team``'s queue."""
    return ReferralFactory(
        call__patient=carer.patient,
        patient=carer.patient,
        for_person=carer,
        need=Need.CARER_SUPPORT,
        status=status,
        team=team,
        **fields,
    )


# --- Where the person is shown ------------------------------------------------------------------


def test_the_queue_caseload_referral_page_and_api_show_the_person(
    client, make_user, directory, patient
):
    team = directory["south"].team
    nurse = member(make_user, team, "nurse1")
    carer = person(patient, family_name="O'Brien", given_name="Siân")
    waiting = carers_referral(
        carer, team=team, status=ReferralStatus.QUEUED, note="<script>alert(1)</script>"
    )
    held = carers_referral(carer, team=team, owner=nurse)
    client.force_login(nurse)
    shown = "For <strong>O&#x27;BRIEN, Siân</strong> (son or daughter, main carer)"

    queue = client.get(reverse("queue:mine")).content.decode()
    caseload = client.get(reverse("queue:caseload")).content.decode()
    page = client.get(reverse("queue:referral", args=[waiting.pk])).content.decode()

    for html in (queue, caseload, page):
        assert shown in html
        assert "07700 900123" in html and "L20 3AB" in html
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "contact Siân, not the patient" in page
    body = api_client(nurse).get(f"{REFERRALS}{held.pk}/").json()
    assert body["for_person"]["display_name"] == "O'BRIEN, Siân"
    assert body["for_person_consent_by"] == held.call.handled_by.get_username()


def test_the_queue_costs_the_same_queries_with_many_carers_referrals(
    client, make_user, directory, patient, django_assert_max_num_queries
):
    team = directory["south"].team
    nurse = member(make_user, team, "nurse1")
    for index in range(60):
        carer = person(patient, given_name=f"Carer{index}", is_main_carer=False)
        carers_referral(
            carer, team=team, owner=nurse, contact_by=timezone.now() + timedelta(hours=2)
        )
    client.force_login(nurse)
    # The queue's budget with no one's carers (tests/referrals/test_claims_and_queue.py), and the
    # caseload's (session, user, permissions, the rows, the access-log row, the navigation): the
    # person comes with the rows, in the same query, however many there are.
    with django_assert_max_num_queries(15):
        queue = client.get(reverse("queue:mine"))
    with django_assert_max_num_queries(9):
        caseload = client.get(reverse("queue:caseload"))
    assert queue.content.decode().count('data-testid="for-person"') == 60
    assert caseload.content.decode().count('data-testid="for-person"') == 60
