"""Partner systems on the FHIR API: their bearer token opens what their scopes allow (the
directory; the referrals they sent, none yet) and nothing else; the access log names them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from spoc.accounts.partners import Scope
from spoc.audit.models import AccessLog
from tests.factories import OrganisationFactory
from tests.interop.conftest import partner_client, queued
from tests.interop.fhir import fhir_get, resources_of

pytestmark = pytest.mark.django_db


def partner_api(*scopes: str) -> tuple[APIClient, str]:
    api = partner_client("NHS 111 North West", "NLO01", scopes)
    return api, api.system.client_id


def test_a_partner_with_the_directory_scope_reads_the_directory_in_its_own_name():
    trust = OrganisationFactory(ods_code="RQ6")
    api, client_id = partner_api(Scope.READ_DIRECTORY)
    body = fhir_get(api, f"Organization/{trust.pk}", REMOTE_ADDR="192.0.2.7")
    assert body["identifier"][0]["value"] == "RQ6"
    assert [
        r["id"] for r in resources_of(fhir_get(api, "Organization", {"identifier": "RQ6"}))
    ] == [str(trust.pk)]
    rows = list(AccessLog.objects.filter(object_type="partner_request").order_by("id"))
    assert [(r.username, r.user, r.detail["path"]) for r in rows] == [
        (f"partner:{client_id}", None, f"/fhir/R4/Organization/{trust.pk}"),
        (f"partner:{client_id}", None, "/fhir/R4/Organization"),
    ]
    assert rows[0].client_ip == "192.0.2.7"


def test_without_the_scope_a_partner_is_refused_with_an_operation_outcome():
    trust = OrganisationFactory(ods_code="RQ6")
    api, _ = partner_api(Scope.SEND_REFERRALS)
    body = fhir_get(api, f"Organization/{trust.pk}", status=403)
    assert body["issue"][0]["code"] in ("forbidden", "security")


def test_a_partner_sees_no_referral_or_patient_it_did_not_send(team):
    referral = queued(team)
    api, client_id = partner_api(Scope.READ_OWN_REFERRALS)
    fhir_get(api, f"ServiceRequest/{referral.pk}", status=404)
    fhir_get(api, f"Task/{referral.pk}", status=404)
    assert (
        resources_of(fhir_get(api, "ServiceRequest", {"patient": f"Patient/{referral.patient_id}"}))
        == []
    )
    fhir_get(api, f"Patient/{referral.patient_id}", status=404)
    # Only the search for the patient's referrals touched their record: it is logged, as the partner.
    [looked_up] = AccessLog.objects.filter(patient_id=referral.patient_id)
    assert (looked_up.action, looked_up.username, looked_up.detail) == (
        AccessLog.Action.SEARCH,
        f"partner:{client_id}",
        {"results": 0},
    )


def test_a_bad_bearer_token_is_a_401_operation_outcome():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer expired-or-made-up")
    response = api.get("/fhir/R4/Organization")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response["WWW-Authenticate"].startswith("Bearer")
