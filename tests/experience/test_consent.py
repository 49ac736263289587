"""Consent to a feedback text, asked on the Complete action (page and API): no consent, no
invitation; only the people listed, at the mobile number on their record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from experience.models import Invitation
from experience.rules import LONDON
from referrals.models import Referral, ReferralEvent
from tests.experience.conftest import DAUGHTER_MOBILE, PATIENT_MOBILE

pytestmark = pytest.mark.django_db


def test_no_consent_no_invitation(client, care):
    referral = care.referral()
    client.force_login(care.nurse)
    response = client.post(
        reverse("queue:action", args=[referral.pk, "complete"]),
        {"outcome": "NEEDS_MET", "feedback_to": ""},
    )
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).status == "COMPLETED"
    assert not Invitation.objects.exists()
    event = ReferralEvent.objects.get(referral=referral, kind="COMPLETED")
    assert "feedback" not in event.data


def test_the_complete_form_lists_only_people_with_a_mobile_number(client, care):
    referral = care.referral()
    client.force_login(care.nurse)
    content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert "Who agreed to a text asking for their feedback?" in content
    assert 'value="patient"' in content and "07700 900123" in content
    assert f'value="person-{care.daughter.pk}"' in content and "07700 900456" in content
    assert f'value="person-{care.neighbour.pk}"' not in content  # a landline only
    assert "Nobody: not asked, or did not agree" in content


def test_consent_on_the_page_records_who_which_number_by_whom_and_when(client, care):
    referral = care.referral()
    client.force_login(care.nurse)
    response = client.post(
        reverse("queue:action", args=[referral.pk, "complete"]),
        {"outcome": "NEEDS_MET", "feedback_to": f"person-{care.daughter.pk}"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.kind, invitation.referral_id, invitation.team_id) == (
        "FFT",
        referral.pk,
        care.team.pk,
    )
    assert invitation.related_person_id == care.daughter.pk
    assert invitation.phone == DAUGHTER_MOBILE
    assert invitation.consent_recorded_by == care.nurse
    assert invitation.consent_recorded_at == timezone.now()
    assert invitation.due_at == timezone.now()  # 10:30 on a weekday: within the sending hours
    assert invitation.token_hash == "" and invitation.sent_at is None
    event = ReferralEvent.objects.get(referral=referral, kind="COMPLETED")
    assert event.data["feedback"] == {
        "invitation_id": invitation.pk,
        "kind": "FFT",
        "to": "related person",
        "related_person_id": care.daughter.pk,
    }


def test_someone_not_listed_is_refused_and_nothing_is_saved(client, care):
    referral = care.referral()
    client.force_login(care.nurse)
    for choice in (f"person-{care.neighbour.pk}", "person-999999", "<script>alert(1)</script>"):
        response = client.post(
            reverse("queue:action", args=[referral.pk, "complete"]),
            {"outcome": "NEEDS_MET", "feedback_to": choice},
        )
        assert response.status_code == 400
        assert "Choose who agreed from the list" in response.content.decode()
        assert "<script>alert(1)</script>" not in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == "IN_PROGRESS"
    assert not Invitation.objects.exists()


def test_the_api_records_consent_and_refuses_a_person_without_a_mobile(client, care):
    referral = care.referral()
    client.force_login(care.nurse)
    url = reverse("api-referral-action", args=[referral.pk, "complete"])
    refused = client.post(
        url,
        {"outcome": "NEEDS_MET", "feedback_to": f"person-{care.neighbour.pk}"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "feedback_to" in refused.json()
    assert not Invitation.objects.exists()
    done = client.post(
        url, {"outcome": "NEEDS_MET", "feedback_to": "patient"}, content_type="application/json"
    )
    assert done.status_code == 200, done.content
    invitation = Invitation.objects.get()
    assert (invitation.related_person_id, invitation.phone) == (None, PATIENT_MOBILE)


def test_completed_in_the_evening_the_text_waits_for_the_morning(care, morning):
    morning.move_to(timezone.now().astimezone(LONDON).replace(hour=21, minute=5))
    invitation = care.completed("patient")
    assert invitation.due_at.astimezone(LONDON).hour == 10
    assert invitation.due_at.date() == (timezone.now() + timedelta(days=1)).date()


def test_after_a_death_a_relative_is_offered_the_survey_not_the_patient(client, care, settings):
    settings.BEREAVED_SURVEY_AFTER_DAYS = 90
    referral = care.referral()
    died = timezone.now() - timedelta(days=2)
    type(care.patient).objects.filter(pk=care.patient.pk).update(died_at=died)
    client.force_login(care.nurse)
    content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert 'value="patient"' not in content
    refused = client.post(
        reverse("queue:action", args=[referral.pk, "complete"]),
        {"outcome": "NEEDS_MET", "feedback_to": "patient"},
    )
    assert refused.status_code == 400
    client.post(
        reverse("queue:action", args=[referral.pk, "complete"]),
        {"outcome": "NEEDS_MET", "feedback_to": f"person-{care.daughter.pk}"},
    )
    invitation = Invitation.objects.get()
    assert invitation.kind == "BEREAVED"
    assert (
        invitation.due_at.astimezone(LONDON).date()
        == (died + timedelta(days=90)).astimezone(LONDON).date()
    )


def _death(**fields):
    died = timezone.localtime() - timedelta(hours=1)
    return {
        "died_date": died.strftime("%Y-%m-%d"),
        "died_time": died.strftime("%H:%M"),
        "place": "21",
        "expected": "yes",
        "verified_by": "Dr Siân O'Brien",
        **fields,
    }


def test_the_death_page_asks_who_agreed_to_the_survey_and_records_it(client, care, settings):
    settings.BEREAVED_SURVEY_AFTER_DAYS = 90
    referral = care.referral()
    client.force_login(care.nurse)
    url = reverse("patients:death", args=[care.patient.pk])
    content = client.get(url).content.decode()
    assert "asking about the care?" in content
    assert f'value="person-{care.daughter.pk}"' in content and 'value="patient"' not in content
    refused = client.post(url, _death(survey_to=f"person-{care.neighbour.pk}"))
    # The page again, as typed, with the message (this page answers 200); nothing saved.
    assert "Choose who agreed from the list" in refused.content.decode()
    assert not Invitation.objects.exists()
    assert type(care.patient).objects.get(pk=care.patient.pk).died_at is None
    assert client.post(url, _death(survey_to=f"person-{care.daughter.pk}")).status_code == 302
    survey = Invitation.objects.get()
    assert (survey.kind, survey.related_person_id, survey.phone) == (
        "BEREAVED",
        care.daughter.pk,
        DAUGHTER_MOBILE,
    )
    assert (survey.referral_id, survey.team_id) == (referral.pk, care.team.pk)
    assert survey.consent_recorded_by == care.nurse
    died = type(care.patient).objects.get(pk=care.patient.pk).died_at
    assert (
        survey.due_at.astimezone(LONDON).date()
        == (died + timedelta(days=90)).astimezone(LONDON).date()
    )


def test_a_death_without_consent_makes_no_survey_and_the_api_records_one(client, care):
    care.referral()
    client.force_login(care.nurse)
    url = reverse("patients:death", args=[care.patient.pk])
    assert client.post(url, _death(survey_to="")).status_code == 302
    assert not Invitation.objects.exists()
    other = care.patient.related_people.model.objects.get(pk=care.daughter.pk).patient
    assert other.died_at is not None
    from tests.referrals.factories import PatientFactory

    patient = PatientFactory()
    person = care.daughter
    person.pk = None
    person.patient = patient
    person.save()
    care.patient = patient
    care.referral()
    died = (timezone.now() - timedelta(hours=2)).isoformat()
    response = client.post(
        reverse("api-patient-death", args=[patient.pk]),
        {"died_at": died, "place": "21", "survey_to": f"person-{person.pk}"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Invitation.objects.get().related_person_id == person.pk
