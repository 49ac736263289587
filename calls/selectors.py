"""Reads for the call screen: what the patient already has open, the handler's own calls, and the
patient banner every screen shows (it counts the patient's recent calls, so it lives here)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from calls.models import Call
from patients.banner import patient_banner
from patients.models import DeathRecord, Patient
from patients.selectors import care_plan_current
from referrals.models import Referral
from referrals.transitions import OPEN_STATUSES


def open_referrals_for_needs(*, patient_id: int, needs: Iterable[str]) -> dict[str, list[Referral]]:
    """The patient's open referrals for each of ``needs``, oldest first, with their team, so the
    call screen can warn "this patient already has an open referral for this need".

    Only needs with at least one open referral are keys. One query.
    """
    found: dict[str, list[Referral]] = {}
    referrals = (
        Referral.objects.filter(patient_id=patient_id, need__in=list(needs), status__in=OPEN_STATUSES)
        .select_related("team")
        .order_by("created_at", "id")
    )
    for referral in referrals:
        found.setdefault(referral.need, []).append(referral)
    return found


def recent_calls_for_handler(*, user: Any, limit: int = 20) -> QuerySet[Call]:
    """The ``limit`` most recent calls this user handled, newest first, each with its patient and
    its referrals (and their teams) prefetched: three queries however many rows."""
    return (
        Call.objects.filter(handled_by=user)
        .select_related("patient")
        .prefetch_related(
            Prefetch("referrals", queryset=Referral.objects.select_related("team").order_by("id"))
        )
        .order_by("-received_at", "-id")[:limit]
    )


def patient_banner_for(*, patient: Patient, today: Any = None) -> Any:
    today = today or timezone.localdate()
    week_ago = timezone.now() - timedelta(days=7)
    return patient_banner(
        patient=patient,
        care_plan=care_plan_current(patient=patient),
        calls_last_7_days=Call.objects.filter(patient=patient, received_at__gte=week_ago).count(),
        open_referrals=Referral.objects.filter(patient=patient, status__in=OPEN_STATUSES).count(),
        today=today,
        death=DeathRecord.objects.filter(patient=patient).first() if patient.died_at else None,
    )
