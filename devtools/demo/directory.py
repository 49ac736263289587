"""The fictional demo area (docs/design.md §12): two boroughs, thirty postcode districts, the partner
organisations and their services with the demo opening hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from django.utils import timezone

from devtools.demo.partners import fake_partner_url
from services.codes import CallerType, CapacityRag, OrganisationType, ServiceType
from services.models import (
    CapacityStatus,
    CoverageArea,
    OpeningHours,
    Organisation,
    OrganisationMembership,
    Service,
    Site,
    Team,
    TeamMembership,
)
from spoc.accounts.models import User

NORTHBANK = (
    "L4",
    "L5",
    "L6",
    "L9",
    "L10",
    "L11",
    "L12",
    "L13",
    "L14",
    "L20",
    "L21",
    "L22",
    "L23",
    "L30",
    "L31",
)
SOUTHMERE = (
    "L1",
    "L2",
    "L3",
    "L7",
    "L8",
    "L15",
    "L16",
    "L17",
    "L18",
    "L19",
    "L24",
    "L25",
    "L26",
    "L27",
    "L36",
)
BOTH = NORTHBANK + SOUTHMERE
EVERY_DAY = tuple(range(7))
WEEKDAYS = tuple(range(5))

ORGANISATIONS = (
    ("ZZA", "Riverside Community Health NHS Trust", OrganisationType.NHS_TRUST),
    ("ZZB", "Northbank and Southmere Hospitals NHS Trust", OrganisationType.NHS_TRUST),
    ("ZZC", "St Brigid's Hospice", OrganisationType.HOSPICE),
    ("ZZD", "Marram Hospice", OrganisationType.HOSPICE),
    ("ZZE", "Evening Star Night Care", OrganisationType.VOLUNTARY),
    ("ZZF", "Forget-Me-Not Bereavement Care", OrganisationType.VOLUNTARY),
    ("ZZG", "Carers Together", OrganisationType.VOLUNTARY),
    ("ZZH", "Northbank and Southmere Integrated Care Board", OrganisationType.ICB),
    ("ZZJ", "Mersey Out of Hours GP Service", OrganisationType.NHS_TRUST),
    ("ZZK", "Northbank and Southmere Council", OrganisationType.LOCAL_AUTHORITY),
    ("ZZL", "Heron Way Pharmacy", OrganisationType.PHARMACY),
    ("ZZM", "Dockside Pharmacy", OrganisationType.PHARMACY),
)
# The demo's GP practices (the demo patients are registered with them), as the practice import
# brings them: fictional ODS codes ZZP01-ZZP08 and postcodes; the Northbank practices receive the
# hub's letters at the fake partner's server (devtools/fake_partner.py), the Southmere ones have
# no endpoint.
GP_PRACTICES = {
    "NORTHBANK": (
        "Northbank Health Centre",
        "Heron Way Surgery",
        "Marsh Lane Practice",
        "Linacre Medical Centre",
    ),
    "SOUTHMERE": (
        "Southmere Family Practice",
        "Dockside Surgery",
        "Orchard Street Medical Practice",
        "Mersey View Surgery",
    ),
}
PRACTICE_POSTCODES = {"NORTHBANK": "L9 1AA", "SOUTHMERE": "L7 8XP"}
SITES = (
    ("ZZB01", "ZZB", "Northbank General Hospital", "L9 7AL"),
    ("ZZB02", "ZZB", "Southmere Infirmary", "L7 8XP"),
)


@dataclass(frozen=True)
class DemoService:
    ods: str
    name: str
    service_type: str
    team: str
    duty_phone: str
    hours: tuple[tuple[tuple[int, ...], time, time], ...] = ()
    open_24_7: bool = False
    areas: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    min_age: int | None = 18
    # Relatives and patients ring the hub; the services it routes to take those referrals.
    accepts_self_referral: bool = True
    closed_on_bank_holidays: bool = False
    capacity: tuple[str, int | None] | None = None
    description: str = ""
    referrer_types: tuple[str, ...] = field(default=())
    # Where callers go while it is closed (docs/directory.md "The SPOC's hours").
    out_of_hours_message: str = ""
    out_of_hours_phone: str = ""


# The services for the family and carers (provider, name, type, team, duty phone): for any age,
# in both boroughs, 09:00-17:00 on weekdays but bank holidays.
FAMILY_SUPPORT = (
    (
        "ZZF",
        "Forget-Me-Not Bereavement Support",
        ServiceType.BEREAVEMENT,
        "Forget-Me-Not bereavement team",
        "0151 496 0909",
    ),
    # Component 3 of bereavement support (docs/triage.md, "Bereavement risk screen"): the
    # hospice's counsellors and psychologist, for those the risk screen finds at risk.
    (
        "ZZC",
        "St Brigid's Specialist Bereavement Service",
        ServiceType.BEREAVEMENT_SPECIALIST,
        "St Brigid's bereavement counselling team",
        "0151 496 0919",
    ),
    (
        "ZZG",
        "Carers Together Support Line",
        ServiceType.CARER_SUPPORT,
        "Carers Together support team",
        "0151 496 0110",
    ),
)
SERVICES = (
    DemoService(
        "ZZA",
        "Riverside Community Palliative Care",
        ServiceType.COMMUNITY_SPC,
        "Riverside Community Palliative Care team",
        "0151 496 0101",
        hours=((EVERY_DAY, time(8), time(20)),),
        areas=BOTH,
        capacity=(CapacityRag.GREEN, None),
        description="Specialist palliative care nurses visiting at home, 08:00-20:00 every day.",
    ),
    DemoService(
        "ZZC",
        "St Brigid's Hospice at Home",
        ServiceType.HOSPICE_AT_HOME,
        "St Brigid's Hospice at Home team",
        "0151 496 0202",
        hours=((EVERY_DAY, time(8), time(22)),),
        areas=NORTHBANK,
        capacity=(CapacityRag.AMBER, 2),
    ),
    DemoService(
        "ZZD",
        "Marram Hospice at Home",
        ServiceType.HOSPICE_AT_HOME,
        "Marram Hospice at Home team",
        "0151 496 0303",
        hours=((EVERY_DAY, time(8), time(22)),),
        areas=SOUTHMERE,
        capacity=(CapacityRag.GREEN, 4),
    ),
    DemoService(
        "ZZE",
        "Evening Star Night Service",
        ServiceType.NIGHT_SERVICE,
        "Evening Star night team",
        "0151 496 0404",
        hours=((EVERY_DAY, time(20), time(8)),),
        areas=BOTH,
        capacity=(CapacityRag.GREEN, 3),
        description="Night visits and sitting, 20:00-08:00.",
    ),
    DemoService(
        "ZZC",
        "St Brigid's In-patient Unit",
        ServiceType.HOSPICE_INPATIENT,
        "St Brigid's In-patient Unit admissions",
        "0151 496 0505",
        open_24_7=True,
        areas=BOTH,
        capacity=(CapacityRag.AMBER, 1),
    ),
    DemoService(
        "ZZD",
        "Marram In-patient Unit",
        ServiceType.HOSPICE_INPATIENT,
        "Marram In-patient Unit admissions",
        "0151 496 0606",
        open_24_7=True,
        areas=BOTH,
        capacity=(CapacityRag.RED, 0),
    ),
    DemoService(
        "ZZB",
        "Hospital Palliative Care In-reach",
        ServiceType.HOSPITAL_IN_REACH,
        "Hospital palliative care in-reach team",
        "0151 496 0707",
        hours=((WEEKDAYS, time(8), time(18)),),
        sites=("ZZB01", "ZZB02"),
        closed_on_bank_holidays=True,
    ),
    DemoService(
        "ZZC",
        "St Brigid's Day Hospice",
        ServiceType.DAY_HOSPICE,
        "St Brigid's Day Hospice team",
        "0151 496 0808",
        hours=((WEEKDAYS, time(10), time(16)),),
        areas=BOTH,
        closed_on_bank_holidays=True,
    ),
    *(
        DemoService(
            *row,
            hours=((WEEKDAYS, time(9), time(17)),),
            areas=BOTH,
            min_age=None,
            closed_on_bank_holidays=True,
        )
        for row in FAMILY_SUPPORT
    ),
    # The rest of the care network (docs/routing.md "The care network"): between them they cover
    # every demo postcode, and a death can be verified at any hour (district nurses by day and
    # evening, the out-of-hours GP overnight).
    DemoService(
        "ZZA",
        "Riverside District Nursing",
        ServiceType.DISTRICT_NURSING,
        "Riverside district nursing team",
        "0151 496 0111",
        hours=((EVERY_DAY, time(8), time(22)),),
        areas=BOTH,
        capacity=(CapacityRag.AMBER, 5),
        description="District nurses visiting at home, 08:00-22:00 every day; verify expected deaths.",
    ),
    DemoService(
        "ZZJ",
        "Mersey Out of Hours GP",
        ServiceType.GP_OUT_OF_HOURS,
        "Out-of-hours GP clinical team",
        "0151 496 0112",
        hours=((EVERY_DAY, time(18, 30), time(8)), ((5, 6), time(8), time(18, 30))),
        areas=BOTH,
        min_age=None,
        description="GPs and nurses when the practices are closed: evenings, nights, weekends.",
    ),
    DemoService(
        "ZZK",
        "Adult Social Care Hospital and Community Team",
        ServiceType.SOCIAL_CARE,
        "Adult social care duty team",
        "0151 496 0113",
        hours=((WEEKDAYS, time(9), time(17)),),
        areas=BOTH,
        closed_on_bank_holidays=True,
        description="Care packages at home, including end-of-life care packages.",
    ),
    DemoService(
        "ZZH",
        "Continuing Healthcare Fast Track",
        ServiceType.CHC_FAST_TRACK,
        "Continuing healthcare fast-track team",
        "0151 496 0114",
        hours=((WEEKDAYS, time(9), time(17)),),
        areas=BOTH,
        closed_on_bank_holidays=True,
        # The fast-track tool is completed by a clinician, never by the family.
        referrer_types=(
            CallerType.GP,
            CallerType.DISTRICT_NURSE,
            CallerType.COMMUNITY_SPC_NURSE,
            CallerType.HOSPITAL_CLINICIAN,
            CallerType.HOSPICE_STAFF,
            CallerType.OOH_111,
        ),
        description="NHS-funded care for people rapidly deteriorating towards the end of life; "
        "a clinician completes the fast-track tool.",
    ),
    DemoService(
        "ZZA",
        "Riverside Community Equipment",
        ServiceType.EQUIPMENT,
        "Community equipment delivery team",
        "0151 496 0115",
        hours=((EVERY_DAY, time(8), time(18)),),
        areas=BOTH,
        min_age=None,
        description="Beds, pressure-relieving mattresses, commodes and hoists, delivered.",
    ),
    DemoService(
        "ZZL",
        "Heron Way Pharmacy end-of-life medicines",
        ServiceType.COMMUNITY_PHARMACY,
        "Heron Way Pharmacy dispensary",
        "0151 496 0116",
        hours=((EVERY_DAY, time(8), time(22)),),
        areas=NORTHBANK,
        min_age=None,
        description="Stocks the area's just-in-case medicines, 08:00-22:00 every day.",
    ),
    DemoService(
        "ZZM",
        "Dockside Pharmacy end-of-life medicines",
        ServiceType.COMMUNITY_PHARMACY,
        "Dockside Pharmacy dispensary",
        "0151 496 0117",
        hours=((WEEKDAYS, time(9), time(18)), ((5,), time(9), time(13))),
        areas=SOUTHMERE,
        min_age=None,
        closed_on_bank_holidays=True,
        description="Stocks the area's just-in-case medicines.",
    ),
    DemoService(
        "ZZA",
        "Riverside Rapid Discharge Team",
        ServiceType.RAPID_DISCHARGE,
        "Rapid discharge team",
        "0151 496 0118",
        hours=((EVERY_DAY, time(8), time(20)),),
        areas=BOTH,
        description="Takes a patient home to die within hours: transport, equipment, carers.",
    ),
    DemoService(
        "ZZA",
        "SPOC Coordination",
        ServiceType.SPOC,
        "SPOC coordinators",
        "0151 496 0000",
        open_24_7=True,
        areas=BOTH,
        min_age=None,
        description="The single point of contact's own coordinators, on duty 24/7.",
        # Open 24/7, so never shown; a SPOC with hours (08:00-20:00, say) shows them on the call
        # screen while it is closed.
        out_of_hours_message="Call NHS 111, or the out-of-hours GP service on",
        out_of_hours_phone="0151 496 0999",
    ),
)

# (username, organisation, team or None, team role)
MEMBERSHIPS = (
    ("handler", "ZZA", "SPOC coordinators", TeamMembership.Role.MEMBER),
    ("coordinator", "ZZA", "SPOC coordinators", TeamMembership.Role.LEAD),
    ("nurse", "ZZA", "Riverside Community Palliative Care team", TeamMembership.Role.MEMBER),
    ("lead", "ZZA", "Riverside Community Palliative Care team", TeamMembership.Role.LEAD),
    # The same trust's district nurses: the demo nurse works their queue too.
    ("nurse", "ZZA", "Riverside district nursing team", TeamMembership.Role.MEMBER),
    ("manager", "ZZH", None, None),
    ("diradmin", "ZZA", None, None),
    ("auditor", "ZZA", None, None),
    ("admin", "ZZA", None, None),
)


def seed_directory(*, users: dict[str, User]) -> dict[str, Service]:
    """Create or refresh the demo directory; idempotent."""
    orgs = {}
    for ods, name, org_type in ORGANISATIONS:
        orgs[ods], _ = Organisation.objects.update_or_create(
            ods_code=ods, defaults={"name": name, "org_type": org_type}
        )
    practices = [(town, name) for town, names in GP_PRACTICES.items() for name in names]
    for number, (town, name) in enumerate(practices, start=1):
        ods = f"ZZP{number:02d}"
        Organisation.objects.update_or_create(
            ods_code=ods,
            defaults={
                "name": name,
                "org_type": OrganisationType.GP_PRACTICE,
                "postcode": PRACTICE_POSTCODES[town],
                "endpoint": fake_partner_url(f"/gp/{ods}/fhir/R4/$process-message")
                if town == "NORTHBANK"
                else "",
            },
        )
    sites = {}
    for code, ods, name, postcode in SITES:
        sites[code], _ = Site.objects.update_or_create(
            code=code, defaults={"organisation": orgs[ods], "name": name, "postcode": postcode}
        )
    services = {}
    for spec in SERVICES:
        service, _ = Service.objects.update_or_create(
            name=spec.name,
            defaults={
                "organisation": orgs[spec.ods],
                "service_type": spec.service_type,
                "description": spec.description,
                "phone": spec.duty_phone,
                "open_24_7": spec.open_24_7,
                "min_age": spec.min_age,
                "accepts_self_referral": spec.accepts_self_referral,
                "closed_on_bank_holidays": spec.closed_on_bank_holidays,
                "referrer_types": list(spec.referrer_types),
                "out_of_hours_message": spec.out_of_hours_message,
                "out_of_hours_phone": spec.out_of_hours_phone,
                "assured_date": timezone.localdate() - timedelta(days=30),
            },
        )
        Team.objects.update_or_create(
            service=service,
            defaults={
                "name": spec.team,
                "duty_phone": spec.duty_phone,
                "duty_email": f"{service.pk}.duty@spoc-hub.example",
            },
        )
        CoverageArea.objects.filter(service=service).exclude(area__in=spec.areas).delete()
        for area in spec.areas:
            CoverageArea.objects.get_or_create(service=service, area=area)
        service.sites.set([sites[code] for code in spec.sites])
        OpeningHours.objects.filter(service=service).delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(service=service, weekday=day, opens_at=opens, closes_at=closes)
            for days, opens, closes in spec.hours
            for day in days
        )
        services[spec.name] = service
    teams = {t.name: t for t in Team.objects.all()}
    for username, ods, team_name, role in MEMBERSHIPS:
        user = users[username]
        OrganisationMembership.objects.update_or_create(
            user=user, defaults={"organisation": orgs[ods]}
        )
        if team_name:
            TeamMembership.objects.update_or_create(
                user=user, team=teams[team_name], defaults={"role": role}
            )
    _seed_capacity(services=services, reporter=users["coordinator"])
    return services


def _seed_capacity(*, services: dict[str, Service], reporter: User) -> None:
    """Today's capacity, once per day (a second run the same day adds nothing)."""
    # An hour ago, and "today" is that moment's day in the hub's time zone (as the __date lookup
    # reads it): just after midnight, the report of the day before counts.
    reported_at = timezone.now() - timedelta(hours=1)
    for spec in SERVICES:
        if spec.capacity is None:
            continue
        service = services[spec.name]
        day = timezone.localdate(reported_at)
        if service.capacity_reports.filter(reported_at__date=day).exists():
            continue
        rag, units = spec.capacity
        CapacityStatus.objects.create(
            service=service,
            rag=rag,
            available_units=units,
            reported_at=reported_at,
            reported_by=reporter,
            note="Morning huddle",
        )
