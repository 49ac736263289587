"""Referrals and their events, escalations and interventions (docs/design.md §3)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from patients.models import Patient, RelatedPerson
from referrals.codes import (
    EscalationMilestone,
    InterventionType,
    ReferralOutcome,
)
from referrals.transitions import QUEUE_STATUSES, ReferralStatus
from services.codes import Need, Priority
from services.models import Team
from spoc.core.dates import nhs_datetime_short
from spoc.core.notify import TextStatus


class Referral(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    # The person the referral is for when not the patient (a carer, a bereaved relative).
    for_person = models.ForeignKey(
        RelatedPerson, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    # That person's consent to be contacted about this referral (docs/routing.md, "Who a referral
    # is for"): when it was recorded and by whom; a partner system that sent the referral answers
    # for it itself (``sender``), so then nobody of the hub's staff recorded it.
    for_person_consent_at = models.DateTimeField(null=True, blank=True)
    for_person_consent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    call = models.ForeignKey(
        "calls.Call", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    need = models.CharField(max_length=26, choices=Need.choices)
    note = models.TextField(max_length=2000, blank=True)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    # At the call: the triage rules' suggestion for this need (docs/triage.md) and, when the
    # handler chose another priority, why. Blank for referrals not made by a call's triage.
    suggested_priority = models.CharField(max_length=2, choices=Priority.choices, blank=True)
    override_reason = models.TextField(max_length=1000, blank=True)
    status = models.CharField(
        max_length=16, choices=ReferralStatus.choices, default=ReferralStatus.AWAITING_ROUTING
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_referrals",
    )
    # The first-contact clock starts here (the call, or contact_not_before) and never restarts;
    # a hold moves it on by the time spent on hold (docs/reference.md "Urgency": ON_HOLD stops it).
    clock_started_at = models.DateTimeField()
    contact_not_before = models.DateTimeField(null=True, blank=True)
    # The accept clock restarts each time the referral joins a queue; a hold moves it on too.
    accept_clock_started_at = models.DateTimeField(null=True, blank=True)
    accept_by = models.DateTimeField(null=True, blank=True)
    contact_by = models.DateTimeField(null=True, blank=True)
    # 75% of the first-contact time gone (docs/design.md §6: amber on the worklist).
    at_risk_at = models.DateTimeField(null=True, blank=True)
    routing_attempt = models.PositiveSmallIntegerField(default=0)
    # Services that declined this referral: routing passes them over.
    declined_service_ids = models.JSONField(default=list, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    hold_reason = models.CharField(max_length=500, blank=True)
    # Where a resumed referral returns to.
    status_before_hold = models.CharField(max_length=16, choices=ReferralStatus.choices, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    # Completed, cancelled or entered in error: the start of the 30-day reopening window.
    closed_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    # The ranker's answer at routing: every candidate with why it won, lost or was excluded.
    routing_decision = models.JSONField(default=dict, blank=True)
    # Why it went to the coordinators instead of a partner team.
    unroutable_reason = models.CharField(max_length=300, blank=True)
    routed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=19, choices=ReferralOutcome.choices, blank=True)
    # Indexed with the id (referral_created_id, below), which serves every look-up by time too.
    created_at = models.DateTimeField()
    # Made by a member of staff, or sent by a partner system as a BaRS message (interop/bars.py):
    # the system, the person who asked, their reference for the request, the message it came in
    # and the time by which the sender expects it answered.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sender = models.ForeignKey(
        "accounts.PartnerSystem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    sender_requester = models.CharField(max_length=300, blank=True)
    sender_reference = models.CharField(max_length=64, blank=True)
    sender_message_id = models.CharField(max_length=64, blank=True)
    sender_breach_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "status", "contact_by"], name="referral_team_queue"),
            models.Index(fields=["patient", "status"], name="referral_patient_status"),
            models.Index(fields=["status", "created_at"], name="referral_status_created"),
            # The API's list, newest first: a page is read straight off this index, from the top
            # or from a cursor, without a sort (spoc/core/pagination.py).
            models.Index(fields=["created_at", "id"], name="referral_created_id"),
            models.Index(fields=["owner", "status"], name="referral_owner_status"),
            models.Index(fields=["status", "contact_by"], name="referral_status_contact_by"),
            # A team's queue page and its poll read only these columns of the team's open
            # referrals: an index-only scan, however many closed referrals share the table.
            # (SQLite keeps the index without the included columns: settings, W040.) Priority
            # orders the referrals waiting to be claimed and counts the urgent ones; as a key,
            # a page's order reads only the priorities waiting that fill it.
            models.Index(
                fields=["team", "status", "priority"],
                name="referral_open_queue",
                include=[
                    "first_contact_at",
                    "contact_by",
                    "at_risk_at",
                    "accept_by",
                    "updated_at",
                    "id",
                ],
                condition=models.Q(status__in=QUEUE_STATUSES),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status__in=["QUEUED", "ACCEPTED", "IN_PROGRESS"])
                | models.Q(team__isnull=False),
                name="referral_in_queue_has_team",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["ACCEPTED", "IN_PROGRESS"])
                | models.Q(owner__isnull=False),
                name="referral_claimed_has_owner",
            ),
            # An override is a choice against a suggestion: no reason without one.
            models.CheckConstraint(
                condition=models.Q(override_reason="") | ~models.Q(suggested_priority=""),
                name="referral_override_has_suggestion",
            ),
            models.CheckConstraint(
                condition=models.Q(created_by__isnull=False) | models.Q(sender__isnull=False),
                name="referral_made_by_someone",
            ),
            # A referral for someone other than the patient is made only with their consent to be
            # contacted, recorded by a member of staff or stated by the partner that sent it.
            models.CheckConstraint(
                condition=models.Q(for_person__isnull=True)
                | models.Q(for_person_consent_at__isnull=False)
                & (models.Q(for_person_consent_by__isnull=False) | models.Q(sender__isnull=False)),
                name="referral_for_person_has_consent",
            ),
            # A sender's reference names one referral: its updates find it by that.
            models.UniqueConstraint(
                fields=["sender", "sender_reference"],
                condition=models.Q(sender__isnull=False),
                name="referral_sender_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        team = self.team.name if self.team is not None else "unrouted"
        return f"REF-{self.pk:06d} {self.priority} {team}"


class ReferralEvent(models.Model):
    """One row per transition and per action on a referral, written in the same transaction
    (CONTRIBUTING.md, "How we write code"). Feeds the timeline, the clocks, the metrics and the audit."""

    class Kind(models.TextChoices):
        CREATED = "CREATED", "Created"
        ROUTED = "ROUTED", "Routed"
        UNROUTABLE = "UNROUTABLE", "Sent to the coordinators"
        ROUTED_MANUALLY = "ROUTED_MANUALLY", "Routed by hand"
        REROUTE_REQUESTED = "REROUTE_REQUESTED", "Sent for routing again"
        DECLINED = "DECLINED", "Declined"
        CLAIMED = "CLAIMED", "Claimed"
        RELEASED = "RELEASED", "Released to the queue"
        REASSIGNED = "REASSIGNED", "Reassigned"
        CONTACTED = "CONTACTED", "First contact"
        INTERVENTION = "INTERVENTION", "Intervention recorded"
        ASSESSED = "ASSESSED", "Assessment recorded"
        HELD = "HELD", "Put on hold"
        RESUMED = "RESUMED", "Resumed"
        REPRIORITISED = "REPRIORITISED", "Priority changed"
        COMPLETED = "COMPLETED", "Completed"
        CANCELLED = "CANCELLED", "Cancelled"
        REOPENED = "REOPENED", "Reopened"
        ENTERED_IN_ERROR = "ENTERED_IN_ERROR", "Entered in error"
        # A partner system that sent the referral added to it (referrals/services/electronic.py).
        SENDER_UPDATE = "SENDER_UPDATE", "Update from the sender"
        # Its patient, registered from a message, was confirmed as one the hub knew: it moved to
        # that record (possible_match_decide).
        PATIENT_CONFIRMED = "PATIENT_CONFIRMED", "Moved to the patient's existing record"
        # Urgent alerts by text message (referrals/services/alerts.py): each one sent, its
        # delivery receipt, its acknowledgement, and a chain that found nobody (more) to alert.
        ALERT_SENT = "ALERT_SENT", "Urgent alert sent"
        ALERT_DELIVERED = "ALERT_DELIVERED", "Urgent alert delivered"
        ALERT_FAILED = "ALERT_FAILED", "Urgent alert not delivered"
        ALERT_ACKNOWLEDGED = "ALERT_ACKNOWLEDGED", "Urgent alert acknowledged"
        ALERT_NOBODY = "ALERT_NOBODY", "Nobody (more) to alert"
        # A bereavement risk screen answered (referrals/services/bereavement.py); its data keep
        # the answers, so a screen replaced later is still on the referral's history.
        BEREAVEMENT_SCREENED = "BEREAVEMENT_SCREEN", "Bereavement risk screen"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["referral", "at"], name="referral_event_referral_at"),
            # The outbox and GP letter feeds read the last few days of events every few seconds
            # (OUTBOX_EVENT_LOOKBACK_DAYS, GP_LETTER_LOOKBACK_DAYS).
            models.Index(fields=["at"], name="referral_event_at"),
        ]

    def __str__(self) -> str:
        return f"REF-{self.referral_id:06d} {self.kind} at {nhs_datetime_short(self.at)}"


class BereavementScreen(models.Model):
    """The current bereavement risk screen of a bereavement referral (docs/triage.md,
    "Bereavement risk screen"): its answers, the component of support they point to, who answered
    and when. One per referral; a later screen replaces it, and every screen is kept in the data
    of its ``BEREAVEMENT_SCREEN`` event. No row: the person is not screened."""

    referral = models.OneToOneField(
        Referral, on_delete=models.CASCADE, related_name="bereavement_screen"
    )
    # Question code -> YES / NO / UNKNOWN, one for every question (referrals/bereavement.py).
    answers = models.JSONField()
    component = models.PositiveSmallIntegerField()
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(component__gte=1, component__lte=3),
                name="bereavement_screen_component_1_to_3",
            )
        ]

    def __str__(self) -> str:
        return f"REF-{self.referral_id:06d} bereavement screen component {self.component}"


class Escalation(models.Model):
    """A clock milestone passed (docs/design.md §6): one row per referral, routing attempt and
    milestone, however often the escalation job runs (the unique constraint decides)."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="escalations")
    routing_attempt = models.PositiveSmallIntegerField()
    milestone = models.CharField(max_length=16, choices=EscalationMilestone.choices)
    # When the milestone fell due, and when the job saw it.
    due_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Null: recorded without a notification (seen too late, or nobody on duty had an address).
    notified_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [
            models.Index(fields=["milestone", "due_at"], name="escalation_milestone_due"),
            models.Index(fields=["recorded_at"], name="escalation_recorded_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "routing_attempt", "milestone"],
                name="escalation_once_per_milestone",
            ),
        ]

    def __str__(self) -> str:
        return f"REF-{self.referral_id:06d} {self.milestone} (attempt {self.routing_attempt})"


class Alert(models.Model):
    """One text message of an urgent alert, or of a team's digest of routine referrals
    (docs/operations.md, "Urgent alerts and acknowledgement"; referrals/services/alerts.py).

    An urgent alert is a chain: one per referral, routing attempt and reason (a new P1-P3
    referral in a team's queue, or one of its clock milestones), made of rows, one per message:
    the person on duty for the team, again once (``attempt`` 2) if nobody acknowledged within
    the priority's window, then the next person up (``step``), to the coordinator on duty. At
    most one row of a chain is open (``ended_at`` empty): the one waiting for its
    acknowledgement. A row with no recipient records that nobody could be alerted. A digest row
    has no referral and is never acknowledged."""

    class Reason(models.TextChoices):
        NEW_REFERRAL = "NEW_REFERRAL", "New referral"
        ACCEPT_OVERDUE = "ACCEPT_OVERDUE", "Not accepted in time"
        CONTACT_BREACHED = "CONTACT_BREACHED", "First contact overdue"
        DIGEST = "DIGEST", "New routine referrals"

    class Rung(models.TextChoices):
        ON_DUTY = "ON_DUTY", "On duty for the team"
        LEAD = "LEAD", "Team lead"
        COORDINATOR = "COORDINATOR", "SPOC coordinator on duty"

    # Where its text is (spoc/core/notify.py, shared with the other texts the hub sends).
    Status = TextStatus

    class End(models.TextChoices):
        ACKNOWLEDGED = "ACKNOWLEDGED", "Acknowledged"
        # Sent again, or sent on up the chain: the next row took over.
        PASSED_ON = "PASSED_ON", "Passed on"
        # What it was about no longer holds (claimed, contacted, closed, routed elsewhere).
        RESOLVED = "RESOLVED", "No longer needed"
        # Nobody (more) to alert: the coordinator board shows it until acknowledged.
        NOBODY = "NOBODY", "Nobody left to alert"
        # A digest is done once sent (or refused).
        DONE = "DONE", "Done"

    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    routing_attempt = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # The priority when the chain started: it sets the acknowledgement window.
    priority = models.CharField(max_length=2, choices=Priority.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rung = models.CharField(max_length=11, choices=Rung.choices, blank=True)
    # E.164, as given by the duty rota or the user's work mobile when the row was made.
    phone = models.CharField(max_length=16, blank=True)
    step = models.PositiveSmallIntegerField(default=1)
    attempt = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField()
    # Sending: tries so far, the next one's time, a lease while one worker sends it, what went
    # wrong last (Notify's error, never the message).
    send_tries = models.PositiveSmallIntegerField(default=0)
    next_send_at = models.DateTimeField(null=True, blank=True)
    sending_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    notify_id = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=17, choices=Status.choices, default=Status.PENDING)
    status_at = models.DateTimeField(null=True, blank=True)
    # A digest: how many referrals it told of, and the queue time up to which it covered them.
    count = models.PositiveIntegerField(default=0)
    covers_until = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end = models.CharField(max_length=12, choices=End.choices, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ended_at", "created_at"], name="alert_open_created"),
            models.Index(fields=["referral", "created_at"], name="alert_referral_created"),
            models.Index(fields=["team", "reason", "created_at"], name="alert_team_reason"),
        ]
        constraints = [
            # One open row per chain: the walk and the sweep never fork a chain.
            models.UniqueConstraint(
                fields=["referral", "routing_attempt", "reason"],
                condition=models.Q(ended_at__isnull=True, referral__isnull=False),
                name="alert_one_open_per_chain",
            ),
            # A chain starts once: its first message.
            models.UniqueConstraint(
                fields=["referral", "routing_attempt", "reason"],
                condition=models.Q(step=1, attempt=1, referral__isnull=False),
                name="alert_chain_starts_once",
            ),
            models.CheckConstraint(
                condition=models.Q(reason="DIGEST", referral__isnull=True)
                | (~models.Q(reason="DIGEST") & models.Q(referral__isnull=False)),
                name="alert_digest_or_referral",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True, end="")
                | models.Q(ended_at__isnull=False) & ~models.Q(end=""),
                name="alert_ended_with_why",
            ),
        ]

    def __str__(self) -> str:
        about = f"REF-{self.referral_id:06d}" if self.referral_id else f"team {self.team_id}"
        return f"Alert {self.pk} {self.reason} {about} step {self.step}.{self.attempt}"


class Intervention(models.Model):
    """What a nurse did for a referral (docs/reference.md intervention types), with whether it avoided
    a hospital admission and the bed days that saved (docs/design.md §8)."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="interventions")
    kind = models.CharField(max_length=25, choices=InterventionType.choices)
    at = models.DateTimeField(db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(max_length=2000, blank=True)
    admission_avoided = models.BooleanField(default=False)
    # The nurse's estimate; only with an admission avoided.
    bed_days_saved = models.PositiveSmallIntegerField(null=True, blank=True)
    # Attested by the clinician: a contact with the GP or another primary-care service (a GP
    # visit, a call to the practice or to the out-of-hours GP) that would otherwise have been
    # needed (docs/metrics.md "Primary-care contacts avoided").
    primary_care_contact_avoided = models.BooleanField(default=False)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(bed_days_saved__isnull=True)
                | (models.Q(admission_avoided=True) & models.Q(bed_days_saved__lte=365)),
                name="intervention_bed_days_with_admission_avoided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for REF-{self.referral_id:06d} at {nhs_datetime_short(self.at)}"


class GpLetter(models.Model):
    """An outcome letter to a patient's registered GP practice (docs/interop.md, "The GP hears
    back"): one per completion of a referral (its COMPLETED event) and one per death (the
    DeathRecord), the unique one-to-ones decide. Made once, by interop/gp_letters.py, with the
    practice the patient was registered with then; its PDF is kept as made (the page shows it)
    and the document Bundle carrying it is the body of its OutboxMessage."""

    class Kind(models.TextChoices):
        COMPLETION = "COMPLETION", "Referral completed"
        DEATH = "DEATH", "Death of the patient"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="gp_letters")
    practice = models.ForeignKey(
        "services.Organisation", on_delete=models.PROTECT, related_name="gp_letters"
    )
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="gp_letters"
    )
    event = models.OneToOneField(
        ReferralEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="gp_letter"
    )
    death = models.OneToOneField(
        "patients.DeathRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gp_letter",
    )
    # The document Bundle's id and identifier, and the name of its files in the drop folder.
    letter_id = models.UUIDField(unique=True)
    created_at = models.DateTimeField()
    pdf = models.BinaryField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    kind="COMPLETION",
                    event__isnull=False,
                    referral__isnull=False,
                    death__isnull=True,
                )
                | models.Q(kind="DEATH", death__isnull=False, event__isnull=True),
                name="gp_letter_completion_or_death",
            ),
        ]

    def __str__(self) -> str:
        return f"Letter {self.letter_id} to {self.practice_id} ({self.kind})"


class OutboxMessage(models.Model):
    """A BaRS response message the hub owes the partner system that sent a referral
    (docs/interop.md, "The referrer hears back"): one per event the sender hears of (the unique
    event decides) and at most one breach notice per referral (a partial unique constraint). The
    body is the message Bundle, made once when the row is made, so every attempt sends the same
    Bundle (the same id: the partner can tell a repeat). Rows of one referral are sent in id
    order: a later one waits until every earlier one is sent (referrals/services/outbox.py)."""

    class Kind(models.TextChoices):
        # The referral's events the sender hears of (interop/outbox.py chooses them).
        CLAIMED = "CLAIMED", "Accepted"
        RELEASED = "RELEASED", "Released to the queue"
        DECLINED = "DECLINED", "Declined"
        REROUTE_REQUESTED = "REROUTE_REQUESTED", "Sent for routing again"
        ROUTED = "ROUTED", "Routed again"
        UNROUTABLE = "UNROUTABLE", "Sent to the coordinators"
        ROUTED_MANUALLY = "ROUTED_MANUALLY", "Routed by hand"
        CONTACTED = "CONTACTED", "First contact"
        COMPLETED = "COMPLETED", "Completed"
        CANCELLED = "CANCELLED", "Cancelled"
        REOPENED = "REOPENED", "Reopened"
        ENTERED_IN_ERROR = "ENTERED_IN_ERROR", "Entered in error"
        # The sender's breach time passed with the referral not accepted.
        NOT_ACCEPTED = "NOT_ACCEPTED", "Not accepted by the sender's breach time"
        # An outcome letter to the patient's GP practice (GpLetter), not to a sender.
        GP_LETTER = "GP_LETTER", "Letter to the GP practice"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting to be sent"
        SENT = "SENT", "Sent"
        # Every attempt failed (OUTBOX_MAX_ATTEMPTS), or there is nowhere to send it: waits for
        # a coordinator to send it again (outbox_resend).
        FAILED = "FAILED", "Not delivered"

    # None for a letter to a GP practice: it is sent on its own, behind no sender's message.
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox"
    )
    event = models.OneToOneField(
        ReferralEvent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbox_message",
    )
    partner = models.ForeignKey(
        "accounts.PartnerSystem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outbox",
    )
    letter = models.OneToOneField(
        GpLetter, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_message"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Set while one worker is sending it: no other worker takes it (or, before this time, another
    # message to the same partner) until it is cleared or has passed (a worker that died).
    sending_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # What went wrong last ("HTTP 503", "Timed out"): never the body, never patient details.
    last_error = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The message Bundle (FHIR JSON) as sent, on every attempt.
    body = models.JSONField()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_due"),
            models.Index(fields=["referral", "status"], name="outbox_referral_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["referral"],
                condition=models.Q(kind="NOT_ACCEPTED"),
                name="outbox_one_breach_notice",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["NOT_ACCEPTED", "GP_LETTER"], event__isnull=True)
                | (
                    ~models.Q(kind__in=["NOT_ACCEPTED", "GP_LETTER"])
                    & models.Q(event__isnull=False)
                ),
                name="outbox_event_or_breach_notice",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="SENT") | models.Q(sent_at__isnull=False),
                name="outbox_sent_has_sent_at",
            ),
            # A letter goes to its practice; everything else to the referral's sender.
            models.CheckConstraint(
                condition=models.Q(kind="GP_LETTER", letter__isnull=False, partner__isnull=True)
                | (
                    ~models.Q(kind="GP_LETTER")
                    & models.Q(letter__isnull=True, partner__isnull=False, referral__isnull=False)
                ),
                name="outbox_letter_or_sender",
            ),
        ]

    def __str__(self) -> str:
        if self.referral_id is None:
            return f"{self.kind} {self.letter_id} ({self.status})"
        return f"REF-{self.referral_id:06d} {self.kind} to {self.partner_id} ({self.status})"


class QueueDetailsVersion(models.Model):
    """Per team, a value that changes with every committed change to what its queue's rows show
    from other tables: a patient's name, NHS number, date of birth or postcode, the details of
    whom a referral is for, its owner's name. The queue's version (``team_queue_state``) covers
    the referrals' own columns; with this, an open tab's next poll shows a corrected name too.

    Never written by the hub's code: database triggers on those tables write it for the teams of
    the person's referrals, in the writing transaction, whoever writes (a service, the admin,
    plain SQL; migration 0021). A team with no row has had no such change."""

    team = models.OneToOneField(
        Team, primary_key=True, on_delete=models.CASCADE, related_name="queue_details_version"
    )
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"queue details version {self.version} of team {self.team_id}"
