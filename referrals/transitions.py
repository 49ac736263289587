"""The referral lifecycle: statuses and the one transition map (DESIGN.md §6).

Every status change goes through `check_transition`, which raises IllegalTransition for an edge
that is not in TRANSITIONS. A capability that needs a new edge adds it here, with its tests.
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

S = ReferralStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.AWAITING_ROUTING: frozenset({S.QUEUED, S.CANCELLED, S.ENTERED_IN_ERROR}),
    # Claim.
    S.QUEUED: frozenset({S.ACCEPTED, S.CANCELLED, S.ENTERED_IN_ERROR}),
    # Release back to the queue; first contact.
    S.ACCEPTED: frozenset({S.QUEUED, S.IN_PROGRESS, S.CANCELLED, S.ENTERED_IN_ERROR}),
    # Complete with an outcome.
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.ON_HOLD: frozenset({S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.ENTERED_IN_ERROR: frozenset(),
}

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
    def __init__(self, current: str, target: str) -> None:
        super().__init__(
            f"A referral that is {ReferralStatus(current).label.lower()} cannot become "
            f"{ReferralStatus(target).label.lower()}."
        )
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
