"""The service directory as HealthcareService, Organization and Location (docs/interop.md,
"The directory"): read and search by any signed-in user, as in the REST API."""

from __future__ import annotations

from datetime import time

import pytest

from interop.codes import ODS_CODE_SYSTEM, hub_system
from interop.resources import healthcare_service_resource
from services.codes import OrganisationType, ServiceStatus, ServiceType
from services.models import OpeningHours, Service, Site
from spoc.audit.models import AccessLog
from tests.factories import OrganisationFactory
from tests.interop.conftest import signed_in
from tests.interop.fhir import fhir_get, fhir_valid, resources_of
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(make_user):
    # The directory is for every signed-in user; this one has no role at all.
    return signed_in(make_user(username="reader"))


@pytest.fixture
def in_reach():
    organisation = OrganisationFactory(
        ods_code="ZZ1", name="Northbank Acute Trust", org_type=OrganisationType.NHS_TRUST
    )
    site = Site.objects.create(
        organisation=organisation, code="NB-GEN", name="Northbank General", postcode="L9 7AL"
    )
    service = make_service(
        "Hospital Palliative Care",
        ServiceType.HOSPITAL_IN_REACH,
        hours=every_day(8, 18),
        sites=(site,),
        phone="0151 496 0100",
        email="spc@example.org",
    )
    Service.objects.filter(pk=service.pk).update(organisation=organisation)
    service.refresh_from_db()
    return service


def test_a_service_reads_as_a_uk_core_healthcare_service(api, in_reach):
    body = fhir_get(api, f"HealthcareService/{in_reach.pk}")
    site = in_reach.sites.get()
    assert (body["name"], body["active"]) == ("Hospital Palliative Care", True)
    assert body["providedBy"] == {
        "reference": f"Organization/{site.organisation_id}",
        "display": "Northbank Acute Trust",
    }
    assert body["type"][0]["coding"] == [
        {
            "system": hub_system("service-type"),
            "code": "HOSPITAL_IN_REACH",
            "display": "Hospital in-reach palliative care",
        }
    ]
    assert body["location"] == [
        {"reference": f"Location/{site.pk}", "display": "Northbank General"}
    ]
    assert body["telecom"] == [
        {"system": "phone", "value": "+441514960100", "use": "work"},
        {"system": "email", "value": "spc@example.org", "use": "work"},
        {"system": "phone", "value": "+441514960123", "use": "work"},
    ]
    assert body["availableTime"][0] == {
        "daysOfWeek": ["mon"],
        "availableStartTime": "08:00:00",
        "availableEndTime": "18:00:00",
    }


def test_opening_past_midnight_is_two_windows_and_24_7_is_all_day():
    night = make_service("Night Service", ServiceType.NIGHT_SERVICE)
    OpeningHours.objects.create(service=night, weekday=6, opens_at=time(20), closes_at=time(8))
    resource = healthcare_service_resource(Service.objects.get(pk=night.pk))
    fhir_valid(resource)
    assert resource["availableTime"] == [
        {"daysOfWeek": ["sun"], "availableStartTime": "20:00:00"},
        {"daysOfWeek": ["mon"], "availableStartTime": "00:00:00", "availableEndTime": "08:00:00"},
    ]
    ipu = make_service(
        "In-patient Unit",
        ServiceType.HOSPICE_INPATIENT,
        open_24_7=True,
        status=ServiceStatus.TEMPORARILY_CLOSED,
    )
    resource = healthcare_service_resource(Service.objects.get(pk=ipu.pk))
    fhir_valid(resource)
    assert resource["availableTime"] == [
        {"daysOfWeek": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "allDay": True}
    ]
    assert (resource["active"], resource["availabilityExceptions"]) == (True, "Temporarily closed.")


def test_an_organisation_reads_with_its_ods_code_and_is_found_by_it(api, in_reach):
    organisation = in_reach.organisation
    body = fhir_get(api, f"Organization/{organisation.pk}")
    assert body["identifier"] == [{"system": ODS_CODE_SYSTEM, "value": "ZZ1"}]
    assert (body["name"], body["type"][0]["coding"][0]["code"]) == (
        "Northbank Acute Trust",
        "NHS_TRUST",
    )
    for value in (f"{ODS_CODE_SYSTEM}|ZZ1", "zz1"):
        found = fhir_get(api, "Organization", {"identifier": value})
        assert [r["id"] for r in resources_of(found)] == [str(organisation.pk)]
    assert (
        fhir_get(api, "Organization", {"identifier": "https://example.org/codes|ZZ1"})["total"] == 0
    )


def test_a_site_reads_as_a_location_and_is_found_by_its_organisation(api, in_reach):
    site = in_reach.sites.get()
    body = fhir_get(api, f"Location/{site.pk}")
    assert body["identifier"] == [{"system": hub_system("site"), "value": "NB-GEN"}]
    assert (body["name"], body["address"], body["status"]) == (
        "Northbank General",
        {"postalCode": "L9 7AL"},
        "active",
    )
    assert body["managingOrganization"]["reference"] == f"Organization/{site.organisation_id}"
    found = fhir_get(api, "Location", {"organization": f"Organization/{site.organisation_id}"})
    assert [r["id"] for r in resources_of(found)] == [str(site.pk)]


def test_services_are_found_by_organisation_and_type(api, in_reach):
    other = make_service("Hospice at Home", ServiceType.HOSPICE_AT_HOME)
    by_organisation = fhir_get(api, "HealthcareService", {"organization": in_reach.organisation_id})
    assert [r["id"] for r in resources_of(by_organisation)] == [str(in_reach.pk)]
    for value in ("HOSPICE_AT_HOME", f"{hub_system('service-type')}|HOSPICE_AT_HOME"):
        by_type = fhir_get(api, "HealthcareService", {"service-type": value})
        assert [r["id"] for r in resources_of(by_type)] == [str(other.pk)]
    assert fhir_get(api, "HealthcareService", {"service-type": "NO_SUCH_TYPE"})["total"] == 0
    everything = fhir_get(api, "HealthcareService")
    assert [r["name"] for r in resources_of(everything)] == [
        "Hospice at Home",
        "Hospital Palliative Care",
    ]


def test_the_directory_is_not_written_to_the_access_log(api, in_reach):
    fhir_get(api, f"HealthcareService/{in_reach.pk}")
    fhir_get(api, "Organization")
    assert not AccessLog.objects.exists()
