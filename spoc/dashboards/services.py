# ruff: noqa: S608  (table names come from the models; every value is a query parameter)
"""The summary job and its rebuild (docs/design.md §8; docs/metrics.md "How the figures are kept").

The job reads the ids of new calls, referral events, interventions, deaths and admissions past a
stored watermark, works out which local dates (and which deceased patients) those rows touch, and
recomputes exactly those summary rows from the raw tables with set-based ``INSERT ... SELECT ...
GROUP BY``. The rebuild runs the very same statements over every date, so incremental and rebuilt
summaries are identical by construction (and tested to be).

Each statement is written once for PostgreSQL and SQLite (the embedded default, docs/design.md §2):
the few fragments that differ, local dates and hours above all (``AT TIME ZONE 'Europe/London'``
on PostgreSQL, the functions of ``spoc/dashboards/sqlite.py`` on SQLite), come from one ``Dialect``
per database, and both give the same rows.

No code is written into the SQL: statuses, places of death, residences and metrics are query
parameters taken from the modules that define them (``code_list``; docs/metrics.md, "Where the
codes come from"), so a code renamed there cannot leave a statement counting the old one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from calls.models import Call, CallBack, TelephonyCall, TelephonyEvent
from patients.codes import PlaceOfDeath, UsualResidence
from patients.models import DeathCorrection, DeathRecord, HospitalAdmission, Patient
from referrals.models import Intervention, Referral, ReferralEvent
from referrals.transitions import OPEN_STATUSES
from services.models import PostcodeDeprivation, Service, Team
from spoc.dashboards.blocks import (
    ALL_TEAMS,
    MAX_BLOCK_LEVEL,
    MINUTE_BUCKET,
    WAIT_BUCKET_WIDTHS,
    block_parents,
    bucket_sql,
)
from spoc.dashboards.models import (
    ANSWER_TARGET_SECONDS,
    SUMMARY_MODELS,
    CallBackDayStat,
    CallDayStat,
    CallHourStat,
    DeathBlockStat,
    DeathOutcome,
    EquityDeathStat,
    EquityDimension,
    EquityReferralStat,
    InterventionDayStat,
    OpenCallBack,
    OpenReferral,
    PatientDay,
    PatientFirstDay,
    ReferralDayStat,
    ResponseBlockStat,
    ResponseMinuteStat,
    SummaryPendingDay,
    SummaryWatermark,
    TelephonyHourStat,
    TelephonyWaitStat,
)
from spoc.dashboards.sqlite import json_array, parse_stored

logger = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
# Any constant will do: it only has to differ from the other advisory locks of the hub.
_LOCK_KEY = 7_000_001
# Dates recomputed per statement: a month keeps each statement's work bounded in a rebuild.
REBUILD_CHUNK_DAYS = 31
# Out of hours (docs/metrics.md): before 08:00 or from 18:30, weekends, bank holidays in England.
IN_HOURS_START = "08:00"
IN_HOURS_END = "18:30"

SOURCES: dict[str, str] = {
    "calls": Call._meta.db_table,
    "events": ReferralEvent._meta.db_table,
    "interventions": Intervention._meta.db_table,
    "deaths": DeathRecord._meta.db_table,
    # A correction changes a death already counted (its date, its place) or withdraws it.
    "death_corrections": DeathCorrection._meta.db_table,
    "admissions": HospitalAdmission._meta.db_table,
    # A phone call changes with each of its events; a call-back is new here, and done or
    # cancelled later (OpenCallBack).
    "telephony": TelephonyEvent._meta.db_table,
    "callbacks": CallBack._meta.db_table,
}

_DAY_TABLES = (
    CallHourStat,
    CallDayStat,
    ReferralDayStat,
    ResponseMinuteStat,
    PatientDay,
    InterventionDayStat,
    ResponseBlockStat,
    TelephonyHourStat,
    TelephonyWaitStat,
    CallBackDayStat,
    EquityReferralStat,
)
# The tables also kept in blocks of days (spoc/dashboards/blocks.py), with the columns a block
# groups by and the counts it adds up.
_BLOCK_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    CallDayStat._meta.db_table: (
        ("priority", "caller_type", "handled_by_id"),
        ("calls", "overrides"),
    ),
    ReferralDayStat._meta.db_table: (
        ("team_id", "priority", "need", "status"),
        (
            "referrals",
            "accepted",
            "contacted",
            "contacted_on_time",
            "contacted_late",
            "triaged",
            "overrides",
        ),
    ),
    InterventionDayStat._meta.db_table: (
        ("team_id", "priority", "kind"),
        ("interventions", "admissions_avoided", "bed_days_saved", "primary_care_avoided"),
    ),
    ResponseBlockStat._meta.db_table: (("team_id", "priority", "metric", "bucket"), ("referrals",)),
    TelephonyWaitStat._meta.db_table: (("metric", "bucket"), ("calls",)),
    CallBackDayStat._meta.db_table: ((), ("call_backs", "done_on_time", "done_late", "cancelled")),
    DeathBlockStat._meta.db_table: (
        ("team_id",),
        (
            "deaths",
            "preference_recorded",
            "preferred_place_achieved",
            "first_preference_achieved",
            "care_recorded",
            "preferred_care_achieved",
            "usual_residence_recorded",
            "died_in_usual_residence",
            "three_plus_admissions",
        ),
    ),
    EquityReferralStat._meta.db_table: (
        ("team_id", "priority", "dimension", "grp"),
        ("referrals", "contacted_on_time", "contacted_late"),
    ),
    EquityDeathStat._meta.db_table: (
        ("team_id", "dimension", "grp"),
        ("deaths", "preference_recorded", "first_preference_achieved"),
    ),
}
# The tables kept from the death outcomes (_recompute_deaths), not by the day's raw rows.
_DEATH_BLOCK_TABLES = (DeathBlockStat._meta.db_table, EquityDeathStat._meta.db_table)

_T = {
    "call": Call._meta.db_table,
    "referral": Referral._meta.db_table,
    "event": ReferralEvent._meta.db_table,
    "intervention": Intervention._meta.db_table,
    "death": DeathRecord._meta.db_table,
    "correction": DeathCorrection._meta.db_table,
    "admission": HospitalAdmission._meta.db_table,
    "patient": Patient._meta.db_table,
    "callhour": CallHourStat._meta.db_table,
    "callday": CallDayStat._meta.db_table,
    "refday": ReferralDayStat._meta.db_table,
    "minutes": ResponseMinuteStat._meta.db_table,
    "blocks": ResponseBlockStat._meta.db_table,
    "patientday": PatientDay._meta.db_table,
    "intday": InterventionDayStat._meta.db_table,
    "outcome": DeathOutcome._meta.db_table,
    "deathblocks": DeathBlockStat._meta.db_table,
    "open": OpenReferral._meta.db_table,
    "firstday": PatientFirstDay._meta.db_table,
    "telcall": TelephonyCall._meta.db_table,
    "televent": TelephonyEvent._meta.db_table,
    "callback": CallBack._meta.db_table,
    "telhour": TelephonyHourStat._meta.db_table,
    "telwait": TelephonyWaitStat._meta.db_table,
    "cbday": CallBackDayStat._meta.db_table,
    "opencb": OpenCallBack._meta.db_table,
    "team": Team._meta.db_table,
    "service": Service._meta.db_table,
    "deprivation": PostcodeDeprivation._meta.db_table,
    "eqref": EquityReferralStat._meta.db_table,
    "eqdeath": EquityDeathStat._meta.db_table,
}


def code_list(codes: Iterable[str]) -> list[str]:
    """Codes of a code module (``ReferralStatus``, ``PlaceOfDeath``, ...) as a list query parameter:
    plain strings, sorted, so that the parameters never depend on the order of a set."""
    return sorted(str(code) for code in codes)


# Open: counted in caseload (ON_HOLD included; its clocks are stopped): the lifecycle's own list.
OPEN_STATUS_CODES = code_list(OPEN_STATUSES)
# Death in usual place of residence (docs/metrics.md "Deaths"): the places of death that are each
# usual residence. A death recorded at a private residence of no stated kind counts for own home
# and other private residence alike.
USUAL_RESIDENCE_PLACES: dict[str, list[str]] = {
    str(UsualResidence.OWN_HOME): code_list(
        [PlaceOfDeath.PRIVATE_RESIDENCE, PlaceOfDeath.OWN_HOME]
    ),
    str(UsualResidence.OTHER_PRIVATE): code_list(
        [PlaceOfDeath.PRIVATE_RESIDENCE, PlaceOfDeath.OTHER_PRIVATE_RESIDENCE]
    ),
    str(UsualResidence.CARE_HOME): code_list([PlaceOfDeath.CARE_HOME]),
}

_LOCAL = "AT TIME ZONE 'Europe/London'"


@dataclass(frozen=True)
class Dialect:
    """The few fragments of the summary statements that differ between PostgreSQL and SQLite;
    each statement is written once (``_statements``) from one of these."""

    # The local days being recomputed, with their UTC bounds (so raw-table indexes on the
    # timestamps serve the joins). Parameters: dates, starts, ends.
    days_cte: str
    # Pairs of dates (parent block, child block). Parameters: parents, children.
    pairs_cte: str
    # ``column {in_list}``: membership in a list parameter.
    in_list: str
    in_dates: str
    first_date: str
    temporary: str
    local_date: Callable[[str], str]
    local_hour: Callable[[str], str]
    local_time: Callable[[str], str]
    isodow: Callable[[str], str]
    weekend: Callable[[str], str]
    hour_start: Callable[[str], str]
    # Whole minutes from the second timestamp to the first, never below 0.
    minutes: Callable[[str, str], str]
    # Whole seconds likewise.
    seconds: Callable[[str, str], str]
    # Whether the first timestamp is at most a number of seconds (a parameter) after the second.
    within_seconds: Callable[[str, str], str]
    days_before: Callable[[str, int], str]
    # One day's raw rows of a table (by a timestamp column) under an alias, joined to ``days d``.
    of_day: Callable[[str, str, str], str]
    try_lock: str | None
    lock: str | None
    # TRUNCATE, or DELETE FROM each table.
    truncate: bool
    # A list parameter as the driver takes it.
    list_param: Callable[[Sequence[Any]], Any]


def _lateral(table: str, column: str, alias: str) -> str:
    # OFFSET 0 keeps the planner from flattening the subquery into one scan of the whole table
    # filtered against every day: each day's rows come through the timestamp's index.
    return (
        f"CROSS JOIN LATERAL (SELECT * FROM {table} x WHERE x.{column} >= d.starts "
        f"AND x.{column} < d.ends OFFSET 0) {alias}"
    )


POSTGRESQL = Dialect(
    days_cte="WITH days(day, starts, ends) AS (SELECT * FROM unnest(%s::date[], %s::timestamptz[], %s::timestamptz[]))",
    pairs_cte="WITH pairs(parent, child) AS (SELECT * FROM unnest(%s::date[], %s::date[]))",
    in_list="= ANY(%s)",
    in_dates="= ANY(%s::date[])",
    first_date="DATE '0001-01-01'",
    temporary="ON COMMIT DROP",
    local_date=lambda ts: f"({ts} {_LOCAL})::date",
    local_hour=lambda ts: f"extract(hour FROM {ts} {_LOCAL})::int",
    local_time=lambda ts: f"({ts} {_LOCAL})::time",
    isodow=lambda day: f"extract(isodow FROM {day})::int",
    weekend=lambda day: f"extract(isodow FROM {day}) >= 6",
    hour_start=lambda ts: f"date_trunc('hour', {ts})",
    minutes=lambda later, earlier: (
        f"greatest(0, floor(extract(epoch FROM {later} - {earlier}) / 60))::int"
    ),
    seconds=lambda later, earlier: (
        f"greatest(0, floor(extract(epoch FROM {later} - {earlier})))::int"
    ),
    within_seconds=lambda later, earlier: f"{later} - {earlier} <= %s * interval '1 second'",
    days_before=lambda day, n: f"{day} - {n}",
    of_day=_lateral,
    try_lock=f"SELECT pg_try_advisory_xact_lock({_LOCK_KEY})",
    lock=f"SELECT pg_advisory_xact_lock({_LOCK_KEY})",
    truncate=True,
    list_param=list,
)

# SQLite: the functions of spoc/dashboards/sqlite.py, list parameters as JSON arrays read with
# json_each, and no lock of its own: the embedded default's transactions begin IMMEDIATE, so the
# job's transaction already holds the database's one write lock.
SQLITE = Dialect(
    days_cte=(
        "WITH days(day, starts, ends) AS (SELECT a.value, b.value, c.value FROM json_each(%s) a "
        "JOIN json_each(%s) b ON b.key = a.key JOIN json_each(%s) c ON c.key = a.key)"
    ),
    pairs_cte=(
        "WITH pairs(parent, child) AS (SELECT a.value, b.value FROM json_each(%s) a "
        "JOIN json_each(%s) b ON b.key = a.key)"
    ),
    in_list="IN (SELECT value FROM json_each(%s))",
    in_dates="IN (SELECT value FROM json_each(%s))",
    first_date="'0001-01-01'",
    temporary="",
    local_date=lambda ts: f"london_date({ts})",
    local_hour=lambda ts: f"london_hour({ts})",
    local_time=lambda ts: f"london_time({ts})",
    isodow=lambda day: f"iso_weekday({day})",
    weekend=lambda day: f"iso_weekday({day}) >= 6",
    hour_start=lambda ts: f"substr({ts}, 1, 13) || ':00:00'",
    minutes=lambda later, earlier: f"minutes_between({later}, {earlier})",
    seconds=lambda later, earlier: f"seconds_between({later}, {earlier})",
    within_seconds=lambda later, earlier: f"within_seconds({later}, {earlier}, %s)",
    days_before=lambda day, n: f"days_before({day}, {n})",
    of_day=lambda table, column, alias: (
        f"JOIN {table} {alias} ON {alias}.{column} >= d.starts AND {alias}.{column} < d.ends"
    ),
    try_lock=None,
    lock=None,
    truncate=False,
    list_param=json_array,
)

DIALECTS = {"postgresql": POSTGRESQL, "sqlite": SQLITE}


@dataclass(frozen=True)
class Statements:
    recompute: tuple[str, ...]
    new_patient_days: str
    response_blocks: str
    # Per table kept in blocks.
    halves: dict[str, str]
    first_days: str
    deaths: str
    death_blocks: str
    equity_death_blocks: str
    open: str
    open_call_backs: str


# The constant parameters of the statements that compare with codes, in the order of their %s.
MINUTES_CODES = [str(ResponseMinuteStat.Metric.ACCEPT), str(ResponseMinuteStat.Metric.CONTACT)]
DEATHS_CODES = [
    param for residence, places in USUAL_RESIDENCE_PLACES.items() for param in (residence, places)
]
# Only the deaths standing count: one withdrawn as entered in error counts nowhere.
RECORDED_CODE = str(DeathRecord.Status.RECORDED)
_OUTCOME = TelephonyCall.Outcome
# Phone calls by hour: answered, answered within the target (and the target), abandoned, missed,
# voicemail.
TELEPHONY_HOUR_CODES: list[Any] = [
    str(_OUTCOME.ANSWERED),
    str(_OUTCOME.ANSWERED),
    ANSWER_TARGET_SECONDS,
    str(_OUTCOME.ABANDONED),
    str(_OUTCOME.MISSED),
    str(_OUTCOME.VOICEMAIL),
]
# Waits: to answer (of answered calls), to abandonment (of abandoned calls).
TELEPHONY_WAIT_CODES = [
    str(TelephonyWaitStat.Metric.ANSWER),
    str(_OUTCOME.ANSWERED),
    str(TelephonyWaitStat.Metric.ABANDON),
    str(_OUTCOME.ABANDONED),
]
# Call-backs by due date: done (on time), done (late), cancelled.
CALL_BACK_CODES = [
    str(CallBack.Status.DONE),
    str(CallBack.Status.DONE),
    str(CallBack.Status.CANCELLED),
]
# The pending call-backs (OpenCallBack).
PENDING_CODE = str(CallBack.Status.PENDING)
# The equity dimensions, in the order of their %s: ethnic category, diagnosis group, decile.
EQUITY_CODES = [
    str(EquityDimension.ETHNIC_CATEGORY),
    str(EquityDimension.DIAGNOSIS_GROUP),
    str(EquityDimension.DEPRIVATION_DECILE),
]


@cache
def _statements(d: Dialect) -> Statements:
    calls_of_day = d.of_day(_T["call"], "received_at", "c")
    referrals_of_day = d.of_day(_T["referral"], "created_at", "r")
    interventions_of_day = d.of_day(_T["intervention"], "at", "i")
    phone_calls_of_day = d.of_day(_T["telcall"], "rang_at", "t")
    call_backs_of_day = d.of_day(_T["callback"], "due_at", "cb")
    # A patient's equity groups (EquityDimension): ethnic category, diagnosis group and the
    # deprivation decile of their postcode's area ("" when the postcode is not in the table).
    equity_groups = (
        "p.ethnic_category AS ethnic, p.diagnosis_group AS diagnosis, "
        "coalesce(CAST(dep.decile AS TEXT), '') AS decile"
    )
    with_deprivation = f"LEFT JOIN {_T['deprivation']} dep ON dep.postcode = p.postcode"

    # One row per group of each dimension from a set of rows with the columns ethnic, diagnosis
    # and decile: the dimensions' codes are the parameters (EQUITY_CODES).
    def by_dimension(select: str, grouped: str) -> str:
        return "\n        UNION ALL ".join(
            f"SELECT {select.format(dimension='%s', grp=column)} FROM eq GROUP BY {grouped}, {column}"
            for column in ("ethnic", "diagnosis", "decile")
        )

    recompute = (
        # Calls by hour (UTC hour start: the October day has 25 of them), priority, out of hours.
        # Parameters after the days: the bank holidays, the in-hours start and end.
        f"""{d.days_cte}
        INSERT INTO {_T["callhour"]} (hour_start_at, local_date, local_hour, weekday, priority, out_of_hours, calls)
        SELECT {d.hour_start("c.received_at")}, d.day, {d.local_hour("c.received_at")}, {d.isodow("d.day")},
               c.chosen_priority,
               ({d.weekend("d.day")} OR d.day {d.in_dates}
                OR {d.local_time("c.received_at")} < %s
                OR {d.local_time("c.received_at")} >= %s),
               count(*)
        FROM days d {calls_of_day}
        GROUP BY 1, 2, 3, 4, 5, 6""",
        # Calls by day, priority, caller type and handler, with the handler's overrides.
        f"""{d.days_cte}
        INSERT INTO {_T["callday"]} (level, local_date, priority, caller_type, handled_by_id, calls, overrides)
        SELECT 0, d.day, c.chosen_priority, c.caller_type, c.handled_by_id, count(*),
               count(*) FILTER (WHERE c.chosen_priority <> c.suggested_priority)
        FROM days d {calls_of_day}
        GROUP BY 2, 3, 4, 5""",
        # Referrals by the day they were created, with their current team, need and status; those
        # made by a call's triage and those overridden (call_submit keeps a referral's override
        # reason only with an override).
        f"""{d.days_cte}
        INSERT INTO {_T["refday"]} (level, local_date, team_id, priority, need, status, referrals, accepted,
                                   contacted, contacted_on_time, contacted_late, triaged, overrides)
        SELECT 0, d.day, coalesce(r.team_id, 0), r.priority, r.need, r.status, count(*), count(r.accepted_at),
               count(r.first_contact_at),
               count(*) FILTER (WHERE r.first_contact_at <= r.contact_by),
               count(*) FILTER (WHERE r.first_contact_at > r.contact_by),
               count(*) FILTER (WHERE r.suggested_priority <> ''),
               count(*) FILTER (WHERE r.override_reason <> '')
        FROM days d {referrals_of_day}
        GROUP BY 2, 3, 4, 5, 6""",
        # Per-minute histograms: time to accept (from joining the queue, holds excluded, to the
        # claim) and time to first contact (from the first-contact clock's start, holds excluded).
        # Parameters after the days: the two metrics (MINUTES_CODES).
        f"""{d.days_cte}
        INSERT INTO {_T["minutes"]} (local_date, team_id, priority, metric, minutes, referrals)
        SELECT day, team_id, priority, metric, minutes, count(*) FROM (
            SELECT d.day, coalesce(r.team_id, 0) AS team_id, r.priority, %s AS metric,
                   {d.minutes("r.accepted_at", "coalesce(r.accept_clock_started_at, r.created_at)")} AS minutes
            FROM days d {referrals_of_day}
            WHERE r.accepted_at IS NOT NULL
            UNION ALL
            SELECT d.day, coalesce(r.team_id, 0), r.priority, %s,
                   {d.minutes("r.first_contact_at", "r.clock_started_at")}
            FROM days d {referrals_of_day}
            WHERE r.first_contact_at IS NOT NULL
        ) AS m
        GROUP BY 1, 2, 3, 4, 5""",
        # Interventions by day, with their referral's current team and priority.
        f"""{d.days_cte}
        INSERT INTO {_T["intday"]} (level, local_date, team_id, priority, kind, interventions, admissions_avoided,
                                   bed_days_saved, primary_care_avoided)
        SELECT 0, d.day, coalesce(r.team_id, 0), r.priority, i.kind, count(*),
               count(*) FILTER (WHERE i.admission_avoided),
               coalesce(sum(i.bed_days_saved) FILTER (WHERE i.admission_avoided), 0),
               count(*) FILTER (WHERE i.primary_care_contact_avoided)
        FROM days d {interventions_of_day} JOIN {_T["referral"]} r ON r.id = i.referral_id
        GROUP BY 2, 3, 4, 5""",
        # Phone calls by the real hour they rang in, with what became of them. Parameters after
        # the days: TELEPHONY_HOUR_CODES.
        f"""{d.days_cte}
        INSERT INTO {_T["telhour"]} (hour_start_at, local_date, local_hour, weekday, offered, answered,
                                    answered_in_target, abandoned, missed, voicemail)
        SELECT {d.hour_start("t.rang_at")}, d.day, {d.local_hour("t.rang_at")}, {d.isodow("d.day")}, count(*),
               count(*) FILTER (WHERE t.outcome = %s),
               count(*) FILTER (WHERE t.outcome = %s AND {d.within_seconds("t.answered_at", "t.rang_at")}),
               count(*) FILTER (WHERE t.outcome = %s),
               count(*) FILTER (WHERE t.outcome = %s),
               count(*) FILTER (WHERE t.outcome = %s)
        FROM days d {phone_calls_of_day}
        GROUP BY 1, 2, 3, 4""",
        # Waits to answer and to abandonment, in buckets of seconds, by the day the call rang.
        # Parameters after the days: TELEPHONY_WAIT_CODES.
        f"""{d.days_cte}
        INSERT INTO {_T["telwait"]} (level, local_date, metric, bucket, calls)
        SELECT 0, day, metric, {bucket_sql("seconds", WAIT_BUCKET_WIDTHS, MINUTE_BUCKET)}, count(*) FROM (
            SELECT d.day, %s AS metric, {d.seconds("t.answered_at", "t.rang_at")} AS seconds
            FROM days d {phone_calls_of_day}
            WHERE t.outcome = %s AND t.answered_at IS NOT NULL
            UNION ALL
            SELECT d.day, %s, {d.seconds("t.ended_at", "t.rang_at")}
            FROM days d {phone_calls_of_day}
            WHERE t.outcome = %s AND t.ended_at IS NOT NULL
        ) AS w
        GROUP BY 2, 3, 4""",
        # Call-backs by the day they are due: done by their due time, done after it, cancelled.
        # Parameters after the days: CALL_BACK_CODES.
        f"""{d.days_cte}
        INSERT INTO {_T["cbday"]} (level, local_date, call_backs, done_on_time, done_late, cancelled)
        SELECT 0, d.day, count(*),
               count(*) FILTER (WHERE cb.status = %s AND cb.done_at <= cb.due_at),
               count(*) FILTER (WHERE cb.status = %s AND cb.done_at > cb.due_at),
               count(*) FILTER (WHERE cb.status = %s)
        FROM days d {call_backs_of_day}
        GROUP BY 2""",
        # Referrals by the day they were created and their patient's group in each equity
        # dimension, with first contact on time or late. Parameters after the days: EQUITY_CODES.
        f"""{d.days_cte},
        eq AS (SELECT d.day, coalesce(r.team_id, 0) AS team_id, r.priority, r.first_contact_at, r.contact_by,
                      {equity_groups}
               FROM days d {referrals_of_day} JOIN {_T["patient"]} p ON p.id = r.patient_id {
            with_deprivation
        })
        INSERT INTO {
            _T["eqref"]
        } (level, local_date, team_id, priority, dimension, grp, referrals, contacted_on_time,
                                  contacted_late)
        {
            by_dimension(
                "0, day, team_id, priority, {dimension}, {grp}, count(*), "
                "count(*) FILTER (WHERE first_contact_at <= contact_by), "
                "count(*) FILTER (WHERE first_contact_at > contact_by)",
                "day, team_id, priority",
            )
        }""",
    )
    # Patients with a call (team 0) or a referral, per day, team and priority: computed into a
    # temporary table first, so that the patients whose rows change are known
    # (see _replace_patient_days).
    new_patient_days = f"""{d.days_cte}
        INSERT INTO dash_new_patientday (local_date, team_id, priority, patient_id)
        SELECT d.day, 0, c.chosen_priority, c.patient_id
        FROM days d {calls_of_day}
        WHERE c.patient_id IS NOT NULL
        UNION
        SELECT d.day, coalesce(r.team_id, 0), r.priority, r.patient_id
        FROM days d {referrals_of_day}"""
    # The response-time blocks (spoc/dashboards/blocks.py): level 0 from the per-minute rows of
    # these dates, per team and for every team together. Parameters: the dates, twice.
    bucket = bucket_sql("minutes")
    response_blocks = f"""
        INSERT INTO {_T["blocks"]} (level, local_date, team_id, priority, metric, bucket, referrals)
        SELECT 0, local_date, team_id, priority, metric, {bucket}, sum(referrals)
        FROM {_T["minutes"]} WHERE local_date {d.in_dates}
        GROUP BY local_date, team_id, priority, metric, 6
        UNION ALL
        SELECT 0, local_date, {ALL_TEAMS}, priority, metric, {bucket}, sum(referrals)
        FROM {_T["minutes"]} WHERE local_date {d.in_dates}
        GROUP BY local_date, priority, metric, 6"""
    # A block of level k from its two halves at level k - 1, in each table kept in blocks.
    # Parameters: parents, children, k, k - 1.
    halves = {}
    for table, (keys, counts) in _BLOCK_TABLES.items():
        columns = ", ".join(["level", "local_date", *keys, *counts])
        grouped = ", ".join(["p.parent", *(f"b.{k}" for k in keys)])
        halves[table] = f"""{d.pairs_cte}
        INSERT INTO {table} ({columns})
        SELECT %s, {grouped}, {", ".join(f"sum(b.{c})" for c in counts)}
        FROM pairs p JOIN {table} b ON b.level = %s AND b.local_date = p.child
        GROUP BY {grouped}"""
    # Each patient's active days per filter group, with the previous active day in the same group
    # (0001-01-01 for the first): distinct patients over [a, b] in a group is then the number of
    # (day in [a, b], previous day before a) pairs, a sum over a few thousand rows.
    # Groups: A all; P:<priority>; T:<team>; TP:<team>:<priority>; O:<organisation>; O P likewise.
    # Calls (team 0) count in A and P only. Parameter: the patient ids (or none, for every patient).
    first_days = f"""
        WITH pd AS (SELECT pd.local_date, pd.team_id, pd.priority, pd.patient_id, s.organisation_id
                    FROM {_T["patientday"]} pd
                    LEFT JOIN {_T["team"]} t ON t.id = pd.team_id LEFT JOIN {_T["service"]} s ON s.id = t.service_id
                    WHERE {{where}}),
        grouped AS (
            SELECT 'A' AS grp, local_date, patient_id FROM pd
            UNION SELECT 'P:' || priority, local_date, patient_id FROM pd
            UNION SELECT 'T:' || team_id, local_date, patient_id FROM pd WHERE team_id <> 0
            UNION SELECT 'TP:' || team_id || ':' || priority, local_date, patient_id FROM pd WHERE team_id <> 0
            UNION SELECT 'O:' || organisation_id, local_date, patient_id FROM pd WHERE organisation_id IS NOT NULL
            UNION SELECT 'OP:' || organisation_id || ':' || priority, local_date, patient_id FROM pd
                  WHERE organisation_id IS NOT NULL),
        chained AS (
            SELECT grp, local_date, coalesce(lag(local_date) OVER (PARTITION BY grp, patient_id ORDER BY local_date),
                                             {d.first_date}) AS prev_date
            FROM grouped)
        INSERT INTO {_T["firstday"]} (grp, local_date, prev_date, patients)
        SELECT grp, local_date, prev_date, %s * count(*) FROM chained GROUP BY 1, 2, 3
        ON CONFLICT (grp, local_date, prev_date) DO UPDATE SET patients = {_T["firstday"]}.patients + EXCLUDED.patients"""
    # One row per death. The preferred places of death and of care are the death record's own
    # (kept as they were when the death was recorded, with the achieved flags the death service
    # derived, referrals.services.deaths.death_place_fields); usual residence maps
    # to death location codes (docs/metrics.md); admissions count from 90 days before the local
    # date of death.
    died_on = d.local_date("dr.died_at")
    # Parameters: each usual residence and its places of death (DEATHS_CODES), the status of a
    # death standing (RECORDED_CODE).
    residence_cases = " ".join(f"WHEN %s THEN dr.place {d.in_list}" for _ in USUAL_RESIDENCE_PLACES)
    deaths = f"""
        INSERT INTO {_T["outcome"]} (death_id, patient_id, local_date, team_id, preference_recorded,
                                    preferred_place_achieved, first_preference_achieved, care_recorded,
                                    preferred_care_achieved, usual_residence_recorded, died_in_usual_residence,
                                    emergency_admissions_90d, ethnic_category, diagnosis_group, deprivation_decile)
        SELECT dr.id, dr.patient_id, {died_on},
               coalesce((SELECT r.team_id FROM {_T["referral"]} r
                         WHERE r.patient_id = dr.patient_id AND r.created_at <= dr.died_at AND r.team_id IS NOT NULL
                         ORDER BY r.created_at DESC, r.id DESC LIMIT 1), 0),
               dr.preferred_place_achieved IS NOT NULL,
               coalesce(dr.preferred_place_achieved, false),
               coalesce(dr.first_preference_achieved, false),
               dr.preferred_care_achieved IS NOT NULL,
               coalesce(dr.preferred_care_achieved, false),
               p.usual_residence <> '',
               CASE p.usual_residence {residence_cases} ELSE false END,
               (SELECT count(*) FROM {_T["admission"]} a
                WHERE a.patient_id = dr.patient_id AND a.emergency
                  AND a.admitted_on BETWEEN {d.days_before(died_on, 90)} AND {died_on}),
               {equity_groups}
        FROM {_T["death"]} dr JOIN {_T["patient"]} p ON p.id = dr.patient_id AND dr.status = %s
        {with_deprivation}"""
    # The outcomes of these dates of death, added up per team. Parameter: the dates.
    death_blocks = f"""
        INSERT INTO {_T["deathblocks"]} (level, local_date, team_id, deaths, preference_recorded,
                                        preferred_place_achieved, first_preference_achieved, care_recorded,
                                        preferred_care_achieved, usual_residence_recorded, died_in_usual_residence,
                                        three_plus_admissions)
        SELECT 0, local_date, team_id, count(*), count(*) FILTER (WHERE preference_recorded),
               count(*) FILTER (WHERE preferred_place_achieved),
               count(*) FILTER (WHERE first_preference_achieved), count(*) FILTER (WHERE care_recorded),
               count(*) FILTER (WHERE preferred_care_achieved), count(*) FILTER (WHERE usual_residence_recorded),
               count(*) FILTER (WHERE usual_residence_recorded AND died_in_usual_residence),
               count(*) FILTER (WHERE emergency_admissions_90d >= 3)
        FROM {_T["outcome"]} WHERE local_date {d.in_dates}
        GROUP BY local_date, team_id"""
    # The same outcomes by the patient's group in each equity dimension. Parameters: the dates,
    # then EQUITY_CODES.
    equity_death_blocks = f"""
        WITH eq AS (SELECT local_date, team_id, preference_recorded, first_preference_achieved,
                           ethnic_category AS ethnic, diagnosis_group AS diagnosis, deprivation_decile AS decile
                    FROM {_T["outcome"]} WHERE local_date {d.in_dates})
        INSERT INTO {
        _T["eqdeath"]
    } (level, local_date, team_id, dimension, grp, deaths, preference_recorded,
                                    first_preference_achieved)
        {
        by_dimension(
            "0, local_date, team_id, {dimension}, {grp}, count(*), "
            "count(*) FILTER (WHERE preference_recorded), "
            "count(*) FILTER (WHERE first_preference_achieved)",
            "local_date, team_id",
        )
    }"""
    # Parameter: the open statuses (OPEN_STATUS_CODES).
    open_sql = f"""
        INSERT INTO {_T["open"]} (referral_id, team_id, owner_id, priority, status, created_at, contact_by,
                                 first_contact_at, ethnic_category, diagnosis_group, deprivation_decile)
        SELECT r.id, coalesce(r.team_id, 0), r.owner_id, r.priority, r.status, r.created_at, r.contact_by,
               r.first_contact_at, {equity_groups}
        FROM {_T["referral"]} r JOIN {_T["patient"]} p ON p.id = r.patient_id {with_deprivation}
        WHERE r.status {d.in_list}"""
    # Parameter: the pending status (PENDING_CODE).
    open_call_backs = f"""
        INSERT INTO {_T["opencb"]} (call_back_id, due_at)
        SELECT cb.id, cb.due_at FROM {_T["callback"]} cb WHERE cb.status = %s"""
    return Statements(
        recompute=recompute,
        new_patient_days=new_patient_days,
        response_blocks=response_blocks,
        halves=halves,
        first_days=first_days,
        deaths=deaths,
        death_blocks=death_blocks,
        equity_death_blocks=equity_death_blocks,
        open=open_sql,
        open_call_backs=open_call_backs,
    )


def _dialect() -> Dialect:
    try:
        return DIALECTS[connection.vendor]
    except KeyError:
        raise NotImplementedError(
            f"Dashboard summaries are not written for {connection.vendor}."
        ) from None


def _run(cursor: Any, sql: str, params: Sequence[Any] = ()) -> None:
    """Execute one summary statement, list parameters passed as the database takes them."""
    convert = _dialect().list_param
    cursor.execute(sql, [convert(p) if isinstance(p, list | tuple) else p for p in params])


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else parse_stored(value)


@dataclass
class RefreshResult:
    """What one run of the job read and recomputed."""

    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    dates: int = 0
    deaths_patients: int = 0
    referrals: int = 0
    call_backs: int = 0
    # Dates still waiting to be recomputed after this run (DASHBOARD_MAX_DAYS_PER_RUN).
    pending: int = 0
    skipped: bool = False


def _day_bounds(days: Sequence[date]) -> tuple[list[date], list[datetime], list[datetime]]:
    """Each local day with its UTC start and end (23, 24 or 25 hours long)."""
    starts = [datetime.combine(d, time.min, tzinfo=LONDON) for d in days]
    ends = [datetime.combine(d + timedelta(days=1), time.min, tzinfo=LONDON) for d in days]
    return list(days), starts, ends


def _bank_holidays(days: Sequence[date]) -> list[date]:
    if not days:
        return []
    years = range(min(days).year, max(days).year + 1)
    return sorted(holidays.country_holidays("GB", subdiv="ENG", years=years).keys())


def _first_days_apply(cursor: Any, patient_ids: list[int] | None, sign: int) -> None:
    """Add (sign 1) or take away (sign -1) these patients' rows of the first-day table."""
    dialect = _dialect()
    sql = _statements(dialect).first_days
    if patient_ids is None:
        _run(cursor, sql.format(where="TRUE"), [sign])
    else:
        _run(cursor, sql.format(where=f"pd.patient_id {dialect.in_list}"), [patient_ids, sign])
    cursor.execute(f"DELETE FROM {_T['firstday']} WHERE patients = 0")


def _replace_patient_days(
    cursor: Any, chunk: list[date], bounds: tuple[Any, Any, Any], *, track_first_days: bool
) -> None:
    """Replace the patient-day rows of these dates; move the first-day rows of exactly the
    patients whose patient-day rows changed (their old chain out, their new chain in)."""
    dialect = _dialect()
    cursor.execute(
        "CREATE TEMPORARY TABLE dash_new_patientday (local_date date, team_id bigint, "
        f"priority varchar(2), patient_id bigint) {dialect.temporary}"
    )
    _run(cursor, _statements(dialect).new_patient_days, list(bounds))
    changed: list[int] | None = None
    if track_first_days:
        current = (
            f"SELECT local_date, team_id, priority, patient_id FROM {_T['patientday']} "
            f"WHERE local_date {dialect.in_dates}"
        )
        _run(
            cursor,
            f"""SELECT patient_id FROM ({current} EXCEPT SELECT * FROM dash_new_patientday) AS gone
            UNION SELECT patient_id FROM (SELECT * FROM dash_new_patientday EXCEPT {current}) AS came""",
            [chunk, chunk],
        )
        changed = [row[0] for row in cursor.fetchall()]
        if changed:
            _first_days_apply(cursor, changed, -1)
    _run(cursor, f"DELETE FROM {_T['patientday']} WHERE local_date {dialect.in_dates}", [chunk])
    cursor.execute(
        f"INSERT INTO {_T['patientday']} (local_date, team_id, priority, patient_id) "
        "SELECT local_date, team_id, priority, patient_id FROM dash_new_patientday"
    )
    if changed:
        _first_days_apply(cursor, changed, 1)
    cursor.execute("DROP TABLE dash_new_patientday")


def _recompute_days(days: Iterable[date], *, track_first_days: bool = True) -> int:
    """Replace every day-keyed summary row of these local dates with a fresh computation."""
    ordered = sorted(set(days))
    if not ordered:
        return 0
    dialect = _dialect()
    statements = _statements(dialect)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), REBUILD_CHUNK_DAYS):
            chunk = ordered[start : start + REBUILD_CHUNK_DAYS]
            bounds = _day_bounds(chunk)
            for model in _DAY_TABLES:
                table = model._meta.db_table
                if model is not PatientDay:
                    level_0 = "level = 0 AND " if table in _BLOCK_TABLES else ""
                    _run(
                        cursor,
                        f"DELETE FROM {table} WHERE {level_0}local_date {dialect.in_dates}",
                        [chunk],
                    )
            # The first statement's parameters after the days are its bank holidays and in-hours
            # times, the fourth's the metrics, the last four's their codes (see _statements).
            extra: dict[int, list[Any]] = {
                0: [_bank_holidays(chunk), IN_HOURS_START, IN_HOURS_END],
                3: MINUTES_CODES,
                5: TELEPHONY_HOUR_CODES,
                6: TELEPHONY_WAIT_CODES,
                7: CALL_BACK_CODES,
                8: EQUITY_CODES,
            }
            for index, sql in enumerate(statements.recompute):
                _run(cursor, sql, [*bounds, *extra.get(index, [])])
            _replace_patient_days(cursor, chunk, bounds, track_first_days=track_first_days)
            _run(cursor, statements.response_blocks, [chunk, chunk])
        _recompute_blocks(
            cursor, ordered, [t for t in _BLOCK_TABLES if t not in _DEATH_BLOCK_TABLES]
        )
    return len(ordered)


def _recompute_blocks(cursor: Any, days: Sequence[date], tables: Sequence[str]) -> None:
    """Every block above these dates in these tables, level by level, from the halves below it
    (level 0 is already up to date)."""
    dialect = _dialect()
    halves = _statements(dialect).halves
    for level in range(1, MAX_BLOCK_LEVEL + 1):
        parents, halves_of = block_parents(days, level)
        for table in tables:
            _run(
                cursor,
                f"DELETE FROM {table} WHERE level = %s AND local_date {dialect.in_dates}",
                [level, parents],
            )
            _run(
                cursor,
                halves[table],
                [
                    [parent for parent, _ in halves_of],
                    [child for _, child in halves_of],
                    level,
                    level - 1,
                ],
            )


def _recompute_deaths(patient_ids: Iterable[int] | None) -> int:
    """Recompute the outcome rows of these patients' deaths (None: of every death), and the
    death blocks of the dates they were and are on."""
    dialect = _dialect()
    statements = _statements(dialect)
    with connection.cursor() as cursor:
        if patient_ids is None:
            cursor.execute(f"DELETE FROM {_T['outcome']}")
            _run(cursor, statements.deaths, [*DEATHS_CODES, RECORDED_CODE])
            count = int(cursor.rowcount)
            cursor.execute(f"SELECT DISTINCT local_date FROM {_T['outcome']}")
            days = {_as_date(row[0]) for row in cursor.fetchall()}
        else:
            ids = sorted(set(patient_ids))
            if not ids:
                return 0
            dates_of = f"SELECT DISTINCT local_date FROM {_T['outcome']} WHERE patient_id {dialect.in_list}"
            _run(cursor, dates_of, [ids])
            days = {_as_date(row[0]) for row in cursor.fetchall()}
            _run(cursor, f"DELETE FROM {_T['outcome']} WHERE patient_id {dialect.in_list}", [ids])
            _run(
                cursor,
                f"{statements.deaths} WHERE dr.patient_id {dialect.in_list}",
                [*DEATHS_CODES, RECORDED_CODE, ids],
            )
            _run(cursor, dates_of, [ids])
            days |= {_as_date(row[0]) for row in cursor.fetchall()}
            count = len(ids)
        ordered = sorted(days)
        if ordered:
            for table in _DEATH_BLOCK_TABLES:
                _run(
                    cursor,
                    f"DELETE FROM {table} WHERE level = 0 AND local_date {dialect.in_dates}",
                    [ordered],
                )
            _run(cursor, statements.death_blocks, [ordered])
            _run(cursor, statements.equity_death_blocks, [ordered, *EQUITY_CODES])
            _recompute_blocks(cursor, ordered, _DEATH_BLOCK_TABLES)
        return count


def _recompute_open(referral_ids: Iterable[int] | None) -> int:
    """Refresh the open-referral rows of these referrals (None: of every referral)."""
    dialect = _dialect()
    open_sql = _statements(dialect).open
    with connection.cursor() as cursor:
        if referral_ids is None:
            cursor.execute(f"DELETE FROM {_T['open']}")
            _run(cursor, open_sql, [OPEN_STATUS_CODES])
            return int(cursor.rowcount)
        ids = sorted(set(referral_ids))
        if ids:
            _run(cursor, f"DELETE FROM {_T['open']} WHERE referral_id {dialect.in_list}", [ids])
            _run(cursor, f"{open_sql} AND r.id {dialect.in_list}", [OPEN_STATUS_CODES, ids])
        return len(ids)


def _call_backs_changed(
    low: int, high: int, corrections: tuple[int, int] = (0, 0)
) -> tuple[set[date], list[int]]:
    """The due dates of the new call-backs, ids (low, high], of the pending ones done,
    cancelled, moved or deleted since the job last saw them (their old and new dates), and of
    those a death cancelled when the corrections ``corrections`` (low, high] withdrew it (pending
    again); the ids of all, whose open rows are to be refreshed."""
    local_date = _dialect().local_date
    days: set[date] = set()
    ids: set[int] = set()
    with connection.cursor() as cursor:
        if corrections[1] > corrections[0]:
            cursor.execute(
                f"SELECT id, {local_date('due_at')} FROM {_T['callback']} WHERE cancelled_by_death_id IN "
                f"(SELECT record_id FROM {_T['correction']} WHERE id > %s AND id <= %s)",
                list(corrections),
            )
            for call_back_id, due in cursor.fetchall():
                ids.add(call_back_id)
                days.add(_as_date(due))
        cursor.execute(
            f"SELECT o.call_back_id, {local_date('o.due_at')}, {local_date('cb.due_at')} "
            f"FROM {_T['opencb']} o LEFT JOIN {_T['callback']} cb ON cb.id = o.call_back_id "
            "WHERE cb.id IS NULL OR cb.status <> %s OR cb.due_at <> o.due_at",
            [PENDING_CODE],
        )
        for call_back_id, was_due, is_due in cursor.fetchall():
            ids.add(call_back_id)
            days.update(_as_date(day) for day in (was_due, is_due) if day is not None)
        if high > low:
            cursor.execute(
                f"SELECT id, {local_date('due_at')} FROM {_T['callback']} WHERE id > %s AND id <= %s",
                [low, high],
            )
            for call_back_id, due in cursor.fetchall():
                ids.add(call_back_id)
                days.add(_as_date(due))
    return days, sorted(ids)


def _recompute_open_call_backs(call_back_ids: list[int] | None) -> int:
    """Refresh the pending call-back rows of these call-backs (None: of every call-back)."""
    dialect = _dialect()
    sql = _statements(dialect).open_call_backs
    with connection.cursor() as cursor:
        if call_back_ids is None:
            cursor.execute(f"DELETE FROM {_T['opencb']}")
            _run(cursor, sql, [PENDING_CODE])
            return int(cursor.rowcount)
        if call_back_ids:
            where = f"call_back_id {dialect.in_list}"
            _run(cursor, f"DELETE FROM {_T['opencb']} WHERE {where}", [call_back_ids])
            _run(cursor, f"{sql} AND cb.id {dialect.in_list}", [PENDING_CODE, call_back_ids])
        return len(call_back_ids)


def _max_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        return int(cursor.fetchone()[0])


def _advance(source: str, *, now: datetime, horizon: int) -> tuple[int, int]:
    """Move one watermark on; return the id range (low, high] to read.

    The range ends at the largest id seen at least ``horizon`` seconds ago, so a transaction that
    took a lower id and committed late is never jumped over (ids are handed out before commit)."""
    current = _max_id(SOURCES[source])
    mark, _ = SummaryWatermark.objects.select_for_update().get_or_create(
        source=source, defaults={"updated_at": now}
    )
    low = mark.last_id
    if horizon <= 0:
        high = current
    elif mark.candidate_seen_at is not None and mark.candidate_seen_at <= now - timedelta(
        seconds=horizon
    ):
        high = mark.candidate_id
        mark.candidate_seen_at = None
    else:
        high = low
    high = max(high, low)
    if mark.candidate_seen_at is None or horizon <= 0:
        mark.candidate_id, mark.candidate_seen_at = current, now
    mark.last_id, mark.updated_at = high, now
    mark.save()
    return low, high


def _dates_and_patients(ranges: dict[str, tuple[int, int]]) -> tuple[set[date], set[int], set[int]]:
    """The local dates whose summaries the new rows change, the patients whose death outcome
    they may change, and the referrals they touch."""
    days: set[date] = set()
    patients: set[int] = set()
    referrals: set[int] = set()
    local_date = _dialect().local_date
    with connection.cursor() as cursor:
        low, high = ranges["calls"]
        if high > low:
            cursor.execute(
                f"SELECT DISTINCT {local_date('received_at')} FROM {_T['call']} WHERE id > %s AND id <= %s",
                [low, high],
            )
            days.update(_as_date(row[0]) for row in cursor.fetchall())
        low, high = ranges["events"]
        if high > low:
            # A referral's events change its cohort day and, through its team and priority, the
            # days of its interventions and its patient's death outcome.
            touched = f"SELECT DISTINCT referral_id FROM {_T['event']} WHERE id > %s AND id <= %s"
            cursor.execute(touched, [low, high])
            referrals.update(row[0] for row in cursor.fetchall())
            cursor.execute(
                f"SELECT DISTINCT {local_date('r.created_at')} FROM {_T['referral']} r "
                f"WHERE r.id IN ({touched})",
                [low, high],
            )
            days.update(_as_date(row[0]) for row in cursor.fetchall())
            cursor.execute(
                f"SELECT DISTINCT {local_date('i.at')} FROM {_T['intervention']} i "
                f"WHERE i.referral_id IN ({touched})",
                [low, high],
            )
            days.update(_as_date(row[0]) for row in cursor.fetchall())
            cursor.execute(
                f"SELECT DISTINCT r.patient_id FROM {_T['referral']} r JOIN {_T['death']} dr "
                f"ON dr.patient_id = r.patient_id WHERE r.id IN ({touched})",
                [low, high],
            )
            patients.update(row[0] for row in cursor.fetchall())
        low, high = ranges["interventions"]
        if high > low:
            cursor.execute(
                f"SELECT DISTINCT {local_date('at')} FROM {_T['intervention']} WHERE id > %s AND id <= %s",
                [low, high],
            )
            days.update(_as_date(row[0]) for row in cursor.fetchall())
        low, high = ranges["telephony"]
        if high > low:
            # A phone call rang at its first event, which a late event can move to another day:
            # the days of every event of each call with a new event.
            cursor.execute(
                f"SELECT DISTINCT {local_date('e.occurred_at')} FROM {_T['televent']} e "
                f"WHERE e.telephony_call_id IN (SELECT telephony_call_id FROM {_T['televent']} "
                "WHERE id > %s AND id <= %s)",
                [low, high],
            )
            days.update(_as_date(row[0]) for row in cursor.fetchall())
        for source in ("deaths", "death_corrections", "admissions"):
            low, high = ranges[source]
            if high > low:
                cursor.execute(
                    f"SELECT DISTINCT patient_id FROM {SOURCES[source]} WHERE id > %s AND id <= %s",
                    [low, high],
                )
                patients.update(row[0] for row in cursor.fetchall())
    return days, patients, referrals


def _try_lock() -> bool:
    sql = _dialect().try_lock
    if sql is None:
        return True
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return bool(cursor.fetchone()[0])


def _recompute_pending_days(days: set[date], *, limit: int) -> tuple[int, int]:
    """Note these dates as pending, recompute the ``limit`` oldest pending dates and forget them;
    return how many were recomputed and how many still wait."""
    SummaryPendingDay.objects.bulk_create(
        [SummaryPendingDay(local_date=day) for day in days], ignore_conflicts=True
    )
    oldest = list(
        SummaryPendingDay.objects.order_by("local_date").values_list("local_date", flat=True)[
            : max(limit, 1)
        ]
    )
    recomputed = _recompute_days(oldest)
    SummaryPendingDay.objects.filter(local_date__in=oldest).delete()
    return recomputed, SummaryPendingDay.objects.count()


def summaries_refresh(
    *,
    now: datetime | None = None,
    horizon_seconds: int | None = None,
    max_days: int | None = None,
) -> RefreshResult:
    """One run of the summary job: read past each watermark, recompute what changed.

    At most ``max_days`` (``DASHBOARD_MAX_DAYS_PER_RUN``) local dates are recomputed, the oldest
    first; the dates left over are kept (``SummaryPendingDay``) for the next runs, in the same
    transaction as the watermarks, so no change is ever lost.

    Safe to run twice or concurrently: a second run while one holds the lock returns at once
    (``skipped``), and recomputing a day twice gives the same rows."""
    now = now or timezone.now()
    horizon = (
        settings.DASHBOARD_SAFE_HORIZON_SECONDS if horizon_seconds is None else horizon_seconds
    )
    max_days = settings.DASHBOARD_MAX_DAYS_PER_RUN if max_days is None else max_days
    result = RefreshResult()
    with transaction.atomic():
        if not _try_lock():
            result.skipped = True
            return result
        result.ranges = {source: _advance(source, now=now, horizon=horizon) for source in SOURCES}
        days, patients, referrals = _dates_and_patients(result.ranges)
        call_back_days, call_backs = _call_backs_changed(
            *result.ranges["callbacks"], corrections=result.ranges["death_corrections"]
        )
        result.dates, result.pending = _recompute_pending_days(
            days | call_back_days, limit=max_days
        )
        result.call_backs = _recompute_open_call_backs(call_backs)
        result.referrals = _recompute_open(referrals)
        result.deaths_patients = _recompute_deaths(patients)
    return result


def _all_days() -> list[date]:
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT min(first), max(last) FROM (
                SELECT min(received_at) AS first, max(received_at) AS last FROM {_T["call"]}
                UNION ALL SELECT min(created_at), max(created_at) FROM {_T["referral"]}
                UNION ALL SELECT min(at), max(at) FROM {_T["intervention"]}
                UNION ALL SELECT min(rang_at), max(rang_at) FROM {_T["telcall"]}
                UNION ALL SELECT min(due_at), max(due_at) FROM {_T["callback"]}) AS spans""")
        first, last = cursor.fetchone()
    if first is None:
        return []
    day, end = (
        _as_datetime(first).astimezone(LONDON).date(),
        _as_datetime(last).astimezone(LONDON).date(),
    )
    return [day + timedelta(days=n) for n in range((end - day).days + 1)]


def summaries_rebuild(*, now: datetime | None = None) -> RefreshResult:
    """Recompute every summary from the raw rows and set each watermark to the end of what was
    read. Holds the job's lock, so the job waits rather than interleaving."""
    now = now or timezone.now()
    result = RefreshResult()
    dialect = _dialect()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if dialect.lock is not None:
                cursor.execute(dialect.lock)
            # The dates the job left pending are recomputed here with all the others.
            tables = [model._meta.db_table for model in SUMMARY_MODELS]
            tables.append(SummaryPendingDay._meta.db_table)
            if dialect.truncate:
                cursor.execute(f"TRUNCATE {', '.join(tables)}")
            else:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")
        for source, table in SOURCES.items():
            current = _max_id(table)
            SummaryWatermark.objects.update_or_create(
                source=source,
                defaults={
                    "last_id": current,
                    "candidate_id": current,
                    "candidate_seen_at": now,
                    "updated_at": now,
                },
            )
            result.ranges[source] = (0, current)
        days = _all_days()
        _recompute_days(days, track_first_days=False)
        with connection.cursor() as cursor:
            _first_days_apply(cursor, None, 1)
        result.dates = len(days)
        result.deaths_patients = _recompute_deaths(None)
        result.referrals = _recompute_open(None)
        result.call_backs = _recompute_open_call_backs(None)
    logger.info("summaries rebuilt: %s days", result.dates)
    return result
