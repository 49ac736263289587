"""Claiming and working a referral from a team's queue (docs/design.md §6; CONTRIBUTING.md, "How we write code").

A claim is one conditional UPDATE ... WHERE status = QUEUED: a row count of 1 means this nurse
won, on PostgreSQL and SQLite alike. Every other change locks the referral, asks
`referrals.actions.action_require` whether this user may take the action and
`referrals.transitions.check_action` whether its status allows it, and writes its
ReferralEvent and its access-log row in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from experience.services import invitation_consent_record
from referrals.actions import ActorContext, action_require
from referrals.codes import ReferralOutcome
from referrals.models import Referral, ReferralEvent
from referrals.selectors import referrals_visible_to
from referrals.services.acting import (
    referral_acting,
    referral_event_record,
    referral_record,
    text_required,
    to_the_minute,
)
from referrals.services.clocks import referral_clocks_fix
from referrals.transitions import Action, ReferralStatus, check_action
from services.models import TeamMembership
from spoc.core.api import DomainConflict
from spoc.core.dates import nhs_date, nhs_time

# docs/design.md §6: a completed referral can be reopened within 30 days.
REOPEN_WINDOW = timedelta(days=30)


class ReferralAlreadyClaimed(DomainConflict):
    code = "already_claimed"

    def __init__(self, referral: Referral) -> None:
        owner = referral.owner.display_name() if referral.owner else "someone else"
        since = referral.accepted_at or referral.updated_at
        super().__init__(f"Already claimed by {owner} at {nhs_time(since)} on {nhs_date(since)}.")
        self.referral = referral


class ReopenWindowClosed(DomainConflict):
    """The referral was closed more than 30 days ago."""

    code = "reopen_window_closed"


def referral_claim(*, referral_id: int, user: Any) -> Referral:
    """Claim a queued referral of one of the user's teams. The same nurse claiming twice gets her
    claim back; anyone else gets ReferralAlreadyClaimed naming who has it and since when.
    Raises Referral.DoesNotExist (not visible), ActionNotPermitted (not on the team) or
    IllegalAction (not queued, nobody's claim)."""
    referral = (
        referrals_visible_to(user).select_related("owner", "team__service").get(pk=referral_id)
    )
    action_require(actor=ActorContext.of(user), referral=referral, action=Action.CLAIM)
    now = timezone.now()
    with transaction.atomic():
        won = Referral.objects.filter(pk=referral_id, status=ReferralStatus.QUEUED).update(
            status=ReferralStatus.ACCEPTED, owner=user, accepted_at=now, updated_at=now
        )
        referral.refresh_from_db()
        if won == 1:
            referral_event_record(
                referral,
                kind=ReferralEvent.Kind.CLAIMED,
                user=user,
                at=now,
                from_status=ReferralStatus.QUEUED,
            )
            return referral
    if referral.owner_id == user.pk and referral.status in (
        ReferralStatus.ACCEPTED,
        ReferralStatus.IN_PROGRESS,
    ):
        return referral
    if referral.owner_id is not None and referral.status in (
        ReferralStatus.ACCEPTED,
        ReferralStatus.IN_PROGRESS,
    ):
        raise ReferralAlreadyClaimed(referral)
    check_action(Action.CLAIM, referral.status)  # raises IllegalAction
    return referral


def referral_release(*, referral_id: int, user: Any) -> Referral:
    """Give a claimed referral back to the team's queue (owner cleared)."""
    with referral_acting(referral_id=referral_id, user=user, action=Action.RELEASE) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.RELEASE, before)
        referral.owner = None
        referral.accepted_at = None
        referral_record(referral, kind=ReferralEvent.Kind.RELEASED, user=user, from_status=before)
    return referral


def referral_contact(*, referral_id: int, user: Any, at: datetime | None = None) -> Referral:
    """First contact with the patient or carer (now, or the moment given): stops the
    first-contact clock. A reopened referral keeps its first first contact."""
    now = timezone.now()
    at = at or now
    if at > now:
        raise ValidationError({"at": ["First contact cannot be in the future."]})
    with referral_acting(referral_id=referral_id, user=user, action=Action.CONTACT) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.CONTACT, before)
        if at < to_the_minute(referral.created_at):
            raise ValidationError({"at": ["First contact cannot be before the referral was made."]})
        referral.first_contact_at = referral.first_contact_at or at
        referral_record(
            referral,
            kind=ReferralEvent.Kind.CONTACTED,
            user=user,
            from_status=before,
            data={"contacted_at": at.isoformat()},
        )
    return referral


def referral_complete(
    *, referral_id: int, user: Any, outcome: str, feedback_to: str = ""
) -> Referral:
    """Close the referral with its outcome (docs/reference.md referral outcomes). ``feedback_to``
    records who agreed to a feedback text (``experience.selectors.feedback_options``; empty:
    nobody asked or agreed, and no text goes); the invitation is made in the same transaction
    (docs/operations.md, "Feedback texts")."""
    if outcome not in ReferralOutcome.values:
        raise ValidationError({"outcome": ["Choose the outcome of the referral."]})
    with referral_acting(referral_id=referral_id, user=user, action=Action.COMPLETE) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.COMPLETE, before)
        referral.outcome = outcome
        referral.closed_at = timezone.now()
        invitation = invitation_consent_record(
            patient=referral.patient,
            to=feedback_to,
            user=user,
            now=referral.closed_at,
            referral_id=referral.pk,
            team_id=referral.team_id,
        )
        data: dict[str, Any] = {"outcome": outcome}
        if invitation is not None:
            data["feedback"] = {
                "invitation_id": invitation.pk,
                "kind": invitation.kind,
                "to": "patient" if invitation.related_person_id is None else "related person",
                "related_person_id": invitation.related_person_id,
            }
        referral_record(
            referral,
            kind=ReferralEvent.Kind.COMPLETED,
            user=user,
            from_status=before,
            data=data,
        )
    return referral


def referral_reassign(*, referral_id: int, user: Any, to_user_id: int) -> Referral:
    """A team lead gives a claimed referral to another member of the same team."""
    with referral_acting(referral_id=referral_id, user=user, action=Action.REASSIGN) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.REASSIGN, before)
        if referral.team_id is None:  # a claimed referral has a team (a database constraint)
            raise DomainConflict("This referral has no team.")
        membership = (
            TeamMembership.objects.select_related("user")
            .filter(team_id=referral.team_id, user_id=to_user_id)
            .first()
        )
        if membership is None:
            raise ValidationError({"to_user_id": ["Choose a member of the referral's team."]})
        if referral.owner_id == to_user_id:
            raise ValidationError({"to_user_id": ["This nurse already has the referral."]})
        previous = referral.owner
        referral.owner = membership.user
        referral_record(
            referral,
            kind=ReferralEvent.Kind.REASSIGNED,
            user=user,
            from_status=before,
            data={
                "from_user_id": previous.pk if previous else None,
                "from": previous.display_name() if previous else "",
                "to_user_id": membership.user.pk,
                "to": membership.user.display_name(),
            },
        )
    return referral


def referral_cancel(*, referral_id: int, user: Any, reason: str) -> Referral:
    """Cancel an open referral, with a reason (it is no longer wanted)."""
    reason = text_required(reason, field="reason")
    with referral_acting(referral_id=referral_id, user=user, action=Action.CANCEL) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.CANCEL, before)
        referral.cancel_reason = reason
        referral.closed_at = timezone.now()
        referral_record(
            referral,
            kind=ReferralEvent.Kind.CANCELLED,
            user=user,
            from_status=before,
            data={"reason": reason},
        )
    return referral


def referral_reopen(*, referral_id: int, user: Any, note: str) -> Referral:
    """Reopen a completed referral within 30 days of its closing, with a note: back in the same
    team's queue, unclaimed, its accept clock restarted (the first-contact clock is not).
    Raises ReopenWindowClosed after 30 days."""
    note = text_required(note, field="note")
    with referral_acting(referral_id=referral_id, user=user, action=Action.REOPEN) as (
        referral,
        before,
    ):
        target = check_action(Action.REOPEN, before)
        now = timezone.now()
        if referral.closed_at is None or now - referral.closed_at > REOPEN_WINDOW:
            raise ReopenWindowClosed(
                "A referral can only be reopened within 30 days of its completion."
            )
        if referral.team_id is None:
            raise DomainConflict("This referral has no team to return to: make a new referral.")
        data = {
            "note": note,
            "outcome": referral.outcome,
            "closed_at": referral.closed_at.isoformat(),
        }
        referral.status = target
        referral.owner = None
        referral.accepted_at = None
        referral.outcome = ""
        referral.closed_at = None
        referral.accept_clock_started_at = now
        # A new spell in the queue: its clock milestones escalate afresh.
        referral.routing_attempt += 1
        referral_clocks_fix(referral, now=now)
        referral_record(
            referral, kind=ReferralEvent.Kind.REOPENED, user=user, from_status=before, data=data
        )
    return referral


def referral_enter_in_error(*, referral_id: int, user: Any, reason: str) -> Referral:
    """Mark a referral that should never have existed (wrong patient, duplicate entry)."""
    reason = text_required(reason, field="reason")
    with referral_acting(referral_id=referral_id, user=user, action=Action.ENTER_IN_ERROR) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.ENTER_IN_ERROR, before)
        referral.closed_at = timezone.now()
        referral_record(
            referral,
            kind=ReferralEvent.Kind.ENTERED_IN_ERROR,
            user=user,
            from_status=before,
            data={"reason": reason},
        )
    return referral
