"""Claiming and working a referral from a team's queue (DESIGN.md §6; STYLE.md 7).

A claim is one conditional UPDATE ... WHERE status = QUEUED: a row count of 1 means this nurse
won, on PostgreSQL and SQLite alike. Every change writes its ReferralEvent in the same
transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from referrals.codes import ReferralOutcome
from referrals.models import Referral, ReferralEvent
from referrals.selectors import referrals_visible_to
from referrals.transitions import Action, ReferralStatus, check_action
from services.models import TeamMembership
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.api import DomainConflict


class ReferralAlreadyClaimed(DomainConflict):
    def __init__(self, referral: Referral) -> None:
        owner = referral.owner.display_name() if referral.owner else "someone else"
        since = timezone.localtime(referral.updated_at).strftime("%H:%M on %d-%b-%Y")
        super().__init__(f"Already claimed by {owner} at {since}.")
        self.referral = referral


class NotOnYourTeam(DomainConflict):
    """The referral is not in a queue of one of the user's teams."""


def _referral_for(*, user: Any, referral_id: int) -> Referral:
    """The referral, if the user may see it; raises Referral.DoesNotExist otherwise (a 404)."""
    return referrals_visible_to(user).select_related("owner", "team").get(pk=referral_id)


def _event(referral: Referral, *, kind: str, user: Any, from_status: str, data: dict[str, Any] | None = None) -> None:
    ReferralEvent.objects.create(referral=referral, kind=kind, at=timezone.now(), actor=user,
                                 from_status=from_status, to_status=referral.status,
                                 team=referral.team, data=data or {})


def referral_claim(*, referral_id: int, user: Any) -> Referral:
    """Claim a queued referral of one of the user's teams. The same nurse claiming twice gets her
    claim back; anyone else gets ReferralAlreadyClaimed naming who has it and since when."""
    referral = _referral_for(user=user, referral_id=referral_id)
    team_ids = set(TeamMembership.objects.filter(user=user).values_list("team_id", flat=True))
    if referral.team_id not in team_ids:
        raise NotOnYourTeam("Only members of the referral's team can claim it.")
    now = timezone.now()
    with transaction.atomic():
        won = Referral.objects.filter(pk=referral_id, status=ReferralStatus.QUEUED).update(
            status=ReferralStatus.ACCEPTED, owner=user, accepted_at=now, updated_at=now
        )
        referral.refresh_from_db()
        if won == 1:
            _event(referral, kind=ReferralEvent.Kind.CLAIMED, user=user, from_status=ReferralStatus.QUEUED)
            access_log_record(action=AccessLog.Action.UPDATE, user=user, object_type="referral",
                              object_id=referral.pk, patient_id=referral.patient_id, detail={"claimed": True})
            return referral
    if referral.owner_id == user.pk and referral.status in (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS):
        return referral
    if referral.owner_id is not None:
        raise ReferralAlreadyClaimed(referral)
    check_action(Action.CLAIM, referral.status)  # raises IllegalAction
    return referral


def _owned_change(*, referral_id: int, user: Any, action: str, kind: str, data: dict[str, Any] | None = None,
                  **fields: Any) -> Referral:
    with transaction.atomic():
        referral = referrals_visible_to(user).select_for_update().get(pk=referral_id)
        if referral.owner_id != user.pk:
            raise DomainConflict("Only the nurse who claimed this referral can do that.")
        target = check_action(action, referral.status)
        previous = referral.status
        referral.status = target
        for name, value in fields.items():
            setattr(referral, name, value)
        referral.updated_at = timezone.now()
        referral.save()
        _event(referral, kind=kind, user=user, from_status=previous, data=data)
        access_log_record(action=AccessLog.Action.UPDATE, user=user, object_type="referral",
                          object_id=referral.pk, patient_id=referral.patient_id, detail={"status": target})
    return referral


def referral_release(*, referral_id: int, user: Any) -> Referral:
    """Give a claimed referral back to the team's queue (owner cleared)."""
    return _owned_change(referral_id=referral_id, user=user, action=Action.RELEASE,
                         kind=ReferralEvent.Kind.RELEASED, owner=None)


def referral_contact(*, referral_id: int, user: Any, at: datetime | None = None) -> Referral:
    """First contact with the patient or carer: stops the first-contact clock."""
    at = at or timezone.now()
    if at > timezone.now():
        raise ValidationError({"at": ["First contact cannot be in the future."]})
    return _owned_change(referral_id=referral_id, user=user, action=Action.CONTACT,
                         kind=ReferralEvent.Kind.CONTACTED, data={"contacted_at": at.isoformat()},
                         first_contact_at=at)


def referral_complete(*, referral_id: int, user: Any, outcome: str) -> Referral:
    if outcome not in ReferralOutcome.values:
        raise ValidationError({"outcome": ["Choose the outcome of the referral."]})
    return _owned_change(referral_id=referral_id, user=user, action=Action.COMPLETE,
                         kind=ReferralEvent.Kind.COMPLETED, data={"outcome": outcome}, outcome=outcome,
                         closed_at=timezone.now())
