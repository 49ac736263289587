"""Decline, route again, route by hand, hold, resume and re-prioritise (docs/design.md §5, §6).

Each is one action of the transition map, taken by someone `referrals.actions` permits, in one
transaction that locks the referral, writes its ``ReferralEvent`` and its access-log row, and
fixes the clocks (`referrals.services.clocks`). A referral sent back for routing is enqueued
after commit, as a new call's are.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from referrals.codes import DeclineReason
from referrals.models import Referral, ReferralEvent
from referrals.services.acting import referral_acting, referral_record, text_required
from referrals.services.clocks import referral_clocks_fix, referral_clocks_resume
from referrals.services.enqueue import routing_enqueue_after_commit
from referrals.services.routing import new_referral_notify_after_commit
from referrals.transitions import Action, check_action
from services.codes import Priority, ServiceStatus
from services.models import Team


def _back_to_routing(referral: Referral) -> None:
    referral.team = None
    referral.owner = None
    referral.accepted_at = None
    referral.accept_by = referral.contact_by = referral.at_risk_at = None
    referral.unroutable_reason = ""


def routing_again(referral: Referral, *, before: str, user: Any, reason: str) -> None:
    """Send ``referral`` (locked, in the caller's transaction, the user's right to do so checked)
    back to the ranker: the ``REROUTE`` move of the map, its event, and routing enqueued after
    commit. The "route again" action, and a bereavement risk screen that changes the service
    types (referrals/services/bereavement.py)."""
    referral.status = check_action(Action.REROUTE, before)
    data: dict[str, Any] = {
        "reason": reason,
        "from_team": referral.team.name if referral.team else None,
    }
    previous_team = referral.team
    _back_to_routing(referral)
    referral_record(
        referral,
        kind=ReferralEvent.Kind.REROUTE_REQUESTED,
        user=user,
        from_status=before,
        data=data,
        team=previous_team,
    )
    routing_enqueue_after_commit(referral.pk, priority=referral.priority)


def referral_decline(*, referral_id: int, user: Any, reason: str, note: str = "") -> Referral:
    """The referral's team declines it with a coded reason: it is routed again without that
    service (the next routing attempt; after two declines the coordinators decide)."""
    if reason not in DeclineReason.values:
        raise ValidationError({"reason": ["Choose why the team cannot take this referral."]})
    if reason == DeclineReason.DUPLICATE:
        # Routing a duplicate on to the next team would create the duplicate work twice over.
        raise ValidationError(
            {
                "reason": [
                    "A duplicate is cancelled, not declined: cancel it with the reason (which referral it repeats)."
                ]
            }
        )
    note = text_required(note, field="note", required=False)
    with referral_acting(referral_id=referral_id, user=user, action=Action.DECLINE) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.DECLINE, before)
        team = referral.team
        assert team is not None  # a queued or accepted referral has a team (a database constraint)
        declined = [int(i) for i in referral.declined_service_ids]
        if team.service_id not in declined:
            declined.append(team.service_id)
        referral.declined_service_ids = declined
        data = {
            "reason": reason,
            "note": note,
            "service_id": team.service_id,
            "service_name": team.service.name,
            "team_name": team.name,
            "declines": len(declined),
        }
        _back_to_routing(referral)
        referral_record(
            referral,
            kind=ReferralEvent.Kind.DECLINED,
            user=user,
            from_status=before,
            data=data,
            team=team,
        )
        routing_enqueue_after_commit(referral.pk, priority=referral.priority)
    return referral


def referral_reroute(
    *, referral_id: int, user: Any, reason: str, team_id: int | None = None
) -> Referral:
    """Route again, with a reason: to ``team_id`` by hand (its queue at once; the accept clock
    restarts, the first-contact clock does not), or, with no team, back to the ranker."""
    reason = text_required(reason, field="reason")
    if team_id is None:
        with referral_acting(referral_id=referral_id, user=user, action=Action.REROUTE) as (
            referral,
            before,
        ):
            routing_again(referral, before=before, user=user, reason=reason)
        return referral
    team = Team.objects.select_related("service").filter(pk=team_id).first()
    if team is None or team.service.status != ServiceStatus.ACTIVE:
        raise ValidationError({"team_id": ["Choose an active team."]})
    with referral_acting(referral_id=referral_id, user=user, action=Action.ROUTE_MANUALLY) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.ROUTE_MANUALLY, before)
        now = timezone.now()
        data = {
            "reason": reason,
            "team_name": team.name,
            "service_id": team.service_id,
            "from_team": referral.team.name if referral.team else None,
            "attempt": referral.routing_attempt + 1,
        }
        referral.team = team
        referral.owner = None
        referral.accepted_at = None
        referral.routing_attempt += 1
        referral.routed_at = now
        referral.accept_clock_started_at = max(now, referral.contact_not_before or now)
        referral.unroutable_reason = ""
        referral.routing_decision = {
            **referral.routing_decision,
            "manual": {
                "at": now.isoformat(),
                "by": user.display_name(),
                "reason": reason,
                "team_name": team.name,
                "attempt": referral.routing_attempt,
            },
        }
        referral_clocks_fix(referral, now=now)
        referral_record(
            referral,
            kind=ReferralEvent.Kind.ROUTED_MANUALLY,
            user=user,
            from_status=before,
            data=data,
        )
        new_referral_notify_after_commit(referral)
    return referral


def referral_hold(*, referral_id: int, user: Any, reason: str) -> Referral:
    """Pause both clocks, with a reason (the patient is in hospital, away, asked to wait)."""
    reason = text_required(reason, field="reason")
    with referral_acting(referral_id=referral_id, user=user, action=Action.HOLD) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.HOLD, before)
        referral.status_before_hold = before
        referral.held_at = timezone.now()
        referral.hold_reason = reason
        referral_record(
            referral,
            kind=ReferralEvent.Kind.HELD,
            user=user,
            from_status=before,
            data={"reason": reason},
        )
    return referral


def referral_resume(*, referral_id: int, user: Any, note: str = "") -> Referral:
    """Take a referral off hold: back to the status it had, its clocks moved on by the time held."""
    note = text_required(note, field="note", required=False)
    with referral_acting(referral_id=referral_id, user=user, action=Action.RESUME) as (
        referral,
        before,
    ):
        referral.status = check_action(
            Action.RESUME, before, before_hold=referral.status_before_hold
        )
        now = timezone.now()
        held_at = referral.held_at or now
        held_for = max(now - held_at, timedelta(0))
        referral_clocks_resume(referral, held_from=held_at, now=now)
        referral.held_at = None
        referral.status_before_hold = ""
        data = {
            "note": note,
            "held_minutes": round(held_for.total_seconds() / 60),
            "hold_reason": referral.hold_reason,
        }
        referral.hold_reason = ""
        referral_record(
            referral, kind=ReferralEvent.Kind.RESUMED, user=user, from_status=before, data=data
        )
    return referral


def referral_reprioritise(*, referral_id: int, user: Any, priority: str, reason: str) -> Referral:
    """A new priority, with a reason: the clocks are computed again from the same starts."""
    if priority not in Priority.values:
        raise ValidationError({"priority": ["Choose a priority from P1 to P5."]})
    reason = text_required(reason, field="reason")
    with referral_acting(referral_id=referral_id, user=user, action=Action.REPRIORITISE) as (
        referral,
        before,
    ):
        if priority == referral.priority:
            raise ValidationError({"priority": [f"The referral is already {priority}."]})
        priority_change(referral, before=before, user=user, priority=priority, reason=reason)
    return referral


def priority_change(
    referral: Referral, *, before: str, user: Any, priority: str, reason: str
) -> None:
    """Give ``referral`` (locked, in the caller's transaction, the user's right checked) a new
    priority: the ``REPRIORITISE`` move of the map, its clocks computed again from the same
    starts, its event. The "change priority" action, and a bereavement risk screen
    (referrals/services/bereavement.py)."""
    referral.status = check_action(Action.REPRIORITISE, before)
    data = {"from": referral.priority, "to": priority, "reason": reason}
    referral.priority = priority
    if referral.held_at is None:
        referral_clocks_fix(referral, now=timezone.now())
    referral_record(
        referral,
        kind=ReferralEvent.Kind.REPRIORITISED,
        user=user,
        from_status=before,
        data=data,
    )
