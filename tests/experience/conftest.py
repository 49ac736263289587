"""A patient of a community team with a mobile number, a daughter with one and a neighbour with
a landline only, and a referral of theirs being worked by a nurse; the texts the hub asks Notify
to send, recorded (Notify itself: tests/experience/test_notify_contract.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from experience.models import Invitation
from patients.models import Patient, RelatedPerson
from referrals.models import Referral
from referrals.services.claims import referral_claim, referral_complete, referral_contact
from referrals.transitions import ReferralStatus
from services.models import Team
from spoc.accounts.models import User
from tests.clock import WEEKDAY_MORNING
from tests.referrals.alerting import Text, texts_recorded
from tests.referrals.factories import PatientFactory, ReferralFactory, member
from tests.services.directory_fixtures import every_day, make_service

PATIENT_MOBILE = "+447700900123"
DAUGHTER_MOBILE = "+447700900456"
# Ofcom's numbers for drama: a Liverpool landline.
LANDLINE = "+441514960000"


@dataclass
class Care:
    team: Team
    nurse: User
    patient: Patient
    daughter: RelatedPerson
    neighbour: RelatedPerson

    def referral(self) -> Referral:
        """A referral of the patient's, claimed and contacted by the nurse."""
        now = timezone.now()
        referral = ReferralFactory(
            team=self.team,
            call__patient=self.patient,
            status=ReferralStatus.QUEUED,
            contact_by=now + timedelta(hours=2),
            accept_by=now + timedelta(minutes=15),
            accept_clock_started_at=now,
        )
        referral_claim(referral_id=referral.pk, user=self.nurse)
        return referral_contact(referral_id=referral.pk, user=self.nurse)

    def completed(self, feedback_to: str = "patient") -> Invitation:
        referral = self.referral()
        referral_complete(
            referral_id=referral.pk, user=self.nurse, outcome="NEEDS_MET", feedback_to=feedback_to
        )
        return Invitation.objects.get(referral=referral)


@pytest.fixture
def morning() -> Any:
    with time_machine.travel(WEEKDAY_MORNING, tick=False) as traveller:
        yield traveller


def _person(patient: Patient, given: str, family: str, relationship: str, **fields: Any):
    fields.setdefault("is_main_carer", True)
    return RelatedPerson.objects.create(
        patient=patient,
        given_name=given,
        family_name=family,
        relationship=relationship,
        phone=LANDLINE,
        created_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def care(make_user: Any, morning: Any) -> Care:
    team = make_service("Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20)).team
    patient = PatientFactory(phone=PATIENT_MOBILE, postcode="L9 7AL")
    daughter = _person(patient, "Siân", "Nguyễn", "CHILD", phone_alt=DAUGHTER_MOBILE)
    neighbour = _person(patient, "Declan", "O'Brien", "NEIGHBOUR", is_main_carer=False)
    return Care(team, member(make_user, team, "nurse1"), patient, daughter, neighbour)


@pytest.fixture
def texts(monkeypatch: pytest.MonkeyPatch) -> list[Text]:
    """Every feedback text the hub asked Notify to send, in order."""
    return texts_recorded(monkeypatch, "experience.services.sms_send")
