"""Feedback from patients, carers and bereaved relatives (docs/design.md §8; docs/metrics.md,
"Feedback"; docs/operations.md, "Feedback texts").

An ``Invitation`` is one consent and the one text it allows: who agreed (the patient, or one of
the people around them), to which mobile number, who recorded it and when; when the text is due,
its sending (the fields every text of the hub has, spoc/core/notify.py) and the link it carries,
kept only as the SHA-256 of its token. An ``Answer`` is what came back through that link, once.
The form never shows who the invitation was about, and the answer keeps no name or number: only
its team, its kind and the day it came."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from experience.codes import DiedWhereWanted, FamilySupport, FftAnswer
from patients.models import Patient, RelatedPerson
from services.models import Team
from spoc.core.notify import TextStatus

WHY_MAX = 2000


class Invitation(models.Model):
    class Kind(models.TextChoices):
        FFT = "FFT", "Friends and Family Test"
        BEREAVED = "BEREAVED", "Bereaved relatives' survey"

    class Cancelled(models.TextChoices):
        # A Friends and Family Test text is not sent once the patient has died.
        PATIENT_DIED = "PATIENT_DIED", "The patient has died"
        # A bereaved relatives' survey is not sent once the death is no longer on record.
        NO_DEATH = "NO_DEATH", "The death is no longer recorded"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    # The completed referral it follows (the bereavement referral for a survey recorded there).
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The team whose care it is about; its answers count for that team on the dashboards.
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who agreed: one of the people around the patient, or (empty) the patient.
    related_person = models.ForeignKey(
        RelatedPerson, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # E.164, the mobile number they agreed to be texted at, as it was on their record.
    phone = models.CharField(max_length=16)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    consent_recorded_at = models.DateTimeField()
    due_at = models.DateTimeField()
    # The link's token is never stored: its SHA-256 (hex), set when the text is sent.
    token_hash = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    send_tries = models.PositiveSmallIntegerField(default=0)
    next_send_at = models.DateTimeField(null=True, blank=True)
    sending_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    notify_id = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=17, choices=TextStatus.choices, default=TextStatus.PENDING)
    status_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=12, choices=Cancelled.choices, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["sent_at", "due_at"], name="invitation_due")]
        constraints = [
            # One Friends and Family Test text per completed referral.
            models.UniqueConstraint(
                fields=["referral"],
                condition=models.Q(kind="FFT"),
                name="invitation_one_fft_per_referral",
            ),
            # One survey per death, whoever agreed to it.
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(kind="BEREAVED"),
                name="invitation_one_survey_per_death",
            ),
            models.UniqueConstraint(
                fields=["token_hash"],
                condition=~models.Q(token_hash=""),
                name="invitation_token_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="BEREAVED") | models.Q(referral__isnull=False),
                name="invitation_fft_follows_a_referral",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} {self.kind} patient {self.patient_id}"


class Answer(models.Model):
    """The answers given through one invitation's link. ``rating`` is the Friends and Family
    Test's answer, or for the survey the overall rating of the care in the last months of life
    (on the same six answers); the survey's other answers are empty for the test."""

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="answer")
    kind = models.CharField(max_length=8, choices=Invitation.Kind.choices)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(db_index=True)
    rating = models.CharField(max_length=9, choices=FftAnswer.choices)
    why = models.TextField(max_length=WHY_MAX, blank=True)
    died_where_wanted = models.CharField(max_length=9, choices=DiedWhereWanted.choices, blank=True)
    family_support = models.CharField(max_length=10, choices=FamilySupport.choices, blank=True)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"Answer {self.pk} {self.kind} to invitation {self.invitation_id}"
