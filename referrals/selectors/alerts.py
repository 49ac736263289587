"""The urgent alerts of a referral, for the page a text message links to and for the referral
page's "Acknowledge" button (referrals/services/alerts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from referrals.models import Alert, Referral
from referrals.selectors import referrals_visible_to
from referrals.services.alerts import alerts_unacknowledged, may_acknowledge
from spoc.audit.services import access_log_read


@dataclass(frozen=True)
class AlertPage:
    referral: Referral
    # The alerts waiting for someone, oldest first; empty once acknowledged.
    waiting: list[Alert]
    # The last acknowledgement, when nothing is waiting.
    acknowledged: Alert | None
    may_acknowledge: bool
    # The user may open the referral page itself.
    sees_referral: bool


def alert_page(*, user: Any, referral_id: int) -> AlertPage | None:
    """The referral's alerts for someone who may acknowledge them (the alerted person, the
    team's members and leads, the coordinators) or who may see the referral; None for anyone
    else (a 404: its existence not revealed). It shows the priority, the team and what happened,
    nothing about the patient; its read is access-logged all the same."""
    referral = Referral.objects.select_related("team").filter(pk=referral_id).first()
    if referral is None:
        return None
    allowed = may_acknowledge(user=user, referral=referral)
    sees = referrals_visible_to(user).filter(pk=referral_id).exists()
    if not allowed and not sees:
        return None
    access_log_read(
        object_type="referral_alerts", object_id=referral.pk, patient_id=referral.patient_id
    )
    waiting = list(
        alerts_unacknowledged(referral.pk).select_related("recipient").order_by("created_at")
    )
    last = None
    if not waiting:
        last = (
            Alert.objects.filter(referral=referral, acknowledged_at__isnull=False)
            .select_related("acknowledged_by")
            .order_by("-acknowledged_at")
            .first()
        )
    return AlertPage(
        referral=referral,
        waiting=waiting,
        acknowledged=last,
        may_acknowledge=allowed,
        sees_referral=sees,
    )


def referral_alerts_waiting(*, referral: Referral, user: Any) -> list[Alert]:
    """The referral's alerts waiting to be acknowledged, when ``user`` may acknowledge them
    (the referral page's button); else none. At most two queries."""
    waiting = list(alerts_unacknowledged(referral.pk).order_by("created_at"))
    if waiting and may_acknowledge(user=user, referral=referral):
        return waiting
    return []
