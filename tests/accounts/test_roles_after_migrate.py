"""A new installation's roles: `manage.py migrate` makes every role's group with exactly its
permissions (spoc/accounts/roles.py roles_sync_after_migrate), with nothing else to run first.
The demo data and the test fixtures make the roles themselves, so only a migrate on its own shows
whether a real installation gets them."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from spoc.accounts.roles import ROLE_PERMISSIONS, Role

pytestmark = pytest.mark.django_db


def _permissions_of(group: Group) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_migrate_makes_every_role_with_exactly_its_permissions():
    Group.objects.all().delete()
    nurse_only = Group.objects.create(name=Role.SPECIALIST_NURSE)
    # A permission a role must not have, left on its group by hand: migrate takes it away.
    nurse_only.permissions.add(Permission.objects.get(codename="delete_user"))

    call_command("migrate", verbosity=0, interactive=False)

    groups = {group.name: group for group in Group.objects.all()}
    assert set(groups) == {role.value for role in Role}
    for role, permissions in ROLE_PERMISSIONS.items():
        assert _permissions_of(groups[role]) == set(permissions), role
