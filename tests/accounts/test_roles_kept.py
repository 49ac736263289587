"""A user's roles and permissions kept between requests (ROLES_KEPT_SECONDS, spoc/accounts/roles.py):
taken from the cache, in a real Redis as in production, by the next request of any process; a
change of roles, through the hub's service or directly, read at once; a failing cache costs one
request its wait and the database answers."""

import logging

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse

from spoc.accounts.models import User
from spoc.accounts.roles import Role, _roles_key, roles_of
from spoc.accounts.services import user_roles_set
from tests.redis_caches import failing_redis, redis_default_cache, suite_redis

pytestmark = pytest.mark.django_db

AUDIT = "audit.view_accesslog"


@pytest.fixture
def kept_in_redis():
    """ROLES_KEPT_SECONDS as in production, the default cache in the suite's Redis under a
    prefix of its own (emptied afterwards); yields that Redis and the prefix."""
    with suite_redis("roles", ROLES_KEPT_SECONDS=600) as kept:
        yield kept


def _fresh(user: User) -> User:
    """The user as a new request of any process loads it: nothing cached on the object."""
    return User.objects.get(pk=user.pk)


def test_the_next_request_takes_the_roles_from_redis_without_a_query(
    make_user, kept_in_redis, django_assert_num_queries
):
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse1")
    first = _fresh(nurse)
    with django_assert_num_queries(1):
        assert roles_of(first) == [Role.SPECIALIST_NURSE.value]
    server, prefix = kept_in_redis
    assert len(list(server.scan_iter(f"{prefix}:*"))) == 1
    later = _fresh(nurse)
    with django_assert_num_queries(0):
        assert roles_of(later) == [Role.SPECIALIST_NURSE.value]
        assert later.has_perm("accounts.work_team_queue")
        assert not later.has_perm(AUDIT)


def test_a_page_asks_no_query_for_the_roles_once_they_are_kept(
    client, make_user, kept_in_redis, django_assert_num_queries
):
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    client.force_login(handler)
    with override_settings(ROLES_KEPT_SECONDS=0), django_assert_num_queries(6) as read:
        assert client.get(reverse("home")).status_code == 200
    assert any("auth_group" in query["sql"] for query in read.captured_queries)
    client.get(reverse("home"))  # keeps them
    # Two fewer: the roles, and whether she has an authenticator (tests/accounts/test_devices_kept.py).
    with django_assert_num_queries(4) as kept:
        assert client.get(reverse("home")).status_code == 200
    assert not any("auth_group" in query["sql"] for query in kept.captured_queries)


def test_roles_changed_by_the_service_are_read_at_the_next_request(
    client, make_user, kept_in_redis
):
    admin = make_user(Role.SYSTEM_ADMIN, username="admin1")
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse1")
    assert _fresh(nurse).has_perm("accounts.work_team_queue")
    assert _fresh(nurse).has_perm("accounts.work_team_queue")  # now kept
    user_roles_set(user=_fresh(nurse), roles=[Role.CALL_HANDLER], by=admin)
    changed = _fresh(nurse)
    assert roles_of(changed) == [Role.CALL_HANDLER.value]
    assert not changed.has_perm("accounts.work_team_queue")


@pytest.mark.parametrize("side", ["user", "group", "permission", "cleared"])
def test_groups_or_permissions_changed_directly_are_read_at_the_next_request(
    make_user, kept_in_redis, side
):
    user = make_user(Role.CALL_HANDLER, username="handler1")
    permission = Permission.objects.get(codename="view_accesslog", content_type__app_label="audit")
    user.user_permissions.add(permission)
    assert _fresh(user).has_perm(AUDIT) and roles_of(_fresh(user)) == [Role.CALL_HANDLER.value]
    group = Group.objects.get(name=Role.CALL_HANDLER)
    if side == "user":
        user.user_permissions.remove(permission)
        user.groups.remove(group)
    elif side == "group":
        permission.user_set.remove(user)
        group.user_set.remove(user)
    elif side == "permission":
        Permission.objects.get(pk=permission.pk).user_set.remove(user)
        Group.objects.get(pk=group.pk).user_set.remove(user)
    else:
        user.user_permissions.clear()
        group.user_set.clear()
    assert not _fresh(user).has_perm(AUDIT)
    assert roles_of(_fresh(user)) == []


def test_roles_kept_by_a_request_while_a_change_commits_are_dropped_when_it_has(
    make_user, kept_in_redis, django_capture_on_commit_callbacks
):
    user = make_user(Role.CALL_HANDLER, username="handler1")
    assert _fresh(user).has_perm("accounts.take_calls")
    key = _roles_key(user)
    before = caches["default"].get(key)
    assert before is not None
    with django_capture_on_commit_callbacks() as on_commit:
        user.groups.clear()
        # Another request, before the change commits, reads the roles as they were and keeps them.
        caches["default"].set(key, before, 600)
    assert _fresh(user).has_perm("accounts.take_calls")
    for callback in on_commit:
        callback()
    assert not _fresh(user).has_perm("accounts.take_calls")


@pytest.mark.parametrize("fault", ["stalled", "refused"])
def test_a_roles_cache_that_fails_costs_one_request_and_the_database_answers(
    client, make_user, fault, caplog
):
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    client.force_login(handler)
    with (
        failing_redis(fault) as stalled,
        override_settings(
            CACHES=redis_default_cache(stalled.location, "r"), ROLES_KEPT_SECONDS=600
        ),
        caplog.at_level(logging.WARNING),
    ):
        pages = [client.get(reverse("home")) for _ in range(3)]
        offered = len(stalled.accepted)
    assert [page.status_code for page in pages] == [200, 200, 200]
    # The handler's own navigation: her roles were read, from the database.
    assert all(reverse("calls:new") in page.content.decode() for page in pages)
    # The first user of the default cache to fail (her authenticators) logs it; it then rests
    # for all.
    assert caplog.text.count("unreachable") == 1
    if fault == "stalled":
        # One connection, by the first page; the cache then rests, and nothing more is sent.
        assert offered == 1
