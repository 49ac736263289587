"""Fixtures of the FHIR API's tests: a nurse's team and another, a handler who sees every
patient, clients signed in as each, and partner systems' clients."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from rest_framework.test import APIClient

from referrals.transitions import ReferralStatus
from spoc.accounts.models import PartnerSystem
from spoc.accounts.partners import Scope, partner_register
from tests.referrals import conftest as referrals_fixtures
from tests.referrals.factories import ReferralFactory

# The referrals tests' team, other team and nurse of the first, and the morning messages are sent.
team = referrals_fixtures.team
other_team = referrals_fixtures.other_team
nurse = referrals_fixtures.nurse
morning = referrals_fixtures.morning


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


class PartnerClient(APIClient):
    """A partner system's API client, signed in with the bearer token it got by OAuth 2.0 client
    credentials."""

    system: PartnerSystem


def partner_client(name: str, ods: str, scopes: Iterable[str] = Scope.ALL) -> PartnerClient:
    """A partner registered with ``scopes``, and its client."""
    issued = partner_register(name=name, ods_code=ods, scopes=list(scopes))
    client = PartnerClient()
    token = client.post(
        "/oauth2/token",
        {
            "grant_type": "client_credentials",
            "client_id": issued.partner.client_id,
            "client_secret": issued.client_secret,
        },
    ).json()["access_token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.system = issued.partner
    return client


def queued(team, **fields):
    """A referral queued on ``team`` for a new patient (or ``patient=``)."""
    patient = fields.pop("patient", None)
    if patient is not None:
        fields.update(call__patient=patient, patient=patient)
    return ReferralFactory(status=ReferralStatus.QUEUED, team=team, **fields)
