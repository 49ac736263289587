"""The directory kept by the routing process between routings (docs/routing.md "The directory
kept in the routing worker"): read once while it does not change, read again after any edit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from referrals.models import Referral
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import CapacityRag, ServiceStatus, ServiceType
from services.hours import LONDON, Window
from services.models import Service
from services.services import capacity_report, closure_create, closure_delete
from tests.factories import UserFactory
from tests.referrals.factories import ReferralFactory, member
from tests.services.directory_fixtures import (
    every_day,
    make_service,
    service_edit,
    small_directory,
)

pytestmark = pytest.mark.django_db

# A Wednesday in June (BST): the community team (08:00-20:00) is open and first for a P2 visit.
TWO_PM = datetime(2026, 6, 10, 14, 0, tzinfo=LONDON)
# The reads of the directory (the open-referral count joins services too, from the referrals).
DIRECTORY_READS = tuple(
    f'FROM "{table}"'
    for table in (
        "services_service",
        "services_coveragearea",
        "services_openinghours",
        "services_closure",
        "services_site",
    )
)


@pytest.fixture
def directory() -> dict[str, Service]:
    services = small_directory()
    services["spoc"] = make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())
    return services


def route(moment: datetime = TWO_PM) -> tuple[Referral, list[str]]:
    """A P2 urgent visit for a patient in L9, called a minute before ``moment`` and routed then;
    with the SQL the routing ran."""
    referral = ReferralFactory(call__received_at=moment - timedelta(minutes=1))
    with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as queries:
        routed = referral_route(referral_id=referral.pk)
    assert routed is not None
    return routed, [query["sql"] for query in queries.captured_queries]


def reads_the_directory(sql: list[str]) -> bool:
    return any(read in statement for statement in sql for read in DIRECTORY_READS)


def closed_this_afternoon(directory: dict[str, Service]) -> None:
    closure_create(
        service=directory["community"],
        user=UserFactory(),
        starts_at=TWO_PM - timedelta(hours=1),
        ends_at=TWO_PM + timedelta(hours=3),
        reason="Staff training",
    )


def closure_removed(directory: dict[str, Service]) -> None:
    closure = directory["hah"].closures.get()
    closure_delete(service=directory["hah"], user=UserFactory(), closure_id=closure.pk)


def hah_closed_and_community_gone(directory: dict[str, Service]) -> None:
    # The coordinators take it while the hospice at home is closed, until the closure is lifted.
    closure_create(
        service=directory["hah"],
        user=UserFactory(),
        starts_at=TWO_PM - timedelta(days=1),
        ends_at=TWO_PM + timedelta(days=7),
        reason="Refurbishment",
    )
    directory["community"].delete()


def evenings_only(directory: dict[str, Service]) -> None:
    # Opens after the P2 deadline (16:00): it can no longer meet it.
    service_edit(directory["community"], windows=[Window(2, time(20), time(22))])


def covers_l10_only(directory: dict[str, Service]) -> None:
    service_edit(directory["community"], areas=["L10"])


def inactive(directory: dict[str, Service]) -> None:
    service_edit(directory["community"], status=ServiceStatus.INACTIVE)


def new_service_first_by_name(directory: dict[str, Service]) -> None:
    # Same type as the community team, open too: the name decides.
    make_service("A New Community Team", ServiceType.COMMUNITY_SPC, hours=every_day(8, 20))


def red_with_no_units(directory: dict[str, Service]) -> None:
    team = directory["community"].team
    lead = member(lambda role, **fields: UserFactory(**fields), team, "community-lead", lead=True)
    # Reported an hour before the routing: fresh then, whatever time the tests run.
    with time_machine.travel(TWO_PM - timedelta(hours=1), tick=False):
        capacity_report(service=directory["community"], user=lead, rag=CapacityRag.RED, units=0)


def nothing(directory: dict[str, Service]) -> None:
    pass


COMMUNITY, HAH = "Community Palliative Care team", "Hospice at Home team"
Edit = Callable[[dict[str, Service]], None]
# Each edit: the directory before it, the edit, the winner before and after.
EDITS: dict[str, tuple[Edit, Edit, str, str]] = {
    "a closure": (nothing, closed_this_afternoon, COMMUNITY, HAH),
    "a closure removed": (
        hah_closed_and_community_gone,
        closure_removed,
        "SPOC Coordinators team",
        HAH,
    ),
    "opening hours": (nothing, evenings_only, COMMUNITY, HAH),
    "coverage": (nothing, covers_l10_only, COMMUNITY, HAH),
    "status": (nothing, inactive, COMMUNITY, HAH),
    "a new service": (nothing, new_service_first_by_name, COMMUNITY, "A New Community Team team"),
    "capacity": (nothing, red_with_no_units, COMMUNITY, HAH),
}


@pytest.mark.parametrize("change", EDITS)
def test_a_directory_edit_is_seen_by_the_next_routing_of_the_same_process(
    directory: dict[str, Service], change: str
) -> None:
    prepare, make_edit, winner_before, winner_after = EDITS[change]
    prepare(directory)
    before, _ = route()
    assert before.team is not None and before.team.name == winner_before

    make_edit(directory)
    after, sql = route()

    assert reads_the_directory(sql)
    assert after.team is not None and after.team.name == winner_after


def test_two_routings_without_a_directory_edit_read_the_directory_once(directory):
    first, first_sql = route()
    second, second_sql = route(TWO_PM + timedelta(minutes=5))

    assert reads_the_directory(first_sql)
    assert not reads_the_directory(second_sql)
    # 11 with the directory read (tests/referrals/test_routing.py), 6 without its 5.
    assert (len(first_sql), len(second_sql)) == (11, 6)
    assert second.team == first.team == directory["community"].team


def test_the_kept_directory_gives_the_same_decision_as_a_fresh_read(directory):
    closure_create(
        service=directory["hah"],
        user=UserFactory(),
        starts_at=TWO_PM + timedelta(hours=1),
        ends_at=TWO_PM + timedelta(hours=2),
        reason="Team meeting",
    )
    fresh, fresh_sql = route()
    # Done, so that the second referral sees the same open referrals as the first.
    Referral.objects.filter(pk=fresh.pk).update(status=ReferralStatus.COMPLETED)
    kept, kept_sql = route()

    assert reads_the_directory(fresh_sql) and not reads_the_directory(kept_sql)
    assert kept.routing_decision == fresh.routing_decision
    assert (kept.team, kept.accept_by, kept.contact_by, kept.at_risk_at) == (
        fresh.team,
        fresh.accept_by,
        fresh.contact_by,
        fresh.at_risk_at,
    )


def test_a_routing_earlier_than_the_kept_directorys_closures_reads_it_again(directory):
    # Kept from a routing in June, with the closures ending after the day before it; a routing
    # on a date before that (a clock set back, as in the tests) must still see a May closure.
    closure_create(
        service=directory["community"],
        user=UserFactory(),
        starts_at=TWO_PM - timedelta(days=30, hours=1),
        ends_at=TWO_PM - timedelta(days=29),
        reason="Staff training",
    )
    route()
    earlier, sql = route(TWO_PM - timedelta(days=30))

    assert reads_the_directory(sql)
    assert earlier.team == directory["hah"].team


def test_a_routing_days_after_the_kept_directory_sees_only_the_closures_around_it(directory):
    # A closure next week is kept from today's routing; a week on, it closes the community team.
    closure_create(
        service=directory["community"],
        user=UserFactory(),
        starts_at=TWO_PM + timedelta(days=7, hours=-1),
        ends_at=TWO_PM + timedelta(days=7, hours=3),
        reason="Staff training",
    )
    today, _ = route()
    next_week, sql = route(TWO_PM + timedelta(days=7))

    assert not reads_the_directory(sql)
    assert today.team == directory["community"].team
    assert next_week.team == directory["hah"].team
