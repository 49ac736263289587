"""Fixtures of the FHIR API's tests: a nurse's team and another, a handler who sees every
patient, and clients signed in as each."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from referrals.transitions import ReferralStatus
from tests.referrals import conftest as referrals_fixtures
from tests.referrals.factories import ReferralFactory

# The referrals tests' team, other team and nurse of the first.
team = referrals_fixtures.team
other_team = referrals_fixtures.other_team
nurse = referrals_fixtures.nurse


def signed_in(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def handler_api(handler):
    return signed_in(handler)


@pytest.fixture
def nurse_api(nurse):
    return signed_in(nurse)


def queued(team, **fields):
    """A referral queued on ``team`` for a new patient (or ``patient=``)."""
    patient = fields.pop("patient", None)
    if patient is not None:
        fields.update(call__patient=patient, patient=patient)
    return ReferralFactory(status=ReferralStatus.QUEUED, team=team, **fields)
