"""The referral lifecycle: statuses and the one registry of referral actions (docs/design.md §6).

Every change to a referral is an action of ACTIONS, declared once with the statuses it may start
from and leads to, who may take it, its service function, the referral page's form, the API's
serializer and its message. `check_action` returns the status an action leads to or raises
IllegalAction (a 409 in the API); TRANSITIONS, status to status, is derived from ACTIONS; who may
take which action now is `referrals.actions`; the referral page (workspace/views/referrals.py)
and the API (referrals/api/actions.py) offer exactly the entries with a service. Adding an action
is one entry here plus its service function (CONTRIBUTING.md, "Add a referral action").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import models
from django.utils.module_loading import import_string

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


OPEN_STATUSES = frozenset(
    {
        ReferralStatus.AWAITING_ROUTING,
        ReferralStatus.QUEUED,
        ReferralStatus.ACCEPTED,
        ReferralStatus.IN_PROGRESS,
        ReferralStatus.ON_HOLD,
    }
)

# In a team's queue: routed to the team and not yet closed (the queue page, its poll, its index).
QUEUE_STATUSES = (
    ReferralStatus.QUEUED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.IN_PROGRESS,
    ReferralStatus.ON_HOLD,
)

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
    REOPEN_ON_WITHDRAWAL = "reopen_on_withdrawal", "Reopen: the death was entered in error"


@dataclass(frozen=True)
class Standing:
    """Where a user stands towards one referral: what decides the actions they may take on it
    (`referrals.actions.standing` works it out from their permissions and teams)."""

    works_queue: bool  # a member of the referral's team who works its queue
    leads: bool  # leads the referral's team
    owner: bool  # has claimed it
    coordinates: bool  # a SPOC coordinator
    takes_calls: bool  # a call handler (or a coordinator)
    spoc_team: bool  # the referral sits with the SPOC coordinators' own team
    claimed_by_other: bool  # someone else has claimed it


def _nobody(who: Standing) -> bool:
    return False


@dataclass(frozen=True)
class ReferralAction:
    """One referral action, declared once. The transition map, the permission checks, the
    referral page and ``POST /api/v1/referrals/{id}/{action}/`` are all derived from these.

    ``sources``: the statuses it may start from; ``target``: the status it leads to (``None``
    keeps the status, or, with ``returns_to``, goes back to where the referral was: RESUME to the
    status before the hold, REOPEN_ON_WITHDRAWAL to the status before a death closed it; the
    caller names it, and it must be one of ``returns_to``). ``past``: the action in a
    sentence ("cannot be claimed"). ``may``: who may take it (on top of writing clinical
    records). An action people take has its ``service`` function (keyword arguments
    ``referral_id``, ``user`` and exactly the form's ``service_kwargs`` / the serializer's
    validated data), the referral page's ``form``, the API's ``serializer`` and the page's
    message once ``done``, each as a dotted path (they import this module, so it cannot import
    them). ``page_as``: the action whose form the page shows for it instead.
    """

    sources: frozenset[str]
    target: str | None
    past: str
    may: Callable[[Standing], bool] = _nobody
    service: str = ""
    form: str = ""
    serializer: str = ""
    done: str = ""
    page_as: str = ""
    returns_to: frozenset[str] = frozenset()

    def service_function(self) -> Callable[..., Any]:
        return _load(self.service)

    def form_class(self) -> Any:
        return _load(self.form)

    def serializer_class(self) -> Any:
        return _load(self.serializer)


@cache
def _load(path: str) -> Any:
    return import_string(path)


def _owner(who: Standing) -> bool:
    return who.owner


def _works_queue(who: Standing) -> bool:
    return who.works_queue


def _coordinator_or_handler(who: Standing) -> bool:
    return who.coordinates or who.takes_calls


def _partner_team(who: Standing) -> bool:
    # A partner team declines (a claimed referral: its owner or a lead); the coordinators route
    # by hand instead.
    return who.works_queue and not who.spoc_team and not (who.claimed_by_other and not who.leads)


_CLAIMS = "referrals.services.claims."
_LIFECYCLE = "referrals.services.lifecycle."
_INTERVENTIONS = "referrals.services.interventions."
_FORMS = "referrals.forms_lifecycle."
_INPUTS = "referrals.api.actions."

# The one registry of referral actions, in the order the referral page offers them.
ACTIONS: dict[str, ReferralAction] = {
    Action.ROUTE: ReferralAction(
        frozenset({S.AWAITING_ROUTING}), S.QUEUED, "routed"
    ),  # the routing task only
    Action.ROUTE_MANUALLY: ReferralAction(
        frozenset({S.AWAITING_ROUTING, S.QUEUED, S.ACCEPTED}),
        S.QUEUED,
        "routed by hand",
        may=_coordinator_or_handler,
        page_as=Action.REROUTE,
    ),
    Action.REROUTE: ReferralAction(
        frozenset({S.QUEUED, S.ACCEPTED}),
        S.AWAITING_ROUTING,
        "routed again",
        may=_coordinator_or_handler,
        service=_LIFECYCLE + "referral_reroute",
        form=_FORMS + "RerouteForm",
        serializer=_INPUTS + "RerouteInput",
        done="Routed again: to the team chosen, or, with none chosen, back to the ranker.",
    ),
    Action.DECLINE: ReferralAction(
        frozenset({S.QUEUED, S.ACCEPTED}),
        S.AWAITING_ROUTING,
        "declined",
        may=_partner_team,
        service=_LIFECYCLE + "referral_decline",
        form=_FORMS + "DeclineForm",
        serializer=_INPUTS + "DeclineInput",
        done="Declined: the referral is being routed again.",
    ),
    Action.CLAIM: ReferralAction(
        frozenset({S.QUEUED}),
        S.ACCEPTED,
        "claimed",
        may=_works_queue,
        service=_CLAIMS + "referral_claim",
        form=_FORMS + "EmptyForm",
        serializer=_INPUTS + "NoInput",
        done="You have claimed the referral.",
    ),
    Action.RELEASE: ReferralAction(
        frozenset({S.ACCEPTED}),
        S.QUEUED,
        "released",
        may=_owner,
        service=_CLAIMS + "referral_release",
        form=_FORMS + "EmptyForm",
        serializer=_INPUTS + "NoInput",
        done="Released to the team's queue.",
    ),
    Action.REASSIGN: ReferralAction(
        frozenset({S.ACCEPTED, S.IN_PROGRESS}),
        None,
        "reassigned",
        may=lambda who: who.leads or (who.spoc_team and who.coordinates),
        service=_CLAIMS + "referral_reassign",
        form=_FORMS + "ReassignForm",
        serializer=_INPUTS + "ReassignInput",
        done="Referral reassigned.",
    ),
    Action.CONTACT: ReferralAction(
        frozenset({S.ACCEPTED}),
        S.IN_PROGRESS,
        "marked as contacted",
        may=_owner,
        service=_CLAIMS + "referral_contact",
        form=_FORMS + "ContactForm",
        serializer=_INPUTS + "ContactInput",
        done="First contact recorded.",
    ),
    Action.INTERVENTION: ReferralAction(
        frozenset({S.ACCEPTED, S.IN_PROGRESS}),
        None,
        "given an intervention",
        may=lambda who: who.owner or who.leads,
        service=_INTERVENTIONS + "intervention_record",
        form=_FORMS + "InterventionForm",
        serializer=_INPUTS + "InterventionInput",
        done="Intervention recorded.",
    ),
    Action.ASSESS: ReferralAction(
        frozenset({S.ACCEPTED, S.IN_PROGRESS}),
        None,
        "given an assessment",
        may=lambda who: who.owner or who.leads,
        service=_INTERVENTIONS + "assessment_record",
        form=_FORMS + "AssessmentForm",
        serializer=_INPUTS + "AssessmentInput",
        done="Assessment recorded.",
    ),
    Action.HOLD: ReferralAction(
        frozenset(_WORKING),
        S.ON_HOLD,
        "put on hold",
        may=lambda who: who.owner or who.leads or who.coordinates,
        service=_LIFECYCLE + "referral_hold",
        form=_FORMS + "HoldForm",
        serializer=_INPUTS + "ReasonInput",
        done="Referral put on hold: its clocks are paused.",
    ),
    Action.RESUME: ReferralAction(
        frozenset({S.ON_HOLD}),
        None,
        "resumed",
        may=lambda who: who.owner or who.leads or who.coordinates,
        returns_to=frozenset(_WORKING),
        service=_LIFECYCLE + "referral_resume",
        form=_FORMS + "ResumeForm",
        serializer=_INPUTS + "NoteInput",
        done="Referral resumed: its clocks run again.",
    ),
    Action.REPRIORITISE: ReferralAction(
        frozenset(_OPEN),
        None,
        "given a new priority",
        may=lambda who: who.works_queue or who.coordinates or who.takes_calls,
        service=_LIFECYCLE + "referral_reprioritise",
        form=_FORMS + "ReprioritiseForm",
        serializer=_INPUTS + "ReprioritiseInput",
        done="Priority changed: the clocks are recomputed.",
    ),
    Action.COMPLETE: ReferralAction(
        frozenset({S.IN_PROGRESS}),
        S.COMPLETED,
        "completed",
        may=_owner,
        service=_CLAIMS + "referral_complete",
        form=_FORMS + "CompleteForm",
        serializer=_INPUTS + "CompleteInput",
        done="Referral completed.",
    ),
    Action.CANCEL: ReferralAction(
        frozenset(_OPEN),
        S.CANCELLED,
        "cancelled",
        may=lambda who: who.owner or who.leads or who.coordinates,
        service=_CLAIMS + "referral_cancel",
        form=_FORMS + "CancelForm",
        serializer=_INPUTS + "ReasonInput",
        done="Referral cancelled.",
    ),
    Action.REOPEN: ReferralAction(
        frozenset({S.COMPLETED}),
        S.QUEUED,
        "reopened",
        may=lambda who: who.works_queue or who.coordinates,
        service=_CLAIMS + "referral_reopen",
        form=_FORMS + "ReopenForm",
        serializer=_INPUTS + "NoteInput",
        done="Referral reopened: it is back in the team's queue.",
    ),
    Action.ENTER_IN_ERROR: ReferralAction(
        frozenset(_OPEN),
        S.ENTERED_IN_ERROR,
        "marked entered in error",
        may=lambda who: who.leads or who.coordinates,
        service=_CLAIMS + "referral_enter_in_error",
        form=_FORMS + "EnterInErrorForm",
        serializer=_INPUTS + "ReasonInput",
        done="Referral marked entered in error.",
    ),
    # Recording a death closes referrals; never a button of its own.
    Action.CLOSE_ON_DEATH: ReferralAction(frozenset(_OPEN), S.COMPLETED, "closed on death"),
    # Withdrawing a death recorded in error puts back what it closed; never a button of its own.
    Action.REOPEN_ON_WITHDRAWAL: ReferralAction(
        frozenset({S.COMPLETED}),
        None,
        "reopened after a death was withdrawn",
        returns_to=frozenset(_OPEN),
    ),
}


def _status_edges() -> dict[str, frozenset[str]]:
    edges: dict[str, set[str]] = {status: set() for status in ReferralStatus.values}
    for spec in ACTIONS.values():
        for source in spec.sources:
            if spec.returns_to:
                edges[source].update(spec.returns_to - {source})
            elif spec.target is not None and spec.target != source:
                edges[source].add(spec.target)
    return {status: frozenset(targets) for status, targets in edges.items()}


# Status to status, derived from ACTIONS: what a status may become by any action.
TRANSITIONS: dict[str, frozenset[str]] = _status_edges()

# FHIR R4 Task.status for each status (docs/reference.md "Interoperability").
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

# FHIR R4 ServiceRequest.status (request-status) for each status (docs/reference.md
# "Interoperability"): the request stands while a team routes, holds or works it; a cancelled
# referral is a revoked request.
FHIR_REQUEST_STATUS: dict[str, str] = {
    S.AWAITING_ROUTING: "active",
    S.QUEUED: "active",
    S.ACCEPTED: "active",
    S.IN_PROGRESS: "active",
    S.ON_HOLD: "on-hold",
    S.COMPLETED: "completed",
    S.CANCELLED: "revoked",
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
            f"{ACTIONS[action].past if action in ACTIONS else action}."
        )
        self.current = current
        self.action = action


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)


def check_action(action: str, current: str, *, before_hold: str = "") -> str:
    """The status ``action`` leads to from ``current``; raises IllegalAction when the map does not
    allow it. An action that goes back (``returns_to``: RESUME, REOPEN_ON_WITHDRAWAL) needs
    ``before_hold``, the status the referral had before its hold or its closing."""
    spec = ACTIONS[action]
    sources, target = spec.sources, spec.target
    if current not in sources:
        raise IllegalAction(current, action)
    if spec.returns_to:
        if before_hold not in spec.returns_to:
            raise IllegalAction(current, action)
        return before_hold
    return target if target is not None else current


def allowed_actions(status: str) -> list[str]:
    """The actions the map allows from ``status`` (who may take them is decided elsewhere)."""
    return [action for action, spec in ACTIONS.items() if status in spec.sources]
