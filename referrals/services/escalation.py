"""Clock milestones and who is told (docs/design.md §6).

The escalation job runs every minute. For each open referral it records each milestone that has
passed, once per referral, routing attempt and milestone (a unique constraint: however often the
job runs, and if two runs overlap):

- ``ACCEPT_OVERDUE``: ``accept_by`` passed while still queued; the team's duty contact is warned
  and the coordinator board lists it;
- ``CONTACT_AT_RISK``: 75% of the first-contact time gone (``at_risk_at``) without first contact;
  amber on the worklist and the board, nobody emailed;
- ``CONTACT_BREACHED``: ``contact_by`` passed without first contact; escalated to the team's
  leads and the coordinators.

Notifications go to whoever is on duty now: the team (its duty email, its leads) only while its
service is open; the SPOC coordinators, on duty around the clock, always. An email that could not
be sent is tried again on every run while its milestone still holds and is within the
notification window. A milestone that passed
more than ``ESCALATION_NOTIFY_WITHIN_HOURS`` before the job first saw it (seeded history, a long
outage) is recorded without a notification. Held referrals have no running clocks; a referral in
progress (or reopened after one) has had its first contact. Emails carry the referral number, priority, need, team and a
link: never a patient's name or NHS number.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from referrals.codes import EscalationMilestone
from referrals.models import Escalation, Referral
from referrals.transitions import ReferralStatus
from services.codes import Need, ServiceType
from services.hours import is_open
from services.models import Team, TeamMembership
from services.selectors import directory_version, routing_directory, service_schedule
from spoc.core.dates import nhs_time, nhs_weekday_date

logger = logging.getLogger(__name__)

# One run records at most this many rows per milestone; the next run takes the rest.
ESCALATION_BATCH = 1000
M = EscalationMilestone
NOT_YET_CONTACTED = (ReferralStatus.QUEUED, ReferralStatus.ACCEPTED)


@dataclass
class EscalationRun:
    recorded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    notified: int = 0
    emails: int = 0

    def summary(self) -> str:
        counts = (
            ", ".join(f"{name} {count}" for name, count in sorted(self.recorded.items())) or "none"
        )
        return f"recorded: {counts}; notified {self.notified} in {self.emails} email(s)"


def _due_filters(now: datetime) -> dict[str, tuple[Q, str]]:
    """Milestone -> (which referrals have passed it, the field holding when it fell due)."""
    return {
        M.ACCEPT_OVERDUE: (Q(status=ReferralStatus.QUEUED, accept_by__lte=now), "accept_by"),
        M.CONTACT_AT_RISK: (
            Q(status__in=NOT_YET_CONTACTED, first_contact_at__isnull=True, at_risk_at__lte=now),
            "at_risk_at",
        ),
        M.CONTACT_BREACHED: (
            Q(status__in=NOT_YET_CONTACTED, first_contact_at__isnull=True, contact_by__lte=now),
            "contact_by",
        ),
    }


def escalations_run(*, now: datetime | None = None) -> EscalationRun:
    """Record every milestone passed since the last run and notify whoever is on duty for those
    seen in time. Safe to run concurrently and as often as wanted."""
    now = now or timezone.now()
    run = EscalationRun()
    new: list[Escalation] = []
    # One timestamp per run: the rows this run inserted are the ones carrying it.
    stamp = timezone.now()
    with transaction.atomic():
        for milestone, (passed, due_field) in _due_filters(now).items():
            already = Escalation.objects.filter(
                referral=OuterRef("pk"),
                routing_attempt=OuterRef("routing_attempt"),
                milestone=milestone,
            )
            rows = list(
                Referral.objects.filter(passed, team__isnull=False)
                .exclude(Exists(already))
                .order_by(due_field)
                .values_list("pk", "routing_attempt", due_field, "team_id")[:ESCALATION_BATCH]
            )
            Escalation.objects.bulk_create(
                [
                    Escalation(
                        referral_id=pk,
                        routing_attempt=attempt,
                        milestone=milestone,
                        due_at=due,
                        recorded_at=stamp,
                        team_id=team_id,
                    )
                    for pk, attempt, due, team_id in rows
                ],
                ignore_conflicts=True,
            )
        new = list(
            Escalation.objects.filter(recorded_at=stamp).select_related("referral", "team__service")
        )
    for escalation in new:
        run.recorded[escalation.milestone] += 1
    notify_within = timedelta(hours=settings.ESCALATION_NOTIFY_WITHIN_HOURS)
    to_notify = [
        e for e in new if e.milestone != M.CONTACT_AT_RISK and now - e.due_at <= notify_within
    ]
    to_notify += _unsent(now=now, since=now - notify_within, exclude_stamp=stamp)
    if to_notify:
        _notify(to_notify, now=now, run=run)
    if any(e.milestone != M.CONTACT_AT_RISK for e in new):
        _alerts_start(now)
    if new:
        logger.info("Escalation run: %s", run.summary())
    return run


def _alerts_start(now: datetime) -> None:
    """Text the P1-P3 milestones just recorded to whoever is on duty (referrals/services/
    alerts.py) now rather than at the alert walk's next run, which starts them if this fails."""
    from referrals.services.alerts import alerts_start_due

    try:
        alerts_start_due(now=now)
    except Exception:
        logger.exception("Could not start the urgent alerts of the milestones just recorded.")


def _unsent(*, now: datetime, since: datetime, exclude_stamp: datetime) -> list[Escalation]:
    """Escalations of an earlier run whose email failed to send (their recipients kept, not
    stamped notified), still within the notification window and still true: tried again on every
    run, with whoever is on duty then, until one is sent. Milestones recorded without a
    notification on purpose (seen too late, seeded history) have no recipients and are left
    alone."""
    still_true = Q(milestone=M.ACCEPT_OVERDUE, referral__status=ReferralStatus.QUEUED) | Q(
        milestone=M.CONTACT_BREACHED,
        referral__status__in=NOT_YET_CONTACTED,
        referral__first_contact_at__isnull=True,
    )
    return list(
        Escalation.objects.filter(
            still_true, notified_at__isnull=True, due_at__gte=since, due_at__lte=now
        )
        .filter(routing_attempt=F("referral__routing_attempt"))
        .exclude(recipients=[])
        .exclude(recorded_at=exclude_stamp)
        .select_related("referral", "team__service")
        .order_by("due_at")[:ESCALATION_BATCH]
    )


@dataclass(frozen=True)
class Duty:
    """Who is on duty now, for the teams concerned: loaded once per run."""

    open_team_ids: frozenset[int]
    duty_emails: Mapping[int, str]
    lead_emails: Mapping[int, tuple[str, ...]]
    coordinator_email: str

    def team_recipients(self, team_id: int, *, leads: bool) -> list[str]:
        if team_id not in self.open_team_ids:
            return []
        found = [self.duty_emails.get(team_id, "")]
        if leads:
            found += list(self.lead_emails.get(team_id, ()))
        return [email for email in found if email]


def duty_now(
    *, team_ids: Iterable[int], now: datetime, directory_version: int | None = None
) -> Duty:
    """Which of ``team_ids`` are open now, their duty and lead addresses, and the coordinators'.
    A constant number of queries: the directory's five, unless ``directory_version`` (read in
    the caller's transaction with ``services.selectors.directory_version()``) finds the directory
    this process kept at that version (``routing_directory``), and the leads' addresses."""
    wanted = set(team_ids)
    services = [
        s
        for s in routing_directory(at=now, version=directory_version)
        if getattr(s, "team", None) is not None
    ]
    open_ids: set[int] = set()
    duty: dict[int, str] = {}
    coordinator = ""
    for service in services:
        team = service.team
        if service.service_type == ServiceType.SPOC:
            coordinator = coordinator or team.duty_email
            if team.pk in wanted:
                open_ids.add(team.pk)
        elif team.pk in wanted and is_open(service_schedule(service, at=now), now):
            open_ids.add(team.pk)
        duty[team.pk] = team.duty_email
    leads: dict[int, list[str]] = defaultdict(list)
    for team_id, email in (
        TeamMembership.objects.filter(
            team_id__in=wanted, role=TeamMembership.Role.LEAD, user__is_active=True
        )
        .exclude(user__email="")
        .values_list("team_id", "user__email")
    ):
        leads[team_id].append(email)
    return Duty(
        open_team_ids=frozenset(open_ids),
        duty_emails=duty,
        lead_emails={k: tuple(v) for k, v in leads.items()},
        coordinator_email=coordinator,
    )


def escalation_recipients(escalation: Escalation, duty: Duty) -> list[str]:
    team_id = escalation.team_id
    assert team_id is not None
    if escalation.milestone == M.ACCEPT_OVERDUE:
        # The team's duty contact while it is open; the coordinators otherwise.
        found = duty.team_recipients(team_id, leads=False) or [duty.coordinator_email]
    elif escalation.milestone == M.CONTACT_BREACHED:
        found = [*duty.team_recipients(team_id, leads=True), duty.coordinator_email]
    else:
        found = []
    return sorted({email for email in found if email})


def _notify(escalations: list[Escalation], *, now: datetime, run: EscalationRun) -> None:
    duty = duty_now(team_ids={e.team_id for e in escalations if e.team_id}, now=now)
    for escalation in escalations:
        recipients = escalation_recipients(escalation, duty)
        if not recipients:
            continue
        referral = escalation.referral
        team = escalation.team
        label = EscalationMilestone(escalation.milestone).label
        subject = f"REF-{referral.pk:06d} {referral.priority}: {label} ({team.name if team else 'no team'})"
        body = _body(referral, team, label=label, due_at=escalation.due_at)
        if not _send(subject, body, recipients):
            # Kept, unsent, for the next run to try again (recipients set, notified_at empty).
            Escalation.objects.filter(pk=escalation.pk).update(recipients=recipients)
            continue
        Escalation.objects.filter(pk=escalation.pk).update(
            notified_at=timezone.now(), recipients=recipients
        )
        run.notified += 1
        run.emails += 1


def _body(referral: Referral, team: Team | None, *, label: str, due_at: datetime) -> str:
    link = settings.HUB_URL + reverse("queue:referral", args=[referral.pk])
    return "\n".join(
        [
            f"{label}.",
            "",
            f"Referral: REF-{referral.pk:06d}",
            f"Priority: {referral.priority}",
            f"Need: {Need(referral.need).label}",
            f"Team: {team.name if team else '-'}",
            # An email is read later than it is sent: the full date, not "today".
            f"Due: {nhs_weekday_date(due_at)}, {nhs_time(due_at)}",
            "",
            f"Open it in the hub: {link}",
            "",
            "This email carries no patient details: sign in to see them.",
        ]
    )


def _send(subject: str, body: str, recipients: list[str]) -> bool:
    try:
        send_mail(f"[SPOC hub] {subject}", body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.exception(
            "Could not send '%s' to %s; the coordinator board still shows it.", subject, recipients
        )
        return False
    return True


def new_referral_notify(*, referral_id: int, now: datetime | None = None) -> list[str]:
    """Tell the team a referral has joined its queue: its duty email while its service is open;
    for P1-P3 arriving while it is closed, the coordinators. Returns the addresses emailed."""
    if not settings.NOTIFY_NEW_REFERRALS:
        return []
    now = now or timezone.now()
    referral = (
        Referral.objects.select_related("team__service")
        .annotate(directory=directory_version())
        .filter(pk=referral_id, status=ReferralStatus.QUEUED)
        .first()
    )
    if referral is None or referral.team is None:
        return []
    team = referral.team
    # Each new referral is told of: the notifications worker keeps the directory between them,
    # as the routing worker does, and reads it again after any edit (its version).
    duty = duty_now(team_ids={team.pk}, now=now, directory_version=referral.directory)
    recipients = duty.team_recipients(team.pk, leads=False)
    if not recipients and referral.priority in ("P1", "P2", "P3"):
        recipients = [duty.coordinator_email] if duty.coordinator_email else []
    if not recipients:
        return []
    subject = f"REF-{referral.pk:06d} {referral.priority}: new referral for {team.name}"
    due = referral.accept_by or now
    if _send(
        subject,
        _body(referral, team, label="A new referral is waiting to be accepted", due_at=due),
        recipients,
    ):
        return recipients
    return []


def escalation_backlog_check() -> dict[str, Any]:
    """For /healthz: milestones that passed more than ESCALATION_ALERT_AFTER_SECONDS ago and that
    the escalation job has not recorded. Non-zero means beat or the job is not running (or
    cannot keep up): nobody is being told of late referrals. One count per milestone."""
    cutoff = timezone.now() - timedelta(seconds=settings.ESCALATION_ALERT_AFTER_SECONDS)
    missed: dict[str, int] = {}
    for milestone, (passed, _due_field) in _due_filters(cutoff).items():
        already = Escalation.objects.filter(
            referral=OuterRef("pk"),
            routing_attempt=OuterRef("routing_attempt"),
            milestone=milestone,
        )
        missed[milestone] = (
            Referral.objects.filter(passed, team__isnull=False).exclude(Exists(already)).count()
        )
    return {"ok": not any(missed.values()), "unrecorded_milestones": missed}
