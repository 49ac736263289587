"""The beat job sends each feedback text due once, with only the service's words and a link;
retries what Notify did not take; never texts after a death the Friends and Family Test, nor a
survey whose death is no longer recorded."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from experience.models import Invitation
from experience.rules import LONDON
from experience.selectors import token_hash
from experience.services import (
    RETRY_FIRST_SECONDS,
    invitation_receipt_record,
    invitations_send_due,
)
from spoc.accounts.roles import Role
from spoc.core.notify import NotifyFailed, SmsSent
from tests.experience.conftest import PATIENT_MOBILE
from tests.referrals.factories import member

pytestmark = pytest.mark.django_db


def _token(text) -> str:
    return text.personalisation["link"].rstrip("/").rsplit("/", 1)[-1]


def test_a_text_due_is_sent_once_with_the_link_only(care, texts, settings):
    invitation = care.completed("patient")
    first = invitations_send_due()
    again = invitations_send_due()
    assert (first.sent, again.sent) == ([invitation.pk], [])
    assert len(texts) == 1
    text = texts[0]
    assert (text.phone, text.template_kind, text.reference) == (
        PATIENT_MOBILE,
        "FEEDBACK",
        f"spoc-feedback-{invitation.pk}",
    )
    assert list(text.personalisation) == ["link"]
    token = _token(text)
    assert text.personalisation["link"] == settings.HUB_URL + reverse("feedback:form", args=[token])
    invitation.refresh_from_db()
    # Only the token's hash is kept; the link lasts FEEDBACK_LINK_DAYS from the send.
    assert invitation.token_hash == token_hash(token) != token
    assert token not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    assert invitation.sent_at == timezone.now()
    assert invitation.expires_at == timezone.now() + timedelta(days=settings.FEEDBACK_LINK_DAYS)
    assert (invitation.status, str(invitation.notify_id)) == ("created", str(text.notification_id))


def test_two_workers_at_once_send_it_once(care, texts, transactional_db):
    invitation = care.completed("patient")
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        try:
            barrier.wait(timeout=5)
            results.append(invitations_send_due().sent)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=20)
    assert sorted(results, key=len) == [[], [invitation.pk]]
    assert len(texts) == 1


def test_nothing_goes_at_night_and_a_survey_waits_for_its_day(care, texts, morning, settings):
    settings.BEREAVED_SURVEY_AFTER_DAYS = 90
    care.patient.died_at = timezone.now() - timedelta(days=1)
    care.patient.save()
    survey = care.completed(f"person-{care.daughter.pk}")
    assert invitations_send_due().sent == []
    morning.move_to(survey.due_at - timedelta(minutes=1))
    assert invitations_send_due().sent == []
    morning.move_to(survey.due_at.astimezone(LONDON).replace(hour=22))
    assert invitations_send_due().sent == []  # the evening of its day: the next morning
    morning.move_to(survey.due_at + timedelta(days=1))
    assert invitations_send_due().sent == [survey.pk]
    assert texts[0].template_kind == "BEREAVED_SURVEY"


def test_a_text_notify_did_not_take_is_tried_again_later_and_a_refused_one_never(
    care, monkeypatch, morning
):
    invitation = care.completed("patient")
    answers = [NotifyFailed("No answer: Timeout", refused=False)]

    def send(**kwargs):
        if answers:
            raise answers.pop()
        return SmsSent(notification_id=uuid.uuid4())

    monkeypatch.setattr("experience.services.sms_send", send)
    assert invitations_send_due().failed == [invitation.pk]
    invitation.refresh_from_db()
    assert (invitation.send_tries, invitation.status, invitation.last_error) == (
        1,
        "PENDING",
        "No answer: Timeout",
    )
    assert invitations_send_due().sent == []  # waits
    morning.shift(timedelta(seconds=RETRY_FIRST_SECONDS))
    assert invitations_send_due().sent == [invitation.pk]
    other = care.completed(f"person-{care.daughter.pk}")
    answers.append(NotifyFailed("HTTP 400 BadRequestError: Not a UK mobile number", refused=True))
    assert invitations_send_due().failed == [other.pk]
    morning.shift(timedelta(days=1))
    assert invitations_send_due().sent == []
    other.refresh_from_db()
    assert other.status == "REFUSED"


def test_no_feedback_text_after_the_patient_has_died(care, texts):
    invitation = care.completed("patient")
    care.patient.died_at = timezone.now()
    care.patient.save()
    assert invitations_send_due().cancelled == [invitation.pk]
    invitation.refresh_from_db()
    assert (invitation.cancel_reason, texts) == ("PATIENT_DIED", [])


def test_no_survey_once_the_death_is_no_longer_recorded(care, texts, morning, settings):
    care.patient.died_at = timezone.now() - timedelta(days=1)
    care.patient.save()
    survey = care.completed(f"person-{care.daughter.pk}")
    care.patient.died_at = None  # the death withdrawn
    care.patient.save()
    morning.move_to(survey.due_at)
    assert invitations_send_due().cancelled == [survey.pk]
    assert texts == []


def test_receipts_are_recorded_on_the_invitation(care, texts):
    invitation = care.completed("patient")
    invitations_send_due()
    found = invitation_receipt_record(notification_id=texts[0].notification_id, status="delivered")
    assert found is not None and found.pk == invitation.pk
    invitation.refresh_from_db()
    assert (invitation.status, invitation.status_at) == ("delivered", timezone.now())


def test_a_survey_follows_a_corrected_date_of_death(care, texts, morning, settings):
    settings.BEREAVED_SURVEY_AFTER_DAYS = 90
    care.patient.died_at = timezone.now() - timedelta(days=1)
    care.patient.save()
    survey = care.completed(f"person-{care.daughter.pk}")
    care.patient.died_at = timezone.now()  # corrected: a day later
    care.patient.save()
    morning.move_to(survey.due_at + timedelta(hours=1))
    assert invitations_send_due().sent == []
    survey.refresh_from_db()
    assert (
        survey.due_at.astimezone(LONDON).date()
        == (care.patient.died_at + timedelta(days=90)).astimezone(LONDON).date()
    )
    morning.move_to(survey.due_at)
    assert invitations_send_due().sent == [survey.pk]


def test_a_death_withdrawn_as_entered_in_error_stops_its_survey(care, texts, morning, make_user):
    """Through the hub's own services: the death recorded with the daughter's consent, then
    withdrawn by a team lead; on the survey's day nothing is sent."""
    from workspace.services import death_record, death_withdraw

    care.referral()
    died_at = timezone.now() - timedelta(hours=1)
    death_record(
        patient_id=care.patient.pk,
        user=care.nurse,
        died_at=died_at,
        place="21",
        expected=True,
        verified_by="Dr Okafor",
        bereavement_for=[],
        survey_to=f"person-{care.daughter.pk}",
    )
    survey = Invitation.objects.get(kind="BEREAVED")
    lead = member(make_user, care.team, "lead1", role=Role.TEAM_LEAD, lead=True)
    death_withdraw(patient_id=care.patient.pk, user=lead, reason="Wrong patient chosen")
    morning.move_to(survey.due_at)
    assert invitations_send_due().cancelled == [survey.pk]
    survey.refresh_from_db()
    assert (survey.cancel_reason, texts) == ("NO_DEATH", [])
