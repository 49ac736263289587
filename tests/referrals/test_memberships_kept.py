"""A user's team memberships kept between requests (ROLES_KEPT_SECONDS, services.selectors): taken
from a real Redis, as in production, by the next request without a query; a membership added,
removed or changed, or a team renamed, by any path, seen at the very next request; a failing
Redis costs one request its wait, shared with the other users of the cache, and the database
answers."""

import logging

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from services.models import TeamMembership
from services.selectors import team_memberships_of
from spoc.accounts.models import User
from spoc.accounts.roles import Role
from tests.redis_caches import failing_redis, kept_as_in_production, redis_default_cache
from tests.referrals.factories import member
from tests.referrals.test_queue_kept import POLL, queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept_in_redis():
    with kept_as_in_production("memberships") as kept:
        yield kept


def _membership_reads(queries) -> int:
    return sum('FROM "services_teammembership"' in q["sql"] for q in queries.captured_queries)


def test_the_next_poll_takes_the_memberships_from_redis_without_a_query(
    client, make_user, team, kept_in_redis, django_assert_num_queries
):
    nurse = member(make_user, team, "nurse1")
    queued(team, 2)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    with override_settings(ROLES_KEPT_SECONDS=0), django_assert_num_queries(7) as read:
        assert client.get(url, **POLL).status_code == 200
    assert _membership_reads(read) == 1
    client.get(url, **POLL)  # keeps them, and her roles
    # The user and the queue's state: her session, roles, authenticators and teams are kept.
    with django_assert_num_queries(2) as kept:
        assert client.get(url, **{**POLL, "HTTP_X_QUEUE_VERSION": ""}).status_code == 200
    assert _membership_reads(kept) == 0


@pytest.mark.parametrize("how", ["instance", "queryset", "user"])
def test_a_member_removed_loses_the_team_at_the_next_request(
    client, make_user, team, kept_in_redis, how
):
    nurse = member(make_user, team, "nurse1")
    [referral] = queued(team)
    client.force_login(nurse)
    assert client.get(reverse("queue:referral", args=[referral.pk])).status_code == 200
    assert client.get(reverse("queue:team", args=[team.pk]), **POLL).status_code == 200
    if how == "instance":  # the admin's delete
        TeamMembership.objects.get(user=nurse, team=team).delete()
    elif how == "queryset":  # the admin's "delete selected"
        TeamMembership.objects.filter(team=team).delete()
    else:
        nurse.team_memberships.all().delete()
    assert client.get(reverse("queue:referral", args=[referral.pk])).status_code == 404
    polled = client.get(reverse("queue:team", args=[team.pk]), **POLL)
    assert 'data-testid="queue-left-team"' in polled.content.decode()


@pytest.mark.parametrize("how", ["instance", "admin"])
def test_a_membership_moved_to_another_user_is_lost_by_the_first_at_the_next_request(
    client, make_user, team, kept_in_redis, how
):
    nurse = member(make_user, team, "nurse1")
    newcomer = make_user(Role.SPECIALIST_NURSE, username="nurse2", is_clinician=True)
    [referral] = queued(team)
    nurse_client = Client()
    nurse_client.force_login(nurse)
    url = reverse("queue:referral", args=[referral.pk])
    assert nurse_client.get(url).status_code == 200  # her memberships kept
    membership = TeamMembership.objects.get(user=nurse, team=team)
    if how == "instance":
        membership.user = newcomer
        membership.save()
    else:  # the admin's change form lets a system admin pick another user
        client.force_login(make_user(Role.SYSTEM_ADMIN, username="sysadmin", is_staff=True))
        change = reverse("admin:services_teammembership_change", args=[membership.pk])
        answer = client.post(change, {"user": newcomer.pk, "team": team.pk, "role": "MEMBER"})
        assert answer.status_code == 302
    assert TeamMembership.objects.get(pk=membership.pk).user_id == newcomer.pk
    assert nurse_client.get(url).status_code == 404


def test_a_user_saved_as_read_before_a_change_of_teams_does_not_bring_it_back(
    client, make_user, team, kept_in_redis
):
    """Two admins at once: one removes the nurse from the team while the other's form, read
    before it, saves her name. The save writes every column but her epochs."""
    nurse = member(make_user, team, "nurse1")
    [referral] = queued(team)
    client.force_login(nurse)
    url = reverse("queue:referral", args=[referral.pk])
    assert client.get(url).status_code == 200  # her memberships kept
    as_read = User.objects.get(pk=nurse.pk)
    TeamMembership.objects.get(user=nurse, team=team).delete()
    as_read.first_name = "Siân"
    as_read.save()
    assert User.objects.get(pk=nurse.pk).first_name == "Siân"
    assert client.get(url).status_code == 404


def test_a_member_added_or_made_lead_is_seen_at_the_next_request(
    client, make_user, team, other_team, kept_in_redis
):
    nurse = member(make_user, team, "nurse1")
    client.force_login(nurse)
    assert client.get(reverse("queue:team", args=[other_team.pk])).status_code == 404
    assert client.get(reverse("queue:team", args=[team.pk])).status_code == 200
    TeamMembership.objects.create(user=nurse, team=other_team)
    assert client.get(reverse("queue:team", args=[other_team.pk])).status_code == 200
    membership = TeamMembership.objects.get(user=nurse, team=team)
    membership.role = TeamMembership.Role.LEAD
    membership.save()
    page = client.get(reverse("queue:team", args=[team.pk]))
    request_user = page.wsgi_request.user
    assert (team.pk, TeamMembership.Role.LEAD) in team_memberships_of(user=request_user)


def test_a_team_renamed_is_shown_by_its_new_name_at_the_next_request(
    client, make_user, team, kept_in_redis
):
    nurse = member(make_user, team, "nurse1")
    client.force_login(nurse)
    assert team.name in client.get(reverse("queue:team", args=[team.pk])).content.decode()
    team.name = "Riverside Night Service"
    team.save()
    assert (
        "Riverside Night Service"
        in client.get(reverse("queue:team", args=[team.pk])).content.decode()
    )


def test_teams_epoch_is_raised_by_each_write_only_for_those_concerned(make_user, team, other_team):
    nurse = member(make_user, team, "nurse1")
    other = member(make_user, other_team, "nurse2")
    team.name = "Renamed"
    team.save()
    TeamMembership.objects.create(user=nurse, team=other_team)
    epochs = dict(User.objects.filter(pk__in=[nurse.pk, other.pk]).values_list("pk", "teams_epoch"))
    # The nurse: her membership, the rename of her team, the new membership; the other: her own.
    assert epochs == {nurse.pk: 3, other.pk: 1}


@pytest.mark.parametrize("fault", ["stalled", "refused"])
def test_a_cache_that_fails_costs_one_request_and_the_database_answers(
    client, make_user, team, fault, caplog
):
    nurse = member(make_user, team, "nurse1")
    queued(team, 2)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    with (
        failing_redis(fault) as stalled,
        override_settings(
            CACHES=redis_default_cache(stalled.location, "m"),
            ROLES_KEPT_SECONDS=600,
            SESSION_KEPT_SECONDS=300,
        ),
        caplog.at_level(logging.WARNING),
    ):
        pages = [client.get(url) for _ in range(3)]
        offered = len(stalled.accepted)
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert all(team.name in page.content.decode() for page in pages)
    # The first user of the default cache to fail (the session) logs it; it then rests for all.
    assert caplog.text.count("unreachable") == 1
    if fault == "stalled":
        assert offered == 1
