"""The service directory (docs/design.md §3): who provides what, where and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from services.codes import (
    CapacityRag,
    OrganisationType,
    ServiceStatus,
    ServiceType,
)

# Monday is 0, as in Python's date.weekday().
WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class Organisation(models.Model):
    ods_code = models.CharField("ODS code", max_length=10, unique=True)
    name = models.CharField(max_length=200)
    org_type = models.CharField("type", max_length=20, choices=OrganisationType.choices)
    postcode = models.CharField(max_length=8, blank=True)
    # Where the hub sends this organisation its messages (a GP practice's outcome letters).
    endpoint = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"


class Site(models.Model):
    """A hospital or hospice building; in-reach teams cover sites, not postcodes."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    postcode = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="services"
    )
    name = models.CharField(max_length=200, unique=True)
    service_type = models.CharField("type", max_length=32, choices=ServiceType.choices)
    status = models.CharField(
        max_length=20, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE
    )
    description = models.TextField(blank=True, max_length=2000)
    phone = PhoneNumberField(blank=True)
    email = models.EmailField(blank=True)
    assured_date = models.DateField(null=True, blank=True)
    alert = models.CharField(
        max_length=500, blank=True, help_text="Shown to every user of the service."
    )
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    # Empty: accepts every referrer type.
    referrer_types = models.JSONField(default=list, blank=True)
    accepts_self_referral = models.BooleanField(default=True)
    open_24_7 = models.BooleanField("open 24/7", default=False)
    # Closed on England and Wales bank holidays (holidays package), without a Closure per day.
    closed_on_bank_holidays = models.BooleanField(default=False)
    # Out of hours, where callers are sent: shown on the call screen while the SPOC is closed and
    # in the coordinators' routing reason (docs/directory.md "The SPOC's hours").
    out_of_hours_phone = PhoneNumberField(
        "out-of-hours divert number",
        blank=True,
        help_text="The number callers are given when the service is closed.",
    )
    out_of_hours_message = models.CharField(
        "out-of-hours message",
        max_length=200,
        blank=True,
        help_text='What to tell callers when the service is closed, for example "Call NHS 111".',
    )
    # {"P2": {"accept_minutes": 30, "contact_minutes": 180}, ...}; absent = docs/reference.md default.
    clock_overrides = models.JSONField(default=dict, blank=True)
    sites = models.ManyToManyField(Site, blank=True, related_name="in_reach_services")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_age__isnull=True)
                | models.Q(max_age__isnull=True)
                | models.Q(min_age__lte=models.F("max_age")),
                name="service_age_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_service_type_display()})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from services.clocks import InvalidClockOverride, clock_overrides_parse

        try:
            clock_overrides_parse(self.clock_overrides)
        except InvalidClockOverride as exc:
            raise ValidationError({"clock_overrides": [str(exc)]}) from exc


class Team(models.Model):
    """The intake team of a service: the queue its referrals land in (exactly one per service)."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="team")
    name = models.CharField(max_length=200, unique=True)
    duty_phone = PhoneNumberField(blank=True)
    duty_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CoverageArea(models.Model):
    """A postcode outward code (`L9`) or sector (`L9 7`) a service covers."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="coverage_areas")
    area = models.CharField(max_length=6)

    class Meta:
        ordering = ["area"]
        constraints = [
            models.UniqueConstraint(fields=["service", "area"], name="coverage_area_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service.name}: {self.area}"


class OpeningHours(models.Model):
    """A weekly window; `closes_at <= opens_at` means it runs past midnight into the next day."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(opens_at=models.F("closes_at")),
                name="opening_hours_not_empty",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6), name="opening_hours_weekday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.name}: {self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Closure(models.Model):
    """A dated exception: the service is closed over [starts_at, ends_at)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="closures")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="closure_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service.name} closed {self.starts_at:%d-%b-%Y %H:%M}: {self.reason}"


class CapacityStatus(models.Model):
    """A report of a service's capacity; the latest one counts, for 24 hours."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="capacity_reports")
    rag = models.CharField("status", max_length=5, choices=CapacityRag.choices)
    available_units = models.PositiveIntegerField(null=True, blank=True)
    reported_at = models.DateTimeField()
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-reported_at", "-id"]
        get_latest_by = "reported_at"
        indexes = [models.Index(fields=["service", "-reported_at"], name="capacity_latest")]

    def __str__(self) -> str:
        return f"{self.service.name} {self.rag} at {self.reported_at:%d-%b-%Y %H:%M}"


class OrganisationMembership(models.Model):
    """A user belongs to one organisation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organisation_membership"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="members")

    def __str__(self) -> str:
        return f"{self.user} at {self.organisation}"


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "MEMBER", "Member"
        LEAD = "LEAD", "Lead"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=6, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="team_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display().lower()} of {self.team}"


class PostcodeDeprivation(models.Model):
    """The deprivation decile of a postcode's area (docs/metrics.md "Equity"), loaded from a file
    with ``manage.py import_deprivation``: 1 is the most deprived tenth of areas in England, 10
    the least (the Index of Multiple Deprivation's convention). Reference data, never typed in."""

    postcode = models.CharField(max_length=8, primary_key=True)
    decile = models.PositiveSmallIntegerField()
    imported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decile__gte=1, decile__lte=10), name="deprivation_decile_1_to_10"
            )
        ]

    def __str__(self) -> str:
        return f"{self.postcode}: decile {self.decile}"


class DirectoryVersion(models.Model):
    """One row whose ``version`` changes with every committed write to the directory tables that
    routing reads, so that a routing worker may keep the directory between routings and know, in
    the query that locks the referral, whether it is still the one committed
    (docs/routing.md "The directory kept in the routing worker").

    Never written by the hub's code: on PostgreSQL, triggers on those tables give it a new value of
    a sequence of its own in the writing transaction (migration 0007), whoever writes: the
    services, the admin, the Open Referral UK import, the demo seed, a migration or plain SQL.
    Without the row (SQLite, or a test database just emptied) routing reads the directory every
    time."""

    ROW_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ROW_ID)
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"directory version {self.version}"
