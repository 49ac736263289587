"""Reads for the call screen: what the patient already has open, the handler's own calls, and the
patient banner every screen shows (it counts the patient's recent calls, so it lives here)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from calls.models import Call, CallBack, CallFollowUp
from calls.telephony import DUE_NOW_FOR
from patients.banner import patient_banner
from patients.models import DeathRecord, Patient
from patients.selectors import care_plan_current, jic_medicines_current
from referrals.models import Referral
from referrals.selectors import patients_visible_to
from referrals.transitions import OPEN_STATUSES
from spoc.audit.services import access_log_list_shown, access_log_read


def open_referrals_for_needs(*, patient_id: int, needs: Iterable[str]) -> dict[str, list[Referral]]:
    """The patient's open referrals for each of ``needs``, oldest first, with their team, so the
    call screen can warn "this patient already has an open referral for this need".

    Only needs with at least one open referral are keys. One query.
    """
    found: dict[str, list[Referral]] = {}
    referrals = (
        Referral.objects.filter(
            patient_id=patient_id, need__in=list(needs), status__in=OPEN_STATUSES
        )
        .select_related("team")
        .order_by("created_at", "id")
    )
    for referral in referrals:
        found.setdefault(referral.need, []).append(referral)
    return found


def recent_calls_for_handler(*, user: Any, limit: int = 20) -> list[Call]:
    """The ``limit`` most recent calls this user handled, newest first, each with its patient and
    its referrals (and their teams) prefetched: three queries however many rows, and the list is
    access-logged."""
    calls = list(
        Call.objects.filter(handled_by=user)
        .select_related("patient")
        .prefetch_related(
            Prefetch("referrals", queryset=Referral.objects.select_related("team").order_by("id"))
        )
        .order_by("-received_at", "-id")[:limit]
    )
    access_log_list_shown(object_type="my_calls", patient_ids=(call.patient_id for call in calls))
    return calls


def call_backs_pending(*, limit: int = 200) -> list[CallBack]:
    """The call-backs still to make, soonest due first, access-logged as a list."""
    due = list(
        CallBack.objects.filter(status=CallBack.Status.PENDING)
        .select_related("call", "telephony_call", "patient", "assigned_to", "reminded_to")
        .prefetch_related("attempts")
        .order_by("due_at")[:limit]
    )
    access_log_list_shown(object_type="call_backs", patient_ids=(cb.patient_id for cb in due))
    return due


@dataclass(frozen=True)
class CallBacksDue:
    due_now: int
    overdue: int


def call_backs_due_count(*, user: Any, now: datetime) -> CallBacksDue:
    """The pending call-backs of ``user`` and of the shared SPOC list (no owner) that are due now
    and overdue (``calls.telephony.DUE_NOW_FOR``): the navigation badge. One query, no patient
    data."""
    overdue_before = now - DUE_NOW_FOR
    counts = CallBack.objects.filter(
        Q(assigned_to=user) | Q(assigned_to__isnull=True),
        status=CallBack.Status.PENDING,
        due_at__lte=now,
    ).aggregate(
        due_now=Count("pk", filter=Q(due_at__gt=overdue_before)),
        overdue=Count("pk", filter=Q(due_at__lte=overdue_before)),
    )
    return CallBacksDue(due_now=counts["due_now"], overdue=counts["overdue"])


def _follow_ups_visible_to(user: Any) -> QuerySet[CallFollowUp]:
    """Follow-ups of calls about a patient the user may see, or about no identified patient."""
    return CallFollowUp.objects.filter(
        Q(call__patient__isnull=True) | Q(call__patient__in=patients_visible_to(user))
    )


def follow_ups_pending(
    *, user: Any, limit: int = 200, shown_on: str = "call_follow_ups"
) -> tuple[list[CallFollowUp], int]:
    """The follow-ups still to confirm, soonest due first (so the overdue first), at most
    ``limit``, with their call, patient and handler, and how many there are: one query, two when
    there are more than ``limit``. Access-logged as a list shown on ``shown_on``."""
    pending = _follow_ups_visible_to(user).filter(status=CallFollowUp.Status.PENDING)
    rows = list(
        pending.select_related("call__patient", "call__handled_by").order_by("due_at", "pk")[
            : limit + 1
        ]
    )
    total = len(rows) if len(rows) <= limit else pending.count()
    rows = rows[:limit]
    access_log_list_shown(object_type=shown_on, patient_ids=(f.call.patient_id for f in rows))
    return rows, total


@dataclass(frozen=True)
class FollowUpsDue:
    pending: int
    overdue: int


def follow_ups_due_count(*, user: Any, now: datetime) -> FollowUpsDue:
    """How many follow-ups are still to confirm and how many of them are overdue: the
    navigation badge. One query, no patient data."""
    counts = (
        _follow_ups_visible_to(user)
        .filter(status=CallFollowUp.Status.PENDING)
        .aggregate(pending=Count("pk"), overdue=Count("pk", filter=Q(due_at__lte=now)))
    )
    return FollowUpsDue(pending=counts["pending"], overdue=counts["overdue"])


def calls_awaiting_review(*, limit: int = 200) -> list[Call]:
    """Calls flagged for a senior review and not yet reviewed, oldest first, access-logged as a
    list."""
    pending = list(
        Call.objects.filter(needs_senior_review=True, reviewed_at__isnull=True)
        .select_related("patient", "handled_by")
        .order_by("received_at")[:limit]
    )
    access_log_list_shown(
        object_type="senior_reviews", patient_ids=(call.patient_id for call in pending)
    )
    return pending


def call_shown(*, user: Any, patients: QuerySet[Patient], call_id: int) -> Call | None:
    """A call for its page: the user's own, or any call for those who take calls or coordinate,
    and never one about a patient outside ``patients`` (the user's visible patients). Its read is
    access-logged when it is about a patient."""
    call = (
        Call.objects.select_related(
            "patient",
            "handled_by",
            "reviewed_by",
            "patient_site",
            "triage",
            "follow_up__done_by",
        )
        .filter(pk=call_id)
        .first()
    )
    if call is None or (call.patient_id and not patients.filter(pk=call.patient_id).exists()):
        return None
    if not (
        call.handled_by_id == user.pk
        or user.has_perm("accounts.take_calls")
        or user.has_perm("accounts.coordinate")
    ):
        return None
    if call.patient_id:
        access_log_read(object_type="call", object_id=call.pk, patient_id=call.patient_id)
    return call


def _count(rows: QuerySet[Any]) -> Subquery:
    """How many ``rows`` there are, as an expression another query reads (``COUNT`` as a plain
    function, so that the subquery is not grouped)."""
    return Subquery(
        rows.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"),
        output_field=IntegerField(),
    )


def patient_banner_for(*, patient: Patient, today: Any = None) -> Any:
    """The banner of ``patient``: three queries (the current care plan; the calls of the last
    seven days and the open referrals, counted in one; the death or the medicines at home)."""
    today = today or timezone.localdate()
    week_ago = timezone.now() - timedelta(days=7)
    counts = (
        Patient.objects.filter(pk=patient.pk)
        .values(
            calls_last_7_days=_count(
                Call.objects.filter(patient=OuterRef("pk"), received_at__gte=week_ago)
            ),
            open_referrals=_count(
                Referral.objects.filter(patient=OuterRef("pk"), status__in=OPEN_STATUSES)
            ),
        )
        .get()
    )
    return patient_banner(
        patient=patient,
        care_plan=care_plan_current(patient=patient),
        calls_last_7_days=counts["calls_last_7_days"],
        open_referrals=counts["open_referrals"],
        today=today,
        death=DeathRecord.objects.recorded().filter(patient=patient).first()
        if patient.died_at
        else None,
        medicines=jic_medicines_current(patient=patient) if patient.died_at is None else (),
    )
