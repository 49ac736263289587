"""Demo staff: one user per role (fictional people)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group

from spoc.accounts.models import User
from spoc.accounts.roles import Role, roles_sync


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    is_clinician: bool = False
    cpr: bool = False
    # Where an urgent alert reaches them off shift (Ofcom's drama range: it rings no one).
    work_mobile: str = ""
    # The phone system's extension they answer on (docs/telephony.md, "The screen pop").
    phone_extension: str = ""


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("handler", "Aisha", "Okafor", Role.CALL_HANDLER, phone_extension="2001"),
    DemoUser("nurse", "Siân", "Pritchard", Role.SPECIALIST_NURSE, is_clinician=True),
    DemoUser(
        "lead",
        "Declan",
        "O'Brien",
        Role.TEAM_LEAD,
        is_clinician=True,
        cpr=True,
        work_mobile="+447700900201",
    ),
    DemoUser(
        "coordinator",
        "Mai",
        "Nguyễn",
        Role.SPOC_COORDINATOR,
        is_clinician=True,
        cpr=True,
        phone_extension="2002",
    ),
    DemoUser("manager", "Priya", "Raman", Role.MANAGER),
    DemoUser("diradmin", "Tom", "Hughes", Role.DIRECTORY_ADMIN),
    DemoUser("auditor", "Grace", "Adeyemi", Role.AUDITOR),
    DemoUser("admin", "Zoë-Ann", "Whitfield", Role.SYSTEM_ADMIN),
)


def demo_login_lines() -> list[str]:
    """One line per demo user, its username and role, as ``seed_demo`` and ``demo_logins`` list them."""
    return [f"  {user.username:<12} {user.role}" for user in DEMO_USERS]


def seed_users(*, password: str) -> dict[str, User]:
    """Create or reset the demo users; running it twice changes nothing."""
    from django.contrib.auth.models import Permission

    roles_sync()
    cpr = Permission.objects.get(content_type__app_label="accounts", codename="record_cpr_decision")
    users: dict[str, User] = {}
    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "is_clinician": spec.is_clinician,
                "is_staff": spec.role == Role.SYSTEM_ADMIN,
                "email": f"{spec.username}@spoc-hub.example",
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        if spec.work_mobile and not user.work_mobile:
            user.work_mobile = spec.work_mobile
            user.save(update_fields=["work_mobile"])
        if spec.phone_extension and not user.phone_extension:
            user.phone_extension = spec.phone_extension
            user.save(update_fields=["phone_extension"])
        user.groups.set([Group.objects.get(name=spec.role)])
        if spec.cpr:
            user.user_permissions.add(cpr)
        users[spec.username] = user
    return users
