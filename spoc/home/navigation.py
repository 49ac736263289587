"""The navigation each user sees: only what exists and what they may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    # Shown to users with any of these permissions; empty: every signed-in user.
    permissions: tuple[str, ...]
    description: str

    @property
    def url(self) -> str:
        return reverse(self.url_name)


# Later capabilities add their entries here, in the order they should appear.
NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("New call", "calls:new", ("accounts.take_calls",),
            "Log and triage a call; the needs you choose become referrals routed to a team."),
    NavItem("Team queue", "queue:mine", ("accounts.work_team_queue",),
            "Your team's referrals, most at risk first: claim, contact, complete."),
    NavItem("Patients", "patients:search", ("accounts.take_calls", "accounts.coordinate",
                                            "accounts.work_team_queue", "accounts.view_dashboards"),
            "Find a patient by NHS number, name, date of birth or postcode."),
    NavItem("Call-backs", "calls:call-backs", ("accounts.take_calls",),
            "Call-backs due, oldest first."),
    NavItem("Senior review", "calls:reviews", ("accounts.coordinate",),
            "Advice given by non-clinical call handlers, to review within 24 hours."),
    NavItem("Service directory", "services:search", (),
            "Which partner service can help, where and when: ranked by who can meet the deadline."),
    NavItem("Access log", "audit:access-log", ("accounts.audit_access",),
            "Who viewed or changed which record, when and why; break-glass reviews; CSV export."),
    NavItem("Users and roles", "admin:index", ("accounts.manage_users",),
            "Create users, set roles and memberships, reset two-factor authentication."),
    NavItem("API documentation", "api-docs", (),
            "The hub's REST API, for partner systems."),
)


def navigation_for(user: Any) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    perms = user.get_all_permissions()
    return [item for item in NAV_ITEMS if not item.permissions or perms.intersection(item.permissions)]
