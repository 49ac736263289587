"""Referrals in the state the lifecycle tests start from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from referrals.models import Referral
from referrals.transitions import ReferralStatus
from tests.referrals.factories import ReferralFactory


def queued(team: Any, **fields: Any) -> Referral:
    """A referral waiting in ``team``'s queue since now: 15 minutes to accept, two hours to first
    contact (the P2 clock). ``fields`` override any of it."""
    now = timezone.now()
    return ReferralFactory(
        **{
            "team": team,
            "status": ReferralStatus.QUEUED,
            "accept_clock_started_at": now,
            "accept_by": now + timedelta(minutes=15),
            "contact_by": now + timedelta(hours=2),
            **fields,
        }
    )
