"""The navigation each user sees: only what exists and what they may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None  # None: every signed-in user
    description: str

    @property
    def url(self) -> str:
        return reverse(self.url_name)


# Later capabilities add their entries here, in the order they should appear.
NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Service directory", "services:search", None,
            "Which partner service can help, where and when: ranked by who can meet the deadline."),
    NavItem("Access log", "audit:access-log", "accounts.audit_access",
            "Who viewed or changed which record, when and why; break-glass reviews; CSV export."),
    NavItem("Users and roles", "admin:index", "accounts.manage_users",
            "Create users, set roles and memberships, reset two-factor authentication."),
    NavItem("API documentation", "api-docs", None,
            "The hub's REST API, for partner systems."),
)


def navigation_for(user: Any) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    perms = user.get_all_permissions()
    return [item for item in NAV_ITEMS if item.permission is None or item.permission in perms]
