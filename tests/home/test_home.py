import pytest
from django.urls import reverse

from spoc.accounts.roles import Role

pytestmark = pytest.mark.django_db

# What each role finds in its navigation today (later capabilities add entries).
EXPECTED_NAV = {
    Role.CALL_HANDLER: [
        "New call",
        "Patients",
        "Call-backs",
        "Missed calls",
        "Duty rota",
        "Service directory",
        "API documentation",
    ],
    Role.SPECIALIST_NURSE: [
        "Team queue",
        "Patients",
        "Duty rota",
        "Service directory",
        "API documentation",
    ],
    Role.TEAM_LEAD: [
        "Team queue",
        "Patients",
        "Dashboard",
        "Duty rota",
        "Service directory",
        "API documentation",
    ],
    Role.SPOC_COORDINATOR: [
        "New call",
        "Team queue",
        "Patients",
        "Call-backs",
        "Missed calls",
        "Coordinator board",
        "Follow-ups",
        "Senior review",
        "Duty rota",
        "Service directory",
        "API documentation",
    ],
    Role.MANAGER: ["Patients", "Dashboard", "Duty rota", "Service directory", "API documentation"],
    Role.DIRECTORY_ADMIN: ["Service directory", "API documentation"],
    Role.AUDITOR: ["Service directory", "Access log", "API documentation"],
    Role.SYSTEM_ADMIN: ["Service directory", "Users and roles", "API documentation"],
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_home_page_and_only_its_navigation(
    client, make_user, role, django_assert_max_num_queries
):
    user = make_user(role, first_name="Siân", last_name="O'Brien")
    client.force_login(user)
    # 10: a coordinator's page counts the call-backs due and the follow-ups to confirm for the
    # navigation (one query each). 4 fewer than before: the session is no longer saved on every
    # page (3: savepoint, update, release) and the roles come with the permissions (1).
    with django_assert_max_num_queries(10):
        response = client.get(reverse("home"))
    assert response.status_code == 200
    assert [item.label for item in response.context["nav_items"]] == EXPECTED_NAV[role]
    content = response.content.decode()
    assert role.value in content
    assert "O&#x27;BRIEN, Siân" in content


@pytest.mark.parametrize("role", [r for r in Role if r != Role.SYSTEM_ADMIN])
def test_django_admin_is_for_system_admins_only(client, make_user, role):
    client.force_login(make_user(role, is_staff=True))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_system_admin_manages_users_in_django_admin(client, make_user):
    client.force_login(make_user(Role.SYSTEM_ADMIN, is_staff=True))
    assert client.get("/admin/accounts/user/").status_code == 200


def test_names_with_script_tags_are_shown_as_text(client, make_user):
    user = make_user(Role.MANAGER, first_name="<script>alert(1)</script>", last_name="Nguyễn")
    client.force_login(user)
    content = client.get(reverse("home")).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "NGUYỄN" in content


def test_system_admin_can_clear_a_lock_out(client, make_user):
    client.force_login(make_user(Role.SYSTEM_ADMIN, is_staff=True))
    assert client.get("/admin/axes/accessattempt/").status_code == 200
