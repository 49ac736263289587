from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.models import OrganisationMembership, TeamMembership


@dataclass(frozen=True)
class HomeSummary:
    organisation: str
    teams: list[tuple[str, str]]  # (team name, role label)


def home_summary_for(user: Any) -> HomeSummary:
    """What the home page says about the user: organisation and teams (two queries)."""
    membership = (
        OrganisationMembership.objects.select_related("organisation").filter(user=user).first()
    )
    teams = [
        (m.team.name, m.get_role_display())
        for m in TeamMembership.objects.select_related("team").filter(user=user)
    ]
    return HomeSummary(
        organisation=membership.organisation.name if membership else "",
        teams=teams,
    )
