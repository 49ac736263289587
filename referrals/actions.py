"""Who may take which action on a referral now (docs/design.md §1, §6).

Each action's entry in the registry (`referrals.transitions.ACTIONS`) says which statuses allow it
and who may take it, as a rule on the user's `Standing` towards the referral; this module works
that standing out from the user's permissions and teams. The referral page and the API offer
exactly `actions_for(...)`, and every service function calls `action_require(...)` before it
changes anything, so the UI, the API and the services cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from referrals.models import Referral
from referrals.transitions import ACTIONS, Action, Standing, allowed_actions
from services.codes import ServiceType
from services.models import TeamMembership
from services.selectors import team_memberships_of
from spoc.accounts.roles import WRITE_CLINICAL
from spoc.core.api import DomainConflict


class ActionNotPermitted(DomainConflict):
    """The user may not take this action on this referral (a 403 in the API; the page never
    offers it). A DomainConflict still, so that every screen shows its message."""

    status_code = 403
    code = "not_permitted"


@dataclass(frozen=True)
class ActorContext:
    """What decides a user's actions: their permissions and teams (read once per request)."""

    user: Any
    perms: frozenset[str]
    team_ids: frozenset[int]
    lead_team_ids: frozenset[int]

    @classmethod
    def of(cls, user: Any) -> ActorContext:
        memberships = team_memberships_of(user=user)
        return cls(
            user=user,
            perms=frozenset(user.get_all_permissions()),
            team_ids=frozenset(team_id for team_id, _ in memberships),
            lead_team_ids=frozenset(
                team_id for team_id, role in memberships if role == TeamMembership.Role.LEAD
            ),
        )

    @property
    def coordinates(self) -> bool:
        return "accounts.coordinate" in self.perms

    @property
    def takes_calls(self) -> bool:
        return "accounts.take_calls" in self.perms


def standing(actor: ActorContext, referral: Referral, *, spoc_team: bool) -> Standing:
    """Where ``actor`` stands towards ``referral`` (no query)."""
    owner = referral.owner_id is not None and referral.owner_id == actor.user.pk
    on_team = referral.team_id is not None and referral.team_id in actor.team_ids
    return Standing(
        works_queue=on_team and "accounts.work_team_queue" in actor.perms,
        leads=referral.team_id is not None and referral.team_id in actor.lead_team_ids,
        owner=owner,
        coordinates=actor.coordinates,
        takes_calls=actor.takes_calls,
        spoc_team=spoc_team,
        claimed_by_other=referral.owner_id is not None and not owner,
    )


def _permitted(actor: ActorContext, referral: Referral, action: str, *, spoc_team: bool) -> bool:
    if WRITE_CLINICAL not in actor.perms:
        return False  # every action writes the clinical record (docs/security.md)
    return ACTIONS[action].may(standing(actor, referral, spoc_team=spoc_team))


def _is_spoc_team(referral: Referral) -> bool:
    team = referral.team
    return team is not None and team.service.service_type == ServiceType.SPOC


def actions_for(*, actor: ActorContext, referral: Referral) -> list[str]:
    """The actions ``actor`` may take on ``referral`` now, in the map's order. ``referral`` should
    come with ``team__service`` selected (no query then)."""
    spoc_team = _is_spoc_team(referral)
    return [
        action
        for action in allowed_actions(referral.status)
        if _permitted(actor, referral, action, spoc_team=spoc_team)
    ]


def action_require(*, actor: ActorContext, referral: Referral, action: str) -> None:
    """Raise ActionNotPermitted unless ``actor`` may take ``action`` on ``referral`` (the status
    check itself is `check_action`'s, inside the service's transaction)."""
    if not _permitted(actor, referral, action, spoc_team=_is_spoc_team(referral)):
        raise ActionNotPermitted(f"You may not do this to this referral: {Action(action).label}.")
