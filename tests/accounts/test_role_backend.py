"""A user's roles, their roles' permissions and the permissions given to them directly are read in
one query per request (spoc/accounts/backends.py RoleBackend, spoc/accounts/roles.py
groups_load), and answer exactly as Django's ModelBackend does."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from spoc.accounts.models import User
from spoc.accounts.roles import Role, roles_of

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    """The user as a new request loads it: nothing cached on the object."""
    return User.objects.get(pk=user.pk)


def test_roles_their_permissions_and_direct_permissions_cost_one_query(
    make_user, django_assert_num_queries
):
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse1")
    direct = Permission.objects.get(codename="view_accesslog", content_type__app_label="audit")
    nurse.user_permissions.add(direct)
    user = _fresh(nurse)
    with django_assert_num_queries(1):
        roles = roles_of(user)
        permissions = user.get_all_permissions()
        own = user.get_user_permissions()
        assert user.has_perm("audit.view_accesslog")
    assert roles == [Role.SPECIALIST_NURSE.value]
    assert own == {"audit.view_accesslog"}
    # Exactly what Django's own backend reads in three queries.
    django = ModelBackend()
    reference = _fresh(nurse)
    assert own == django.get_user_permissions(reference)
    assert permissions == django.get_all_permissions(reference)
    assert "audit.view_accesslog" not in django.get_group_permissions(reference)


def test_a_user_with_no_role_and_no_permission_has_none(make_user, django_assert_num_queries):
    user = _fresh(make_user(None, username="nobody"))
    with django_assert_num_queries(1):
        assert roles_of(user) == []
        assert user.get_all_permissions() == set()
        assert not user.has_perm("audit.view_accesslog")


def test_a_direct_permission_alone_is_honoured_and_is_no_role(make_user):
    user = make_user(None, username="auditor-ish")
    user.user_permissions.add(
        Permission.objects.get(codename="view_accesslog", content_type__app_label="audit")
    )
    user = _fresh(user)
    assert user.has_perm("audit.view_accesslog")
    assert roles_of(user) == []


def test_a_direct_permission_removed_is_gone_from_the_next_request(make_user):
    user = make_user(Role.CALL_HANDLER, username="handler1")
    permission = Permission.objects.get(codename="view_accesslog", content_type__app_label="audit")
    user.user_permissions.add(permission)
    assert _fresh(user).has_perm("audit.view_accesslog")
    user.user_permissions.remove(permission)
    assert not _fresh(user).has_perm("audit.view_accesslog")


def test_an_inactive_user_has_no_permission_of_either_kind(make_user):
    user = make_user(Role.SPECIALIST_NURSE, username="left1")
    user.user_permissions.add(
        Permission.objects.get(codename="view_accesslog", content_type__app_label="audit")
    )
    user.is_active = False
    user.save()
    user = _fresh(user)
    assert user.get_all_permissions() == set()
    assert not user.has_perm("audit.view_accesslog")
