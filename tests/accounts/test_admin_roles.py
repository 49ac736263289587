"""Nobody promotes themselves (docs/security.md): the user admin, the group admin and the role
service behind them (spoc.accounts.services.user_roles_set)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

from spoc.accounts.models import ApiToken, User
from spoc.accounts.roles import ROLE_PERMISSIONS, Role
from spoc.accounts.services import RoleChangeRefused, user_roles_set
from spoc.audit.models import AccessLog
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def sysadmin(make_user):
    return make_user(Role.SYSTEM_ADMIN, username="sysadmin1", is_staff=True)


@pytest.fixture
def nurse(make_user):
    return make_user(Role.SPECIALIST_NURSE, username="nurse1", is_clinician=True)


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def form_for(user, **overrides):
    """The user's change form as the admin page posts it (ticked boxes only)."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "groups": [g.pk for g in user.groups.all()],
    }
    for flag in ("is_active", "is_staff", "is_clinician"):
        if getattr(user, flag):
            data[flag] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def group(role):
    return Group.objects.get(name=role)


def token_for(username):
    api = APIClient()
    key = api.post(
        "/api/v1/auth/token/", {"username": username, "password": TEST_PASSWORD}, format="json"
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


# --- On one's own account ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "attempt",
    [
        {"is_superuser": "on"},
        {"groups": "coordinator"},
        {"user_permissions": "view_patient"},
        {"is_superuser": "on", "groups": "coordinator"},
    ],
)
def test_system_admin_cannot_promote_themself_in_the_admin(client, sysadmin, attempt):
    extra = dict(attempt)
    if "groups" in extra:
        extra["groups"] = [group(Role.SYSTEM_ADMIN).pk, group(Role.SPOC_COORDINATOR).pk]
    if "user_permissions" in extra:
        extra["user_permissions"] = [Permission.objects.get(codename="coordinate").pk]
    client.force_login(sysadmin)
    response = client.post(change_url(sysadmin), form_for(sysadmin, **extra))
    assert response.status_code == 403
    assert "You cannot change your own roles" in response.content.decode()
    sysadmin.refresh_from_db()
    assert not sysadmin.is_superuser
    assert [g.name for g in sysadmin.groups.all()] == [Role.SYSTEM_ADMIN]
    assert not sysadmin.user_permissions.exists()
    assert not AccessLog.objects.filter(action=AccessLog.Action.ROLE_GRANT).exists()
    # Still no patient: the coordinator's "see everyone" never arrived.
    assert not User.objects.get(pk=sysadmin.pk).has_perm("accounts.coordinate")


def test_own_page_shows_roles_read_only_and_still_saves_a_name(client, sysadmin):
    client.force_login(sysadmin)
    page = client.get(change_url(sysadmin))
    assert page.status_code == 200
    form_fields = page.context["adminform"].form.fields
    for name in ("groups", "is_superuser", "user_permissions", "is_staff", "is_active"):
        assert name not in form_fields
    response = client.post(
        change_url(sysadmin),
        form_for(sysadmin, first_name="Joan", groups=None, is_active=None, is_staff=None),
    )
    assert response.status_code == 302
    sysadmin.refresh_from_db()
    assert sysadmin.first_name == "Joan" and sysadmin.is_active and sysadmin.is_staff
    assert [g.name for g in sysadmin.groups.all()] == [Role.SYSTEM_ADMIN]


# --- On someone else's account ----------------------------------------------------------------


def test_granting_a_role_is_logged_with_both_names_and_ends_the_users_token(
    client, sysadmin, nurse
):
    api = token_for("nurse1")
    assert api.get("/api/v1/me/").status_code == 200
    client.force_login(sysadmin)
    response = client.post(
        change_url(nurse),
        form_for(nurse, groups=[group(Role.SPECIALIST_NURSE).pk, group(Role.TEAM_LEAD).pk]),
    )
    assert response.status_code == 302
    assert {g.name for g in nurse.groups.all()} == {Role.SPECIALIST_NURSE, Role.TEAM_LEAD}
    row = AccessLog.objects.get(action=AccessLog.Action.ROLE_GRANT)
    assert row.user == sysadmin and row.username == "sysadmin1"
    assert row.object_type == "user" and row.object_id == str(nurse.pk)
    assert row.detail == {"role": Role.TEAM_LEAD, "subject": "nurse1"}
    assert not ApiToken.objects.filter(user=nurse).exists()
    assert api.get("/api/v1/me/").status_code == 401
    assert AccessLog.objects.filter(
        action=AccessLog.Action.CREDENTIALS_REVOKED, object_id=str(nurse.pk)
    ).exists()


def test_removing_a_role_is_logged_and_ends_the_users_sessions(client, sysadmin, nurse):
    nurse_browser = client.__class__()
    nurse_browser.force_login(nurse)
    assert nurse_browser.get(reverse("home")).status_code == 200
    client.force_login(sysadmin)
    assert client.post(change_url(nurse), form_for(nurse, groups=[])).status_code == 302
    row = AccessLog.objects.get(action=AccessLog.Action.ROLE_REVOKE)
    assert (row.user, row.object_id, row.detail["role"]) == (
        sysadmin,
        str(nurse.pk),
        Role.SPECIALIST_NURSE,
    )
    assert nurse_browser.get(reverse("home")).status_code == 302  # back to the sign-in page


def test_saving_without_a_role_change_logs_and_revokes_nothing(client, sysadmin, nurse):
    client.force_login(sysadmin)
    assert client.post(change_url(nurse), form_for(nurse, last_name="Okafor")).status_code == 302
    assert not AccessLog.objects.filter(
        action__in=[
            AccessLog.Action.ROLE_GRANT,
            AccessLog.Action.ROLE_REVOKE,
            AccessLog.Action.CREDENTIALS_REVOKED,
        ]
    ).exists()


def test_deactivating_a_user_ends_their_token(client, sysadmin, nurse):
    api = token_for("nurse1")
    client.force_login(sysadmin)
    assert client.post(change_url(nurse), form_for(nurse, is_active=None)).status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert not ApiToken.objects.filter(user=nurse).exists()
    assert api.get("/api/v1/me/").status_code == 401
    assert AccessLog.objects.filter(
        action=AccessLog.Action.CREDENTIALS_REVOKED, object_id=str(nurse.pk)
    ).exists()


def test_setting_a_password_in_the_admin_ends_the_users_token(client, sysadmin, nurse):
    api = token_for("nurse1")
    client.force_login(sysadmin)
    url = reverse("admin:auth_user_password_change", args=[nurse.pk])
    response = client.post(
        url,
        {"usable_password": "true", "password1": "x-new-Passw0rd!", "password2": "x-new-Passw0rd!"},
    )
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.check_password("x-new-Passw0rd!")
    assert api.get("/api/v1/me/").status_code == 401
    assert client.get(reverse("admin:index")).status_code == 200  # the admin's own session goes on


@pytest.mark.parametrize("field", ["is_superuser", "user_permissions"])
def test_superuser_status_and_permissions_are_never_set_in_the_admin(
    client, sysadmin, nurse, field
):
    client.force_login(sysadmin)
    value = "on" if field == "is_superuser" else [Permission.objects.get(codename="coordinate").pk]
    response = client.post(change_url(nurse), form_for(nurse, **{field: value}))
    assert response.status_code == 403
    assert "not set in the admin" in response.content.decode()
    nurse.refresh_from_db()
    assert not nurse.is_superuser and not nurse.user_permissions.exists()


def test_a_superusers_account_and_password_are_not_changed_by_a_system_admin(
    client, sysadmin, make_user
):
    root = make_user(None, username="root", is_superuser=True, is_staff=True)
    client.force_login(sysadmin)
    response = client.post(change_url(root), form_for(root, groups=[group(Role.SYSTEM_ADMIN).pk]))
    assert response.status_code == 403
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    assert (
        client.post(
            password, {"password1": "x-new-Passw0rd!", "password2": "x-new-Passw0rd!"}
        ).status_code
        == 403
    )
    root.refresh_from_db()
    assert root.check_password(TEST_PASSWORD) and not root.groups.exists()


def test_the_user_page_links_to_the_two_factor_reset(client, sysadmin, nurse):
    client.force_login(sysadmin)
    content = client.get(change_url(nurse)).content.decode()
    try:
        url = reverse("mfa-reset", kwargs={"user_id": nurse.pk})
    except NoReverseMatch:
        assert "two-factor reset page" in content
    else:
        assert f'href="{url}"' in content


# --- Groups and devices -----------------------------------------------------------------------


def test_groups_cannot_be_added_or_changed_in_the_admin_even_by_a_superuser(client, make_user):
    root = make_user(None, username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    coordinator = group(Role.SPOC_COORDINATOR)
    assert client.get(reverse("admin:auth_group_add")).status_code == 403
    response = client.post(
        reverse("admin:auth_group_change", args=[coordinator.pk]),
        {"name": "Coordinator", "permissions": []},
    )
    assert response.status_code == 403
    coordinator.refresh_from_db()
    assert coordinator.name == Role.SPOC_COORDINATOR and coordinator.permissions.exists()


def test_system_admins_no_longer_delete_authenticators(client, sysadmin, nurse):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    assert "otp_totp.delete_totpdevice" not in ROLE_PERMISSIONS[Role.SYSTEM_ADMIN]
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    client.force_login(sysadmin)
    response = client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


# --- The service ------------------------------------------------------------------------------


def test_the_service_refuses_ones_own_roles(sysadmin):
    with pytest.raises(RoleChangeRefused):
        user_roles_set(user=sysadmin, roles=[Role.SYSTEM_ADMIN, Role.SPOC_COORDINATOR], by=sysadmin)
    assert [g.name for g in sysadmin.groups.all()] == [Role.SYSTEM_ADMIN]


def test_the_service_refuses_anyone_without_manage_users(make_user, nurse):
    lead = make_user(Role.TEAM_LEAD, username="lead1")
    with pytest.raises(RoleChangeRefused):
        user_roles_set(user=nurse, roles=[Role.SPOC_COORDINATOR], by=lead)
    assert [g.name for g in nurse.groups.all()] == [Role.SPECIALIST_NURSE]


def test_the_service_refuses_an_unknown_role(sysadmin, nurse):
    with pytest.raises(ValidationError):
        user_roles_set(user=nurse, roles=["Emperor"], by=sysadmin)
    assert not AccessLog.objects.filter(action=AccessLog.Action.ROLE_GRANT).exists()


def test_the_service_logs_every_role_granted_and_removed(sysadmin, nurse):
    granted, removed = user_roles_set(user=nurse, roles=[Role.TEAM_LEAD, Role.AUDITOR], by=sysadmin)
    assert (granted, removed) == ([Role.AUDITOR, Role.TEAM_LEAD], [Role.SPECIALIST_NURSE])
    rows = AccessLog.objects.filter(
        action__in=[AccessLog.Action.ROLE_GRANT, AccessLog.Action.ROLE_REVOKE]
    )
    assert sorted((r.action, r.detail["role"]) for r in rows) == [
        ("ROLE_GRANT", Role.AUDITOR),
        ("ROLE_GRANT", Role.TEAM_LEAD),
        ("ROLE_REVOKE", Role.SPECIALIST_NURSE),
    ]
    assert AccessLog.objects.filter(action=AccessLog.Action.CREDENTIALS_REVOKED).count() == 1
