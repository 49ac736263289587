"""The navigation each user sees: only what exists and what they may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.urls import reverse
from django.utils import timezone

from calls.selectors import call_backs_due_count, follow_ups_due_count
from referrals.selectors.queue import queued_count_for


@dataclass(frozen=True)
class Badge:
    """A navigation count and what it counts, for the text beside it: ``3 waiting``."""

    count: int
    words: str = "waiting"

    @property
    def summary(self) -> str:
        return f"{self.count} {self.words}"


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    # Shown to users with any of these permissions; empty: every signed-in user.
    permissions: tuple[str, ...]
    description: str
    # A count shown next to the label (for this user), with its words; None: no badge.
    badge_count: Callable[[Any], int | Badge] | None = field(default=None, compare=False)

    @property
    def url(self) -> str:
        return reverse(self.url_name)


class NavLink:
    """A navigation item as one user sees it. Its badge is counted only when a page shows it
    (one query), so fragments and polls that never render the menu pay nothing."""

    def __init__(self, item: NavItem, user: Any) -> None:
        self.item = item
        self.user = user
        self.label = item.label
        self.url_name = item.url_name
        self.description = item.description

    @property
    def url(self) -> str:
        return self.item.url

    @cached_property
    def _badge(self) -> Badge | None:
        if self.item.badge_count is None:
            return None
        found = self.item.badge_count(self.user)
        return found if isinstance(found, Badge) else Badge(found)

    @property
    def badge(self) -> int | None:
        return self._badge.count if self._badge is not None else None

    @property
    def badge_words(self) -> str:
        """What the count counts, read after it: ``waiting``, ``due: 2 overdue, 1 due now``."""
        return self._badge.words if self._badge is not None else ""


def _queued(user: Any) -> int:
    return queued_count_for(user=user)


def _call_backs_due(user: Any) -> Badge:
    due = call_backs_due_count(user=user, now=timezone.now())
    return Badge(due.overdue + due.due_now, f"due: {due.overdue} overdue, {due.due_now} due now")


def _follow_ups_due(user: Any) -> Badge:
    due = follow_ups_due_count(user=user, now=timezone.now())
    return Badge(due.pending, f"to confirm: {due.overdue} overdue")


# Later capabilities add their entries here, in the order they should appear.
NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem(
        "New call",
        "calls:new",
        ("accounts.take_calls",),
        "Log and triage a call; the needs you choose become referrals routed to a team.",
    ),
    NavItem(
        "Team queue",
        "queue:mine",
        ("accounts.work_team_queue",),
        "Your team's referrals, most at risk first: claim, contact, complete.",
        badge_count=_queued,
    ),
    NavItem(
        "Patients",
        "patients:search",
        (
            "accounts.take_calls",
            "accounts.coordinate",
            "accounts.work_team_queue",
            "accounts.view_dashboards",
        ),
        "Find a patient by NHS number, name, date of birth or postcode.",
    ),
    NavItem(
        "Call-backs",
        "calls:call-backs",
        ("accounts.take_calls",),
        "Call-backs due, overdue first.",
        badge_count=_call_backs_due,
    ),
    NavItem(
        "Missed calls",
        "calls:missed",
        ("accounts.take_calls",),
        "Calls nobody answered, callers who gave up and voicemails, each to call back.",
    ),
    NavItem(
        "Coordinator board",
        "board:board",
        ("accounts.coordinate",),
        "Unroutable, twice-declined, late and breached referrals, with the action for each.",
    ),
    NavItem(
        "Follow-ups",
        "calls:follow-ups",
        ("accounts.coordinate",),
        "Calls that advised 999 or transferred the caller: confirm and record what happened.",
        badge_count=_follow_ups_due,
    ),
    NavItem(
        "Senior review",
        "calls:reviews",
        ("accounts.coordinate",),
        "Advice given by non-clinical call handlers, to review within 24 hours.",
    ),
    NavItem(
        "Dashboard",
        "dashboards:dashboard",
        ("accounts.view_dashboards", "accounts.lead_team"),
        "Demand, response times, compliance and outcomes, with their definitions; CSV exports.",
    ),
    NavItem(
        "Duty rota",
        "rota:index",
        (
            "accounts.take_calls",
            "accounts.coordinate",
            "accounts.work_team_queue",
            "accounts.view_dashboards",
        ),
        "Who is on duty in each team now, the shifts this week and next, and the gaps.",
    ),
    NavItem(
        "Service directory",
        "services:search",
        (),
        "Which partner service can help, where and when: ranked by who can meet the deadline.",
    ),
    NavItem(
        "Access log",
        "audit:access-log",
        ("accounts.audit_access",),
        "Who viewed or changed which record, when and why; break-glass reviews; CSV export.",
    ),
    NavItem(
        "Users and roles",
        "admin:index",
        ("accounts.manage_users",),
        "Create users, set roles and memberships, reset two-factor authentication.",
    ),
    NavItem("API documentation", "api-docs", (), "The hub's REST API, for partner systems."),
)


def navigation_for(user: Any) -> list[NavLink]:
    if not user.is_authenticated:
        return []
    perms = user.get_all_permissions()
    return [
        NavLink(item, user)
        for item in NAV_ITEMS
        if not item.permissions or perms.intersection(item.permissions)
    ]
