from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import F, Value

from services.models import OrganisationMembership, TeamMembership


@dataclass(frozen=True)
class HomeSummary:
    organisation: str
    teams: list[tuple[str, str]]  # (team name, role label)


def home_summary_for(user: Any) -> HomeSummary:
    """What the home page says about the user: organisation (a user has at most one) and teams
    by name, in one query."""
    text: models.CharField[str, str] = models.CharField()
    organisation = (
        OrganisationMembership.objects.filter(user=user)
        .order_by()
        .annotate(of=Value("organisation", output_field=text), name=F("organisation__name"))
        .values_list("of", "name", Value("", output_field=text))
    )
    teams = (
        TeamMembership.objects.filter(user=user)
        .order_by()
        .annotate(of=Value("team", output_field=text), name=F("team__name"))
        .values_list("of", "name", "role")
    )
    rows = list(organisation.union(teams, all=True).order_by("of", "name"))
    labels = dict(TeamMembership.Role.choices)
    return HomeSummary(
        organisation=next((name for of, name, _ in rows if of == "organisation"), ""),
        teams=[(name, labels[role]) for of, name, role in rows if of == "team"],
    )
