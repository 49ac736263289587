"""Summary tables behind the manager dashboards (docs/design.md §8; docs/metrics.md).

Every row here is derived data: ``manage.py rebuild_summaries`` recreates all of it from the raw
calls, referrals, events, interventions, deaths and admissions. Teams, users and patients are
plain integers, not foreign keys, for the same reason (and so that a summary never blocks the
deletion of a directory row). ``team_id`` 0 means "no team" (a referral not yet routed; a call,
which belongs to the hub's line rather than to a team).

Tables with a ``level`` are kept in blocks of days (``spoc/dashboards/blocks.py``): a row of level
0 is one local date, a row of level k adds up the 2**k days from its ``local_date``, so any period
is read from a few blocks whatever its length.

Dates and hours are Europe/London local time. Hour buckets are keyed by the UTC start of the
hour, so the 25-hour October day has 25 buckets and the 23-hour March day 23.
"""

from __future__ import annotations

from django.db import models


class SummaryWatermark(models.Model):
    """How far the summary job has read one raw table, by id.

    Ids are handed out before commit, so they do not arrive in order: the job only reads up to
    ``candidate_id``, the largest id it saw at least ``DASHBOARD_SAFE_HORIZON_SECONDS`` ago.
    """

    source = models.CharField(max_length=20, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    candidate_id = models.BigIntegerField(default=0)
    candidate_seen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.source} up to id {self.last_id}"


class SummaryPendingDay(models.Model):
    """A local date whose summary rows are out of date and not yet recomputed.

    Each run of the job adds the dates its new rows touch and recomputes at most
    ``DASHBOARD_MAX_DAYS_PER_RUN`` of them, the oldest first; the rest wait here for the next runs,
    so catching up after a long stop is spread over runs that each stay within the time limit.
    """

    local_date = models.DateField(primary_key=True)

    def __str__(self) -> str:
        return f"{self.local_date:%Y-%m-%d} to recompute"


class CallHourStat(models.Model):
    hour_start_at = models.DateTimeField()
    local_date = models.DateField()
    local_hour = models.PositiveSmallIntegerField()
    # ISO weekday: 1 Monday ... 7 Sunday.
    weekday = models.PositiveSmallIntegerField()
    priority = models.CharField(max_length=2)
    out_of_hours = models.BooleanField()
    calls = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["local_date", "priority"], name="dash_callhour_date")]
        constraints = [
            models.UniqueConstraint(
                fields=["hour_start_at", "priority", "out_of_hours"], name="dash_callhour_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour_start_at:%Y-%m-%d %H:%M} {self.priority}: {self.calls} calls"


class CallDayStat(models.Model):
    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    priority = models.CharField(max_length=2)
    caller_type = models.CharField(max_length=20)
    handled_by_id = models.BigIntegerField()
    calls = models.PositiveIntegerField()
    # Calls whose chosen priority differs from the suggested one.
    overrides = models.PositiveIntegerField()

    class Meta:
        # The unique index serves the reads: a block, then the rest.
        constraints = [
            models.UniqueConstraint(
                fields=["level", "local_date", "priority", "caller_type", "handled_by_id"],
                name="dash_callday_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} {self.priority} {self.caller_type}: {self.calls} calls"


class ReferralDayStat(models.Model):
    """Referrals by the local date they were created (their cohort), with their current team,
    priority, need and status."""

    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    team_id = models.BigIntegerField()
    priority = models.CharField(max_length=2)
    need = models.CharField(max_length=26)
    status = models.CharField(max_length=16)
    referrals = models.PositiveIntegerField()
    accepted = models.PositiveIntegerField()
    contacted = models.PositiveIntegerField()
    # First contact by ``contact_by`` (on time) or after it (late).
    contacted_on_time = models.PositiveIntegerField()
    contacted_late = models.PositiveIntegerField()
    # Made by a call's triage (a suggested priority kept), and of those, given another priority
    # than the need's suggestion by the call handler (docs/metrics.md, triage-overrides-by-need).
    triaged = models.PositiveIntegerField(default=0)
    overrides = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "local_date", "team_id", "priority", "need", "status"],
                name="dash_refday_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} team {self.team_id} {self.priority} {self.need} {self.status}"


class ResponseMinuteStat(models.Model):
    """Per-minute histogram of response times per (local date, team, priority): the exact record,
    from which ``ResponseBlockStat`` adds up the buckets the dashboard's percentiles are read from."""

    class Metric(models.TextChoices):
        ACCEPT = "ACCEPT", "Time to accept"
        CONTACT = "CONTACT", "Time to first contact"

    local_date = models.DateField()
    team_id = models.BigIntegerField()
    priority = models.CharField(max_length=2)
    metric = models.CharField(max_length=7, choices=Metric.choices)
    minutes = models.IntegerField()
    referrals = models.PositiveIntegerField()

    class Meta:
        # The unique index serves the writes, which select by local date.
        constraints = [
            models.UniqueConstraint(
                fields=["local_date", "team_id", "priority", "metric", "minutes"],
                name="dash_minutes_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} team {self.team_id} {self.priority} {self.metric} {self.minutes} min"


class ResponseBlockStat(models.Model):
    """The response-time histograms again, ready to be read over long periods.

    Minutes go into buckets and days into blocks (``spoc/dashboards/blocks.py``): 12 months are
    about 16 blocks of about a thousand rows each, where the per-minute rows are about one per
    referral. Each team has its rows, and ``ALL_TEAMS`` has every team's together, for the views
    without a team filter."""

    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    team_id = models.BigIntegerField()
    priority = models.CharField(max_length=2)
    metric = models.CharField(max_length=7, choices=ResponseMinuteStat.Metric.choices)
    # The first minute of the bucket.
    bucket = models.IntegerField()
    referrals = models.PositiveIntegerField()

    class Meta:
        # The unique index serves the reads: a block, then a team.
        constraints = [
            models.UniqueConstraint(
                fields=["level", "local_date", "team_id", "priority", "metric", "bucket"],
                name="dash_block_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} (level {self.level}) team {self.team_id} {self.priority} {self.metric} {self.bucket}"


class PatientDay(models.Model):
    """One row per (local date, team, priority, patient) with a call (team 0) or a referral:
    distinct patients over any range is one indexed count."""

    local_date = models.DateField()
    team_id = models.BigIntegerField()
    priority = models.CharField(max_length=2)
    patient_id = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["local_date", "team_id", "patient_id"], name="dash_patientday_date"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["local_date", "team_id", "priority", "patient_id"],
                name="dash_patientday_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} team {self.team_id} patient {self.patient_id}"


class InterventionDayStat(models.Model):
    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    team_id = models.BigIntegerField()
    priority = models.CharField(max_length=2)
    kind = models.CharField(max_length=25)
    interventions = models.PositiveIntegerField()
    admissions_avoided = models.PositiveIntegerField()
    bed_days_saved = models.PositiveIntegerField()
    primary_care_avoided = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "local_date", "team_id", "priority", "kind"],
                name="dash_intday_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} team {self.team_id} {self.kind}: {self.interventions}"


class DeathOutcome(models.Model):
    """One row per death: the death indicators, recomputed when the death or any admission
    of the patient is recorded or imported."""

    death_id = models.BigIntegerField(unique=True)
    patient_id = models.BigIntegerField(db_index=True)
    local_date = models.DateField()
    # The team of the patient's latest referral created before the death (0: none).
    team_id = models.BigIntegerField()
    preference_recorded = models.BooleanField()
    # Died in the 1st or 2nd preferred place; in the 1st (the national benchmark).
    preferred_place_achieved = models.BooleanField()
    first_preference_achieved = models.BooleanField()
    # Both a preferred place of care and the place of the last days recorded; and they meet.
    care_recorded = models.BooleanField()
    preferred_care_achieved = models.BooleanField()
    usual_residence_recorded = models.BooleanField()
    died_in_usual_residence = models.BooleanField()
    emergency_admissions_90d = models.PositiveSmallIntegerField()
    # The patient's equity groups (EquityDimension) as the job last saw them.
    ethnic_category = models.CharField(max_length=2)
    diagnosis_group = models.CharField(max_length=16)
    deprivation_decile = models.CharField(max_length=2)

    class Meta:
        indexes = [models.Index(fields=["local_date", "team_id"], name="dash_death_date")]

    def __str__(self) -> str:
        return f"Outcome of death {self.death_id} on {self.local_date}"


class DeathBlockStat(models.Model):
    """The death outcomes added up per team, by the local date of death, in blocks of days."""

    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    team_id = models.BigIntegerField()
    deaths = models.PositiveIntegerField()
    preference_recorded = models.PositiveIntegerField()
    preferred_place_achieved = models.PositiveIntegerField()
    first_preference_achieved = models.PositiveIntegerField()
    care_recorded = models.PositiveIntegerField()
    preferred_care_achieved = models.PositiveIntegerField()
    usual_residence_recorded = models.PositiveIntegerField()
    died_in_usual_residence = models.PositiveIntegerField()
    three_plus_admissions = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "local_date", "team_id"], name="dash_deathblock_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} (level {self.level}) team {self.team_id}: {self.deaths} deaths"


class OpenReferral(models.Model):
    """The open referrals as the summary job last saw them (a small set: open caseload and
    breaches now are read from here, never from the millions of closed referrals)."""

    referral_id = models.BigIntegerField(unique=True)
    team_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(null=True)
    priority = models.CharField(max_length=2)
    status = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    contact_by = models.DateTimeField(null=True)
    first_contact_at = models.DateTimeField(null=True)
    # The patient's equity groups (EquityDimension), for overdue referrals by group.
    ethnic_category = models.CharField(max_length=2)
    diagnosis_group = models.CharField(max_length=16)
    deprivation_decile = models.CharField(max_length=2)

    class Meta:
        indexes = [models.Index(fields=["team_id", "priority"], name="dash_open_team")]

    def __str__(self) -> str:
        return f"Open referral {self.referral_id} ({self.status})"


class PatientFirstDay(models.Model):
    """Distinct patients over any range without scanning the patient-day rows.

    For each filter group (``grp``: all, a priority, a team, a team and priority, an organisation,
    an organisation and priority), the number of patients active on ``local_date`` whose previous
    active day in the group was ``prev_date`` (0001-01-01: none). A patient is active in [a, b]
    exactly once with a previous day before a, so distinct patients in [a, b] is the sum of
    ``patients`` over rows with ``local_date`` in [a, b] and ``prev_date`` before a."""

    grp = models.CharField(max_length=40)
    local_date = models.DateField()
    prev_date = models.DateField()
    patients = models.IntegerField()

    class Meta:
        # The unique index also serves the reads: grp, then a range of local_date.
        constraints = [
            models.UniqueConstraint(
                fields=["grp", "local_date", "prev_date"], name="dash_firstday_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.grp} {self.local_date} after {self.prev_date}: {self.patients}"


class EquityDimension(models.TextChoices):
    """The groups the equity breakdowns compare (docs/metrics.md "Equity"): a patient's ethnic
    category, primary diagnosis group and area deprivation decile ("" when not known)."""

    ETHNIC_CATEGORY = "ETHNIC", "Ethnic category"
    DIAGNOSIS_GROUP = "DIAGNOSIS", "Primary diagnosis group"
    DEPRIVATION_DECILE = "DEPRIVATION", "Area deprivation decile"


class EquityReferralStat(models.Model):
    """Referrals by the local date they were created and their patient's group in each equity
    dimension (each referral counted once per dimension), with first contact on time or late, in
    blocks of days."""

    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    team_id = models.BigIntegerField()
    priority = models.CharField(max_length=2)
    dimension = models.CharField(max_length=11, choices=EquityDimension.choices)
    grp = models.CharField(max_length=16)
    referrals = models.PositiveIntegerField()
    contacted_on_time = models.PositiveIntegerField()
    contacted_late = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "local_date", "team_id", "priority", "dimension", "grp"],
                name="dash_eqref_unique",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.local_date} (level {self.level}) {self.dimension} {self.grp}: {self.referrals}"
        )


class EquityDeathStat(models.Model):
    """The death outcomes by the patient's group in each equity dimension, per team, by the local
    date of death, in blocks of days."""

    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    team_id = models.BigIntegerField()
    dimension = models.CharField(max_length=11, choices=EquityDimension.choices)
    grp = models.CharField(max_length=16)
    deaths = models.PositiveIntegerField()
    preference_recorded = models.PositiveIntegerField()
    first_preference_achieved = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "local_date", "team_id", "dimension", "grp"],
                name="dash_eqdeath_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} (level {self.level}) {self.dimension} {self.grp}: {self.deaths}"


# Answered within this many seconds of ringing (docs/metrics.md "Phone calls answered within 60 s").
ANSWER_TARGET_SECONDS = 60


class TelephonyHourStat(models.Model):
    """Phone calls that rang the SPOC's lines (``calls.TelephonyCall``) per real hour of their
    ringing (UTC start, as ``CallHourStat``), with what became of them."""

    hour_start_at = models.DateTimeField(unique=True)
    local_date = models.DateField(db_index=True)
    local_hour = models.PositiveSmallIntegerField()
    # ISO weekday: 1 Monday ... 7 Sunday.
    weekday = models.PositiveSmallIntegerField()
    offered = models.PositiveIntegerField()
    answered = models.PositiveIntegerField()
    # Answered at most ANSWER_TARGET_SECONDS after ringing.
    answered_in_target = models.PositiveIntegerField()
    abandoned = models.PositiveIntegerField()
    missed = models.PositiveIntegerField()
    voicemail = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.hour_start_at:%Y-%m-%d %H:%M}: {self.offered} phone calls"


class TelephonyWaitStat(models.Model):
    """How long callers waited, to an answer or to giving up, in buckets of seconds
    (``spoc/dashboards/blocks.py``, ``wait_bucket``), by the local date the call rang, in blocks
    of days."""

    class Metric(models.TextChoices):
        ANSWER = "ANSWER", "Wait to answer"
        ABANDON = "ABANDON", "Wait to abandonment"

    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    metric = models.CharField(max_length=7, choices=Metric.choices)
    # The first second of the bucket.
    bucket = models.IntegerField()
    calls = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "local_date", "metric", "bucket"], name="dash_telwait_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} (level {self.level}) {self.metric} {self.bucket} s: {self.calls}"


class CallBackDayStat(models.Model):
    """Call-backs (``calls.CallBack``) by the local date they are due, in blocks of days."""

    level = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    call_backs = models.PositiveIntegerField()
    done_on_time = models.PositiveIntegerField()
    done_late = models.PositiveIntegerField()
    cancelled = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "local_date"], name="dash_cbday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.local_date} (level {self.level}): {self.call_backs} call-backs"


class OpenCallBack(models.Model):
    """The pending call-backs as the summary job last saw them (a small set): the overdue ones
    count against the call-backs figure, and the job recomputes the day of each one that is done,
    cancelled or moved since."""

    call_back_id = models.BigIntegerField(unique=True)
    due_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Pending call-back {self.call_back_id}"


# Every summary table (all but the watermarks and the pending dates): what summaries_rebuild
# recomputes.
SUMMARY_MODELS: tuple[type[models.Model], ...] = (
    CallHourStat,
    CallDayStat,
    ReferralDayStat,
    ResponseMinuteStat,
    ResponseBlockStat,
    PatientDay,
    InterventionDayStat,
    DeathOutcome,
    DeathBlockStat,
    OpenReferral,
    PatientFirstDay,
    TelephonyHourStat,
    TelephonyWaitStat,
    CallBackDayStat,
    OpenCallBack,
    EquityReferralStat,
    EquityDeathStat,
)
