from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import CarePlan, Patient
from referrals.transitions import ReferralStatus
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.referrals.builders import patient_form
from tests.referrals.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def queued(patient, team, **fields):
    return ReferralFactory(
        call__patient=patient, patient=patient, status=ReferralStatus.QUEUED, team=team, **fields
    )


# --- Search -------------------------------------------------------------------------------------


def test_handler_searches_everyone_and_the_search_is_logged_without_its_text(client, handler):
    patient = PatientFactory(given_name="Siân", family_name="Nguyễn")
    client.force_login(handler)
    response = client.get(reverse("patients:search"), {"q": "sian nguyen"})
    assert [p.pk for p in response.context["results"]] == [patient.pk]
    row = AccessLog.objects.get(action=AccessLog.Action.SEARCH)
    assert row.detail == {"results": 1}
    assert "sian" not in str(row.detail) and row.reason == ""


def test_htmx_search_returns_the_results_fragment(client, handler):
    PatientFactory(given_name="Aled", family_name="Jones")
    client.force_login(handler)
    content = client.get(
        reverse("patients:search"), {"q": "jones"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert content.lstrip().startswith('<div id="results"')
    assert "JONES, Aled" in content


def test_nurse_search_finds_only_her_teams_patients(client, nurse, team, other_team):
    mine = PatientFactory(family_name="Mine")
    theirs = PatientFactory(family_name="Theirs")
    queued(mine, team)
    queued(theirs, other_team)
    client.force_login(nurse)
    found = client.get(reverse("patients:search"), {"q": "1948-03-14"}).context["results"]
    assert [p.pk for p in found] == [mine.pk]


def test_search_query_count_is_constant(client, handler, django_assert_max_num_queries):
    PatientFactory.create_batch(60, given_name="Mary")
    client.force_login(handler)
    # Session, user, MFA device, permissions (2, the roles with them), search, access log; 4 fewer
    # than before: no session save on each page (3: savepoint, update, release), the roles read with
    # the permissions (1).
    with django_assert_max_num_queries(8):
        response = client.get(reverse("patients:search"), {"q": "mary"})
    assert len(response.context["results"]) == 25


# --- The patient page ------------------------------------------------------------------------


def test_opening_a_patient_shows_the_banner_and_is_logged(client, handler):
    patient = PatientFactory(given_name="Zoë-Ann", family_name="O'Brien", nhs_number="9990000018")
    client.force_login(handler)
    response = client.get(reverse("patients:detail", args=[patient.pk]))
    content = response.content.decode()
    assert "O&#x27;BRIEN, Zoë-Ann" in content
    assert "999 000 0018" in content
    assert "No preferred place of death recorded" in content
    row = AccessLog.objects.get(action=AccessLog.Action.VIEW, object_type="patient")
    assert row.patient_id == patient.pk and row.user == handler


def test_access_information_is_for_clinicians_only(client, handler, nurse, team):
    patient = PatientFactory(access_information="Key safe 1234 by the back door")
    queued(patient, team)
    client.force_login(handler)
    assert b"Key safe 1234" not in client.get(reverse("patients:detail", args=[patient.pk])).content
    client.force_login(nurse)
    assert b"Key safe 1234" in client.get(reverse("patients:detail", args=[patient.pk])).content


def test_nurse_sees_other_teams_referrals_as_summary_lines(client, nurse, team, other_team):
    patient = PatientFactory()
    queued(patient, team, note="Mine: visit today")
    queued(patient, other_team, note="Theirs: private note")
    client.force_login(nurse)
    content = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Mine: visit today" in content
    assert "Theirs: private note" not in content
    assert "another team's referral: summary only" in content
    assert "Hospice at Home team" in content


def test_nurse_keeps_seeing_a_patient_for_90_days_after_the_referral_closed(client, nurse, team):
    patient = PatientFactory()
    referral = queued(patient, team)
    Patient.objects.filter(pk=patient.pk)  # visible while open
    referral.status = ReferralStatus.CANCELLED
    referral.updated_at = timezone.now() - timedelta(days=89)
    referral.save()
    client.force_login(nurse)
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
    referral.updated_at = timezone.now() - timedelta(days=91)
    referral.save()
    referral.events.all().delete()
    response = client.get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:break-glass", args=[patient.pk])


def test_break_glass_needs_a_reason_is_logged_flagged_and_opens_the_record(client, nurse):
    stranger = PatientFactory()
    client.force_login(nurse)
    url = reverse("patients:break-glass", args=[stranger.pk])
    assert client.get(reverse("patients:detail", args=[stranger.pk]))["Location"] == url
    short = client.post(url, {"reason": "need it"})
    assert b"Give a reason of at least 10 characters." in short.content
    assert not AccessLog.objects.filter(action=AccessLog.Action.BREAK_GLASS).exists()
    response = client.post(
        url, {"reason": "Patient collapsed at the day centre; own team unreachable"}
    )
    assert response["Location"] == reverse("patients:detail", args=[stranger.pk])
    row = AccessLog.objects.get(action=AccessLog.Action.BREAK_GLASS)
    assert row.flagged and row.patient_id == stranger.pk and "collapsed" in row.reason
    assert client.get(reverse("patients:detail", args=[stranger.pk])).status_code == 200


def test_unknown_patient_is_404(client, handler):
    client.force_login(handler)
    assert client.get(reverse("patients:detail", args=[999999])).status_code == 404
    assert client.get(reverse("patients:break-glass", args=[999999])).status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.DIRECTORY_ADMIN, Role.SYSTEM_ADMIN])
def test_staff_without_a_care_role_must_break_glass(client, make_user, role):
    patient = PatientFactory()
    client.force_login(make_user(role))
    # They may not break glass either (docs/security.md): the record is simply not found.
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 404
    assert (
        client.get(reverse("patients:search"), {"q": patient.family_name}).context["results"] == []
    )


def test_patient_page_query_count_is_constant(client, handler, team, django_assert_max_num_queries):
    patient = PatientFactory()
    for _ in range(30):
        queued(patient, team)
    client.force_login(handler)
    # 4 fewer than before: no session save on each page (3: savepoint, update, release), the roles
    # read with the permissions (1).
    with django_assert_max_num_queries(26):
        assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200


# --- Registering and editing -----------------------------------------------------------------


def test_handler_registers_a_patient(client, handler):
    client.force_login(handler)
    response = client.post(reverse("patients:register"), patient_form())
    patient = Patient.objects.get()
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert (patient.postcode, patient.search_name) == ("L9 7AL", "obrien sian")


def test_register_from_the_call_screen_returns_to_it_with_the_patient(client, handler):
    client.force_login(handler)
    response = client.post(reverse("patients:register"), patient_form(next="/calls/new/"))
    assert response["Location"] == f"/calls/new/?patient={Patient.objects.get().pk}"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nhs_number": "999 000 0019"}, "check digit"),
        ({"date_of_birth": "2999-01-01"}, "Date of birth must be today or in the past"),
        ({"postcode": "NOT A POSTCODE"}, "postcode"),
        ({"phone": "12345"}, "Enter a UK phone number"),
        ({"given_name": "<script>alert(1)</script>"}, "Names can contain letters"),
        ({"family_name": "x" * 101}, "100"),
        ({"location": "HOSPITAL"}, "Choose the hospital the patient is in."),
    ],
)
def test_bad_input_is_explained_keeps_what_was_typed_and_saves_nothing(
    client, handler, overrides, message
):
    client.force_login(handler)
    response = client.post(reverse("patients:register"), patient_form(**overrides))
    assert response.status_code == 200
    content = response.content.decode()
    assert message.lower() in content.lower()
    assert "1 Dock Road" in content
    assert "<script>alert(1)</script>" not in content
    assert not Patient.objects.exists()


def test_existing_nhs_number_links_to_the_registered_patient(client, handler):
    existing = PatientFactory(nhs_number="9990000018")
    client.force_login(handler)
    response = client.post(
        reverse("patients:register"),
        patient_form(nhs_number="999 000 0018", nhs_number_status="02"),
    )
    assert response.context["existing"] == existing
    assert Patient.objects.count() == 1


def test_possible_duplicate_needs_confirmation(client, handler):
    PatientFactory(given_name="Siân", family_name="O'Brien", date_of_birth="1950-03-04")
    client.force_login(handler)
    first = client.post(reverse("patients:register"), patient_form())
    assert first.status_code == 200 and len(first.context["duplicates"]) == 1
    second = client.post(reverse("patients:register"), patient_form(confirm_not_duplicate="on"))
    assert second.status_code == 302
    assert Patient.objects.count() == 2


@pytest.mark.parametrize("role", [Role.SPECIALIST_NURSE, Role.MANAGER, Role.AUDITOR])
def test_only_handlers_and_coordinators_register(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(reverse("patients:register")).status_code == 403


def test_care_plan_is_for_clinicians_and_cpr_for_senior_clinicians(client, handler, nurse, team):
    patient = PatientFactory()
    queued(patient, team)
    client.force_login(handler)
    assert client.get(reverse("patients:care-plan", args=[patient.pk])).status_code == 403
    client.force_login(nurse)
    page = client.get(reverse("patients:care-plan", args=[patient.pk]))
    assert page.context["form"].fields["cpr_decision"].disabled
    response = client.post(
        reverse("patients:care-plan", args=[patient.pk]),
        {
            "ppd_first": "21",
            "cpr_decision": "450476008",
            "cpr_decision_date": "2026-11-01",
            "primary_diagnosis": "Lung cancer",
            "base_version": "0",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    plan = CarePlan.objects.get(patient=patient, is_current=True)
    # The disabled CPR fields keep their initial value: a nurse cannot record DNACPR.
    assert (plan.ppd_first, plan.cpr_decision) == ("21", "UNKNOWN")


def test_handler_editing_never_sees_nor_wipes_the_key_safe(client, handler):
    patient = PatientFactory(access_information="Key safe 4321", family_name="Okafor")
    client.force_login(handler)
    page = client.get(reverse("patients:edit", args=[patient.pk]))
    assert b"Key safe 4321" not in page.content
    assert AccessLog.objects.filter(
        action="VIEW", object_type="patient", patient_id=patient.pk
    ).exists()
    data = patient_form(
        nhs_number=patient.nhs_number,
        nhs_number_status="02",
        given_name="Siân",
        family_name=patient.family_name,
        date_of_birth="1948-03-14",
    )
    response = client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    patient.refresh_from_db()
    assert patient.access_information == "Key safe 4321"


def test_opening_the_care_plan_page_is_logged(client, nurse, team):
    patient = PatientFactory()
    queued(patient, team)
    client.force_login(nurse)
    client.get(reverse("patients:care-plan", args=[patient.pk]))
    assert AccessLog.objects.filter(
        action="VIEW", object_type="care_plan", patient_id=patient.pk
    ).exists()
