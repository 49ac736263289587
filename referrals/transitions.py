"""The referral lifecycle: statuses and the one transition map (DESIGN.md §6).

Every change to a referral is an action of ACTIONS, checked by `check_action`, which returns the
status the action leads to or raises IllegalAction (a 409 in the API). TRANSITIONS, status to
status, is derived from ACTIONS. A capability that needs a new action adds it here, with its tests.
"""

from __future__ import annotations

from django.db import models

from spoc.core.api import DomainConflict


class ReferralStatus(models.TextChoices):
    # Saved with its call; the routing task has not placed it yet.
    AWAITING_ROUTING = "AWAITING_ROUTING", "Awaiting routing"
    # In a team's queue (or the SPOC coordinators' fallback queue), nobody has claimed it.
    QUEUED = "QUEUED", "Queued"
    # Claimed: an owner is set.
    ACCEPTED = "ACCEPTED", "Accepted"
    # First contact made with the patient or carer.
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    # Clocks paused, with a reason.
    ON_HOLD = "ON_HOLD", "On hold"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR", "Entered in error"


OPEN_STATUSES = frozenset({
    ReferralStatus.AWAITING_ROUTING, ReferralStatus.QUEUED, ReferralStatus.ACCEPTED,
    ReferralStatus.IN_PROGRESS, ReferralStatus.ON_HOLD,
})

# In a team's queue: routed to the team and not yet closed (the queue page, its poll, its index).
QUEUE_STATUSES = (ReferralStatus.QUEUED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS,
                  ReferralStatus.ON_HOLD)

S = ReferralStatus
_OPEN = tuple(OPEN_STATUSES)
_WORKING = (S.QUEUED, S.ACCEPTED, S.IN_PROGRESS)


class Action(models.TextChoices):
    """Everything that can happen to a referral; each one is an entry of ACTIONS."""

    ROUTE = "route", "Route"
    ROUTE_MANUALLY = "route_manually", "Route by hand"
    REROUTE = "reroute", "Route again"
    DECLINE = "decline", "Decline"
    CLAIM = "claim", "Claim"
    RELEASE = "release", "Release"
    REASSIGN = "reassign", "Reassign"
    CONTACT = "contact", "Record first contact"
    INTERVENTION = "intervention", "Record an intervention"
    ASSESS = "assess", "Record an assessment"
    HOLD = "hold", "Put on hold"
    RESUME = "resume", "Resume"
    REPRIORITISE = "reprioritise", "Change priority"
    COMPLETE = "complete", "Complete"
    CANCEL = "cancel", "Cancel"
    REOPEN = "reopen", "Reopen"
    ENTER_IN_ERROR = "enter_in_error", "Mark entered in error"
    CLOSE_ON_DEATH = "close_on_death", "Close: the patient died"


# The one transition map: action -> (statuses it may start from, the status it leads to).
# ``None`` as the target keeps the status (a reassignment, a new priority, a visit recorded);
# RESUME returns to the status the referral had before its hold (one of _WORKING).
ACTIONS: dict[str, tuple[frozenset[str], str | None]] = {
    Action.ROUTE: (frozenset({S.AWAITING_ROUTING}), S.QUEUED),
    Action.ROUTE_MANUALLY: (frozenset({S.AWAITING_ROUTING, S.QUEUED, S.ACCEPTED}), S.QUEUED),
    Action.REROUTE: (frozenset({S.QUEUED, S.ACCEPTED}), S.AWAITING_ROUTING),
    Action.DECLINE: (frozenset({S.QUEUED, S.ACCEPTED}), S.AWAITING_ROUTING),
    Action.CLAIM: (frozenset({S.QUEUED}), S.ACCEPTED),
    Action.RELEASE: (frozenset({S.ACCEPTED}), S.QUEUED),
    Action.REASSIGN: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), None),
    Action.CONTACT: (frozenset({S.ACCEPTED}), S.IN_PROGRESS),
    Action.INTERVENTION: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), None),
    Action.ASSESS: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), None),
    Action.HOLD: (frozenset(_WORKING), S.ON_HOLD),
    Action.RESUME: (frozenset({S.ON_HOLD}), None),
    Action.REPRIORITISE: (frozenset(_OPEN), None),
    Action.COMPLETE: (frozenset({S.IN_PROGRESS}), S.COMPLETED),
    Action.CANCEL: (frozenset(_OPEN), S.CANCELLED),
    Action.REOPEN: (frozenset({S.COMPLETED}), S.QUEUED),
    Action.ENTER_IN_ERROR: (frozenset(_OPEN), S.ENTERED_IN_ERROR),
    Action.CLOSE_ON_DEATH: (frozenset(_OPEN), S.COMPLETED),
}


def _status_edges() -> dict[str, frozenset[str]]:
    edges: dict[str, set[str]] = {status: set() for status in ReferralStatus.values}
    for action, (sources, target) in ACTIONS.items():
        for source in sources:
            if action == Action.RESUME:
                edges[source].update(_WORKING)
            elif target is not None and target != source:
                edges[source].add(target)
    return {status: frozenset(targets) for status, targets in edges.items()}


# Status to status, derived from ACTIONS: what a status may become by any action.
TRANSITIONS: dict[str, frozenset[str]] = _status_edges()

# FHIR R4 Task.status for each status (REFERENCE.md "Interoperability").
FHIR_TASK_STATUS: dict[str, str] = {
    S.AWAITING_ROUTING: "requested",
    S.QUEUED: "ready",
    S.ACCEPTED: "accepted",
    S.IN_PROGRESS: "in-progress",
    S.ON_HOLD: "on-hold",
    S.COMPLETED: "completed",
    S.CANCELLED: "cancelled",
    S.ENTERED_IN_ERROR: "entered-in-error",
}


class IllegalTransition(DomainConflict):
    # One code for both: to a client, the referral's status does not allow this change.
    code = "illegal_transition"

    def __init__(self, current: str, target: str) -> None:
        super().__init__(
            f"A referral that is {ReferralStatus(current).label.lower()} cannot become "
            f"{ReferralStatus(target).label.lower()}."
        )
        self.current = current
        self.target = target


class IllegalAction(DomainConflict):
    code = "illegal_transition"

    def __init__(self, current: str, action: str) -> None:
        super().__init__(
            f"A referral that is {ReferralStatus(current).label.lower()} cannot be "
            f"{_PAST.get(action, action)}."
        )
        self.current = current
        self.action = action


_PAST: dict[str, str] = {
    Action.ROUTE: "routed", Action.ROUTE_MANUALLY: "routed by hand", Action.REROUTE: "routed again",
    Action.DECLINE: "declined", Action.CLAIM: "claimed", Action.RELEASE: "released",
    Action.REASSIGN: "reassigned", Action.CONTACT: "marked as contacted",
    Action.INTERVENTION: "given an intervention", Action.ASSESS: "given an assessment",
    Action.HOLD: "put on hold", Action.RESUME: "resumed", Action.REPRIORITISE: "given a new priority",
    Action.COMPLETE: "completed", Action.CANCEL: "cancelled", Action.REOPEN: "reopened",
    Action.ENTER_IN_ERROR: "marked entered in error", Action.CLOSE_ON_DEATH: "closed on death",
}


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)


def check_action(action: str, current: str, *, before_hold: str = "") -> str:
    """The status ``action`` leads to from ``current``; raises IllegalAction when the map does not
    allow it. RESUME needs ``before_hold``, the status the referral had before its hold."""
    sources, target = ACTIONS[action]
    if current not in sources:
        raise IllegalAction(current, action)
    if action == Action.RESUME:
        if before_hold not in _WORKING:
            raise IllegalAction(current, action)
        return before_hold
    return target if target is not None else current


def allowed_actions(status: str) -> list[str]:
    """The actions the map allows from ``status`` (who may take them is decided elsewhere)."""
    return [action for action, (sources, _) in ACTIONS.items() if status in sources]
