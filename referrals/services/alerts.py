"""Urgent alerts by text message, until someone acknowledges them (docs/operations.md, "Urgent
alerts and acknowledgement").

What starts a chain: a P1-P3 referral joining a team's queue (``NEW_REFERRAL``), and its clock
milestones ``ACCEPT_OVERDUE`` and ``CONTACT_BREACHED`` (recorded by the escalation job). Each
chain is one per referral, routing attempt and reason (the ``Alert`` model's constraints).

Who: the person on duty for the team (the duty rota), else the team's lead (the rota's number
when on shift, else their work mobile), else the SPOC coordinator on duty; the chain is worked
out again at each step, so a shift change is followed. Each person gets one text; if nobody
acknowledges within the priority's window (``ALERT_ACK_MINUTES``) they get it once more, then
it goes to the next person up the chain, and so on to the coordinator on duty. A message Notify
refused or could not deliver moves on at once, without the repeat. When nobody (more) can be
alerted, the chain ends and the coordinator board shows the referral until someone acknowledges
it. A chain also ends once what it was about no longer holds (claimed, contacted, closed,
routed elsewhere).

Routine referrals (P4-P5) never start a chain: the person on duty gets at most one digest text
per team per ``ALERT_DIGEST_EVERY_MINUTES`` ("3 new routine referrals for Night team").

Rows are made in a transaction and sent after it commits (``alerts.send``); the walk
(``alerts.walk_chains``, every 30 s) moves chains on, starts the chains nothing started (a lost
task, a broker fault) and sends again what Notify did not take. Texts carry the priority, the
team, what happened and a link: never a patient's name, NHS number, date of birth or address.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from referrals.codes import EscalationMilestone
from referrals.models import Alert, Escalation, Referral, ReferralEvent
from referrals.services.acting import referral_event_record
from referrals.transitions import ReferralStatus
from rota.models import ShiftRole
from rota.selectors import OnDuty, on_duty
from services.codes import ServiceType
from services.models import Service, TeamMembership
from services.selectors import spoc_service_of
from spoc.core.api import DomainConflict
from spoc.core.notify import NotifyFailed, sms_send, text_failed, text_receipt, text_sent, text_take

logger = logging.getLogger(__name__)

URGENT = ("P1", "P2", "P3")
ROUTINE = ("P4", "P5")
R = Alert.Reason
NOT_YET_CONTACTED = (ReferralStatus.QUEUED, ReferralStatus.ACCEPTED)
# Statuses after which a message will not reach its person: the chain moves on at once.
UNDELIVERED = frozenset(
    {
        Alert.Status.REFUSED,
        Alert.Status.NO_RECIPIENT,
        Alert.Status.PERMANENT_FAILURE,
        Alert.Status.TEMPORARY_FAILURE,
        Alert.Status.TECHNICAL_FAILURE,
    }
)
# What the text says happened, per reason.
WHAT: dict[str, str] = {
    R.NEW_REFERRAL: "new referral waiting to be accepted",
    R.ACCEPT_OVERDUE: "not accepted in time",
    R.CONTACT_BREACHED: "first contact overdue",
}
MILESTONE_REASONS = {
    EscalationMilestone.ACCEPT_OVERDUE: R.ACCEPT_OVERDUE,
    EscalationMilestone.CONTACT_BREACHED: R.CONTACT_BREACHED,
}
# A send Notify did not answer is tried again after 30 s, doubling to 5 minutes at most: the
# walk moves the chain on after the window whatever happens to this one.
RETRY_FIRST_SECONDS = 30
RETRY_MAX_SECONDS = 300
# A message not sent this long after it was made (its task lost) is sent by the walk.
LOST_AFTER_SECONDS = 60
# A worker sending a message holds it this long; past it (the worker died), another may.
SEND_LEASE_SECONDS = 60
# One walk starts, passes on or sends at most this many; the next run takes the rest.
WALK_BATCH = 200


# --- Who is alerted -------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    user_id: int
    name: str
    phone: str
    rung: str


def chain_of(
    *,
    on_shift: Sequence[OnDuty],
    leads: Sequence[tuple[int, str, str]],
    coordinators: Sequence[OnDuty],
) -> list[Contact]:
    """The people to alert for a team, in order, each once, each with a number to text: those
    on duty for the team, its leads (``(user id, name, work mobile)``; a lead on shift is
    already among those on duty, with the rota's number), then the coordinators on duty. No
    query."""
    found: list[Contact] = []
    seen: set[int] = set()

    def add(user_id: int, name: str, phone: str, rung: str) -> None:
        if user_id not in seen and phone:
            seen.add(user_id)
            found.append(Contact(user_id=user_id, name=name, phone=phone, rung=rung))

    for person in on_shift:
        add(person.user_id, person.name, person.phone, Alert.Rung.ON_DUTY)
    for user_id, name, phone in leads:
        add(user_id, name, phone, Alert.Rung.LEAD)
    for person in coordinators:
        add(person.user_id, person.name, person.phone, Alert.Rung.COORDINATOR)
    return found


def _spoc_team_id() -> int | None:
    spoc = spoc_service_of(
        Service.objects.filter(service_type=ServiceType.SPOC, team__isnull=False).select_related(
            "team"
        )
    )
    return spoc.team.pk if spoc is not None else None


def contacts_for(*, team_ids: Iterable[int], at: datetime) -> dict[int, list[Contact]]:
    """Each team's chain of people at ``at``: the rota's lookup, one query for the leads and
    one for the coordinators' team, whatever the number of teams."""
    wanted = set(team_ids)
    spoc_team = _spoc_team_id()
    rota = on_duty(team_ids=wanted | ({spoc_team} if spoc_team else set()), at=at)
    leads: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for team_id, user_id, first, last, mobile in (
        TeamMembership.objects.filter(
            team_id__in=wanted, role=TeamMembership.Role.LEAD, user__is_active=True
        )
        .order_by("team_id", "user__last_name", "user_id")
        .values_list(
            "team_id", "user_id", "user__first_name", "user__last_name", "user__work_mobile"
        )
    ):
        leads[team_id].append((user_id, f"{first} {last}".strip(), mobile))
    # The coordinators' team's rota holds its call handlers too: a coordinator on shift first,
    # then whoever else is on duty for the SPOC, who can find one.
    coordinators = sorted(
        rota.get(spoc_team, []) if spoc_team else [],
        key=lambda person: person.role != ShiftRole.COORDINATOR.label,
    )
    return {
        team_id: chain_of(
            on_shift=rota.get(team_id, []), leads=leads[team_id], coordinators=coordinators
        )
        for team_id in wanted
    }


# --- Starting chains ------------------------------------------------------------------------


def _still_true(reason: str) -> Q:
    """The referrals for which a chain of ``reason`` is still needed (on the referral)."""
    if reason == R.CONTACT_BREACHED:
        return Q(status__in=NOT_YET_CONTACTED, first_contact_at__isnull=True)
    return Q(status=ReferralStatus.QUEUED)


def _chain_rows(referral_id: int, routing_attempt: int, reason: str) -> QuerySet[Alert]:
    return Alert.objects.filter(
        referral_id=referral_id, routing_attempt=routing_attempt, reason=reason
    )


@dataclass(frozen=True)
class _Start:
    referral_id: int
    team_id: int
    routing_attempt: int
    reason: str
    priority: str


def _due_starts(*, now: datetime, referral_id: int | None) -> list[_Start]:
    """Chains that should have started and have not: new P1-P3 referrals queued and the P1-P3
    milestones recorded within ALERT_START_WITHIN_MINUTES, still true. For one referral just
    queued (``referral_id``), its new-referral chain only: a milestone's chain is started by the
    escalation job in the run that records the milestone (referrals/services/escalation.py), and
    by the walk within 30 s should that run fail, so looking for one here never finds one."""
    since = now - timedelta(minutes=settings.ALERT_START_WITHIN_MINUTES)
    only = Q(pk=referral_id) if referral_id is not None else Q()
    started = Alert.objects.filter(
        referral=OuterRef("pk"), routing_attempt=OuterRef("routing_attempt"), step=1, attempt=1
    )
    starts = [
        _Start(pk, team_id, attempt, R.NEW_REFERRAL, priority)
        for pk, team_id, attempt, priority in Referral.objects.filter(
            only,
            _still_true(R.NEW_REFERRAL),
            Q(routed_at__gte=since)
            # Reopened: back in the queue without a routing (its accept clock restarted).
            | Q(accept_clock_started_at__gte=since, accept_clock_started_at__lte=now),
            priority__in=URGENT,
            team__isnull=False,
        )
        .exclude(Exists(started.filter(reason=R.NEW_REFERRAL)))
        .order_by("routed_at")
        .values_list("pk", "team_id", "routing_attempt", "priority")[:WALK_BATCH]
    ]
    if referral_id is not None:
        return starts
    for milestone, reason in MILESTONE_REASONS.items():
        rows = (
            Escalation.objects.filter(
                milestone=milestone,
                due_at__gte=since,
                due_at__lte=now,
                routing_attempt=F("referral__routing_attempt"),
                referral__priority__in=URGENT,
                referral__team_id=F("team_id"),
            )
            .filter(**({"referral_id": referral_id} if referral_id is not None else {}))
            .filter(
                Exists(Referral.objects.filter(_still_true(reason), pk=OuterRef("referral_id")))
            )
            .exclude(
                Exists(
                    Alert.objects.filter(
                        referral=OuterRef("referral_id"),
                        routing_attempt=OuterRef("routing_attempt"),
                        reason=reason,
                        step=1,
                        attempt=1,
                    )
                )
            )
            # One chain at a time per referral: a milestone passed while its new-referral chain
            # still runs is already being chased by it.
            .exclude(
                Exists(
                    Alert.objects.filter(
                        referral=OuterRef("referral_id"),
                        routing_attempt=OuterRef("routing_attempt"),
                        ended_at__isnull=True,
                    )
                )
            )
            .order_by("due_at")
            .values_list(
                "referral_id", "referral__team_id", "routing_attempt", "referral__priority"
            )[:WALK_BATCH]
        )
        starts += [
            _Start(pk, team_id, attempt, reason, priority)
            for pk, team_id, attempt, priority in rows
        ]
    return starts


def alerts_start_due(*, now: datetime | None = None, referral_id: int | None = None) -> list[int]:
    """Start every chain due and not started (of ``referral_id`` only, if given): its first
    message to the first person of the team's chain, sent after commit, or, with nobody to
    alert, a row saying so (the board shows it). Returns the ids of the rows made. Safe to run
    concurrently: a chain starts once (a unique constraint)."""
    now = now or timezone.now()
    starts = _due_starts(now=now, referral_id=referral_id)
    if not starts:
        return []
    contacts = contacts_for(team_ids={s.team_id for s in starts}, at=now)
    made: list[int] = []
    with transaction.atomic():
        for start in starts:
            chain = contacts.get(start.team_id, [])
            alert = _alert_add(
                start=start,
                contact=chain[0] if chain else None,
                step=1,
                attempt=1,
                now=now,
            )
            if alert is not None:
                made.append(alert.pk)
    return made


def _alert_add(
    *, start: _Start, contact: Contact | None, step: int, attempt: int, now: datetime
) -> Alert | None:
    """One row of a chain, in a savepoint (None when another run made it first); its send is
    enqueued after commit. With no ``contact``, the row records that nobody could be alerted and
    ends the chain."""
    alert = Alert(
        referral_id=start.referral_id,
        team_id=start.team_id,
        routing_attempt=start.routing_attempt,
        reason=start.reason,
        priority=start.priority,
        step=step,
        attempt=attempt,
        created_at=now,
        next_send_at=now,
    )
    if contact is not None:
        alert.recipient_id = contact.user_id
        alert.phone = contact.phone
        alert.rung = contact.rung
    else:
        alert.status = Alert.Status.NO_RECIPIENT
        alert.next_send_at = None
        alert.ended_at = now
        alert.end = Alert.End.NOBODY
    try:
        with transaction.atomic():
            alert.save()
            if contact is None:
                _event(alert, ReferralEvent.Kind.ALERT_NOBODY, at=now)
    except IntegrityError:
        return None
    if contact is not None:
        _send_after_commit([alert.pk])
    return alert


def _send_after_commit(alert_ids: list[int]) -> None:
    def enqueue() -> None:
        from referrals.tasks import alert_send_task

        for alert_id in alert_ids:
            alert_send_task.delay(alert_id)

    # A broker fault loses only the enqueueing: the walk sends what was not sent.
    transaction.on_commit(enqueue, robust=True)


# --- Sending --------------------------------------------------------------------------------


def _link(alert: Alert) -> str:
    if alert.referral_id is None:
        return settings.HUB_URL + reverse("queue:team", args=[alert.team_id])
    return settings.HUB_URL + reverse("alerts:acknowledge", args=[alert.referral_id])


def _message(alert: Alert) -> tuple[str, dict[str, str]]:
    """The template kind and its placeholders: the priority, the team, what happened and a
    link; nothing about the patient."""
    team = alert.team.name
    if alert.reason == R.DIGEST:
        noun = "referral" if alert.count == 1 else "referrals"
        return "DIGEST", {
            "count": f"{alert.count} new routine {noun}",
            "team": team,
            "link": _link(alert),
        }
    return ("ALERT" if alert.attempt == 1 else "REPEAT"), {
        "priority": alert.priority,
        "team": team,
        "what": WHAT[alert.reason],
        "link": _link(alert),
    }


def alert_send(*, alert_id: int, now: datetime | None = None) -> Alert | None:
    """Send one message through Notify, once: taken with a lease (a conditional update) so two
    workers never send it twice. Records Notify's id and the time, or the error and when to try
    again (a refusal is not tried again: the walk moves the chain on). Returns the row, or None
    when there was nothing to send (sent, ended, or being sent by another worker)."""
    now = now or timezone.now()
    taken = text_take(
        Alert.objects.filter(pk=alert_id, ended_at__isnull=True),
        now=now,
        lease_seconds=SEND_LEASE_SECONDS,
    )
    if not taken:
        return None
    alert = Alert.objects.select_related("team", "recipient").get(pk=alert_id)
    kind, personalisation = _message(alert)
    try:
        sent = sms_send(
            phone=alert.phone,
            template_kind=kind,
            personalisation=personalisation,
            reference=f"spoc-alert-{alert.pk}",
        )
    except NotifyFailed as exc:
        _send_failed(alert, exc, now=timezone.now())
        return alert
    with transaction.atomic():
        sent_at = timezone.now()
        text_sent(alert, sent, at=sent_at)
        if alert.reason == R.DIGEST:
            alert.ended_at, alert.end = sent_at, Alert.End.DONE
        alert.save()
        if alert.referral_id is not None:
            _event(alert, ReferralEvent.Kind.ALERT_SENT, at=sent_at)
    return alert


def _send_failed(alert: Alert, exc: NotifyFailed, *, now: datetime) -> None:
    logger.warning("Alert %s not sent: %s", alert.pk, exc.detail)
    text_failed(
        alert,
        exc,
        now=now,
        first_wait_seconds=RETRY_FIRST_SECONDS,
        longest_wait_seconds=RETRY_MAX_SECONDS,
    )
    if exc.refused and alert.reason == R.DIGEST:
        alert.ended_at, alert.end = now, Alert.End.DONE
    with transaction.atomic():
        alert.save()
        if exc.refused and alert.referral_id is not None:
            _event(alert, ReferralEvent.Kind.ALERT_FAILED, at=now, error=exc.detail)


def _event(alert: Alert, kind: str, *, at: datetime, **extra: Any) -> None:
    """The alert's line on the referral's timeline: whom, as what, which message of the chain.
    Written by the hub itself (no person acted, nothing read), so no access-log row."""
    assert alert.referral_id is not None
    data: dict[str, Any] = {
        "alert_id": alert.pk,
        "alert_reason": alert.reason,
        "step": alert.step,
        "attempt": alert.attempt,
        **extra,
    }
    if alert.recipient_id is not None:
        data["to"] = alert.recipient.display_name() if alert.recipient else ""
        data["rung"] = alert.rung
    ReferralEvent.objects.create(
        referral_id=alert.referral_id,
        kind=kind,
        at=at,
        actor=None,
        to_status="",
        from_status="",
        team_id=alert.team_id,
        data=data,
    )


# --- Walking the chains ---------------------------------------------------------------------


@dataclass
class WalkRun:
    started: int = 0
    resent: int = 0
    repeated: int = 0
    passed_on: int = 0
    nobody: int = 0
    resolved: int = 0
    digests: int = 0
    details: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"started {self.started}, sent again {self.resent}, repeated {self.repeated}, "
            f"passed on {self.passed_on}, nobody left {self.nobody}, resolved {self.resolved}"
        )


def _window(priority: str) -> timedelta:
    return timedelta(minutes=settings.ALERT_ACK_MINUTES.get(priority, 30))


def alerts_walk(*, now: datetime | None = None) -> WalkRun:
    """Move every open chain on: end those no longer needed, send again once to the same person,
    pass on to the next person up, or end the chain with nobody left; start the chains nothing
    started; send what was never sent or is due a retry. Safe to run concurrently (each chain's
    open row is locked while it moves)."""
    now = now or timezone.now()
    run = WalkRun()
    run.started = len(alerts_start_due(now=now))
    resend = list(
        Alert.objects.filter(
            ended_at__isnull=True,
            status=Alert.Status.PENDING,
            sent_at__isnull=True,
        )
        .filter(
            Q(next_send_at__lte=now, send_tries__gt=0)
            | Q(created_at__lte=now - timedelta(seconds=LOST_AFTER_SECONDS))
        )
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
        .values_list("pk", flat=True)[:WALK_BATCH]
    )
    if resend:
        run.resent = len(resend)
        with transaction.atomic():
            _send_after_commit(resend)
    # One open row per chain: as many as chains running (P1-P3 referrals of the last hours).
    open_rows = Alert.objects.filter(ended_at__isnull=True, referral__isnull=False)
    moving = [
        a
        for a in open_rows.select_related("referral").order_by("created_at", "pk")
        if _needs_moving(a, now=now)
    ][:WALK_BATCH]
    if not moving:
        return run
    contacts = contacts_for(team_ids={a.team_id for a in moving}, at=now)
    for alert in moving:
        _move(alert, contacts=contacts.get(alert.team_id, []), now=now, run=run)
    if run.started or run.passed_on or run.nobody or run.repeated:
        logger.info("Alert walk: %s", run.summary())
    return run


def _holds(alert: Alert) -> bool:
    referral = alert.referral
    assert referral is not None
    if referral.team_id != alert.team_id or referral.routing_attempt != alert.routing_attempt:
        return False
    if referral.priority not in URGENT:
        return False  # re-prioritised to routine: the digest's, not an alert's
    if alert.reason == R.CONTACT_BREACHED:
        return referral.status in NOT_YET_CONTACTED and referral.first_contact_at is None
    return referral.status == ReferralStatus.QUEUED


def _needs_moving(alert: Alert, *, now: datetime) -> bool:
    if not _holds(alert) or alert.status in UNDELIVERED:
        return True
    return (alert.sent_at or alert.created_at) + _window(alert.priority) <= now


def _move(alert: Alert, *, contacts: list[Contact], now: datetime, run: WalkRun) -> None:
    with transaction.atomic():
        locked = (
            Alert.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=alert.pk, ended_at__isnull=True)
            .select_related("referral", "recipient")
            .first()
        )
        if locked is None:
            return  # ended meanwhile (acknowledged), or another walk is moving it
        if not _holds(locked):
            _end(locked, Alert.End.RESOLVED, now=now)
            run.resolved += 1
            return
        start = _Start(
            locked.referral_id or 0,
            locked.team_id,
            locked.routing_attempt,
            locked.reason,
            locked.priority,
        )
        if locked.attempt == 1 and locked.status not in UNDELIVERED:
            nxt: Contact | None = Contact(
                user_id=locked.recipient_id or 0,
                name="",
                phone=locked.phone,
                rung=locked.rung,
            )
            step, attempt = locked.step, 2
            run.repeated += 1
        else:
            alerted = set(
                _chain_rows(start.referral_id, start.routing_attempt, start.reason)
                .exclude(recipient__isnull=True)
                .values_list("recipient_id", flat=True)
            )
            nxt = next((c for c in contacts if c.user_id not in alerted), None)
            step, attempt = locked.step + 1, 1
        _end(locked, Alert.End.PASSED_ON, now=now)
        if nxt is None:
            locked.end = Alert.End.NOBODY
            locked.save(update_fields=["end"])
            _event(locked, ReferralEvent.Kind.ALERT_NOBODY, at=now)
            run.nobody += 1
            return
        if attempt == 1:
            run.passed_on += 1
        _alert_add(start=start, contact=nxt, step=step, attempt=attempt, now=now)


def _end(alert: Alert, end: str, *, now: datetime) -> None:
    alert.ended_at = now
    alert.end = end
    alert.save(update_fields=["ended_at", "end"])


# --- Delivery receipts ----------------------------------------------------------------------

RECEIPT_EVENTS: dict[str, str] = {
    Alert.Status.DELIVERED: ReferralEvent.Kind.ALERT_DELIVERED,
    Alert.Status.PERMANENT_FAILURE: ReferralEvent.Kind.ALERT_FAILED,
    Alert.Status.TEMPORARY_FAILURE: ReferralEvent.Kind.ALERT_FAILED,
    Alert.Status.TECHNICAL_FAILURE: ReferralEvent.Kind.ALERT_FAILED,
}


def alert_receipt_record(*, notification_id: Any, status: str) -> Alert | None:
    """Record Notify's delivery receipt for one message: its status on the row and, delivered or
    failed, a line on the referral's timeline. A receipt repeated (Notify retries) or for a
    message the hub does not know changes nothing; returns the row, or None when unknown."""
    with transaction.atomic():
        alert, changed = text_receipt(
            Alert.objects.select_related("recipient"),
            notification_id=notification_id,
            status=status,
        )
        kind = RECEIPT_EVENTS.get(status)
        if changed and kind is not None and alert.referral_id is not None:
            _event(alert, kind, at=alert.status_at or timezone.now(), status=status)
    return alert


# --- Acknowledging --------------------------------------------------------------------------


class NothingToAcknowledge(DomainConflict):
    code = "nothing_to_acknowledge"


class AcknowledgeNotPermitted(DomainConflict):
    status_code = 403
    code = "not_permitted"


def alerts_unacknowledged(referral_id: int) -> QuerySet[Alert]:
    """The referral's alerts waiting for someone: the open one of each chain, and the chains
    that ended with nobody left to alert."""
    return Alert.objects.filter(referral_id=referral_id, acknowledged_at__isnull=True).filter(
        Q(ended_at__isnull=True) | Q(end=Alert.End.NOBODY)
    )


def may_acknowledge(*, user: Any, referral: Referral) -> bool:
    """The alerted person, the members and leads of the referral's team, and the coordinators
    (docs/operations.md, "Urgent alerts and acknowledgement"). One or two queries."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.has_perm("accounts.coordinate"):
        return True
    if (
        referral.team_id is not None
        and TeamMembership.objects.filter(user=user, team_id=referral.team_id).exists()
    ):
        return True
    return Alert.objects.filter(referral=referral, recipient=user).exists()


def alert_acknowledge(*, referral_id: int, user: Any) -> int:
    """Acknowledge every alert of the referral waiting for someone: each chain stops. Writes
    the ALERT_ACKNOWLEDGED event and its access-log row. Returns how many were acknowledged.
    Raises Referral.DoesNotExist, AcknowledgeNotPermitted, NothingToAcknowledge (someone was
    first: the message says who and when)."""
    now = timezone.now()
    with transaction.atomic():
        referral = Referral.objects.select_for_update(of=("self",)).get(pk=referral_id)
        if not may_acknowledge(user=user, referral=referral):
            raise AcknowledgeNotPermitted("You may not acknowledge this referral's alerts.")
        waiting = list(alerts_unacknowledged(referral_id).select_for_update(of=("self",)))
        if not waiting:
            raise NothingToAcknowledge(_already(referral_id))
        for alert in waiting:
            alert.acknowledged_at = now
            alert.acknowledged_by = user
            if alert.ended_at is None:
                alert.ended_at, alert.end = now, Alert.End.ACKNOWLEDGED
            alert.save(update_fields=["acknowledged_at", "acknowledged_by", "ended_at", "end"])
        referral_event_record(
            referral,
            kind=ReferralEvent.Kind.ALERT_ACKNOWLEDGED,
            user=user,
            at=now,
            from_status=referral.status,
            data={
                "alert_ids": [a.pk for a in waiting],
                "alert_reasons": sorted({a.reason for a in waiting}),
            },
        )
    return len(waiting)


def _already(referral_id: int) -> str:
    last = (
        Alert.objects.filter(referral_id=referral_id, acknowledged_at__isnull=False)
        .select_related("acknowledged_by")
        .order_by("-acknowledged_at")
        .first()
    )
    if last is None or last.acknowledged_by is None:
        return "No alert of this referral is waiting to be acknowledged."
    from spoc.core.dates import nhs_datetime

    return (
        f"Already acknowledged by {last.acknowledged_by.display_name()} at "
        f"{nhs_datetime(last.acknowledged_at)}."
    )


# --- Digests of routine referrals -----------------------------------------------------------


def alerts_digest(*, now: datetime | None = None) -> list[int]:
    """For each team with new P4-P5 referrals in its queue and no digest in the last
    ALERT_DIGEST_EVERY_MINUTES, one text to the first person on duty with a number: how many
    joined the queue since the last digest (or within the period, for the first one). A team
    with nobody on duty gets none: they wait for the next run with someone on shift. Returns
    the ids of the digests made."""
    now = now or timezone.now()
    every = timedelta(minutes=settings.ALERT_DIGEST_EVERY_MINUTES)
    recent: dict[int, tuple[datetime, datetime | None]] = {}
    # The latest digest of each team: they are hourly, so a day's rows at most.
    for team_id, created_at, covers_until in (
        Alert.objects.filter(reason=R.DIGEST, created_at__gt=now - timedelta(days=1))
        .order_by("created_at", "pk")
        .values_list("team_id", "created_at", "covers_until")
    ):
        recent[team_id] = (created_at, covers_until)
    queued = list(
        Referral.objects.filter(
            status=ReferralStatus.QUEUED,
            priority__in=ROUTINE,
            team__isnull=False,
            accept_clock_started_at__gt=now - every,
            accept_clock_started_at__lte=now,
        ).values_list("team_id", "accept_clock_started_at")
    )
    counts: dict[int, list[datetime]] = defaultdict(list)
    for team_id, queued_at in queued:
        last = recent.get(team_id)
        if queued_at is None or team_id is None:
            continue
        if last is not None and (last[0] > now - every or (last[1] and queued_at <= last[1])):
            continue
        counts[team_id].append(queued_at)
    if not counts:
        return []
    rota = on_duty(team_ids=set(counts), at=now)
    made: list[int] = []
    with transaction.atomic():
        for team_id, joined in sorted(counts.items()):
            person = next((p for p in rota.get(team_id, []) if p.phone), None)
            if person is None:
                continue
            alert = Alert.objects.create(
                team_id=team_id,
                reason=R.DIGEST,
                priority=ROUTINE[0],
                recipient_id=person.user_id,
                rung=Alert.Rung.ON_DUTY,
                phone=person.phone,
                created_at=now,
                next_send_at=now,
                count=len(joined),
                covers_until=max(joined),
            )
            made.append(alert.pk)
        if made:
            _send_after_commit(made)
    return made
