"""The duty rota (docs/operations.md "The duty rota"): per team, weekly shift patterns and one-off
changes to them. Who is on duty at a moment is worked out from these by ``rota.occurrences``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rota.occurrences import weekdays_of
from rota.phones import UkPhoneField
from services.models import Team

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ShiftRole(models.TextChoices):
    """What the person does on the shift (not their role in the hub)."""

    SPECIALIST_NURSE = "SPECIALIST_NURSE", "Specialist nurse"
    COORDINATOR = "COORDINATOR", "Coordinator"
    DOCTOR = "DOCTOR", "Doctor"
    TEAM_LEAD = "TEAM_LEAD", "Team lead"
    CALL_HANDLER = "CALL_HANDLER", "Call handler"


class ShiftPattern(models.Model):
    """A weekly shift: ``user`` on ``weekdays`` from ``start_time`` to ``end_time`` (Europe/London;
    an end at or before the start ends the next day), for occurrences starting from
    ``valid_from_date`` to ``valid_until_date`` inclusive."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="shift_patterns")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shift_patterns"
    )
    role = models.CharField("role on the shift", max_length=20, choices=ShiftRole.choices)
    phone = UkPhoneField(help_text="The number to reach them on during the shift.")
    # Bits of rota.occurrences.mask_of: Monday 1, Tuesday 2, ... Sunday 64.
    weekdays = models.PositiveSmallIntegerField()
    start_time = models.TimeField()
    end_time = models.TimeField()
    valid_from_date = models.DateField("from")
    valid_until_date = models.DateField("until", null=True, blank=True)
    runs_on_bank_holidays = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["team", "start_time", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekdays__gte=1, weekdays__lte=127), name="shift_pattern_weekdays"
            ),
            models.CheckConstraint(
                condition=Q(valid_until_date__isnull=True)
                | Q(valid_until_date__gte=models.F("valid_from_date")),
                name="shift_pattern_dates_ordered",
            ),
            models.CheckConstraint(condition=~Q(phone=""), name="shift_pattern_has_phone"),
        ]
        indexes = [models.Index(fields=["team", "valid_until_date"], name="shift_pattern_team")]

    def __str__(self) -> str:
        return (
            f"{self.team.name}: {self.user} {self.get_role_display()} {self.days_label} "
            f"{self.start_time:%H:%M}-{self.end_time:%H:%M} (#{self.pk})"
        )

    @property
    def days_label(self) -> str:
        """``Mon, Wed, Fri``; ``Every day``."""
        days = weekdays_of(self.weekdays)
        if len(days) == 7:
            return "Every day"
        return ", ".join(DAY_NAMES[day] for day in days)


class ShiftChange(models.Model):
    """A one-off change: an extra shift, a cancelled occurrence of a pattern (named by the
    pattern and the local date it starts on), or an occurrence replaced by another shift."""

    class Kind(models.TextChoices):
        EXTRA = "EXTRA", "Extra shift"
        CANCELLED = "CANCELLED", "Cancelled"
        REPLACED = "REPLACED", "Replaced"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="shift_changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    pattern = models.ForeignKey(
        ShiftPattern, on_delete=models.CASCADE, null=True, blank=True, related_name="changes"
    )
    occurrence_date = models.DateField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shift_changes",
    )
    role = models.CharField(
        "role on the shift", max_length=20, choices=ShiftRole.choices, blank=True
    )
    phone = UkPhoneField(blank=True, help_text="The number to reach them on during the shift.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["team", "starts_at", "occurrence_date", "id"]
        constraints = [
            # A shift (extra or replacement) has a person, a role, a phone and a positive length.
            models.CheckConstraint(
                condition=Q(kind="CANCELLED")
                | (
                    Q(user__isnull=False, starts_at__isnull=False, ends_at__isnull=False)
                    & ~Q(role="")
                    & ~Q(phone="")
                    & Q(ends_at__gt=models.F("starts_at"))
                ),
                name="shift_change_shift_complete",
            ),
            # A cancellation is only that: no person, no times.
            models.CheckConstraint(
                condition=~Q(kind="CANCELLED")
                | Q(user__isnull=True, starts_at__isnull=True, ends_at__isnull=True),
                name="shift_change_cancel_has_no_shift",
            ),
            # Cancelled and replaced name an occurrence; an extra shift names none.
            models.CheckConstraint(
                condition=(Q(kind="EXTRA") & Q(pattern__isnull=True, occurrence_date__isnull=True))
                | (
                    Q(kind__in=["CANCELLED", "REPLACED"])
                    & Q(pattern__isnull=False, occurrence_date__isnull=False)
                ),
                name="shift_change_occurrence",
            ),
            # An occurrence is cancelled or replaced once.
            models.UniqueConstraint(
                fields=["pattern", "occurrence_date"],
                condition=Q(pattern__isnull=False),
                name="shift_change_once_per_occurrence",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "ends_at"], name="shift_change_team_end"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.CANCELLED:
            return f"{self.team.name}: pattern #{self.pattern_id} cancelled on {self.occurrence_date} (#{self.pk})"
        return f"{self.team.name}: {self.get_kind_display()} {self.user} {self.starts_at:%Y-%m-%d %H:%M} (#{self.pk})"


class RotaGap(models.Model):
    """A period when nobody was on the rota for a team while its service is open, as the gap job
    found it ahead of time; recorded once, its leads emailed once (``notified_at``)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="rota_gaps")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    found_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["starts_at", "team"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="rota_gap_ends_after_start"
            ),
            models.UniqueConstraint(fields=["team", "starts_at"], name="rota_gap_once"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.team.name}: nobody on duty {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M}"
        )
