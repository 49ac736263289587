"""The CapabilityStatement says what the API does and nothing more (docs/interop.md,
"Conformance"): the test walks it and calls every interaction and search it declares."""

from __future__ import annotations

import pytest
from django.urls import get_resolver

from interop.codes import FHIR_JSON, PROFILES
from services.models import Site
from tests.interop.conftest import queued
from tests.interop.fhir import fhir_get, resources_of

pytestmark = pytest.mark.django_db


def test_the_statement_is_an_active_r4_instance_in_json_with_uk_core_profiles(handler_api):
    body = fhir_get(handler_api, "metadata")
    assert (body["status"], body["kind"], body["fhirVersion"]) == ("active", "instance", "4.0.1")
    assert body["format"] == ["json", FHIR_JSON]
    assert body["implementation"]["url"] == "http://testserver/fhir/R4"
    [rest] = body["rest"]
    assert rest["mode"] == "server"
    # Every resource type with a profile is served, except RelatedPerson: it is only ever
    # contained in the ServiceRequest of a referral for a carer or relative (docs/interop.md).
    served = {name: url for name, url in PROFILES.items() if name != "RelatedPerson"}
    assert {r["type"]: r["profile"] for r in rest["resource"]} == served
    assert "interaction" not in rest  # no system-wide search, history or batch


@pytest.fixture
def examples(team):
    """One of each resource and a value that finds it for each declared search parameter."""
    referral = queued(team)
    service = team.service
    site = Site.objects.create(organisation=service.organisation, code="SITE-1", name="General")
    return {
        "Patient": (referral.patient_id, {"identifier": referral.patient.nhs_number}),
        "ServiceRequest": (
            referral.pk,
            {"patient": referral.patient_id, "subject": f"Patient/{referral.patient_id}"},
        ),
        "Task": (
            referral.pk,
            {
                "focus": f"ServiceRequest/{referral.pk}",
                "owner": f"HealthcareService/{service.pk}",
                "patient": f"Patient/{referral.patient_id}",
            },
        ),
        "HealthcareService": (
            service.pk,
            {
                "organization": f"Organization/{service.organisation_id}",
                "service-type": service.service_type,
            },
        ),
        "Organization": (service.organisation_id, {"identifier": service.organisation.ods_code}),
        "Location": (site.pk, {"organization": f"Organization/{site.organisation_id}"}),
    }


def test_every_declared_interaction_and_search_parameter_works(handler_api, examples):
    statement = fhir_get(handler_api, "metadata")
    declared = statement["rest"][0]["resource"]
    assert {r["type"] for r in declared} == set(examples)
    for resource in declared:
        name = resource["type"]
        resource_id, values = examples[name]
        for interaction in resource["interaction"]:
            if interaction["code"] == "read":
                assert fhir_get(handler_api, f"{name}/{resource_id}")["id"] == str(resource_id)
            else:
                assert interaction["code"] == "search-type"
        assert {p["name"] for p in resource["searchParam"]} == set(values)
        for param in resource["searchParam"]:
            assert param["definition"].startswith("http://hl7.org/fhir/SearchParameter/")
            found = fhir_get(handler_api, name, {param["name"]: values[param["name"]]})
            assert str(resource_id) in [r["id"] for r in resources_of(found)], (name, param["name"])


def test_no_route_serves_a_resource_type_the_statement_leaves_out(handler_api):
    rest = fhir_get(handler_api, "metadata")["rest"][0]
    declared = {r["type"] for r in rest["resource"]}
    declared |= {f"{operation['name']}" for operation in rest["operation"]}
    names = {
        name
        for name in get_resolver().reverse_dict
        if isinstance(name, str) and name.startswith("fhir-")
    }
    served = {name.removeprefix("fhir-").removesuffix("-search-post") for name in names}
    served = {
        name.rsplit("-", 1)[0] if name.endswith(("-read", "-search")) else name for name in served
    }
    assert served - {"metadata", "unknown"} == declared
