"""Open Referral UK export and import of the directory (services/oruk)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import path
from django.utils import timezone

from services.codes import CallerType, CapacityRag, OrganisationType, ServiceStatus, ServiceType
from services.models import (
    CapacityStatus,
    Closure,
    CoverageArea,
    OpeningHours,
    Organisation,
    Service,
    Site,
    Team,
)
from services.oruk import OrukImportError, directory_export, directory_import
from services.oruk.shape import service_ids
from services.oruk_views import oruk_services
from spoc.accounts.models import ApiToken
from spoc.accounts.tokens import hash_key
from spoc.audit.models import AccessLog
from tests.factories import UserFactory
from tests.services.directory_fixtures import make_service

pytestmark = pytest.mark.django_db

# The view's URL is wired by the project's urls.py; these tests use their own URLconf.
urlpatterns = [path("api/oruk/services", oruk_services)]

LONDON = ZoneInfo("Europe/London")
# Ofcom's drama ranges: valid numbers that are never allocated to anyone.
NIGHT_PHONE = "0151 496 0001"
NIGHT_DUTY_PHONE = "0151 496 0002"
BEREAVEMENT_PHONE = "020 7946 0001"

IPU = "svc-st-clare-hospice-in-patient-unit"
NIGHT = "svc-northshire-night-service"
BEREAVEMENT = "svc-st-clare-bereavement-service"
IN_REACH = "svc-northshire-general-palliative-care-in-reach"


def build_directory() -> None:
    """Two organisations, one site and four services covering every shape of the export."""
    trust = Organisation.objects.create(
        ods_code="RXX", name="Northshire Hospitals NHS Trust", org_type=OrganisationType.NHS_TRUST
    )
    hospice = Organisation.objects.create(
        ods_code="HSP01", name="St Clare Hospice", org_type=OrganisationType.HOSPICE
    )
    site = Site.objects.create(
        organisation=trust, code="NGH", name="Northshire General Hospital", postcode="L9 7AL"
    )

    ipu = Service.objects.create(
        organisation=hospice,
        name="St Clare Hospice in-patient unit",
        service_type=ServiceType.HOSPICE_INPATIENT,
        open_24_7=True,
        min_age=18,
        description="Specialist beds for symptom control and end-of-life care.",
    )
    Team.objects.create(service=ipu, name="St Clare IPU admissions")
    CoverageArea.objects.bulk_create(
        CoverageArea(service=ipu, area=a) for a in ("L9", "L10", "L11")
    )
    CapacityStatus.objects.create(
        service=ipu,
        rag=CapacityRag.AMBER,
        available_units=2,
        reported_at=timezone.now(),
        reported_by=UserFactory(),
    )

    night = Service.objects.create(
        organisation=hospice,
        name="Northshire night service",
        service_type=ServiceType.NIGHT_SERVICE,
        phone=NIGHT_PHONE,
        email="night@stclare.example.org",
        assured_date=date(2025, 1, 31),
        clock_overrides={"P2": {"contact_within_minutes": 180}},
    )
    Team.objects.create(
        service=night,
        name="Night team",
        duty_phone=NIGHT_DUTY_PHONE,
        duty_email="duty@stclare.example.org",
    )
    CoverageArea.objects.bulk_create(
        CoverageArea(service=night, area=a) for a in ("L9", "L10", "L4 2")
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(service=night, weekday=day, opens_at=time(20), closes_at=time(8))
        for day in range(7)
    )

    bereavement = Service.objects.create(
        organisation=hospice,
        name="St Clare bereavement service",
        service_type=ServiceType.BEREAVEMENT,
        phone=BEREAVEMENT_PHONE,
        min_age=18,
        closed_on_bank_holidays=True,
        referrer_types=[CallerType.GP, CallerType.CARER_FAMILY],
        accepts_self_referral=True,
        alert="Waiting list: about three weeks.",
        out_of_hours_message="Call NHS 111",
        out_of_hours_phone="0151 496 0999",
    )
    Team.objects.create(service=bereavement, name="Bereavement team")
    CoverageArea.objects.bulk_create(
        CoverageArea(service=bereavement, area=a) for a in ("L9 7", "L10")
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(service=bereavement, weekday=day, opens_at=time(9), closes_at=time(17))
        for day in range(5)
    )
    Closure.objects.create(
        service=bereavement,
        reason="Staff training",
        starts_at=datetime(2025, 7, 14, 9, tzinfo=LONDON),
        ends_at=datetime(2025, 7, 15, 17, tzinfo=LONDON),
    )

    in_reach = Service.objects.create(
        organisation=trust,
        name="Northshire General palliative care in-reach",
        service_type=ServiceType.HOSPITAL_IN_REACH,
        status=ServiceStatus.TEMPORARILY_CLOSED,
        accepts_self_referral=False,
        referrer_types=[CallerType.HOSPITAL_CLINICIAN],
    )
    Team.objects.create(service=in_reach, name="In-reach team")
    in_reach.sites.add(site)
    OpeningHours.objects.bulk_create(
        OpeningHours(service=in_reach, weekday=day, opens_at=time(8), closes_at=time(18))
        for day in range(5)
    )


def empty_directory() -> None:
    CapacityStatus.objects.all().delete()
    Service.objects.all().delete()
    Site.objects.all().delete()
    Organisation.objects.all().delete()


def exported_file() -> dict[str, Any]:
    """The export as another system would read it: through JSON text."""
    return json.loads(json.dumps(directory_export()))


def service(data: dict[str, Any], service_id: str) -> dict[str, Any]:
    return next(record for record in data["services"] if record["id"] == service_id)


def counts(result: Any) -> dict[str, tuple[int, int, int]]:
    return {
        kind: (c.created, c.updated, c.unchanged)
        for kind, c in (
            ("organizations", result.organizations),
            ("locations", result.locations),
            ("services", result.services),
        )
    }


# --- Export -------------------------------------------------------------------------------------


def test_export_orders_every_list_by_id() -> None:
    build_directory()
    data = directory_export()
    assert [o["id"] for o in data["organizations"]] == ["org-HSP01", "org-RXX"]
    assert [loc["id"] for loc in data["locations"]] == ["loc-NGH"]
    assert [s["id"] for s in data["services"]] == sorted([IPU, NIGHT, BEREAVEMENT, IN_REACH])
    assert directory_export() == data


def test_export_organization_carries_ods_code_and_type() -> None:
    build_directory()
    trust = directory_export()["organizations"][1]
    assert trust == {
        "id": "org-RXX",
        "name": "Northshire Hospitals NHS Trust",
        "organization_identifiers": [
            {"identifier_scheme": "ODS", "identifier_type": "ODS code", "identifier": "RXX"}
        ],
        "attributes": [
            {
                "taxonomy_term": {
                    "taxonomy": "spoc-organisation-type",
                    "code": "NHS_TRUST",
                    "term": "NHS trust",
                }
            }
        ],
    }


def test_export_site_is_a_location_with_its_code_and_postcode() -> None:
    build_directory()
    assert directory_export()["locations"] == [
        {
            "id": "loc-NGH",
            "organization_id": "org-RXX",
            "name": "Northshire General Hospital",
            "location_type": "physical",
            "external_identifier": "NGH",
            "external_identifier_type": "spoc-site-code",
            "addresses": [{"postal_code": "L9 7AL", "country": "GB", "address_type": "physical"}],
        }
    ]


def test_export_night_service() -> None:
    build_directory()
    night = service(directory_export(), NIGHT)
    assert night["organization_id"] == "org-HSP01"
    assert night["status"] == "active"
    assert night["email"] == "night@stclare.example.org"
    assert night["assured_date"] == "2025-01-31"
    assert night["alert"] is None
    assert night["attributes"] == [
        {
            "taxonomy_term": {
                "taxonomy": "spoc-service-type",
                "code": "NIGHT_SERVICE",
                "term": "Night service",
            }
        }
    ]
    assert night["phones"] == [{"number": NIGHT_PHONE}]
    assert night["contacts"] == [
        {
            "name": "Night team",
            "email": "duty@stclare.example.org",
            "phones": [{"number": NIGHT_DUTY_PHONE}],
        }
    ]
    assert night["service_areas"] == [
        {"name": "Postcode areas", "extent_type": "text", "extent": "L10, L4 2, L9"}
    ]
    assert len(night["schedules"]) == 7
    assert night["schedules"][0] == {
        "freq": "WEEKLY",
        "byday": "MO",
        "opens_at": "20:00",
        "closes_at": "08:00",
        "description": "Monday 20:00 to Tuesday 08:00",
    }
    assert night["schedules"][6]["description"] == "Sunday 20:00 to Monday 08:00"
    assert night["spoc_open_24_7"] is False
    assert night["spoc_clock_overrides"] == {"P2": {"contact_within_minutes": 180}}
    assert night["spoc_referrer_types"] == []


def test_export_carries_the_out_of_hours_message_and_divert_number() -> None:
    build_directory()
    data = directory_export()
    bereavement = service(data, BEREAVEMENT)
    assert bereavement["spoc_out_of_hours_message"] == "Call NHS 111"
    assert bereavement["spoc_out_of_hours_phone"] == "0151 496 0999"
    assert service(data, NIGHT)["spoc_out_of_hours_phone"] is None


def test_export_24_7_service_uses_the_extension_field_not_schedules() -> None:
    build_directory()
    ipu = service(directory_export(), IPU)
    assert ipu["spoc_open_24_7"] is True
    assert ipu["schedules"] == []
    assert ipu["contacts"] == [{"name": "St Clare IPU admissions", "email": None, "phones": []}]
    assert ipu["phones"] == []


def test_export_capacity_is_not_part_of_the_directory() -> None:
    build_directory()
    assert "capacity" not in json.dumps(directory_export()).lower()


def test_export_closures_bank_holidays_and_eligibility() -> None:
    build_directory()
    bereavement = service(directory_export(), BEREAVEMENT)
    assert bereavement["spoc_closed_on_bank_holidays"] is True
    assert bereavement["spoc_closures"] == [
        {
            "starts_at": "2025-07-14T09:00:00+01:00",
            "ends_at": "2025-07-15T17:00:00+01:00",
            "reason": "Staff training",
        }
    ]
    assert bereavement["spoc_referrer_types"] == ["CARER_FAMILY", "GP"]
    assert bereavement["minimum_age"] == 18
    assert bereavement["maximum_age"] is None
    assert bereavement["eligibility_description"] == (
        "Aged 18 and over. Referrals accepted from: Carer or family, GP. "
        "Patients and families may refer themselves."
    )


def test_export_in_reach_service_lists_the_sites_served() -> None:
    build_directory()
    in_reach = service(directory_export(), IN_REACH)
    assert in_reach["status"] == "temporarily closed"
    assert in_reach["spoc_sites"] == ["NGH"]
    assert in_reach["service_at_locations"] == [{"location_id": "loc-NGH"}]
    assert in_reach["service_areas"] == []
    assert "For patients in Northshire General Hospital." in in_reach["eligibility_description"]
    assert in_reach["spoc_accepts_self_referral"] is False


def test_export_runs_a_fixed_number_of_queries(django_assert_max_num_queries: Any) -> None:
    build_directory()
    with django_assert_max_num_queries(8):
        directory_export()


def test_service_ids_are_unique_even_when_slugs_clash() -> None:
    ids = service_ids(["A & B", "A B", "A B 2", "Ωμέγα"])
    assert ids == {
        "A & B": "svc-a-b",
        "A B": "svc-a-b-2",
        "A B 2": "svc-a-b-2-2",
        "Ωμέγα": "svc-service",
    }


# --- Round trip and counts ----------------------------------------------------------------------


def test_round_trip_through_an_empty_database_is_identical() -> None:
    build_directory()
    first = exported_file()
    empty_directory()
    directory_import(first)
    assert exported_file() == first


def test_the_care_network_travels_as_service_type_terms_and_round_trips() -> None:
    """A service of every type, the care network's included, one of them at a pharmacy."""
    pharmacy = Organisation.objects.create(
        ods_code="FZZ01", name="Dockside Pharmacy", org_type=OrganisationType.PHARMACY
    )
    for service_type in ServiceType:
        make_service(
            str(service_type.label),
            service_type,
            hours=[(day, time(9), time(17)) for day in range(5)],
            organisation=pharmacy if service_type == ServiceType.COMMUNITY_PHARMACY else None,
        )
    first = exported_file()
    terms = {
        attribute["taxonomy_term"]["code"]: attribute["taxonomy_term"]
        for entry in first["services"]
        for attribute in entry["attributes"]
    }
    assert set(terms) == set(ServiceType.values)
    assert terms["CHC_FAST_TRACK"] == {
        "taxonomy": "spoc-service-type",
        "code": "CHC_FAST_TRACK",
        "term": "NHS continuing healthcare fast track",
    }
    pharmacy = next(o for o in first["organizations"] if o["name"] == "Dockside Pharmacy")
    assert pharmacy["attributes"][0]["taxonomy_term"]["code"] == "PHARMACY"

    empty_directory()
    result = directory_import(first)

    assert result.services.created == len(first["services"])
    assert exported_file() == first
    assert set(Service.objects.values_list("service_type", flat=True)) == set(ServiceType.values)


def test_import_refuses_a_service_type_the_hub_does_not_know() -> None:
    build_directory()
    data = exported_file()
    data["services"][0]["attributes"][0]["taxonomy_term"]["code"] = "DOG_WALKING"
    empty_directory()
    with pytest.raises(OrukImportError) as caught:
        directory_import(data)
    assert "DOG_WALKING" in str(caught.value)
    assert not Service.objects.exists()


def test_import_into_empty_database_reports_created() -> None:
    build_directory()
    data = exported_file()
    empty_directory()
    result = directory_import(data)
    assert counts(result) == {
        "organizations": (2, 0, 0),
        "locations": (1, 0, 0),
        "services": (4, 0, 0),
    }
    assert result.dry_run is False
    assert Team.objects.count() == 4
    night = Service.objects.get(name="Northshire night service")
    assert night.team.duty_phone == "+441514960002"
    assert sorted(night.coverage_areas.values_list("area", flat=True)) == ["L10", "L4 2", "L9"]
    assert night.opening_hours.count() == 7


def test_reimport_reports_all_unchanged_and_rewrites_nothing() -> None:
    build_directory()
    data = exported_file()
    hours_before = sorted(OpeningHours.objects.values_list("pk", flat=True))
    result = directory_import(data)
    assert counts(result) == {
        "organizations": (0, 0, 2),
        "locations": (0, 0, 1),
        "services": (0, 0, 4),
    }
    assert result.total.unchanged == 7
    assert sorted(OpeningHours.objects.values_list("pk", flat=True)) == hours_before


CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "alert": lambda d: service(d, NIGHT).update(alert="Short-staffed tonight."),
    "status": lambda d: service(d, NIGHT).update(status="inactive"),
    "hours": lambda d: service(d, NIGHT)["schedules"].pop(),
    "areas": lambda d: service(d, NIGHT)["service_areas"][0].update(extent="L10, L9"),
    "closures": lambda d: service(d, NIGHT)["spoc_closures"].append(
        {
            "starts_at": "2025-12-25T00:00:00+00:00",
            "ends_at": "2025-12-26T00:00:00+00:00",
            "reason": "Christmas",
        }
    ),
    "contact": lambda d: service(d, NIGHT)["contacts"][0].update(
        email="night-duty@stclare.example.org"
    ),
    "sites": lambda d: service(d, NIGHT).update(spoc_sites=["NGH"]),
    "referrers": lambda d: service(d, NIGHT).update(spoc_referrer_types=["GP"]),
    "clocks": lambda d: service(d, NIGHT).update(spoc_clock_overrides={}),
    "out of hours": lambda d: service(d, NIGHT).update(
        spoc_out_of_hours_message="Ring the ward", spoc_out_of_hours_phone="0151 496 0998"
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_changed_service_reports_updated(change: str) -> None:
    build_directory()
    data = exported_file()
    CHANGES[change](data)
    result = directory_import(data)
    assert counts(result)["services"] == (0, 1, 3)
    assert service(exported_file(), NIGHT) == service(data, NIGHT) | {
        "eligibility_description": service(exported_file(), NIGHT)["eligibility_description"],
        "service_at_locations": service(exported_file(), NIGHT)["service_at_locations"],
    }


def test_a_changed_organization_and_site_report_updated() -> None:
    build_directory()
    data = exported_file()
    data["organizations"][0]["name"] = "St Clare Hospice Trust"
    data["locations"][0]["addresses"][0]["postal_code"] = "l9 7ax"
    result = directory_import(data)
    assert counts(result) == {
        "organizations": (0, 1, 1),
        "locations": (0, 1, 0),
        "services": (0, 0, 4),
    }
    assert Organisation.objects.get(ods_code="HSP01").name == "St Clare Hospice Trust"
    assert Site.objects.get(code="NGH").postcode == "L9 7AX"


def test_a_renamed_service_keeping_its_id_is_updated_not_duplicated() -> None:
    build_directory()
    data = exported_file()
    service(data, NIGHT)["name"] = "Northshire hospice night service"
    result = directory_import(data)
    assert counts(result)["services"] == (0, 1, 3)
    assert Service.objects.count() == 4
    assert Service.objects.filter(name="Northshire hospice night service").exists()


def test_a_service_without_contact_keeps_its_team() -> None:
    build_directory()
    data = exported_file()
    service(data, NIGHT)["contacts"] = []
    assert counts(directory_import(data))["services"] == (0, 0, 4)
    assert Team.objects.filter(name="Night team").exists()


def test_import_accepts_a_file_without_extension_fields() -> None:
    Organisation.objects.create(
        ods_code="RXX", name="Northshire Hospitals NHS Trust", org_type=OrganisationType.NHS_TRUST
    )
    result = directory_import(
        {
            "services": [
                {
                    "id": "svc-day-hospice",
                    "organization_id": "org-RXX",
                    "name": "Day hospice",
                    "status": "active",
                    "attributes": [
                        {"taxonomy_term": {"taxonomy": "spoc-service-type", "code": "DAY_HOSPICE"}}
                    ],
                    "schedules": [{"byday": "MO,WE", "opens_at": "10:00", "closes_at": "15:00"}],
                    "service_areas": [{"extent_type": "text", "extent": "l9, L10 1"}],
                }
            ]
        }
    )
    assert counts(result)["services"] == (1, 0, 0)
    day = Service.objects.get(name="Day hospice")
    assert day.accepts_self_referral is True
    assert day.open_24_7 is False
    assert sorted(day.coverage_areas.values_list("area", flat=True)) == ["L10 1", "L9"]
    assert list(day.opening_hours.values_list("weekday", flat=True)) == [0, 2]


# --- Dry run ------------------------------------------------------------------------------------


def test_dry_run_into_empty_database_counts_but_saves_nothing() -> None:
    build_directory()
    data = exported_file()
    empty_directory()
    result = directory_import(data, dry_run=True)
    assert result.dry_run is True
    assert counts(result)["services"] == (4, 0, 0)
    assert not Organisation.objects.exists()
    assert not Service.objects.exists()


def test_dry_run_of_a_change_reports_updated_but_changes_nothing() -> None:
    build_directory()
    before = directory_export()
    data = copy.deepcopy(before)
    service(data, NIGHT)["alert"] = "Short-staffed tonight."
    result = directory_import(data, dry_run=True)
    assert counts(result)["services"] == (0, 1, 3)
    assert directory_export() == before


# --- Rejections ---------------------------------------------------------------------------------


def set_in(record_path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for key in record_path[:-1]:
            target = (
                service(data, key)
                if isinstance(key, str) and key.startswith("svc-")
                else target[key]
            )
        target[record_path[-1]] = value

    return change


def bereavement_index(data: dict[str, Any]) -> int:
    return [record["id"] for record in data["services"]].index(BEREAVEMENT)


# name: (change, kind of record, field named in the message)
REJECTIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    "missing name": (set_in((BEREAVEMENT, "name"), ""), "services", "name: is required"),
    "unknown status": (set_in((BEREAVEMENT, "status"), "defunct"), "services", "status:"),
    "unknown service type": (
        set_in((BEREAVEMENT, "attributes", 0, "taxonomy_term", "code"), "HOSPICE_SPA"),
        "services",
        "attributes[0].taxonomy_term.code:",
    ),
    "no service type": (set_in((BEREAVEMENT, "attributes"), []), "services", "attributes:"),
    "negative age": (set_in((BEREAVEMENT, "minimum_age"), -1), "services", "minimum_age:"),
    "age as text": (set_in((BEREAVEMENT, "minimum_age"), "18"), "services", "minimum_age:"),
    "minimum above maximum": (set_in((BEREAVEMENT, "maximum_age"), 17), "services", "maximum_age:"),
    "empty window": (
        set_in((BEREAVEMENT, "schedules", 0, "closes_at"), "09:00"),
        "services",
        "schedules[0].closes_at:",
    ),
    "time not HH:MM": (
        set_in((BEREAVEMENT, "schedules", 1, "opens_at"), "9:00"),
        "services",
        "schedules[1].opens_at:",
    ),
    "hour 24": (
        set_in((BEREAVEMENT, "schedules", 1, "closes_at"), "24:00"),
        "services",
        "schedules[1].closes_at:",
    ),
    "unknown day": (
        set_in((BEREAVEMENT, "schedules", 2, "byday"), "MON"),
        "services",
        "schedules[2].byday:",
    ),
    "monthly schedule": (
        set_in((BEREAVEMENT, "schedules", 0, "freq"), "MONTHLY"),
        "services",
        "schedules[0].freq:",
    ),
    "dated schedule": (
        set_in((BEREAVEMENT, "schedules", 0, "valid_from"), "2025-01-01"),
        "services",
        "schedules[0].valid_from:",
    ),
    "repeated window": (
        lambda d: service(d, BEREAVEMENT)["schedules"].append(
            dict(service(d, BEREAVEMENT)["schedules"][0])
        ),
        "services",
        "schedules[5]:",
    ),
    "fortnightly schedule": (
        set_in((BEREAVEMENT, "schedules", 0, "interval"), 2),
        "services",
        "schedules[0].interval:",
    ),
    "invalid area": (
        set_in((BEREAVEMENT, "service_areas", 0, "extent"), "L10, 9L"),
        "services",
        "service_areas[0].extent:",
    ),
    "full postcode as area": (
        set_in((BEREAVEMENT, "service_areas", 0, "extent"), "L9 7AL"),
        "services",
        "service_areas[0].extent:",
    ),
    "geojson area": (
        set_in((BEREAVEMENT, "service_areas", 0, "extent_type"), "geojson"),
        "services",
        "service_areas[0].extent_type:",
    ),
    "invalid phone": (
        set_in((BEREAVEMENT, "phones", 0, "number"), "0151 000"),
        "services",
        "phones[0].number:",
    ),
    "foreign phone": (
        set_in((BEREAVEMENT, "phones", 0, "number"), "+33 1 23 45 67 89"),
        "services",
        "phones[0].number:",
    ),
    "invalid duty phone": (
        set_in((BEREAVEMENT, "contacts", 0, "phones"), [{"number": "12"}]),
        "services",
        "contacts[0].phones[0].number:",
    ),
    "invalid email": (set_in((BEREAVEMENT, "email"), "bereavement@"), "services", "email:"),
    "invalid duty email": (
        set_in((BEREAVEMENT, "contacts", 0, "email"), "nope"),
        "services",
        "contacts[0].email:",
    ),
    "unnamed contact": (
        set_in((BEREAVEMENT, "contacts", 0, "name"), None),
        "services",
        "contacts[0].name:",
    ),
    "two contacts": (
        set_in((BEREAVEMENT, "contacts"), [{"name": "A"}, {"name": "B"}]),
        "services",
        "contacts:",
    ),
    "unknown organization": (
        set_in((BEREAVEMENT, "organization_id"), "org-ZZZ99"),
        "services",
        "organization_id:",
    ),
    "organization not an id": (
        set_in((BEREAVEMENT, "organization_id"), "St Clare"),
        "services",
        "organization_id:",
    ),
    "unknown site": (set_in((BEREAVEMENT, "spoc_sites"), ["XYZ"]), "services", "spoc_sites:"),
    "unknown referrer type": (
        set_in((BEREAVEMENT, "spoc_referrer_types"), ["GP", "VICAR"]),
        "services",
        "spoc_referrer_types[1]:",
    ),
    "closure ending before it starts": (
        set_in((BEREAVEMENT, "spoc_closures", 0, "ends_at"), "2025-07-14T08:00:00+01:00"),
        "services",
        "spoc_closures[0].ends_at:",
    ),
    "closure without offset": (
        set_in((BEREAVEMENT, "spoc_closures", 0, "starts_at"), "2025-07-14T09:00:00"),
        "services",
        "spoc_closures[0].starts_at:",
    ),
    "closure without reason": (
        set_in((BEREAVEMENT, "spoc_closures", 0, "reason"), ""),
        "services",
        "spoc_closures[0].reason:",
    ),
    "bad clock override": (
        set_in((BEREAVEMENT, "spoc_clock_overrides"), {"P9": {"accept_within_minutes": 5}}),
        "services",
        "spoc_clock_overrides:",
    ),
    "flag as text": (set_in((BEREAVEMENT, "spoc_open_24_7"), "yes"), "services", "spoc_open_24_7:"),
    "assured date not ISO": (
        set_in((BEREAVEMENT, "assured_date"), "31/01/2025"),
        "services",
        "assured_date:",
    ),
    "alert too long": (set_in((BEREAVEMENT, "alert"), "x" * 501), "services", "alert:"),
    "bad divert number": (
        set_in((BEREAVEMENT, "spoc_out_of_hours_phone"), "12345"),
        "services",
        "spoc_out_of_hours_phone:",
    ),
    "duplicate service id": (
        lambda d: service(d, BEREAVEMENT).update(id=IN_REACH),
        "services",
        "id: 'svc-northshire-general",
    ),
    "duplicate service name": (
        lambda d: service(d, BEREAVEMENT).update(name="Northshire night service"),
        "services",
        "name:",
    ),
    "team name of another service": (
        set_in((BEREAVEMENT, "contacts", 0, "name"), "In-reach team"),
        "services",
        "contacts[0].name:",
    ),
    "service not an object": (
        lambda d: d["services"].append("oops"),
        "services",
        "must be a JSON object",
    ),
    "duplicate organization id": (
        lambda d: d["organizations"][1].update(id="org-HSP01"),
        "organizations",
        "id:",
    ),
    "missing ODS code": (
        set_in(("organizations", 0, "organization_identifiers"), []),
        "organizations",
        "organization_identifiers:",
    ),
    "malformed ODS code": (
        set_in(("organizations", 0, "organization_identifiers", 0, "identifier"), "HS P01"),
        "organizations",
        "organization_identifiers[0].identifier:",
    ),
    "unknown organisation type": (
        set_in(("organizations", 0, "attributes", 0, "taxonomy_term", "code"), "PUB"),
        "organizations",
        "attributes[0].taxonomy_term.code:",
    ),
    "bad site postcode": (
        set_in(("locations", 0, "addresses", 0, "postal_code"), "NOT A CODE"),
        "locations",
        "addresses[0].postal_code:",
    ),
    "site without code": (
        set_in(("locations", 0, "external_identifier"), None),
        "locations",
        "external_identifier:",
    ),
    "services not a list": (set_in(("services",), {"id": "x"}), "services", "must be a list"),
}


@pytest.mark.parametrize("case", REJECTIONS)
def test_invalid_record_is_refused_naming_record_and_field_and_changes_nothing(case: str) -> None:
    build_directory()
    before = directory_export()
    data = copy.deepcopy(before)
    # A valid change to another record first: it must not be saved either.
    service(data, NIGHT)["alert"] = "Short-staffed tonight."
    index = bereavement_index(data)
    change, kind, field = REJECTIONS[case]
    change(data)
    with pytest.raises(OrukImportError) as raised:
        directory_import(data)
    message = str(raised.value)
    assert field in message
    if kind == "services" and case not in {"service not an object", "services not a list"}:
        record_id = IN_REACH if case == "duplicate service id" else BEREAVEMENT
        assert f"services[{index}] (id {record_id!r}): {field}" in message
    elif kind == "services":
        assert "services" in message
    else:
        assert f"{kind}[0]" in message or f"{kind}[1]" in message
    assert directory_export() == before


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    build_directory()
    data = exported_file()
    service(data, BEREAVEMENT)["status"] = "closed"
    service(data, IPU)["minimum_age"] = -5
    data["locations"][0]["name"] = ""
    with pytest.raises(OrukImportError) as raised:
        directory_import(data)
    fields = {(p.kind, p.record_id, p.field) for p in raised.value.problems}
    assert fields == {
        ("services", BEREAVEMENT, "status"),
        ("services", IPU, "minimum_age"),
        ("locations", "loc-NGH", "name"),
    }


def test_refused_file_leaves_an_empty_directory_empty() -> None:
    build_directory()
    data = exported_file()
    empty_directory()
    service(data, IN_REACH)["spoc_sites"] = ["NOPE"]
    with pytest.raises(OrukImportError, match="spoc_sites"):
        directory_import(data)
    assert not Organisation.objects.exists()
    assert not Site.objects.exists()


def test_a_file_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(OrukImportError, match="file: must be a JSON object"):
        directory_import([])  # type: ignore[arg-type]


# --- Management commands ------------------------------------------------------------------------


def test_export_command_writes_sorted_indented_json_to_a_file(tmp_path: Path) -> None:
    build_directory()
    target = tmp_path / "directory.json"
    call_command("export_oruk", str(target), stderr=StringIO())
    text = target.read_text(encoding="utf-8")
    assert (
        text == json.dumps(directory_export(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )


def test_export_command_writes_to_stdout_without_a_file() -> None:
    build_directory()
    out = StringIO()
    call_command("export_oruk", stdout=out)
    assert json.loads(out.getvalue()) == exported_file()


def test_import_command_prints_counts(tmp_path: Path) -> None:
    build_directory()
    source = tmp_path / "directory.json"
    call_command("export_oruk", str(source), stderr=StringIO())
    empty_directory()
    out = StringIO()
    call_command("import_oruk", str(source), stdout=out)
    assert out.getvalue().splitlines() == [
        "organizations: 2 created, 0 updated, 0 unchanged",
        "locations: 1 created, 0 updated, 0 unchanged",
        "services: 4 created, 0 updated, 0 unchanged",
    ]
    assert Service.objects.count() == 4


def test_import_command_dry_run_saves_nothing(tmp_path: Path) -> None:
    build_directory()
    source = tmp_path / "directory.json"
    source.write_text(json.dumps(directory_export()), encoding="utf-8")
    empty_directory()
    out = StringIO()
    call_command("import_oruk", str(source), "--dry-run", stdout=out)
    assert "services: 4 created" in out.getvalue()
    assert "Dry run: nothing was saved." in out.getvalue()
    assert not Service.objects.exists()


def test_import_command_reports_the_invalid_record(tmp_path: Path) -> None:
    build_directory()
    data = exported_file()
    service(data, NIGHT)["schedules"][0]["byday"] = "XX"
    source = tmp_path / "directory.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        CommandError,
        match=r"services\[\d\] \(id 'svc-northshire-night-service'\): schedules\[0\]\.byday",
    ):
        call_command("import_oruk", str(source), stdout=StringIO())


def test_import_command_refuses_invalid_json(tmp_path: Path) -> None:
    source = tmp_path / "broken.json"
    source.write_text('{"services": [', encoding="utf-8")
    with pytest.raises(CommandError, match=r"not valid JSON: .* at line 1, column \d+\."):
        call_command("import_oruk", str(source))


def test_import_command_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.json"):
        call_command("import_oruk", str(tmp_path / "missing.json"))


# --- View ---------------------------------------------------------------------------------------


@pytest.mark.urls(__name__)
def test_view_serves_the_export_to_a_signed_in_user(client: Client) -> None:
    build_directory()
    user = UserFactory()
    client.force_login(user)
    response = client.get("/api/oruk/services")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == exported_file()
    row = AccessLog.objects.get(action=AccessLog.Action.EXPORT)
    assert (row.user, row.object_type) == (user, "directory")


@pytest.mark.urls(__name__)
def test_view_accepts_an_api_token(client: Client) -> None:
    build_directory()
    now = timezone.now()
    ApiToken.objects.create(
        user=UserFactory(),
        key_hash=hash_key("secret-key"),
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    response = client.get("/api/oruk/services", HTTP_AUTHORIZATION="Token secret-key")
    assert response.status_code == 200
    assert response.json() == exported_file()


@pytest.mark.urls(__name__)
def test_view_refuses_anonymous_with_401_json(client: Client) -> None:
    response = client.get("/api/oruk/services")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert not AccessLog.objects.filter(action=AccessLog.Action.EXPORT).exists()


@pytest.mark.urls(__name__)
def test_view_refuses_a_wrong_token_with_401_json(client: Client) -> None:
    response = client.get("/api/oruk/services", HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


@pytest.mark.urls(__name__)
def test_view_is_get_only(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.post("/api/oruk/services").status_code == 405
