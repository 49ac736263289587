"""The directory as Open Referral UK JSON (the shape is described in ``services.oruk``)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from services.codes import CallerType, OrganisationType, ServiceType
from services.hours import LONDON
from services.models import Organisation, Service, Site, Team
from services.oruk.shape import (
    AREA_SEPARATOR,
    BYDAY,
    DAY_NAMES,
    ODS_IDENTIFIER_TYPE,
    ODS_SCHEME,
    ORGANISATION_TYPE_TAXONOMY,
    SERVICE_AREA_NAME,
    SERVICE_TYPE_TAXONOMY,
    SITE_CODE_TYPE,
    STATUS_TO_ORUK,
    TIME_FORMAT,
    WEEKLY,
    location_id,
    organization_id,
    phone_display,
    service_ids,
)


def directory_export() -> dict[str, Any]:
    """Every organisation, site and service of the directory, as ORUK-shaped JSON.

    Deterministic: records are ordered by their id and every nested list has a fixed order, so
    the same directory always gives the same JSON. Capacity reports are not part of it (they
    are live operational state, not directory data). Runs a fixed number of queries.
    """
    organisations = Organisation.objects.order_by("ods_code")
    sites = list(Site.objects.select_related("organisation").order_by("code"))
    services = list(
        Service.objects.select_related("organisation", "team").prefetch_related(
            "coverage_areas", "opening_hours", "closures", "sites"
        )
    )
    ids = service_ids(service.name for service in services)
    exported = [_service(service, ids[service.name]) for service in services]
    return {
        "organizations": [_organization(organisation) for organisation in organisations],
        "locations": [_location(site) for site in sites],
        "services": sorted(exported, key=lambda record: record["id"]),
    }


def _organization(organisation: Organisation) -> dict[str, Any]:
    return {
        "id": organization_id(organisation.ods_code),
        "name": organisation.name,
        "organization_identifiers": [
            {
                "identifier_scheme": ODS_SCHEME,
                "identifier_type": ODS_IDENTIFIER_TYPE,
                "identifier": organisation.ods_code,
            }
        ],
        "attributes": [
            _attribute(
                ORGANISATION_TYPE_TAXONOMY,
                organisation.org_type,
                dict(OrganisationType.choices).get(organisation.org_type, organisation.org_type),
            )
        ],
    }


def _location(site: Site) -> dict[str, Any]:
    addresses = (
        [{"postal_code": site.postcode, "country": "GB", "address_type": "physical"}]
        if site.postcode
        else []
    )
    return {
        "id": location_id(site.code),
        "organization_id": organization_id(site.organisation.ods_code),
        "name": site.name,
        "location_type": "physical",
        "external_identifier": site.code,
        "external_identifier_type": SITE_CODE_TYPE,
        "addresses": addresses,
    }


def _service(service: Service, service_id: str) -> dict[str, Any]:
    areas = sorted(area.area for area in service.coverage_areas.all())
    hours = sorted(
        service.opening_hours.all(), key=lambda row: (row.weekday, row.opens_at, row.closes_at)
    )
    closures = sorted(
        service.closures.all(), key=lambda row: (row.starts_at, row.ends_at, row.reason)
    )
    sites = sorted(service.sites.all(), key=lambda site: site.code)
    phone = phone_display(service.phone)
    return {
        "id": service_id,
        "organization_id": organization_id(service.organisation.ods_code),
        "name": service.name,
        "description": service.description,
        "status": STATUS_TO_ORUK[service.status],
        "email": service.email or None,
        "assured_date": service.assured_date.isoformat() if service.assured_date else None,
        "alert": service.alert or None,
        "minimum_age": service.min_age,
        "maximum_age": service.max_age,
        "eligibility_description": eligibility_description(service, sites),
        "attributes": [
            _attribute(
                SERVICE_TYPE_TAXONOMY,
                service.service_type,
                dict(ServiceType.choices).get(service.service_type, service.service_type),
            )
        ],
        "phones": [{"number": phone}] if phone else [],
        "contacts": _contacts(service),
        "service_areas": (
            [
                {
                    "name": SERVICE_AREA_NAME,
                    "extent_type": "text",
                    "extent": AREA_SEPARATOR.join(areas),
                }
            ]
            if areas
            else []
        ),
        "schedules": [
            {
                "freq": WEEKLY,
                "byday": BYDAY[row.weekday],
                "opens_at": row.opens_at.strftime(TIME_FORMAT),
                "closes_at": row.closes_at.strftime(TIME_FORMAT),
                "description": _window_description(row.weekday, row.opens_at, row.closes_at),
            }
            for row in hours
        ],
        "service_at_locations": [{"location_id": location_id(site.code)} for site in sites],
        "spoc_sites": [site.code for site in sites],
        "spoc_open_24_7": service.open_24_7,
        "spoc_closed_on_bank_holidays": service.closed_on_bank_holidays,
        "spoc_closures": [
            {
                "starts_at": timezone.localtime(row.starts_at, LONDON).isoformat(),
                "ends_at": timezone.localtime(row.ends_at, LONDON).isoformat(),
                "reason": row.reason,
            }
            for row in closures
        ],
        "spoc_accepts_self_referral": service.accepts_self_referral,
        "spoc_referrer_types": sorted(service.referrer_types),
        "spoc_clock_overrides": service.clock_overrides,
        "spoc_out_of_hours_message": service.out_of_hours_message or None,
        "spoc_out_of_hours_phone": phone_display(service.out_of_hours_phone),
    }


def _attribute(taxonomy: str, code: str, term: str) -> dict[str, Any]:
    return {"taxonomy_term": {"taxonomy": taxonomy, "code": code, "term": term}}


def _contacts(service: Service) -> list[dict[str, Any]]:
    try:
        team = service.team
    except Team.DoesNotExist:
        return []
    phone = phone_display(team.duty_phone)
    return [
        {
            "name": team.name,
            "email": team.duty_email or None,
            "phones": [{"number": phone}] if phone else [],
        }
    ]


def _window_description(weekday: int, opens_at: Any, closes_at: Any) -> str:
    """``"Monday 20:00 to Tuesday 08:00"``: says in words when a window runs past midnight."""
    closes_day = weekday if closes_at > opens_at else (weekday + 1) % 7
    return (
        f"{DAY_NAMES[weekday]} {opens_at.strftime(TIME_FORMAT)} to "
        f"{DAY_NAMES[closes_day]} {closes_at.strftime(TIME_FORMAT)}"
    )


def eligibility_description(service: Service, sites: list[Site]) -> str:
    """Who may be referred and by whom, in words (informational: the import ignores it)."""
    if service.min_age is not None and service.max_age is not None:
        ages = f"Aged {service.min_age} to {service.max_age}."
    elif service.min_age is not None:
        ages = f"Aged {service.min_age} and over."
    elif service.max_age is not None:
        ages = f"Aged up to {service.max_age}."
    else:
        ages = "All ages."
    parts = [ages]
    if sites:
        parts.append("For patients in " + ", ".join(site.name for site in sites) + ".")
    if service.referrer_types:
        names = dict(CallerType.choices)
        labels = sorted(names.get(code, code) for code in service.referrer_types)
        parts.append("Referrals accepted from: " + ", ".join(labels) + ".")
    else:
        parts.append("Referrals accepted from any referrer.")
    parts.append(
        "Patients and families may refer themselves."
        if service.accepts_self_referral
        else "Patients and families cannot refer themselves."
    )
    return " ".join(parts)
