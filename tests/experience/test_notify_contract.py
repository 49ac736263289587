"""Feedback texts against the fake GOV.UK Notify over HTTP (devtools/fake_notify.py, as
tests/referrals/test_notify_contract.py): Notify takes both kinds, they carry the service's words
and the link only, and Notify's delivery receipts reach the invitation."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devtools.fake_notify import TEMPLATE_TEXTS
from experience.models import Invitation
from experience.services import invitations_send_due
from tests.experience.conftest import DAUGHTER_MOBILE, PATIENT_MOBILE
from tests.referrals.test_notify_contract import notify  # noqa: F401 (the fixture)


def _identifiers(care) -> list[str]:
    patient = care.patient
    return [
        patient.given_name,
        patient.family_name,
        patient.nhs_number,
        patient.postcode,
        patient.date_of_birth.isoformat(),
        care.daughter.given_name,
        care.daughter.family_name,
        care.team.name,
        "died",
        "death",
    ]


@pytest.mark.django_db(transaction=True)
def test_notify_takes_both_texts_with_the_link_only_and_its_receipts_reach_the_invitation(
    notify,  # noqa: F811
    care,
    morning,
    live_server,
    settings,
):
    notify.callback_url = live_server.url + reverse("alerts:notify-receipt")
    feedback = care.completed("patient")
    invitations_send_due()
    care.patient.died_at = timezone.now()
    care.patient.save()
    survey = care.completed(f"person-{care.daughter.pk}")
    morning.move_to(survey.due_at + timedelta(minutes=1))
    invitations_send_due()
    messages = sorted(notify.all(), key=lambda m: m.reference or "")
    assert [(m.phone_number, m.reference) for m in messages] == [
        (PATIENT_MOBILE, f"spoc-feedback-{feedback.pk}"),
        (DAUGHTER_MOBILE, f"spoc-feedback-{survey.pk}"),
    ]
    for message, kind in zip(messages, ("FEEDBACK", "BEREAVED_SURVEY"), strict=True):
        link = message.personalisation["link"]
        assert link.startswith(settings.HUB_URL + "/feedback/")
        assert message.body == TEMPLATE_TEXTS[kind].replace("((link))", link)
        for identifier in _identifiers(care):
            assert identifier.lower() not in message.body.lower(), identifier
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if Invitation.objects.filter(status="delivered").count() == 2:
            break
        time.sleep(0.1)
    assert sorted(Invitation.objects.values_list("status", flat=True)) == [
        "delivered",
        "delivered",
    ]
