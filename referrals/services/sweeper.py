"""No referral is left behind (docs/design.md §6): the sweeper re-enqueues routing for referrals
still awaiting routing a minute after they were saved (the broker was down at commit, or a task
was lost), and /healthz reports any that have waited longer than the alert age.

The sweeper never fans out: a referral whose routing was enqueued within
ROUTING_REENQUEUE_AFTER_SECONDS (its task is still queued, behind a backlog or in a stalled
Redis) is skipped, so a backlog is not copied once per sweep; and a sweep still queued when the
next one is due is dropped (its `expires` in spoc/celery.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from referrals.models import Referral
from referrals.services.enqueue import routing_enqueued_recently, routing_task_send
from referrals.transitions import ReferralStatus

logger = logging.getLogger(__name__)

# One sweep enqueues at most this many; the next sweep takes the rest.
SWEEP_BATCH = 500


def routing_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue routing of referrals awaiting it for over ROUTING_SWEEP_AFTER_SECONDS and not
    enqueued within ROUTING_REENQUEUE_AFTER_SECONDS, P1-P2 first. Returns how many were
    enqueued. Safe to run often: routing a referral twice changes nothing."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ROUTING_SWEEP_AFTER_SECONDS)
    rows = list(
        # Waiting since it was saved, declined or sent back for routing: its last change.
        Referral.objects.filter(status=ReferralStatus.AWAITING_ROUTING, updated_at__lt=cutoff)
        .order_by("priority", "updated_at")
        .values_list("pk", "priority")[:SWEEP_BATCH]
    )
    recent = routing_enqueued_recently(pk for pk, _ in rows)
    ids = [(pk, priority) for pk, priority in rows if pk not in recent]
    enqueued = 0
    for referral_id, priority in ids:
        try:
            routing_task_send(referral_id, priority=priority)
        except Exception:
            logger.exception(
                "Sweeper could not enqueue routing of referral %s; next sweep retries.", referral_id
            )
            break
        enqueued += 1
    if ids:
        logger.warning(
            "Sweeper re-enqueued routing of %s referral(s) left awaiting routing.", enqueued
        )
    if recent:
        logger.info("Sweeper skipped %s referral(s) whose routing is still queued.", len(recent))
    return enqueued


def routing_backlog_check() -> dict[str, Any]:
    """For /healthz: referrals awaiting routing for longer than ROUTING_ALERT_AFTER_SECONDS."""
    cutoff = timezone.now() - timedelta(seconds=settings.ROUTING_ALERT_AFTER_SECONDS)
    waiting = Referral.objects.filter(status=ReferralStatus.AWAITING_ROUTING, updated_at__lt=cutoff)
    count = waiting.count()
    oldest = waiting.order_by("updated_at").values_list("updated_at", flat=True).first()
    return {
        "ok": count == 0,
        "waiting_over_alert_age": count,
        "oldest_waiting_since": oldest.isoformat() if oldest else None,
    }
