"""referral_route: the first version of routing (docs/design.md §5, docs/reference.md "Urgency")."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from referrals.models import Referral, ReferralEvent
from referrals.services.routing import RoutingConfigurationError, referral_route
from referrals.tasks import route_referral_task
from referrals.transitions import ReferralStatus
from services.codes import CallerType, CapacityRag, Need, Priority, ServiceStatus, ServiceType
from services.hours import LONDON
from services.models import CapacityStatus, Site
from tests.factories import OrganisationFactory, UserFactory
from tests.referrals.factories import ReferralFactory
from tests.services.directory_fixtures import make_service, small_directory

pytestmark = pytest.mark.django_db

# A Wednesday in June (BST).
WEDNESDAY = (2026, 6, 10)


def london(hour: int, minute: int = 0, day: tuple[int, int, int] = WEDNESDAY) -> datetime:
    return datetime(*day, hour, minute, tzinfo=LONDON)


def weekdays(opens: int, closes: int) -> list[tuple[int, time, time]]:
    return [(d, time(opens), time(closes)) for d in range(5)]


@pytest.fixture
def directory():
    services = small_directory()
    services["spoc"] = make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())
    return services


def referral_at(call_at: datetime, **fields: object) -> Referral:
    return ReferralFactory(call__received_at=call_at, **fields)


def route_at(moment: datetime, referral: Referral) -> Referral:
    with time_machine.travel(moment, tick=False):
        routed = referral_route(referral_id=referral.pk)
    assert routed is not None
    return routed


def test_urgent_visit_at_2pm_goes_to_the_community_team_with_a_2_hour_contact_clock(directory):
    referral = referral_at(london(13, 58))

    routed = route_at(london(14, 0), referral)

    routed.refresh_from_db()
    assert routed.status == ReferralStatus.QUEUED
    assert routed.team == directory["community"].team
    # The first-contact clock runs from the call, not from routing; accepting from queueing.
    assert routed.contact_by == london(13, 58) + timedelta(hours=2)
    assert routed.accept_by == london(14, 0) + timedelta(minutes=15)
    assert routed.routing_attempt == 1
    assert routed.routed_at == london(14, 0)
    assert routed.unroutable_reason == ""
    event = routed.events.get(kind=ReferralEvent.Kind.ROUTED)
    assert (event.from_status, event.to_status) == ("AWAITING_ROUTING", "QUEUED")
    assert event.team == directory["community"].team
    assert event.actor is None
    assert event.data["service_name"] == "Community Palliative Care"


def test_urgent_visit_at_half_past_eleven_at_night_goes_to_the_night_service(directory):
    referral = referral_at(london(23, 29))

    routed = route_at(london(23, 30), referral)

    assert routed.team == directory["night"].team
    assert routed.contact_by == london(23, 29) + timedelta(hours=2)
    decision = {c["service_name"]: c for c in routed.routing_decision["candidates"]}
    assert decision["Community Palliative Care"]["can_meet_deadline"] is False
    assert decision["Night Service"]["rank"] == 1


def test_out_of_area_postcode_goes_to_the_coordinators_with_the_reason(directory):
    referral = referral_at(london(14, 0), call__patient__postcode="m1 1ae")

    routed = route_at(london(14, 1), referral)

    routed.refresh_from_db()
    assert routed.status == ReferralStatus.QUEUED
    assert routed.team == directory["spoc"].team
    assert routed.unroutable_reason == "No service covers M1 1AE for Urgent home visit at P2"
    # docs/reference.md defaults: P2 contact 2 h from the call, accept 15 min from queueing.
    assert routed.contact_by == london(14, 0) + timedelta(hours=2)
    assert routed.accept_by == london(14, 1) + timedelta(minutes=15)
    assert routed.routing_decision["winner_service_id"] is None
    event = routed.events.get()
    assert event.kind == ReferralEvent.Kind.UNROUTABLE
    assert event.team == directory["spoc"].team
    assert event.data["reason"] == routed.unroutable_reason


def test_unroutable_reason_summarises_exclusions_when_they_differ(directory):
    directory["community"].status = ServiceStatus.INACTIVE
    directory["community"].save()
    directory["hah"].status = ServiceStatus.TEMPORARILY_CLOSED
    directory["hah"].save()
    directory["night"].status = ServiceStatus.INACTIVE
    directory["night"].save()

    routed = route_at(london(14, 1), referral_at(london(14, 0)))

    assert routed.team == directory["spoc"].team
    assert routed.unroutable_reason.startswith("No service can take Urgent home visit at P2.")
    assert "Community Palliative Care: inactive" in routed.unroutable_reason
    assert "Hospice at Home: temporarily closed" in routed.unroutable_reason


def test_a_need_nobody_provides_goes_to_the_coordinators(directory):
    routed = route_at(london(14, 1), referral_at(london(14, 0), need=Need.DAY_THERAPY))

    assert routed.team == directory["spoc"].team
    assert routed.unroutable_reason == "No service in the directory provides Day therapy"


def test_the_first_spoc_team_by_id_takes_unroutable_referrals(directory):
    make_service("Another SPOC", ServiceType.SPOC, open_24_7=True, areas=())

    routed = route_at(london(14, 1), referral_at(london(14, 0), call__patient__postcode="M1 1AE"))

    assert routed.team == directory["spoc"].team


def test_no_spoc_team_raises_and_changes_nothing():
    small_directory()
    referral = referral_at(london(14, 0), call__patient__postcode="M1 1AE")

    with pytest.raises(RoutingConfigurationError), time_machine.travel(london(14, 1), tick=False):
        referral_route(referral_id=referral.pk)

    referral.refresh_from_db()
    assert referral.status == ReferralStatus.AWAITING_ROUTING
    assert referral.routing_attempt == 0
    assert not referral.events.exists()


def test_route_is_idempotent(directory):
    referral = referral_at(london(13, 58))
    first = route_at(london(14, 0), referral)

    second = route_at(london(14, 5), referral)

    second.refresh_from_db()
    assert second.routed_at == first.routed_at == london(14, 0)
    assert second.routing_attempt == 1
    assert second.events.filter(kind=ReferralEvent.Kind.ROUTED).count() == 1


def test_routing_a_referral_that_is_no_longer_awaiting_routing_changes_nothing(directory):
    referral = referral_at(london(13, 58), status=ReferralStatus.CANCELLED)

    routed = route_at(london(14, 0), referral)

    routed.refresh_from_db()
    assert routed.status == ReferralStatus.CANCELLED
    assert routed.team is None
    assert not routed.events.exists()


def test_routing_a_missing_referral_returns_none(db):
    assert referral_route(referral_id=987654) is None


def test_the_routing_decision_lists_every_candidate_with_its_reasons(directory):
    routed = route_at(london(14, 0), referral_at(london(13, 58)))

    decision = routed.routing_decision
    assert decision["attempt"] == 1
    assert datetime.fromisoformat(decision["at"]) == london(14, 0)
    assert decision["winner_service_id"] == directory["community"].pk
    by_name = {c["service_name"]: c for c in decision["candidates"]}
    assert set(by_name) == {s.name for s in directory.values()}
    assert by_name["Community Palliative Care"]["rank"] == 1
    assert by_name["Community Palliative Care"]["team_name"] == "Community Palliative Care team"
    assert by_name["In-patient Unit"]["eligible"] is False
    assert by_name["In-patient Unit"]["excluded_reason"].startswith("Excluded:")
    assert by_name["SPOC Coordinators"]["eligible"] is False
    for candidate in decision["candidates"]:
        assert set(candidate) == {
            "service_id",
            "service_name",
            "team_name",
            "eligible",
            "rank",
            "can_meet_deadline",
            "earliest_response_at",
            "accept_by",
            "contact_by",
            "reasons",
            "excluded_reason",
        }
        assert candidate["reasons"]


def test_a_routine_referral_gets_its_contact_clock_from_the_services_working_days(directory):
    bereavement = make_service(
        "Bereavement Support", ServiceType.BEREAVEMENT, hours=weekdays(9, 17)
    )
    referral = referral_at(
        london(14, 0),
        need=Need.BEREAVEMENT_SUPPORT,
        priority=Priority.P5,
        call__chosen_priority=Priority.P5,
        call__suggested_priority=Priority.P5,
    )

    routed = route_at(london(14, 0), referral)

    assert routed.team == bereavement.team
    # 5 working days from Wednesday 14:00 on a Monday-Friday service: Thu, Fri, Mon, Tue, Wed.
    assert routed.contact_by == london(14, 0, day=(2026, 6, 17))
    # 1 working day to accept.
    assert routed.accept_by == london(14, 0, day=(2026, 6, 11))


def test_a_services_clock_override_sets_the_real_time_contact_clock(directory):
    directory["community"].clock_overrides = {"P2": {"contact_within_minutes": 90}}
    directory["community"].save()

    routed = route_at(london(14, 0), referral_at(london(13, 50)))

    assert routed.team == directory["community"].team
    assert routed.contact_by == london(13, 50) + timedelta(minutes=90)


def test_a_hospital_review_goes_to_the_in_reach_team_serving_the_calls_site(directory):
    organisation = OrganisationFactory()
    north = Site.objects.create(organisation=organisation, code="NORTH", name="North Hospital")
    south = Site.objects.create(organisation=organisation, code="SOUTH", name="South Hospital")
    make_service("North In-reach", ServiceType.HOSPITAL_IN_REACH, open_24_7=True, sites=(north,))
    south_team = make_service(
        "South In-reach", ServiceType.HOSPITAL_IN_REACH, open_24_7=True, sites=(south,)
    ).team
    referral = referral_at(
        london(14, 0),
        need=Need.HOSPITAL_SPECIALIST_REVIEW,
        call__patient__location_site=north,
        call__patient_site=south,
    )

    routed = route_at(london(14, 1), referral)

    assert routed.team == south_team


def test_eligibility_uses_the_patients_age_and_the_callers_type(directory):
    directory["community"].min_age = 18
    directory["community"].save()
    directory["hah"].referrer_types = [CallerType.GP]
    directory["hah"].save()
    referral = referral_at(
        london(14, 0),
        call__patient__date_of_birth=datetime(2008, 6, 11).date(),  # 17 tomorrow
        call__caller_type=CallerType.DISTRICT_NURSE,
    )

    routed = route_at(london(14, 1), referral)

    by_name = {c["service_name"]: c for c in routed.routing_decision["candidates"]}
    assert (
        by_name["Community Palliative Care"]["excluded_reason"]
        == "Excluded: age 17 below minimum 18"
    )
    assert by_name["Hospice at Home"]["excluded_reason"].startswith(
        "Excluded: does not accept referrals from"
    )
    # The night service is eligible but opens at 20:00, after the 16:00 deadline: it does not
    # win; the coordinators decide, told which service was nearest.
    assert routed.team is not None and routed.team.service.service_type == ServiceType.SPOC
    assert routed.unroutable_reason.startswith(
        "No service can meet the P2 deadline for Urgent home visit"
    )
    assert "Night Service" in routed.unroutable_reason


def test_open_referrals_spread_the_load_between_equal_services(directory):
    directory["community"].delete()
    busy = make_service(
        "A Community Team",
        ServiceType.COMMUNITY_SPC,
        hours=[(d, time(8), time(20)) for d in range(7)],
    )
    quiet = make_service(
        "B Community Team",
        ServiceType.COMMUNITY_SPC,
        hours=[(d, time(8), time(20)) for d in range(7)],
    )
    for _ in range(3):
        ReferralFactory(team=busy.team, status=ReferralStatus.QUEUED)
    ReferralFactory(team=quiet.team, status=ReferralStatus.COMPLETED)

    routed = route_at(london(14, 1), referral_at(london(14, 0)))

    assert routed.team == quiet.team


def test_a_service_without_an_intake_team_is_passed_over(directory):
    directory["community"].team.delete()

    routed = route_at(london(14, 1), referral_at(london(14, 0)))

    assert routed.team == directory["hah"].team


def test_a_red_service_with_no_units_that_can_meet_the_deadline_wins_over_rank_1_that_cannot(
    directory,
):
    """services.ranking.winner, the one rule: not simply rank 1. At 14:00 the night service ranks
    first (the community team reports RED with no units, which ranks after every other eligible
    service) but opens after the 16:00 deadline; the community team can meet it and wins."""
    directory["hah"].delete()
    CapacityStatus.objects.create(
        service=directory["community"],
        rag=CapacityRag.RED,
        available_units=0,
        reported_at=london(13, 0),
        reported_by=UserFactory(),
    )

    routed = route_at(london(14, 1), referral_at(london(14, 0)))

    by_name = {c["service_name"]: c for c in routed.routing_decision["candidates"]}
    assert by_name["Night Service"]["rank"] == 1
    assert by_name["Night Service"]["can_meet_deadline"] is False
    assert by_name["Community Palliative Care"]["rank"] == 2
    assert routed.team == directory["community"].team
    assert routed.routing_decision["winner_service_id"] == directory["community"].pk
    assert routed.unroutable_reason == ""


def test_the_only_eligible_service_never_wins_when_it_cannot_meet_the_deadline(directory):
    directory["community"].delete()
    directory["hah"].delete()

    routed = route_at(london(14, 1), referral_at(london(14, 0)))

    by_name = {c["service_name"]: c for c in routed.routing_decision["candidates"]}
    assert by_name["Night Service"]["rank"] == 1
    assert routed.team == directory["spoc"].team
    assert routed.routing_decision["winner_service_id"] is None
    assert routed.unroutable_reason.startswith(
        "No service can meet the P2 deadline for Urgent home visit; the nearest is Night Service."
    )


def _route_counting_queries(moment: datetime) -> int:
    referral = referral_at(moment - timedelta(minutes=1))
    with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as queries:
        referral_route(referral_id=referral.pk)
    return len(queries)


def test_routing_runs_a_constant_number_of_queries_however_big_the_directory(
    directory, django_assert_max_num_queries
):
    few = _route_counting_queries(london(14, 0))
    for n in range(50):
        extra = make_service(
            f"Extra Community {n:02d}",
            ServiceType.COMMUNITY_SPC,
            areas=("L9", "L10"),
            hours=[(d, time(8), time(20)) for d in range(7)],
        )
        ReferralFactory(team=extra.team, status=ReferralStatus.QUEUED)
    many = _route_counting_queries(london(14, 0))
    assert many == few, f"{few} queries with 5 services, {many} with 55"
    referral = referral_at(london(13, 59))
    with time_machine.travel(london(14, 0), tick=False), django_assert_max_num_queries(11):
        referral_route(referral_id=referral.pk)


def test_the_routing_task_runs_eleven_queries_with_its_savepoint(
    directory, django_assert_max_num_queries
):
    # The task as the routing worker runs it: the referral locked with its patient, call and
    # person; the open referrals of the teams that may take it, counted in one query; the
    # directory (services, coverage, hours, closures, sites); the update and its event.
    referral = referral_at(london(13, 59))
    with time_machine.travel(london(14, 0), tick=False), django_assert_max_num_queries(11):
        route_referral_task.apply(args=(referral.pk,))
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.QUEUED
    assert referral.team == directory["community"].team


def test_a_patient_without_a_postcode_goes_to_the_coordinators_saying_so(directory):
    routed = route_at(london(14, 1), referral_at(london(14, 0), call__patient__postcode=""))

    assert routed.team == directory["spoc"].team
    assert (
        routed.unroutable_reason
        == "No service can take Urgent home visit at P2: no postcode recorded"
    )
