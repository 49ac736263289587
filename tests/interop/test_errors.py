"""Every error of the FHIR API is an OperationOutcome with the right status, never a 500 and
never a page (docs/interop.md, "Errors")."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from interop import selectors
from interop.conformance import RESOURCES
from interop.search import cursor_encode
from spoc.accounts.models import ApiToken
from tests.conftest import TEST_PASSWORD
from tests.factories import OrganisationFactory
from tests.interop.fhir import FHIR, fhir_answer, fhir_get
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


def issue(body):
    return body["issue"][0]["code"]


@pytest.mark.parametrize("path", ["metadata", *RESOURCES])
def test_without_a_session_or_token_the_answer_is_401_except_the_metadata(path):
    response = APIClient().get(FHIR + path)
    if path == "metadata":
        assert fhir_answer(response, 200)["resourceType"] == "CapabilityStatement"
        return
    body = fhir_answer(response, 401)
    assert issue(body) == "login"
    # Partner systems come first: they are told the scheme they use (staff tokens still work).
    assert response["WWW-Authenticate"] == 'Bearer realm="fhir"'


def test_a_read_without_credentials_or_with_a_bad_token_is_401():
    patient = PatientFactory()
    assert issue(fhir_answer(APIClient().get(f"{FHIR}Patient/{patient.pk}"), 401)) == "login"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert issue(fhir_answer(client.get(f"{FHIR}Patient/{patient.pk}"), 401)) == "login"


def test_an_api_token_reads_and_its_reads_are_the_tokens_users(handler):
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"username": "handler1", "password": TEST_PASSWORD}, format="json"
    ).json()["token"]
    assert ApiToken.objects.filter(user=handler).exists()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    patient = PatientFactory()
    assert fhir_get(client, f"Patient/{patient.pk}")["id"] == str(patient.pk)


@pytest.mark.parametrize(
    "resource_id", ["abc", "0", "-1", "99999999999999999999999", "1.5", "%3Cscript%3E", "a" * 65]
)
def test_an_id_the_hub_never_issued_is_404(handler_api, resource_id):
    for name in RESOURCES:
        response = handler_api.get(f"{FHIR}{name}/{resource_id}")
        body = fhir_answer(response, 404)
        assert issue(body) == "not-found"
        assert "script" not in response.content.decode()


@pytest.mark.parametrize(
    ("path", "params", "code", "said"),
    [
        ("Patient", {}, "invalid", "Search by identifier"),
        ("Patient", {"name": "Smith"}, "not-supported", "name is not supported"),
        (
            "Patient",
            {"identifier:exact": "9990000018"},
            "not-supported",
            "identifier:exact is not supported",
        ),
        ("Patient", {"identifier": "12345"}, "invalid", "NHS number of 10 digits"),
        (
            "Patient",
            {"identifier": "https://fhir.nhs.uk/Id/nhs-number|"},
            "invalid",
            "needs a code",
        ),
        ("Patient", {"identifier": "a|b|9990000018"}, "invalid", "one system|code"),
        ("Patient", {"identifier": SCRIPT}, "invalid", "NHS number"),
        ("Patient", {SCRIPT: "1"}, "not-supported", "an unknown parameter"),
        ("Patient", {"identifier": ""}, "invalid", "needs a value"),
        ("Patient", {"identifier": "9990000018,9990000026"}, "not-supported", "takes one value"),
        ("ServiceRequest", {"patient": "Patient/<b>"}, "invalid", "not a FHIR id"),
        ("ServiceRequest", {"patient": "patient/1"}, "invalid", "reference such as Patient/<id>"),
        ("ServiceRequest", {"_sort": "authored"}, "not-supported", "_sort is not supported"),
        (
            "ServiceRequest",
            {"_count": "1000"},
            "invalid",
            "_count must be a whole number from 0 to 100",
        ),
        ("ServiceRequest", {"_count": "-1"}, "invalid", "_count"),
        ("ServiceRequest", {"_page": "2"}, "not-supported", "_page is not supported"),
        ("ServiceRequest", {"_total": "estimate"}, "not-supported", "none or accurate"),
        ("ServiceRequest", {"_total": "yes"}, "invalid", "none or accurate"),
        ("ServiceRequest", {"_cursor": "x"}, "invalid", "start again from the first page"),
        ("ServiceRequest", {"_cursor": cursor_encode("yesterday", 5)}, "invalid", "_cursor"),
        (
            "ServiceRequest",
            {"_cursor": cursor_encode("2026-12-01T10:00:00", 5)},
            "invalid",
            "_cursor",
        ),
        (
            "ServiceRequest",
            {"_cursor": cursor_encode("2026-12-01T10:00:00+00:00", 0)},
            "invalid",
            "_cursor",
        ),
        ("ServiceRequest", {"_cursor": "WyJhIiwgIjUiXQ"}, "invalid", "_cursor"),
        ("ServiceRequest", {"_cursor": "Tmd1eeG7hW4"}, "invalid", "_cursor"),
        ("Organization", {"_cursor": cursor_encode("x" * 201, 5)}, "invalid", "_cursor"),
        ("Task", {"owner": "5"}, "invalid", "needs the resource type"),
        ("Task", {"focus": "12"}, "invalid", "ServiceRequest/<id>"),
        ("Organization", {"identifier": "ZZ 1"}, "invalid", "an ODS code"),
        ("HealthcareService", {"service-type": "a-b"}, "invalid", "a service type code"),
    ],
)
def test_a_search_the_api_cannot_do_is_400(handler_api, path, params, code, said):
    response = handler_api.get(FHIR + path, params)
    body = fhir_answer(response, 400)
    assert issue(body) == code
    assert said in body["issue"][0]["diagnostics"]
    assert "<script" not in response.content.decode()


def test_a_parameter_given_twice_is_400(handler_api):
    response = handler_api.get(f"{FHIR}ServiceRequest?patient=1&patient=2")
    assert "once" in fhir_answer(response, 400)["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "path",
    [
        "Patient/1/_history",
        "Observation",
        "Observation/1",
        "",
        "R4",
        "STU3/Patient",
        f"R4/{SCRIPT}",
    ],
)
def test_what_the_server_does_not_have_is_404(handler_api, path):
    response = handler_api.get(f"/fhir/{path}" if not path.startswith("Patient") else FHIR + path)
    assert issue(fhir_answer(response, 404)) == "not-found"
    assert "<script" not in response.content.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "Patient"),
        ("put", "Patient/1"),
        ("delete", "Task/1"),
        ("patch", "ServiceRequest/1"),
        ("get", "Patient/_search"),
        ("post", "metadata"),
    ],
)
def test_writes_and_other_methods_are_405(handler_api, method, path):
    response = getattr(handler_api, method)(FHIR + path)
    assert issue(fhir_answer(response, 405)) == "not-supported"
    assert response["Allow"]


@pytest.mark.parametrize(
    "accept", ["application/fhir+xml", "application/xml", "text/html", "text/turtle"]
)
def test_a_format_other_than_json_is_406(handler_api, accept):
    response = handler_api.get(f"{FHIR}metadata", HTTP_ACCEPT=accept)
    assert issue(fhir_answer(response, 406)) == "not-supported"


@pytest.mark.parametrize("asked", ["xml", "application/fhir+xml", "text/html", SCRIPT])
def test_a_format_parameter_other_than_json_is_406(handler_api, asked):
    response = handler_api.get(f"{FHIR}metadata", {"_format": asked})
    assert issue(fhir_answer(response, 406)) == "not-supported"
    assert "<script" not in response.content.decode()


@pytest.mark.parametrize(
    ("accept", "params", "content_type"),
    [
        (None, {}, "application/fhir+json"),
        ("application/fhir+json", {}, "application/fhir+json"),
        ("application/fhir+json; fhirVersion=4.0", {}, "application/fhir+json"),
        ("application/json", {}, "application/json"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", {}, "application/fhir+json"),
        ("application/xml", {"_format": "json"}, "application/fhir+json"),
        (None, {"_format": "application/json"}, "application/json"),
        (None, {"_format": "application/fhir json"}, "application/fhir+json"),
    ],
)
def test_fhir_json_and_json_are_both_answered(handler_api, accept, params, content_type):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = handler_api.get(f"{FHIR}metadata", params, **headers)
    assert fhir_answer(response, 200)["resourceType"] == "CapabilityStatement"
    assert response["Content-Type"].split(";")[0] == content_type


def test_a_search_posted_in_another_format_is_415(handler_api):
    response = handler_api.post(
        f"{FHIR}Patient/_search", '{"identifier": "9990000018"}', content_type="application/json"
    )
    assert issue(fhir_answer(response, 415)) == "not-supported"


def test_a_posted_search_needs_the_csrf_token_of_a_session(handler):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(handler)
    response = client.post(
        f"{FHIR}Patient/_search",
        urlencode({"identifier": "9990000018"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert issue(fhir_answer(response, 403)) == "forbidden"


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (OperationalError("connection refused"), 503, "transient"),
        (RuntimeError("a bug"), 500, "exception"),
    ],
)
def test_a_database_down_is_503_and_a_fault_of_the_hubs_a_logged_500(
    handler_api, monkeypatch, caplog, fault, status, code
):
    def broken(organisation):
        raise fault

    monkeypatch.setattr(selectors, "organization_resource", broken)
    response = handler_api.get(f"{FHIR}Organization/{OrganisationFactory().pk}")
    assert issue(fhir_answer(response, status)) == code
    assert str(fault) not in response.content.decode()
    if status == 503:
        assert response["Retry-After"] == "30"
    else:
        assert any(record.exc_info and record.exc_info[1] is fault for record in caplog.records)
