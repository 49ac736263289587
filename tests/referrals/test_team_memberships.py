"""A request reads its user's teams once (services.selectors.team_memberships_of): the selectors
that decide what a page shows ask for them again and again."""

import pytest
from django.http import HttpRequest, HttpResponse

from services.models import TeamMembership
from services.selectors import team_memberships_of
from spoc.audit.context import AccessContextMiddleware
from tests.referrals.factories import member

pytestmark = pytest.mark.django_db


def test_a_request_reads_its_users_teams_once(make_user, team, rf, django_assert_num_queries):
    nurse = member(make_user, team, "nurse1", lead=True)
    request = rf.get("/")
    request.user = nurse

    def view(request: HttpRequest) -> HttpResponse:
        with django_assert_num_queries(1):
            first = team_memberships_of(user=nurse)
            assert team_memberships_of(user=nurse) == first
        assert first == [(team.pk, TeamMembership.Role.LEAD)]
        return HttpResponse()

    AccessContextMiddleware(view)(request)


def test_outside_a_request_every_call_reads_afresh(make_user, team, django_assert_num_queries):
    nurse = member(make_user, team, "nurse1")
    with django_assert_num_queries(1):
        assert team_memberships_of(user=nurse) == [(team.pk, TeamMembership.Role.MEMBER)]
    TeamMembership.objects.filter(user=nurse).delete()
    assert team_memberships_of(user=nurse) == []


def test_another_users_teams_are_not_taken_from_the_request(make_user, team, rf):
    nurse = member(make_user, team, "nurse1")
    other = make_user(username="other1")
    request = rf.get("/")
    request.user = nurse

    def view(request: HttpRequest) -> HttpResponse:
        assert team_memberships_of(user=nurse) == [(team.pk, TeamMembership.Role.MEMBER)]
        assert team_memberships_of(user=other) == []
        return HttpResponse()

    AccessContextMiddleware(view)(request)
