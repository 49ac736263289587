"""A small realistic directory for screen and API tests (built with the demo seed's shapes)."""

from __future__ import annotations

from datetime import time
from typing import Any

from services.codes import ServiceType
from services.hours import Window
from services.models import CoverageArea, OpeningHours, Organisation, Service, Site, Team
from services.services import service_update
from tests.factories import OrganisationFactory, UserFactory


def make_service(
    name: str,
    service_type: str,
    *,
    hours: list[tuple[int, time, time]] | None = None,
    open_24_7: bool = False,
    areas: tuple[str, ...] = ("L9",),
    sites: tuple[Site, ...] = (),
    organisation: Organisation | None = None,
    **fields: object,
) -> Service:
    service = Service.objects.create(
        organisation=organisation or OrganisationFactory(),
        name=name,
        service_type=service_type,
        open_24_7=open_24_7,
        **fields,
    )
    Team.objects.create(service=service, name=f"{name} team", duty_phone="0151 496 0123")
    CoverageArea.objects.bulk_create([CoverageArea(service=service, area=a) for a in areas])
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(service=service, weekday=d, opens_at=o, closes_at=c)
            for d, o, c in (hours or [])
        ]
    )
    service.sites.set(sites)
    return service


def service_edit(service: Service, **changes: Any) -> None:
    """``service_update`` as the edit page calls it, with the service's saved values but
    ``changes`` (``areas``, ``windows``, ``open_24_7``, or a field of the service)."""
    service.refresh_from_db()
    windows = [
        Window(weekday=h.weekday, opens=h.opens_at, closes=h.closes_at)
        for h in service.opening_hours.all()
    ]
    service_update(
        service=service,
        user=UserFactory(),
        data={
            field: changes.get(field, getattr(service, field))
            for field in ("name", "service_type", "status", "min_age", "max_age")
        },
        areas=changes.get("areas", [a.area for a in service.coverage_areas.all()]),
        sites=list(service.sites.all()),
        windows=changes.get("windows", windows),
        open_24_7=changes.get("open_24_7", service.open_24_7),
    )


def every_day(opens: int, closes: int) -> list[tuple[int, time, time]]:
    return [(d, time(opens), time(closes)) for d in range(7)]


def small_directory() -> dict[str, Service]:
    return {
        "community": make_service(
            "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(8, 20)
        ),
        "hah": make_service("Hospice at Home", ServiceType.HOSPICE_AT_HOME, hours=every_day(8, 22)),
        "night": make_service("Night Service", ServiceType.NIGHT_SERVICE, hours=every_day(20, 8)),
        "ipu": make_service("In-patient Unit", ServiceType.HOSPICE_INPATIENT, open_24_7=True),
    }


def make_spoc_weekdays_closed_on_bank_holidays() -> Service:
    """A SPOC open 08:00-20:00 Monday to Friday and closed on bank holidays."""
    return make_service(
        "SPOC Coordinators",
        ServiceType.SPOC,
        hours=[(d, time(8), time(20)) for d in range(5)],
        areas=(),
        closed_on_bank_holidays=True,
    )


def always_open_area() -> dict[str, Service]:
    """A community palliative care team open every hour and the SPOC's coordinators, 24/7."""
    return {
        "community": make_service(
            "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(0, 23)
        ),
        "spoc": make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True),
    }


def make_spoc_8_to_8(**fields: Any) -> Service:
    """A SPOC open 08:00-20:00 every day, with its out-of-hours message and divert number."""
    return make_service(
        "SPOC Coordinators",
        ServiceType.SPOC,
        hours=every_day(8, 20),
        areas=(),
        out_of_hours_message=fields.pop("out_of_hours_message", "Call NHS 111"),
        out_of_hours_phone=fields.pop("out_of_hours_phone", "0151 496 0999"),
        **fields,
    )


def edit_payload(service: Service, **fields: Any) -> dict[str, Any]:
    """The service edit page's form as posted for ``service``: its name and type, a duty phone,
    adults only, three areas, open 09:00-17:00 Monday and Tuesday. ``fields`` override any of it."""
    return {
        "name": service.name,
        "service_type": service.service_type,
        "status": "ACTIVE",
        "description": "",
        "phone": "0151 496 0123",
        "email": "",
        "assured_date": "",
        "alert": "",
        "min_age": "18",
        "max_age": "",
        "coverage": "L9, l10, L11 2",
        "clock_overrides": "",
        "accepts_self_referral": "on",
        "hours-TOTAL_FORMS": "2",
        "hours-INITIAL_FORMS": "0",
        "hours-MIN_NUM_FORMS": "0",
        "hours-MAX_NUM_FORMS": "28",
        "hours-0-weekday": "0",
        "hours-0-opens": "09:00",
        "hours-0-closes": "17:00",
        "hours-1-weekday": "1",
        "hours-1-opens": "09:00",
        "hours-1-closes": "17:00",
        **fields,
    }
