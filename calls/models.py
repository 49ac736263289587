"""Calls and call-backs (docs/design.md §3)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from patients.codes import PatientLocation
from patients.models import Assessment, DeathRecord, Patient
from referrals.codes import CallDirection, CallReason, CarerCoping, Disposition, RedFlag
from services.codes import CallerType, Priority
from services.models import Site
from spoc.core.dates import nhs_datetime_short


class Call(models.Model):
    received_at = models.DateTimeField(db_index=True)
    # From the phone system when the call screen was opened from a screen pop (docs/telephony.md).
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    direction = models.CharField(
        max_length=8, choices=CallDirection.choices, default=CallDirection.INBOUND
    )
    caller_type = models.CharField(max_length=20, choices=CallerType.choices)
    caller_name = models.CharField(max_length=200, blank=True)
    caller_phone = PhoneNumberField(blank=True)
    caller_organisation = models.CharField(max_length=200, blank=True)
    caller_relationship = models.CharField(
        "relationship to the patient", max_length=100, blank=True
    )
    # Null: "patient not identified".
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    reason = models.CharField(max_length=22, choices=CallReason.choices)
    notes = models.TextField(max_length=5000, blank=True)
    triage = models.OneToOneField(
        Assessment, null=True, blank=True, on_delete=models.PROTECT, related_name="call"
    )
    red_flags = models.JSONField(default=list, blank=True)
    # False: not asked, which is not "none present" (docs/triage.md, "Not asked is not absent").
    red_flags_asked = models.BooleanField(default=False)
    carer_coping = models.CharField(max_length=14, choices=CarerCoping.choices, blank=True)
    patient_location = models.CharField(max_length=9, choices=PatientLocation.choices, blank=True)
    patient_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    suggested_priority = models.CharField(max_length=2, choices=Priority.choices)
    suggestion_reasons = models.JSONField(default=list)
    triage_rules_version = models.CharField(max_length=20)
    chosen_priority = models.CharField(max_length=2, choices=Priority.choices)
    override_reason = models.TextField(max_length=1000, blank=True)
    disposition = models.CharField(max_length=17, choices=Disposition.choices)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calls_handled"
    )
    # Advice given by a handler who is not a clinician waits for a coordinator's review.
    needs_senior_review = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(max_length=2000, blank=True)
    # The form's or API client's key: a resubmission returns the first call and creates nothing.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (NULL: no key, not unique)

    class Meta:
        db_table = "referrals_call"  # made before calls had an app of its own
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "received_at"], name="call_patient_received"),
            models.Index(fields=["handled_by", "received_at"], name="call_handler_received"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["handled_by", "idempotency_key"], name="call_idempotency_key_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(chosen_priority=models.F("suggested_priority"))
                | ~models.Q(override_reason=""),
                name="call_override_needs_reason",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"CALL-{self.pk:06d} {nhs_datetime_short(self.received_at)} {self.get_reason_display()}"
        )

    def get_red_flags_display(self) -> list[str]:
        """The red flags recorded, as the code list says them ("Major bleed")."""
        return [RedFlag(flag).label for flag in self.red_flags if flag in RedFlag.values]


class CallBack(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        DONE = "DONE", "Done"
        CANCELLED = "CANCELLED", "Cancelled"

    class Outcome(models.TextChoices):
        """What happened, said when it is marked done (docs/telephony.md, "Calling back")."""

        REACHED = "REACHED", "Reached"
        NO_ANSWER = "NO_ANSWER", "No answer after tries"
        UNOBTAINABLE = "UNOBTAINABLE", "Number unobtainable"
        NOT_NEEDED = "NOT_NEEDED", "No longer needed"

    # The call it follows: a call the handler saved, or a phone call nobody answered
    # (docs/telephony.md, "Nothing missed"); one of the two.
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.CASCADE, related_name="call_backs"
    )
    telephony_call = models.OneToOneField(
        "TelephonyCall",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="call_back",
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="call_backs"
    )
    due_at = models.DateTimeField(db_index=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="call_backs",
    )
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Blank while pending, and for call-backs closed before an outcome was asked for.
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    # The text sent when it went overdue (calls/services/reminders.py): when, to whom, Notify's
    # id. ``reminder_sending_until``: a run is sending it until then; ``reminder_error``: why the
    # last try did not send, tried again on the next run.
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminded_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reminder_notify_id = models.UUIDField(null=True, blank=True)
    reminder_sending_until = models.DateTimeField(null=True, blank=True)
    reminder_error = models.CharField(max_length=200, blank=True)
    # The death whose recording cancelled it; kept when withdrawing that death restores it
    # (workspace/services.py, ``death_withdraw``).
    cancelled_by_death = models.ForeignKey(
        DeathRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "referrals_callback"
        ordering = ["due_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(call__isnull=False) | models.Q(telephony_call__isnull=False),
                name="call_back_follows_a_call",
            ),
        ]
        # The navigation's count of call-backs due runs on every page of those who take calls:
        # it reads only the pending ones, however many are done.
        indexes = [
            models.Index(
                fields=["due_at"],
                name="callback_pending_due",
                condition=models.Q(status="PENDING"),
            ),
        ]

    def __str__(self) -> str:
        after = (
            f"CALL-{self.call_id:06d}" if self.call_id else f"phone call {self.telephony_call_id}"
        )
        return f"Call-back for {after} due {nhs_datetime_short(self.due_at)}"

    @property
    def outcome_text(self) -> str:
        """``Reached``, ``No answer after 3 tries`` (its tries recorded), ``Number unobtainable``;
        "" without an outcome. Reads ``attempts`` (prefetch them for a list)."""
        if self.outcome != self.Outcome.NO_ANSWER:
            return self.get_outcome_display() if self.outcome else ""
        tries = len(self.attempts.all())
        if not tries:
            return "No answer"
        return f"No answer after {tries} {'try' if tries == 1 else 'tries'}"


class CallFollowUp(models.Model):
    """The coordinators' check on what happened after a call that sent the patient to 999 or
    transferred the caller (docs/patients-and-calls.md, "Follow-ups"): made with the call, due
    ``CALL_FOLLOW_UP_MINUTES`` after it was saved, done once its outcome is recorded."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "To confirm"
        DONE = "DONE", "Confirmed"

    class Outcome(models.TextChoices):
        CONVEYED = "CONVEYED", "Ambulance attended, patient taken to hospital"
        NOT_CONVEYED = "NOT_CONVEYED", "Ambulance attended, patient not taken to hospital"
        TRANSFER_ACCEPTED = "TRANSFER_ACCEPTED", "Transfer accepted by the service"
        COULD_NOT_CONFIRM = "COULD_NOT_CONFIRM", "Could not confirm what happened"
        NOT_NEEDED = "NOT_NEEDED", "No longer needed"

    # One per call: saving the call twice (its idempotency key) cannot make a second.
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="follow_up")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.PENDING)
    outcome = models.CharField(max_length=17, choices=Outcome.choices, blank=True)
    note = models.TextField(max_length=1000, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            # Done means an outcome, who and when; pending means none of them.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        status="DONE",
                        done_at__isnull=False,
                        done_by__isnull=False,
                    )
                    & ~models.Q(outcome="")
                )
                | models.Q(status="PENDING", outcome="", done_at__isnull=True),
                name="call_follow_up_done_has_outcome",
            ),
        ]
        # The navigation's count and the board read only the pending ones.
        indexes = [
            models.Index(
                fields=["due_at"],
                name="followup_pending_due",
                condition=models.Q(status="PENDING"),
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up of CALL-{self.call_id:06d} due {nhs_datetime_short(self.due_at)}"


class CallBackAttempt(models.Model):
    """A try at a call-back that did not reach the person ("no answer, tried 14:32"); reaching
    them marks the call-back done (docs/telephony.md, "Calling back")."""

    class Outcome(models.TextChoices):
        NO_ANSWER = "NO_ANSWER", "No answer"
        LEFT_MESSAGE = "LEFT_MESSAGE", "Left a message"
        BUSY = "BUSY", "Engaged"
        WRONG_NUMBER = "WRONG_NUMBER", "Wrong number"

    call_back = models.ForeignKey(CallBack, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    attempted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}, tried {nhs_datetime_short(self.attempted_at)}"


class TelephonyCall(models.Model):
    """One call as the phone system saw it (docs/telephony.md): one row per phone-system call
    id, its times and outcome folded from its events (``calls.telephony.call_state``) whatever
    order they arrived in. ``call`` is the hub's record of it once the handler saves one."""

    class Outcome(models.TextChoices):
        RINGING = "RINGING", "Ringing"
        ANSWERED = "ANSWERED", "Answered"
        MISSED = "MISSED", "Missed"
        ABANDONED = "ABANDONED", "Caller gave up"
        VOICEMAIL = "VOICEMAIL", "Voicemail"

    external_id = models.CharField(max_length=100, unique=True)
    caller_number = models.CharField(max_length=20, blank=True)  # E.164; blank: withheld
    line = models.CharField(max_length=20, blank=True)  # the number dialled, E.164
    rang_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=9, choices=Outcome.choices)
    extension = models.CharField(max_length=10, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="telephony_calls",
    )
    recording_url = models.URLField(max_length=1000, blank=True)
    call = models.OneToOneField(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="telephony_call"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-rang_at", "-id"]
        indexes = [
            models.Index(fields=["answered_by", "answered_at"], name="telcall_answered_by"),
            models.Index(fields=["outcome", "rang_at"], name="telcall_outcome_rang"),
        ]

    def __str__(self) -> str:
        return f"Phone call {self.external_id} {nhs_datetime_short(self.rang_at)} {self.get_outcome_display()}"


class TelephonyEvent(models.Model):
    """One event the phone system sent, kept as received. Its id is unique: a repeat is refused."""

    event_id = models.CharField(max_length=100, unique=True)
    telephony_call = models.ForeignKey(
        TelephonyCall, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=11)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    caller_number = models.CharField(max_length=20, blank=True)
    line = models.CharField(max_length=20, blank=True)
    extension = models.CharField(max_length=10, blank=True)
    recording_url = models.URLField(max_length=1000, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"
