"""The rest of the care network: each of its needs routed to a service that can meet it
(docs/routing.md "The care network"; hazard H-032), and verification of an expected death still
open and referable once the death is recorded."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from calls.services.intake import NeedRequest, call_submit
from calls.triage import TriageInput, suggest_need_priority
from patients.codes import PatientLocation, PlaceOfDeath
from referrals.codes import CallReason
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import AFTER_DEATH_NEEDS, NEED_SERVICE_TYPES, SITE_NEEDS, Need, ServiceType
from services.models import Service, Site
from spoc.accounts.roles import Role
from tests.clock import LONDON, WEEKDAY_MORNING
from tests.factories import OrganisationFactory
from tests.referrals.factories import PatientFactory, ReferralFactory
from tests.referrals.test_call_submit import call_input
from tests.referrals.test_routing import route_at
from tests.services.directory_fixtures import every_day, make_service
from workspace.services import death_record

pytestmark = pytest.mark.django_db

NETWORK_NEEDS = (
    Need.DISTRICT_NURSING,
    Need.GP_OUT_OF_HOURS,
    Need.SOCIAL_CARE_PACKAGE,
    Need.CHC_FAST_TRACK,
    Need.EQUIPMENT,
    Need.JUST_IN_CASE_MEDICINES,
    Need.VERIFICATION_OF_DEATH,
    Need.RAPID_DISCHARGE,
)
NETWORK_TYPES = (
    ServiceType.DISTRICT_NURSING,
    ServiceType.GP_OUT_OF_HOURS,
    ServiceType.SOCIAL_CARE,
    ServiceType.CHC_FAST_TRACK,
    ServiceType.EQUIPMENT,
    ServiceType.COMMUNITY_PHARMACY,
    ServiceType.RAPID_DISCHARGE,
)
# Weekday evening, after the district nurses' day ends and the out-of-hours GP has started.
WEEKDAY_NIGHT = datetime(2026, 6, 10, 22, 30, tzinfo=LONDON)


@pytest.fixture
def network() -> dict[str, Service]:
    """One service of every type of the care network, each open when the area would expect it,
    every one covering L9, with the hospice at home and the coordinators."""
    services: dict[str, Service] = {
        service_type: make_service(
            str(ServiceType(service_type).label),
            service_type,
            hours=every_day(8, 20),
            min_age=18,
        )
        for service_type in NETWORK_TYPES
    }
    # Out of hours: 18:30 to 08:00 every day.
    services[ServiceType.GP_OUT_OF_HOURS].opening_hours.update(
        opens_at=time(18, 30), closes_at=time(8)
    )
    services[ServiceType.HOSPICE_AT_HOME] = make_service(
        "Hospice at Home", ServiceType.HOSPICE_AT_HOME, hours=every_day(8, 22)
    )
    services[ServiceType.SPOC] = make_service(
        "SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=()
    )
    return services


def test_every_need_has_service_types_that_exist() -> None:
    assert set(NEED_SERVICE_TYPES) == set(Need.values)
    for need, types in NEED_SERVICE_TYPES.items():
        assert types, need
        assert set(types) <= set(ServiceType.values), need
        assert ServiceType.SPOC not in types, need


@pytest.mark.parametrize("need", NETWORK_NEEDS)
def test_each_care_network_need_goes_to_its_first_choice_of_service(network, need: str) -> None:
    """A real routing run per need, at the priority triage suggests for it."""
    moment = WEEKDAY_NIGHT if need == Need.GP_OUT_OF_HOURS else WEEKDAY_MORNING
    priority = suggest_need_priority(TriageInput(phase="DETERIORATING"), need).priority
    referral = ReferralFactory(
        need=need, priority=priority, call__received_at=moment - timedelta(minutes=2)
    )

    routed = route_at(moment, referral)

    expected = network[NEED_SERVICE_TYPES[need][0]]
    assert routed.status == ReferralStatus.QUEUED
    assert routed.team == expected.team, routed.unroutable_reason
    assert routed.routing_decision["winner_service_id"] == expected.pk


def test_verification_at_night_goes_to_the_out_of_hours_gp_when_district_nurses_are_closed(
    network,
) -> None:
    referral = ReferralFactory(
        need=Need.VERIFICATION_OF_DEATH,
        priority="P3",
        call__received_at=WEEKDAY_NIGHT - timedelta(minutes=1),
    )

    routed = route_at(WEEKDAY_NIGHT, referral)

    assert routed.team == network[ServiceType.GP_OUT_OF_HOURS].team
    candidates = {c["service_name"]: c for c in routed.routing_decision["candidates"]}
    assert candidates["District nursing"]["can_meet_deadline"] is False


def test_rapid_discharge_is_chosen_by_the_home_postcode_not_the_hospital_site(network) -> None:
    assert Need.RAPID_DISCHARGE not in SITE_NEEDS
    site = Site.objects.create(
        organisation=OrganisationFactory(), code="ZZB09", name="Far Hospital", postcode="M1 1AE"
    )
    referral = ReferralFactory(
        need=Need.RAPID_DISCHARGE,
        priority="P2",
        call__received_at=WEEKDAY_MORNING,
        call__patient_location=PatientLocation.HOSPITAL,
        call__patient_site=site,
        call__patient__postcode="L9 7AL",
    )

    routed = route_at(WEEKDAY_MORNING + timedelta(minutes=1), referral)

    assert routed.team == network[ServiceType.RAPID_DISCHARGE].team


def test_a_need_is_never_given_to_a_service_of_another_type_that_covers_the_area(
    network,
) -> None:
    """H-032: without a fast-track continuing healthcare team, the referral goes to the
    coordinators, not to social care (which covers the area but cannot fund the care)."""
    network[ServiceType.CHC_FAST_TRACK].delete()
    referral = ReferralFactory(
        need=Need.CHC_FAST_TRACK, priority="P4", call__received_at=WEEKDAY_MORNING
    )

    routed = route_at(WEEKDAY_MORNING + timedelta(minutes=1), referral)

    assert routed.team == network[ServiceType.SPOC].team
    assert routed.unroutable_reason == (
        "No service in the directory provides Fast-track continuing healthcare"
    )


# --- verification of an expected death after the death is recorded ----------------------------


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.SPOC_COORDINATOR, username="coord1", is_clinician=True)


def test_verification_of_death_survives_the_death_being_recorded(network, coordinator) -> None:
    assert Need.VERIFICATION_OF_DEATH in AFTER_DEATH_NEEDS
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        patient = PatientFactory(postcode="L9 7AL")
        visit = ReferralFactory(patient=patient, call__patient=patient)
        verification = ReferralFactory(
            patient=patient, call__patient=patient, need=Need.VERIFICATION_OF_DEATH
        )
        referral_route(referral_id=verification.pk)

        recorded = death_record(
            patient_id=patient.pk,
            user=coordinator,
            died_at=timezone.now() - timedelta(minutes=40),
            place=PlaceOfDeath.OWN_HOME,
            expected=True,
            verified_by="",
            bereavement_for=[],
        )

    assert [r.pk for r in recorded.closed] == [visit.pk]
    verification.refresh_from_db()
    assert verification.status == ReferralStatus.QUEUED
    assert verification.team == network[ServiceType.DISTRICT_NURSING].team


def test_a_call_after_the_death_refers_verification_and_nothing_clinical(network, handler) -> None:
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        patient = PatientFactory(postcode="L9 7AL", died_at=timezone.now() - timedelta(hours=1))
        result = call_submit(
            data=call_input(
                patient,
                reason=CallReason.DEATH_NOTIFICATION,
                # The handler is not a clinician: no Phase of Illness (docs/triage.md).
                phase=None,
                ipos={},
                chosen_priority="P3",
                needs=(
                    NeedRequest(Need.VERIFICATION_OF_DEATH),
                    NeedRequest(Need.BEREAVEMENT_SUPPORT),
                ),
            ),
            user=handler,
        )
        [verification] = [r for r in result.referrals if r.need == Need.VERIFICATION_OF_DEATH]
        assert verification.priority == "P3"
        routed = route_at(WEEKDAY_MORNING + timedelta(minutes=1), verification)

    assert routed.team == network[ServiceType.DISTRICT_NURSING].team
