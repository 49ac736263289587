"""One hand-built history for comparing the summaries of PostgreSQL and SQLite
(tests/dashboards/test_sqlite_parity.py): the same rows, written in the same order, give the
same figures on both.

Run on SQLite with ``manage.py shell -c "from tests.dashboards.parity import main; main()"``:
prints the figures as JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from calls.models import CallBack
from patients.models import DeathRecord, Patient
from referrals.models import Referral
from services.models import Organisation, Team
from spoc.dashboards.blocks import ALL_TEAMS
from spoc.dashboards.models import SUMMARY_MODELS
from spoc.dashboards.services import summaries_rebuild, summaries_refresh
from tests.dashboards import builders
from tests.factories import TeamFactory, UserFactory

# Columns holding ids of raw rows: compared by each row's rank in its table (ids differ between
# databases; the rows are created in the same order).
ID_COLUMNS: dict[str, type[models.Model]] = {
    "team_id": Team,
    "patient_id": Patient,
    "handled_by_id": get_user_model(),
    "owner_id": get_user_model(),
    "death_id": DeathRecord,
    "referral_id": Referral,
    "call_back_id": CallBack,
}
GROUP_IDS: dict[str, type[models.Model]] = {
    "T": Team,
    "TP": Team,
    "O": Organisation,
    "OP": Organisation,
}


def utc(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def figures() -> dict[str, list[list[Any]]]:
    """Every summary row, ids as ranks, sorted; dates and datetimes as ISO text."""
    ranks = {
        model: {
            pk: n
            for n, pk in enumerate(sorted(model._default_manager.values_list("pk", flat=True)), 1)
        }
        for model in {*ID_COLUMNS.values(), *GROUP_IDS.values()}
    }

    def plain(name: str, value: Any) -> Any:
        if name in ID_COLUMNS and value and value != ALL_TEAMS:
            return ranks[ID_COLUMNS[name]][value]
        if name == "grp" and value.split(":")[0] in GROUP_IDS:
            kind, key, *rest = value.split(":")
            return ":".join([kind, str(ranks[GROUP_IDS[kind]][int(key)]), *rest])
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return value

    out: dict[str, list[list[Any]]] = {}
    for model in SUMMARY_MODELS:
        names = [f.name for f in model._meta.fields if f.name != "id"]
        rows = [
            [plain(name, value) for name, value in zip(names, row, strict=True)]
            for row in model._default_manager.values_list(*names)
        ]
        out[model.__name__] = sorted(rows, key=json.dumps)
    return out


def build_and_summarise() -> dict[str, Any]:
    """Build the history, rebuild; add to it, run the job; the figures after each."""
    user = UserFactory(username="parity_handler")
    other = UserFactory(username="parity_other")
    teams: list[Any] = [TeamFactory(), TeamFactory()]
    # Calls either side of the clock changes (29 March, 25 October 2026), of local midnight, of
    # 08:00 and 18:30, at weekends and bank holidays, with and without microseconds.
    moments = [
        utc(2026, 3, 29, 0, 59, 59),
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 28, 23, 59, 59, 999999),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
        utc(2026, 10, 24, 23, 0),
        utc(2026, 10, 24, 22, 59, 59),
        builders.local(2026, 6, 2, 7, 59) + timedelta(seconds=59, microseconds=999999),
        builders.local(2026, 6, 2, 8),
        builders.local(2026, 6, 2, 18, 29) + timedelta(seconds=59),
        builders.local(2026, 6, 2, 18, 30),
        builders.local(2026, 6, 6, 12),
        builders.local(2026, 5, 25, 12),
        builders.local(2026, 12, 25, 3),
        builders.local(2026, 12, 31, 23, 59),
        builders.local(2027, 1, 1, 0, 0),
        utc(2026, 6, 30, 22, 59, 59, 500000),
        utc(2026, 6, 30, 23, 0),
    ]
    calls = [
        builders.call_at(
            at,
            user=user if n % 3 else other,
            caller_type=("GP", "CARER_FAMILY", "PATIENT")[n % 3],
            suggested="P2",
            chosen=("P1", "P2", "P3")[n % 3],
        )
        for n, at in enumerate(moments)
    ]
    # A second call for some patients, on the same and on other days.
    calls.append(
        builders.call_at(moments[0] + timedelta(minutes=5), user=user, patient=calls[0].patient)
    )
    calls.append(
        builders.call_at(
            moments[8] + timedelta(days=3), user=user, patient=calls[8].patient, chosen="P1"
        )
    )
    # Equity groups: each dimension's groups, a postcode with a decile and one without.
    for n, call in enumerate(calls):
        builders.equity_of(
            call.patient,
            ethnic=("A", "H", "Z", "99")[n % 4],
            diagnosis=("CANCER", "RENAL", "NOT_KNOWN")[n % 3],
            postcode=("L9 7AL", "L20 3AB", "PR8 1AA")[n % 3],
            decile=(1, 10, None)[n % 3],
        )
    statuses = ["QUEUED", "ACCEPTED", "IN_PROGRESS", "COMPLETED", "AWAITING_ROUTING", "ON_HOLD"]
    referrals = []
    for n, call in enumerate(calls):
        status = statuses[n % len(statuses)]
        team = None if status == "AWAITING_ROUTING" else teams[n % 2]
        referrals.append(
            builders.referral_for(
                call,
                team=team,
                status=status,
                priority=call.chosen_priority,
                need=("URGENT_HOME_VISIT", "CARER_SUPPORT")[n % 2],
                contact_by=call.received_at + timedelta(hours=2),
            )
        )
    # Times to accept and to first contact on and either side of whole minutes, before the clock
    # (counted as 0), on time, late, exactly on the deadline, and into each width of bucket.
    offsets = [
        timedelta(minutes=30),
        timedelta(minutes=29, seconds=59, microseconds=999999),
        timedelta(seconds=59),
        timedelta(minutes=-3),
        timedelta(hours=2),
        timedelta(hours=2, microseconds=1),
        timedelta(hours=5, minutes=1),
        timedelta(minutes=137),
        timedelta(days=2, hours=3, minutes=17),
    ]
    for n, referral in enumerate(referrals):
        if referral.status in {"ACCEPTED", "IN_PROGRESS", "COMPLETED", "ON_HOLD"}:
            offset = offsets[n % len(offsets)]
            fields: dict[str, Any] = {"accepted_at": referral.created_at + offset, "owner": user}
            if referral.status != "ACCEPTED":
                fields["first_contact_at"] = referral.created_at + offsets[(n + 2) % len(offsets)]
            if n % 4 == 0:
                fields["accept_clock_started_at"] = None
            builders.referral_change(referral, **fields)
    builders.intervention_for(referrals[1], at=utc(2026, 3, 29, 0, 30), user=user, bed_days=4)
    builders.intervention_for(
        referrals[2], at=utc(2026, 10, 25, 1, 15), user=user, primary_care=True
    )
    builders.intervention_for(
        referrals[2],
        at=builders.local(2026, 6, 2, 23, 59),
        user=user,
        bed_days=2,
        kind="PHONE_ADVICE",
    )
    builders.intervention_for(referrals[7], at=utc(2026, 6, 30, 23, 30), user=user, bed_days=1)
    # Deaths: each usual residence, place, preference; emergency admissions on the 90th and 91st
    # day before the local date of death (which differs from its UTC date).
    dying = [Patient.objects.get(calls__pk=calls[n].pk) for n in (1, 2, 3, 8)]
    builders.death_of(
        dying[0],
        at=utc(2026, 7, 1, 23, 30),
        place="21",
        user=user,
        first="20",
        usual_residence="OWN_HOME",
    )
    builders.death_of(
        dying[1],
        at=builders.local(2026, 7, 10, 9),
        place="40",
        user=user,
        first="20",
        second="40",
        care_preferred="40",
        last_days_place="10",
        usual_residence="CARE_HOME",
    )
    builders.death_of(
        dying[2],
        at=builders.local(2026, 11, 1, 2),
        place="22",
        user=user,
        usual_residence="OTHER_PRIVATE",
    )
    builders.admission_of(dying[0], on=date(2026, 7, 2) - timedelta(days=90))
    builders.admission_of(dying[0], on=date(2026, 7, 2) - timedelta(days=91))
    builders.admission_of(dying[1], on=date(2026, 7, 1), emergency=False)
    builders.admission_of(dying[1], on=date(2026, 7, 10))
    # Phone calls either side of the clock changes and of local midnight, answered on and just
    # past 60 s, abandoned, missed, left as a voicemail and still ringing; call-backs done before
    # and after their due time, cancelled and pending.
    seconds = timedelta(seconds=1)
    phones = [
        builders.phone_call(
            "parity-1", rang_at=moments[0], answered_after=60, ended_after=200, ending="ended"
        ),
        builders.phone_call("parity-2", rang_at=moments[1], answered_after=60.000001),
        builders.phone_call("parity-3", rang_at=moments[2], ended_after=10.5, ending="abandoned"),
        builders.phone_call("parity-4", rang_at=moments[3], ended_after=185, ending="abandoned"),
        builders.phone_call("parity-5", rang_at=moments[4], ended_after=700),
        builders.phone_call("parity-6", rang_at=moments[6], ended_after=42, ending="voicemail"),
        builders.phone_call("parity-7", rang_at=moments[16]),
    ]
    for n, call_back in enumerate(CallBack.objects.order_by("pk")):
        due = call_back.due_at
        if n == 0:
            call_back.status, call_back.done_at = "DONE", due - 5 * seconds
        elif n == 1:
            call_back.status, call_back.done_at = "DONE", due + 0.5 * seconds
        elif n == 2:
            call_back.status, call_back.done_at = "CANCELLED", due
        call_back.save()
    CallBack.objects.create(telephony_call=phones[0], due_at=moments[9])
    summaries_rebuild()
    rebuilt = figures()

    # New rows for the job: calls for known patients on known and new days, a reroute, a death
    # and an admission for a patient who has died.
    builders.call_at(
        moments[1] + timedelta(hours=1), user=other, patient=calls[1].patient, chosen="P3"
    )
    late = builders.call_at(builders.local(2027, 1, 2, 19), user=user, patient=calls[4].patient)
    builders.referral_for(
        late, team=teams[1], status="QUEUED", contact_by=late.received_at + timedelta(hours=1)
    )
    builders.referral_change(referrals[0], kind="ROUTED", team=teams[1], priority="P3")
    builders.death_of(
        dying[3],
        at=builders.local(2026, 10, 25, 1, 30),
        place="20",
        user=user,
        first="20",
        usual_residence="OWN_HOME",
    )
    builders.admission_of(dying[2], on=date(2026, 10, 30))
    # A ringing heard late moves a call to the day before; a pending call-back is done late and
    # another moved; a new phone call is left pending its call-back.
    builders.phone_events("parity-3", ("ringing", moments[2] - 3 * seconds))
    pending = list(CallBack.objects.filter(status="PENDING").order_by("pk"))
    pending[0].status, pending[0].done_at = "DONE", pending[0].due_at + timedelta(hours=3)
    pending[0].save()
    pending[1].due_at += timedelta(days=1, microseconds=1)
    pending[1].save()
    builders.phone_call("parity-8", rang_at=moments[12], ended_after=31, ending="abandoned")
    assert phones and len(pending) > 1
    summaries_refresh(horizon_seconds=0)
    return {"rebuilt": rebuilt, "refreshed": figures()}


def main() -> None:
    print(json.dumps(build_and_summarise()))
