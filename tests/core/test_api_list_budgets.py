"""Every list of the API (`/api/v1/`, and the FHIR searches of referrals) costs the same number of queries with many rows as with
one (docs/performance.md, "API lists"): nothing is loaded row by row, and no list counts
everything the user may see. Each is measured with a handful of rows, then with many, as a
fresh user object (so that no permission read is cached from the first request)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import CallFollowUp
from patients.codes import Relationship
from patients.models import RelatedPerson
from referrals.transitions import ReferralStatus
from spoc.accounts.models import User
from spoc.accounts.roles import Role
from tests.clients import api_client
from tests.factories import TeamFactory
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory, member

pytestmark = pytest.mark.django_db


def _queries(user: User, url: str, params: dict[str, str]) -> int:
    fresh = User.objects.get(pk=user.pk)
    client = api_client(fresh)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def _referrals(team: Any, n: int) -> None:
    for _ in range(n):
        patient = PatientFactory()
        carer = RelatedPerson.objects.create(
            patient=patient,
            given_name="Ann",
            family_name="Carer",
            relationship=Relationship.SPOUSE_PARTNER,
            phone="+447700900123",
            created_at=timezone.now(),
        )
        ReferralFactory(
            call__patient=patient,
            patient=patient,
            team=team,
            status=ReferralStatus.ACCEPTED,
            owner=member_of(team),
            for_person=carer,
        )


def member_of(team: Any) -> User:
    return team.memberships.first().user


def _follow_ups(_team: Any, n: int) -> None:
    for _ in range(n):
        CallFollowUp.objects.create(
            call=CallFactory(), due_at=timezone.now() + timedelta(minutes=30)
        )


def _teams(_team: Any, n: int) -> None:
    TeamFactory.create_batch(n)


def _patients(_team: Any, n: int) -> None:
    PatientFactory.create_batch(n, family_name="Budget")


LISTS: list[tuple[str, str, dict[str, str], Callable[[Any, int], None], int]] = [
    # Permissions (2), the page, the access-log row.
    ("handler", "/api/v1/referrals/", {}, _referrals, 4),
    # Permissions (2), the user's teams, the page, the access-log row.
    ("nurse", "/api/v1/referrals/", {}, _referrals, 5),
    ("handler", "/api/v1/referrals/", {"status": "ACCEPTED"}, _referrals, 4),
    # Permissions (2), the search (25 at most), the access-log row. The search's two queries:
    # no family name starts with "udge", so the names holding it are asked too.
    ("handler", "/api/v1/patients/", {"q": "udge"}, _patients, 5),
    # Permissions (2), the follow-ups, the access-log row.
    ("coordinator", "/api/v1/calls/follow-ups/", {}, _follow_ups, 4),
    # Permissions (2), the teams.
    ("handler", "/api/v1/teams/", {}, _teams, 3),
    # Permissions (2), the services, then their areas, hours, closures and sites.
    ("handler", "/api/v1/services/", {}, _teams, 7),
    # The FHIR searches read referrals through the same selector: permissions (2), the total,
    # the page, the access-log row.
    ("handler", "/fhir/R4/ServiceRequest", {}, _referrals, 5),
    ("nurse", "/fhir/R4/Task", {}, _referrals, 6),
]


@pytest.mark.parametrize(("role", "url", "params", "grow", "budget"), LISTS)
def test_an_api_list_costs_the_same_queries_with_many_rows_as_with_few(
    make_user, role, url, params, grow, budget
):
    team = TeamFactory()
    nurse = member(make_user, team, "nurse-budget")
    users = {
        "handler": make_user(Role.CALL_HANDLER, username="handler-budget"),
        "coordinator": make_user(Role.SPOC_COORDINATOR, username="coord-budget"),
        "nurse": nurse,
    }
    grow(team, 2)
    few = _queries(users[role], url, params)
    grow(team, 30)
    many = _queries(users[role], url, params)
    assert many == few and many <= budget, (few, many)
