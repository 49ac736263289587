"""Calls and call-backs (docs/design.md §3)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from patients.codes import PatientLocation
from patients.models import Assessment, Patient
from referrals.codes import CallDirection, CallReason, CarerCoping, Disposition
from services.codes import CallerType, Priority
from services.models import Site
from spoc.core.dates import nhs_datetime_short


class Call(models.Model):
    received_at = models.DateTimeField(db_index=True)
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


class CallBack(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        DONE = "DONE", "Done"
        CANCELLED = "CANCELLED", "Cancelled"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="call_backs")
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

    class Meta:
        db_table = "referrals_callback"
        ordering = ["due_at"]

    def __str__(self) -> str:
        return f"Call-back for CALL-{self.call_id:06d} due {nhs_datetime_short(self.due_at)}"
