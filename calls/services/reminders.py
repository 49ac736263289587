"""Texts about overdue call-backs (docs/telephony.md, "Reminders").

A pending call-back overdue by ``CALL_BACK_REMIND_AFTER_MINUTES`` is texted once: to its owner
when they are on duty (the duty rota) with a phone, else to the SPOC coordinator on duty (a
coordinator on shift first, then whoever else is on duty for the SPOC, as the urgent alerts
find them). The text says only how overdue a call-back is and links to the call-backs list:
never who the call-back is for.

Each call-back is taken with a lease (a conditional update, committed before the text is
sent), so two runs never text it twice; the reminder is recorded on it (when, to whom, Notify's
id). A text Notify did not take is logged and tried again on the next run; with nobody on
duty, nothing is sent, a line is logged and the next run looks again. The call-backs list shows
the call-back overdue whatever happens here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from calls.models import CallBack
from rota.models import ShiftRole
from rota.selectors import OnDuty, on_duty
from services.codes import ServiceType
from services.models import Service, TeamMembership
from services.selectors import spoc_service_of
from spoc.core.dates import nhs_duration
from spoc.core.notify import NotifyFailed, sms_send

logger = logging.getLogger(__name__)

TEMPLATE_KIND = "CALL_BACK_OVERDUE"
# A run sending a reminder holds it this long; past it (the worker died), another run may.
SEND_LEASE_SECONDS = 60
# One run texts at most this many; the next takes the rest.
BATCH = 100


@dataclass
class ReminderRun:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    nobody: list[int] = field(default_factory=list)


def _coordinators(people: list[OnDuty]) -> list[OnDuty]:
    """Those on duty for the SPOC with a phone, a coordinator on shift first."""
    return sorted(
        (p for p in people if p.phone),
        key=lambda person: person.role != ShiftRole.COORDINATOR.label,
    )


def _recipients(call_backs: list[CallBack], *, at: datetime) -> dict[int, OnDuty | None]:
    """Whom to text about each call-back: its owner on duty with a phone, else the first SPOC
    coordinator on duty, else None. Three queries whatever the number of call-backs."""
    spoc = spoc_service_of(
        Service.objects.filter(service_type=ServiceType.SPOC, team__isnull=False).select_related(
            "team"
        )
    )
    spoc_team = spoc.team.pk if spoc is not None else None
    owners = {cb.assigned_to_id for cb in call_backs if cb.assigned_to_id is not None}
    teams = set(TeamMembership.objects.filter(user_id__in=owners).values_list("team_id", flat=True))
    rota = on_duty(team_ids=teams | ({spoc_team} if spoc_team else set()), at=at)
    owner_shift: dict[int, OnDuty] = {}
    for people in rota.values():
        for person in people:
            if person.user_id in owners and person.phone:
                owner_shift.setdefault(person.user_id, person)
    coordinators = _coordinators(rota.get(spoc_team, []) if spoc_team else [])
    fallback = coordinators[0] if coordinators else None
    return {
        cb.pk: owner_shift.get(cb.assigned_to_id, fallback) if cb.assigned_to_id else fallback
        for cb in call_backs
    }


def call_backs_to_remind(*, now: datetime) -> list[CallBack]:
    """Pending call-backs overdue by the setting's minutes and not yet texted about, soonest
    due first; not those another run is sending."""
    overdue_since = now - timedelta(minutes=settings.CALL_BACK_REMIND_AFTER_MINUTES)
    return list(
        CallBack.objects.filter(
            status=CallBack.Status.PENDING, reminded_at__isnull=True, due_at__lte=overdue_since
        )
        .filter(Q(reminder_sending_until__isnull=True) | Q(reminder_sending_until__lt=now))
        .order_by("due_at", "pk")[:BATCH]
    )


def overdue_sentence(call_back: CallBack, *, now: datetime) -> str:
    """``A call-back is overdue by 20 minutes``: nothing about whom it is for."""
    return f"A call-back is overdue by {nhs_duration(now - call_back.due_at)}"


def call_back_reminders_send(*, now: datetime | None = None) -> ReminderRun:
    """Text about each call-back overdue by the setting's minutes, once (module docstring)."""
    now = now or timezone.now()
    run = ReminderRun()
    due = call_backs_to_remind(now=now)
    if not due:
        return run
    recipients = _recipients(due, at=now)
    for call_back in due:
        person = recipients[call_back.pk]
        if person is None:
            logger.warning(
                "Call-back %s is overdue and nobody is on duty to text about it", call_back.pk
            )
            run.nobody.append(call_back.pk)
            continue
        if _remind(call_back, person, now=now):
            run.sent.append(call_back.pk)
        else:
            run.failed.append(call_back.pk)
    return run


def _remind(call_back: CallBack, person: OnDuty, *, now: datetime) -> bool:
    """Take the call-back (a conditional update, committed before sending), text ``person``
    and record it. False when another run had it, or Notify did not take the text."""
    taken = (
        CallBack.objects.filter(
            pk=call_back.pk, reminded_at__isnull=True, status=CallBack.Status.PENDING
        )
        .filter(Q(reminder_sending_until__isnull=True) | Q(reminder_sending_until__lt=now))
        .update(reminder_sending_until=now + timedelta(seconds=SEND_LEASE_SECONDS))
    )
    if not taken:
        return False
    try:
        sent = sms_send(
            phone=person.phone,
            template_kind=TEMPLATE_KIND,
            personalisation={
                "what": overdue_sentence(call_back, now=now),
                "link": settings.HUB_URL + reverse("calls:call-backs"),
            },
            reference=f"spoc-call-back-{call_back.pk}",
        )
    except NotifyFailed as exc:
        logger.warning("Call-back %s reminder not sent: %s", call_back.pk, exc.detail)
        CallBack.objects.filter(pk=call_back.pk).update(
            reminder_sending_until=None, reminder_error=exc.detail
        )
        return False
    CallBack.objects.filter(pk=call_back.pk, reminded_at__isnull=True).update(
        reminded_at=timezone.now(),
        reminded_to_id=person.user_id,
        reminder_notify_id=sent.notification_id,
        reminder_sending_until=None,
        reminder_error="",
    )
    return True
