"""Code lists that routing needs (docs/reference.md "Our code lists", docs/design.md §5).

One module so that the directory, routing, triage and the API agree on every code. Values are
UPPER_CASE codes; labels are what staff see. Clock durations are local defaults (docs/reference.md
"Urgency") and may be overridden per service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import models


class ServiceType(models.TextChoices):
    COMMUNITY_SPC = "COMMUNITY_SPC", "Community specialist palliative care"
    HOSPICE_AT_HOME = "HOSPICE_AT_HOME", "Hospice at home"
    HOSPICE_INPATIENT = "HOSPICE_INPATIENT", "Hospice in-patient unit"
    HOSPITAL_IN_REACH = "HOSPITAL_IN_REACH", "Hospital in-reach palliative care"
    NIGHT_SERVICE = "NIGHT_SERVICE", "Night service"
    DAY_HOSPICE = "DAY_HOSPICE", "Day hospice"
    BEREAVEMENT = "BEREAVEMENT", "Bereavement support"
    BEREAVEMENT_SPECIALIST = "BEREAVEMENT_SPECIALIST", "Specialist bereavement support"
    CARER_SUPPORT = "CARER_SUPPORT", "Carer support"
    DISTRICT_NURSING = "DISTRICT_NURSING", "District nursing"
    GP_OUT_OF_HOURS = "GP_OUT_OF_HOURS", "GP out of hours"
    SOCIAL_CARE = "SOCIAL_CARE", "Social care (care packages)"
    CHC_FAST_TRACK = "CHC_FAST_TRACK", "NHS continuing healthcare fast track"
    EQUIPMENT = "EQUIPMENT", "Community equipment"
    COMMUNITY_PHARMACY = "COMMUNITY_PHARMACY", "Community pharmacy (end-of-life medicines)"
    RAPID_DISCHARGE = "RAPID_DISCHARGE", "Rapid discharge home to die"
    SPOC = "SPOC", "Single point of contact coordinators"


class Need(models.TextChoices):
    URGENT_HOME_VISIT = "URGENT_HOME_VISIT", "Urgent home visit"
    END_OF_LIFE_CARE_AT_HOME = "END_OF_LIFE_CARE_AT_HOME", "End-of-life care at home"
    OVERNIGHT_SUPPORT = "OVERNIGHT_SUPPORT", "Overnight support"
    HOSPICE_ADMISSION = "HOSPICE_ADMISSION", "Hospice admission"
    HOSPITAL_SPECIALIST_REVIEW = "HOSPITAL_SPECIALIST_REVIEW", "Hospital specialist review"
    SPECIALIST_FOLLOW_UP = "SPECIALIST_FOLLOW_UP", "Specialist follow-up"
    DAY_THERAPY = "DAY_THERAPY", "Day therapy"
    BEREAVEMENT_SUPPORT = "BEREAVEMENT_SUPPORT", "Bereavement support"
    CARER_SUPPORT = "CARER_SUPPORT", "Carer support"
    DISTRICT_NURSING = "DISTRICT_NURSING", "District nursing"
    GP_OUT_OF_HOURS = "GP_OUT_OF_HOURS", "GP out of hours"
    SOCIAL_CARE_PACKAGE = "SOCIAL_CARE_PACKAGE", "Social care package"
    CHC_FAST_TRACK = "CHC_FAST_TRACK", "Fast-track continuing healthcare"
    EQUIPMENT = "EQUIPMENT", "Equipment"
    JUST_IN_CASE_MEDICINES = "JUST_IN_CASE_MEDICINES", "Just-in-case medicines"
    VERIFICATION_OF_DEATH = "VERIFICATION_OF_DEATH", "Verification of expected death"
    RAPID_DISCHARGE = "RAPID_DISCHARGE", "Rapid discharge home to die"


# What can still be referred once the patient has died: support for the people left behind,
# and the verification of the expected death itself (docs/routing.md "The care network").
AFTER_DEATH_NEEDS = frozenset(
    {Need.BEREAVEMENT_SUPPORT, Need.CARER_SUPPORT, Need.VERIFICATION_OF_DEATH}
)


def after_death_needs_words() -> str:
    """The needs of ``AFTER_DEATH_NEEDS`` in words, in the list's order, for messages:
    "bereavement support, carer support and verification of expected death"."""
    labels = [str(need.label).lower() for need in Need if need in AFTER_DEATH_NEEDS]
    return " and ".join([", ".join(labels[:-1]), labels[-1]]) if len(labels) > 1 else labels[0]


# The needs of the people around the patient: the only ones a referral may be for one of them
# rather than for the patient (docs/routing.md, "Who a referral is for"); every other need is the
# patient's own care, met where the patient is.
PERSON_NEEDS = frozenset({Need.BEREAVEMENT_SUPPORT, Need.CARER_SUPPORT})

# docs/design.md §5: each need maps to service types in order of preference.
NEED_SERVICE_TYPES: dict[str, tuple[str, ...]] = {
    Need.URGENT_HOME_VISIT: (
        ServiceType.COMMUNITY_SPC,
        ServiceType.HOSPICE_AT_HOME,
        ServiceType.NIGHT_SERVICE,
    ),
    Need.END_OF_LIFE_CARE_AT_HOME: (ServiceType.HOSPICE_AT_HOME,),
    Need.OVERNIGHT_SUPPORT: (ServiceType.NIGHT_SERVICE, ServiceType.HOSPICE_AT_HOME),
    Need.HOSPICE_ADMISSION: (ServiceType.HOSPICE_INPATIENT,),
    Need.HOSPITAL_SPECIALIST_REVIEW: (ServiceType.HOSPITAL_IN_REACH,),
    Need.SPECIALIST_FOLLOW_UP: (ServiceType.COMMUNITY_SPC,),
    Need.DAY_THERAPY: (ServiceType.DAY_HOSPICE,),
    Need.BEREAVEMENT_SUPPORT: (ServiceType.BEREAVEMENT,),
    Need.CARER_SUPPORT: (ServiceType.CARER_SUPPORT,),
    # The care network (docs/routing.md "The care network"). Each type listed can meet the need
    # by itself; a type that could only pass it on is left out (hazard H-032).
    Need.DISTRICT_NURSING: (ServiceType.DISTRICT_NURSING,),
    Need.GP_OUT_OF_HOURS: (ServiceType.GP_OUT_OF_HOURS,),
    Need.SOCIAL_CARE_PACKAGE: (ServiceType.SOCIAL_CARE,),
    Need.CHC_FAST_TRACK: (ServiceType.CHC_FAST_TRACK,),
    Need.EQUIPMENT: (ServiceType.EQUIPMENT,),
    Need.JUST_IN_CASE_MEDICINES: (ServiceType.COMMUNITY_PHARMACY,),
    # Registered nurses trained to verify, then the out-of-hours GP, then hospice at home nurses.
    Need.VERIFICATION_OF_DEATH: (
        ServiceType.DISTRICT_NURSING,
        ServiceType.GP_OUT_OF_HOURS,
        ServiceType.HOSPICE_AT_HOME,
    ),
    # Chosen by the home postcode, not the hospital site: the team that takes the patient home
    # is the one that covers where they are going.
    Need.RAPID_DISCHARGE: (ServiceType.RAPID_DISCHARGE, ServiceType.HOSPICE_AT_HOME),
}

# The component of bereavement support (docs/triage.md, "Bereavement risk screen") that sends a
# bereavement referral to specialist bereavement services first, then to the ordinary ones.
SPECIALIST_BEREAVEMENT_COMPONENT = 3


def service_types_for(need: str, *, bereavement_component: int | None = None) -> tuple[str, ...]:
    """The service types that meet ``need``, in order of preference: ``NEED_SERVICE_TYPES``,
    except for a bereavement referral whose risk screen found component 3, which prefers
    specialist bereavement support and falls back on the ordinary services (docs/routing.md,
    "Bereavement routing by the risk screen"). An unscreened referral (``None``) routes as
    before."""
    types = NEED_SERVICE_TYPES.get(need, ())
    if (
        need == Need.BEREAVEMENT_SUPPORT
        and bereavement_component == SPECIALIST_BEREAVEMENT_COMPONENT
    ):
        return (ServiceType.BEREAVEMENT_SPECIALIST, *types)
    return types


# Needs whose candidates are chosen by the hospital site the patient is in, not by postcode.
# Rapid discharge is not one of them: see NEED_SERVICE_TYPES.
SITE_NEEDS = frozenset({Need.HOSPITAL_SPECIALIST_REVIEW})


class CallerType(models.TextChoices):
    """Who is calling; the same list is the referrer type a service accepts."""

    PATIENT = "PATIENT", "Patient"
    CARER_FAMILY = "CARER_FAMILY", "Carer or family"
    GP = "GP", "GP"
    DISTRICT_NURSE = "DISTRICT_NURSE", "District nurse"
    COMMUNITY_SPC_NURSE = "COMMUNITY_SPC_NURSE", "Community specialist palliative care nurse"
    CARE_HOME_STAFF = "CARE_HOME_STAFF", "Care home staff"
    HOSPITAL_CLINICIAN = "HOSPITAL_CLINICIAN", "Hospital clinician"
    HOSPICE_STAFF = "HOSPICE_STAFF", "Hospice staff"
    OOH_111 = "OOH_111", "Out of hours / NHS 111"
    AMBULANCE = "AMBULANCE", "Ambulance service"
    SOCIAL_CARE = "SOCIAL_CARE", "Social care"
    PHARMACIST = "PHARMACIST", "Pharmacist"
    VOLUNTARY_SECTOR = "VOLUNTARY_SECTOR", "Voluntary sector"
    OTHER = "OTHER", "Other"


# Referrers who are the patient or their family: a service must accept self-referral for them.
SELF_REFERRER_TYPES = frozenset({CallerType.PATIENT, CallerType.CARER_FAMILY})


class Priority(models.TextChoices):
    P1 = "P1", "P1 Emergency"
    P2 = "P2", "P2 Urgent (2-hour response)"
    P3 = "P3", "P3 Same day"
    P4 = "P4", "P4 Soon"
    P5 = "P5", "P5 Routine"


@dataclass(frozen=True)
class Clock:
    """How long a team has, for one priority.

    ``real_time`` clocks (P1-P3) run on the wall clock from their start. The others count the
    service's opening hours: ``accept_service_hours`` service hours, or ``accept_working_days`` /
    ``contact_working_days`` "working days" (the same time of day on the Nth later day the
    service opens).
    """

    fhir_priority: str
    real_time: bool
    accept_within: timedelta | None = None
    contact_within: timedelta | None = None
    accept_service_hours: int | None = None
    accept_working_days: int | None = None
    contact_working_days: int | None = None


# docs/reference.md "Urgency": default scheme (local, configurable per service).
CLOCKS: dict[str, Clock] = {
    Priority.P1: Clock("stat", True, timedelta(minutes=5), timedelta(minutes=30)),
    Priority.P2: Clock("asap", True, timedelta(minutes=15), timedelta(hours=2)),
    Priority.P3: Clock("urgent", True, timedelta(hours=1), timedelta(hours=4)),
    Priority.P4: Clock("urgent", False, accept_service_hours=4, contact_working_days=2),
    Priority.P5: Clock("routine", False, accept_working_days=1, contact_working_days=5),
}


class CapacityRag(models.TextChoices):
    GREEN = "GREEN", "Green"
    AMBER = "AMBER", "Amber"
    RED = "RED", "Red"


class ServiceStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    INACTIVE = "INACTIVE", "Inactive"
    TEMPORARILY_CLOSED = "TEMPORARILY_CLOSED", "Temporarily closed"


class OrganisationType(models.TextChoices):
    NHS_TRUST = "NHS_TRUST", "NHS trust"
    HOSPICE = "HOSPICE", "Hospice"
    GP_PRACTICE = "GP_PRACTICE", "GP practice"
    ICB = "ICB", "Integrated care board"
    LOCAL_AUTHORITY = "LOCAL_AUTHORITY", "Local authority"
    VOLUNTARY = "VOLUNTARY", "Voluntary organisation"
    CARE_HOME = "CARE_HOME", "Care home"
    PHARMACY = "PHARMACY", "Community pharmacy"
