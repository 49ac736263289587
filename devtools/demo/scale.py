"""``seed_demo --scale N``: N more generated patients with calls, triage, referrals (with their
whole lives), interventions and deaths over the last 12 months, loaded in bulk for benchmarks
(docs/design.md §11, §12).

Rows are generated in Python and written with PostgreSQL ``COPY ... FROM STDIN`` (psycopg 3
``cursor.copy``, fed from an in-memory buffer), one round of ``chunk`` patients per transaction; on
SQLite (small N only) the same rows go through ``bulk_create``. Nothing here runs the services:
at millions of rows, row-by-row saves would take hours. The rows obey the database's constraints
and the same shapes the services write, with these simplifications, each documented in
docs/performance.md:

- NHS numbers come from the reserved test range only, after the ones the demo patients use.
  The range holds SYNTHETIC_CAPACITY (909,091) valid numbers; patients beyond it get no NHS number
  and status 03 (trace required), never a number outside the range.
- The ranker is not run: a referral goes to a team of the right type that covers the patient's
  postcode district (or the hospital in-reach team for a patient in hospital), else to the SPOC
  coordinators as unroutable. Its ``routing_decision`` holds the winner only (about 0.4 KB; the
  ranker's full answer is about 5 KB, 1.3 KB compressed) and says it was generated.
- P4 and P5 clocks count calendar hours and days, not the service's opening hours.
- Each referral has the life the services would have given it: accepted, in-progress and
  completed ones were claimed (``accepted_at``, ``owner``: a demo clinician of the team, or of any
  team when it has none), mostly within the accept clock and some late; in-progress and completed
  ones had a first contact, mostly by ``contact_by`` and some breached; completed, cancelled and
  entered-in-error ones have ``closed_at``, completed ones an outcome. Their events, with the
  same ``at``: CREATED, ROUTED (or UNROUTABLE), CLAIMED, CONTACTED, COMPLETED, CANCELLED,
  ENTERED_IN_ERROR, INTERVENTION. No declines, holds, reassignments or reopenings.
- Interventions on a share of the contacted referrals, between first contact and closing, about
  30% avoiding an admission (1-14 bed days), by the referral's owner.
- Deaths: about 8% of patients die after their last call, so no referral is made after a death.
  Each has a DeathRecord (recorded two hours later by the coordinator) with ``Patient.died_at``
  equal; its preferred places stand for a care plan's (none is generated) and its outcome flags
  are ``referrals.services.deaths.death_place_fields``'s answers (no place of care). Referrals still open at the death are closed by it (outcome PATIENT_DIED, a COMPLETED
  event naming the record), from the status they had then.
- No carers, care plans, call-backs, admissions, escalations or access-log rows.

Ids are reserved from each table's sequence while the tables are locked (``LOCK TABLE ... IN
SHARE ROW EXCLUSIVE MODE``: concurrent writers wait for the round to commit), so a hub may keep
running, slowly, while it loads. Deaths and interventions are numbered once a round is drawn
(only then are their counts known), from blocks reserved the same way.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, models, transaction

from calls.models import Call
from calls.triage import TRIAGE_RULES_VERSION, TriageInput, suggest_priority
from devtools.demo.directory import NORTHBANK, SITES, SOUTHMERE
from devtools.demo.patients import (
    CARE_HOMES,
    DEMO_NHS_RESERVED,
    GP_PRACTICES,
    NAME_GROUPS,
    NEEDS_FOR_REASON,
    SEED,
    STREETS,
    TOWNS,
    UNIT_LETTERS,
    NameGroup,
)
from devtools.nhs_numbers import SYNTHETIC_CAPACITY, synthetic_nhs_number, synthetic_nhs_numbers
from patients.codes import (
    AssessmentSource,
    IposItem,
    NhsNumberStatus,
    PatientLocation,
    PhaseOfIllness,
    PlaceOfDeath,
    Sex,
    UsualResidence,
)
from patients.models import Assessment, DeathRecord, Patient
from patients.names import search_form
from referrals.codes import (
    CallDirection,
    CallReason,
    CarerCoping,
    Disposition,
    InterventionType,
    RedFlag,
    ReferralOutcome,
)
from referrals.models import Intervention, Referral, ReferralEvent
from referrals.services.clocks import AT_RISK_FRACTION
from referrals.services.deaths import death_place_fields
from referrals.transitions import ReferralStatus
from services.codes import CLOCKS, NEED_SERVICE_TYPES, CallerType, Need, Priority, ServiceType
from services.models import CoverageArea, Service, Site, TeamMembership
from spoc.accounts.models import User

# Patients per round: one transaction and one COPY per table each.
DEFAULT_CHUNK = 50_000
HISTORY_DAYS = 365
BULK_CREATE_BATCH = 1_000
NULL = r"\N"

# Common British family names besides the demo's, so that a name search meets a realistic spread
# (the commonest name is about 1% of patients, as Smith is in England) rather than a few hundred
# names each shared by thousands.
MORE_FAMILY_NAMES = (
    "Allen",
    "Anderson",
    "Armstrong",
    "Atkinson",
    "Bailey",
    "Baker",
    "Ball",
    "Bates",
    "Bell",
    "Bennett",
    "Berry",
    "Bird",
    "Bolton",
    "Booth",
    "Bradley",
    "Brooks",
    "Burns",
    "Butler",
    "Carter",
    "Chapman",
    "Cole",
    "Collins",
    "Cook",
    "Cooper",
    "Cox",
    "Crawford",
    "Cunningham",
    "Dawson",
    "Dixon",
    "Duncan",
    "Ellis",
    "Fisher",
    "Fletcher",
    "Ford",
    "Foster",
    "Fox",
    "Gibson",
    "Gordon",
    "Graham",
    "Gray",
    "Griffiths",
    "Hamilton",
    "Hardy",
    "Harrison",
    "Hart",
    "Harvey",
    "Hill",
    "Holmes",
    "Hope",
    "Howard",
    "Hunt",
    "Hunter",
    "Jenkins",
    "Johnston",
    "Kennedy",
    "King",
    "Knight",
    "Lane",
    "Lawrence",
    "Lee",
    "Marshall",
    "Martin",
    "Mason",
    "Matthews",
    "Miller",
    "Mills",
    "Mitchell",
    "Moore",
    "Morris",
    "Murray",
    "Owen",
    "Palmer",
    "Parker",
    "Parry",
    "Payne",
    "Pearson",
    "Perry",
    "Phillips",
    "Pickering",
    "Porter",
    "Richards",
    "Richardson",
    "Riley",
    "Rogers",
    "Rose",
    "Russell",
    "Saunders",
    "Scott",
    "Shaw",
    "Simpson",
    "Stevens",
    "Stewart",
    "Stone",
    "Sutton",
    "Turner",
    "Walsh",
    "Ward",
    "Watson",
    "Webb",
    "Wells",
    "West",
    "White",
    "Williamson",
    "Young",
    "Ainsworth",
    "Birchall",
    "Crosby",
    "Formby",
    "Gerrard",
    "Halsall",
    "Kearney",
    "Lathom",
    "Maghull",
    "Melling",
    "Orrell",
    "Prescot",
    "Rainford",
    "Seddon",
    "Tickle",
    "Unsworth",
    "Westhead",
    "Wignall",
)

STATUS_BY_AGE: tuple[tuple[timedelta, tuple[tuple[str, float], ...]], ...] = (
    # (younger than, ((status, cumulative share), ...)): the older a referral, the likelier done.
    (
        timedelta(days=1),
        (
            (ReferralStatus.QUEUED, 0.50),
            (ReferralStatus.ACCEPTED, 0.75),
            (ReferralStatus.IN_PROGRESS, 0.90),
            (ReferralStatus.COMPLETED, 0.98),
            (ReferralStatus.CANCELLED, 1.0),
        ),
    ),
    (
        timedelta(days=7),
        (
            (ReferralStatus.QUEUED, 0.05),
            (ReferralStatus.ACCEPTED, 0.15),
            (ReferralStatus.IN_PROGRESS, 0.45),
            (ReferralStatus.COMPLETED, 0.95),
            (ReferralStatus.CANCELLED, 1.0),
        ),
    ),
    (
        timedelta(days=30),
        (
            (ReferralStatus.IN_PROGRESS, 0.05),
            (ReferralStatus.COMPLETED, 0.95),
            (ReferralStatus.CANCELLED, 1.0),
        ),
    ),
    (
        timedelta.max,
        (
            (ReferralStatus.COMPLETED, 0.955),
            (ReferralStatus.CANCELLED, 0.995),
            (ReferralStatus.ENTERED_IN_ERROR, 1.0),
        ),
    ),
)
OUTCOMES = (
    (ReferralOutcome.NEEDS_MET, 0.76),
    (ReferralOutcome.PATIENT_DIED, 0.86),
    (ReferralOutcome.TRANSFERRED, 0.92),
    (ReferralOutcome.NO_CONTACT, 0.95),
    (ReferralOutcome.DECLINED_BY_PATIENT, 0.98),
    (ReferralOutcome.OTHER, 1.0),
)
CALLER_TYPES = (
    (CallerType.CARER_FAMILY, 0.30),
    (CallerType.DISTRICT_NURSE, 0.52),
    (CallerType.GP, 0.64),
    (CallerType.PATIENT, 0.72),
    (CallerType.CARE_HOME_STAFF, 0.80),
    (CallerType.OOH_111, 0.86),
    (CallerType.COMMUNITY_SPC_NURSE, 0.91),
    (CallerType.AMBULANCE, 0.94),
    (CallerType.HOSPITAL_CLINICIAN, 0.97),
    (CallerType.OTHER, 1.0),
)
# Tuned so that the standard dataset (docs/design.md §11) comes out at about 3 referrals and 3 calls
# per patient: 1M patients, 3M referrals.
REASONS = (
    (CallReason.SYMPTOM_CONTROL, 0.34),
    (CallReason.MEDICATION_QUERY, 0.40),
    (CallReason.REQUEST_VISIT, 0.56),
    (CallReason.REQUEST_ADMISSION, 0.61),
    (CallReason.CARE_PACKAGE_EQUIPMENT, 0.67),
    (CallReason.CARER_CRISIS, 0.75),
    (CallReason.NEW_REFERRAL, 0.87),
    (CallReason.DEATH_NOTIFICATION, 0.91),
    (CallReason.CLINICAL_UPDATE, 0.96),
    (CallReason.INFORMATION, 0.98),
    (CallReason.ADMIN, 1.0),
)
CALLS_PER_PATIENT = ((1, 0.08), (2, 0.30), (3, 0.65), (4, 0.87), (5, 1.0))
# Share of patients who die after their last call (a DeathRecord each).
DEATH_SHARE = 0.08
# Accepted within the accept clock / first contact within contact_by: the rest are late.
ACCEPT_ON_TIME = 0.88
CONTACT_ON_TIME = 0.85
# Contacted referrals with interventions; interventions that avoided an admission.
WITH_INTERVENTIONS = 0.6
ADMISSION_AVOIDED = 0.3
INTERVENTION_KINDS = (
    (InterventionType.HOME_VISIT, 0.35),
    (InterventionType.PHONE_ADVICE, 0.60),
    (InterventionType.NIGHT_VISIT, 0.68),
    (InterventionType.HOSPICE_AT_HOME_SHIFT, 0.78),
    (InterventionType.CARER_SUPPORT, 0.86),
    (InterventionType.EQUIPMENT_OR_CARE_PACKAGE, 0.93),
    (InterventionType.HOSPICE_ADMISSION, 0.97),
    (InterventionType.DAY_THERAPY, 1.0),
)
# Preferred (care plan) and actual places of death, NHS Data Dictionary codes (docs/reference.md).
PREFERRED_PLACES = (
    ("", 0.25),
    (PlaceOfDeath.OWN_HOME, 0.55),
    (PlaceOfDeath.HOSPICE, 0.68),
    (PlaceOfDeath.CARE_HOME, 0.76),
    (PlaceOfDeath.PRIVATE_RESIDENCE, 0.86),
    (PlaceOfDeath.HOSPITAL, 0.95),
    (PlaceOfDeath.OTHER_PRIVATE_RESIDENCE, 1.0),
)
ACTUAL_PLACES = (
    (PlaceOfDeath.HOSPITAL, 0.42),
    (PlaceOfDeath.OWN_HOME, 0.68),
    (PlaceOfDeath.HOSPICE, 0.81),
    (PlaceOfDeath.CARE_HOME, 0.94),
    (PlaceOfDeath.OTHER_PRIVATE_RESIDENCE, 0.97),
    (PlaceOfDeath.OTHER, 1.0),
)
VERIFIED_BY = ("District nurse", "GP", "Ambulance clinician", "Ward doctor")


def _pick(table: Sequence[tuple[Any, float]], u: float) -> Any:
    for value, upto in table:
        if u < upto:
            return value
    return table[-1][0]


def _text(value: Any) -> str:
    """One value in PostgreSQL COPY text format."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


class ScaleConfigurationError(RuntimeError):
    """The demo directory or users are missing, or a table gained a column this generator does
    not know how to fill."""


# --- Tables ------------------------------------------------------------------------------------


class _Table:
    """A model's table as COPY sees it: the columns this generator fills, in order, then every
    other column at its model default (so a column added later with a default needs no change
    here; one without a default stops the load with a clear error)."""

    def __init__(self, model: type[models.Model], given: tuple[str, ...]) -> None:
        self.model = model
        self.name = model._meta.db_table
        fields = {f.column: f for f in model._meta.concrete_fields}
        unknown = [column for column in given if column not in fields]
        if unknown:
            raise ScaleConfigurationError(f"{self.name} has no column {', '.join(unknown)}.")
        extra = [column for column in fields if column not in given and column != "id"]
        suffix = []
        for column in extra:
            model_field = fields[column]
            default = model_field.get_default()
            if default is None and not model_field.null:
                raise ScaleConfigurationError(
                    f"{self.name}.{column} is new and has no default: teach "
                    "devtools/demo/scale.py to fill it."
                )
            suffix.append(_text(default))
        self.columns = given + tuple(extra)
        self.suffix = "".join("\t" + value for value in suffix)
        self.fields = [fields[column] for column in given]

    def copy_sql(self) -> str:
        columns = ", ".join(f'"{column}"' for column in self.columns)
        return f'COPY "{self.name}" ({columns}) FROM STDIN'

    def buffer(self, rows: list[tuple[str, ...]]) -> bytes:
        """The rows as COPY text, encoded here, on the generating thread, so that the loading
        thread only hands bytes to psycopg."""
        suffix = self.suffix + "\n"
        return "".join(["\t".join(row) + suffix for row in rows]).encode()

    def instances(self, rows: list[tuple[str, ...]]) -> Iterator[models.Model]:
        """The rows as unsaved model instances (the SQLite path)."""
        for row in rows:
            values = {}
            for model_field, text in zip(self.fields, row, strict=True):
                values[model_field.attname] = _from_text(model_field, text)
            yield self.model(**values)


def _from_text(model_field: models.Field[Any, Any], text: str) -> Any:
    if text == NULL:
        return None
    text = text.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
    if isinstance(model_field, models.JSONField):
        return json.loads(text)
    if isinstance(model_field, models.BooleanField):
        return text == "t"
    return model_field.to_python(text)


PATIENT = (
    "id",
    "nhs_number",
    "nhs_number_status",
    "given_name",
    "family_name",
    "search_name",
    "date_of_birth",
    "sex",
    "address",
    "postcode",
    "gp_practice",
    "usual_residence",
    "location",
    "location_site_id",
    "died_at",
    "created_at",
    "created_by_id",
    "updated_at",
)
ASSESSMENT = (
    "id",
    "patient_id",
    "source",
    "phase",
    "akps",
    "ipos",
    "assessed_at",
    "assessed_by_id",
)
CALL = (
    "id",
    "received_at",
    "ended_at",
    "direction",
    "caller_type",
    "caller_name",
    "caller_organisation",
    "patient_id",
    "reason",
    "triage_id",
    "red_flags",
    "red_flags_asked",
    "carer_coping",
    "patient_location",
    "patient_site_id",
    "suggested_priority",
    "suggestion_reasons",
    "triage_rules_version",
    "chosen_priority",
    "disposition",
    "handled_by_id",
    "needs_senior_review",
    "reviewed_by_id",
    "reviewed_at",
    "review_comment",
)
REFERRAL = (
    "id",
    "patient_id",
    "call_id",
    "need",
    "priority",
    "status",
    "team_id",
    "owner_id",
    "clock_started_at",
    "accept_by",
    "contact_by",
    "at_risk_at",
    "routing_attempt",
    "routing_decision",
    "unroutable_reason",
    "routed_at",
    "outcome",
    "created_at",
    "created_by_id",
    "updated_at",
    "accept_clock_started_at",
    "accepted_at",
    "first_contact_at",
    "closed_at",
    "cancel_reason",
)
DEATH = (
    "id",
    "patient_id",
    "died_at",
    "place",
    "expected",
    "verified_by",
    "preferred_place_first",
    "preferred_place_second",
    "preferred_place_achieved",
    "first_preference_achieved",
    "recorded_at",
    "recorded_by_id",
    "status",
)
INTERVENTION = (
    "id",
    "referral_id",
    "kind",
    "at",
    "by_id",
    "notes",
    "admission_avoided",
    "bed_days_saved",
    "recorded_at",
)
EVENT = ("referral_id", "kind", "at", "actor_id", "from_status", "to_status", "team_id", "data")


# --- What the generator needs to know ------------------------------------------------------------


@dataclass(frozen=True)
class _TeamInfo:
    team_id: str
    service_id: int
    team_name: str
    service_type: str
    owners: tuple[str, ...]
    # COPY text, ready to use: the end of the winner-only routing decision (after its "at") and
    # the ROUTED event's data.
    decision_tail: str
    routed_data: str


@dataclass
class _Directory:
    handler: str
    coordinator: str
    # (need, district) -> the teams that can take it, preferred first.
    teams: dict[tuple[str, str], tuple[_TeamInfo, ...]]
    in_reach: _TeamInfo | None
    spoc: _TeamInfo
    sites: dict[str, str]  # borough -> site id
    # Every demo clinician of a team: who claims a referral of a team with no demo member.
    nurses: tuple[str, ...] = ()


def _team_info(service: Service, owners: tuple[str, ...]) -> _TeamInfo:
    team = service.team
    candidate = {
        "service_id": service.pk,
        "service_name": service.name,
        "team_name": team.name,
        "eligible": True,
        "rank": 1,
        "reasons": ["Bulk-generated benchmark data (seed_demo --scale): the ranker was not run."],
    }
    winner = "null" if service.service_type == ServiceType.SPOC else str(service.pk)
    tail = (
        f', "attempt": 1, "winner_service_id": {winner}, "generated": true, '
        f'"candidates": [{json.dumps(candidate, ensure_ascii=False)}]}}'
    )
    routed = {
        "attempt": 1,
        "team_name": team.name,
        "service_id": service.pk,
        "service_name": service.name,
    }
    return _TeamInfo(
        team_id=str(team.pk),
        service_id=service.pk,
        team_name=team.name,
        service_type=service.service_type,
        owners=owners,
        decision_tail=_text(tail),
        routed_data=_text(routed),
    )


def _directory(users: Mapping[str, User], services: Mapping[str, Service]) -> _Directory:
    """The demo directory as the generator uses it; only rows the demo seed created."""
    if any(name not in users for name in ("handler", "coordinator")) or not services:
        raise ScaleConfigurationError(
            "Run the demo seed first: --scale needs its directory and users."
        )
    members: dict[int, list[str]] = {}
    for team_id, user_id in (
        TeamMembership.objects.filter(
            team__service__in=list(services.values()), user__is_clinician=True
        )
        .order_by("team_id", "user_id")
        .values_list("team_id", "user_id")
    ):
        members.setdefault(team_id, []).append(str(user_id))
    areas: dict[int, set[str]] = {}
    for service_id, area in CoverageArea.objects.filter(
        service__in=list(services.values())
    ).values_list("service_id", "area"):
        areas.setdefault(service_id, set()).add(area)
    infos = {
        service.pk: _team_info(service, tuple(members.get(service.team.pk, ())))
        for service in services.values()
    }
    spoc = next((i for i in infos.values() if i.service_type == ServiceType.SPOC), None)
    if spoc is None:
        raise ScaleConfigurationError("The demo directory has no SPOC coordinators' team.")
    teams: dict[tuple[str, str], tuple[_TeamInfo, ...]] = {}
    for need in Need.values:
        for district in NORTHBANK + SOUTHMERE:
            teams[(need, district)] = tuple(
                info
                for service_type in NEED_SERVICE_TYPES.get(need, ())
                for service_id, info in sorted(infos.items())
                if info.service_type == service_type and district in areas.get(service_id, ())
            )
    in_reach = next(
        (i for i in infos.values() if i.service_type == ServiceType.HOSPITAL_IN_REACH), None
    )
    site_ids = dict(
        Site.objects.filter(code__in=[code for code, *_ in SITES]).values_list("code", "pk")
    )
    nurses = tuple(sorted({owner for info in infos.values() for owner in info.owners}, key=int))
    return _Directory(
        handler=str(users["handler"].pk),
        coordinator=str(users["coordinator"].pk),
        teams=teams,
        in_reach=in_reach,
        spoc=spoc,
        sites={"NORTHBANK": str(site_ids[SITES[0][0]]), "SOUTHMERE": str(site_ids[SITES[1][0]])},
        nurses=nurses or (str(users["coordinator"].pk),),
    )


@dataclass(frozen=True)
class _Triage:
    """One pre-computed triage: what the handler recorded and what the rules suggested."""

    reason: str
    phase: str
    akps: str
    ipos: str
    red_flags: str
    coping: str
    priority: str
    reasons: str
    needs: tuple[tuple[str, ...], ...]


def _triages(rng: random.Random, count: int = 500) -> list[_Triage]:
    """A pool of triages drawn once; calls pick from it (the rules run ``count`` times, not once
    per call). Each suggestion is the real rules' answer to the answers stored with it."""
    pool = []
    for _ in range(count):
        reason = _pick(REASONS, rng.random())
        phase = _pick(
            (
                (PhaseOfIllness.STABLE, 0.2),
                (PhaseOfIllness.UNSTABLE, 0.32),
                (PhaseOfIllness.DETERIORATING, 0.72),
                (PhaseOfIllness.DYING, 0.88),
                ("", 1.0),
            ),
            rng.random(),
        )
        if reason == CallReason.DEATH_NOTIFICATION:
            phase = PhaseOfIllness.DECEASED
        ipos: dict[str, int] = {}
        if reason in (CallReason.SYMPTOM_CONTROL, CallReason.REQUEST_VISIT) or rng.random() < 0.3:
            for item in rng.sample(list(IposItem.values), rng.randrange(1, 5)):
                ipos[item] = min(4, round(rng.triangular(0, 4.4, 1.5)))
        flags = (
            (rng.choice(RedFlag.values),)
            if reason == CallReason.SYMPTOM_CONTROL and rng.random() < 0.03
            else ()
        )
        coping = _pick(
            (
                (CarerCoping.COPING, 0.35),
                (CarerCoping.STRUGGLING, 0.5),
                (CarerCoping.CRISIS_TONIGHT, 0.55),
                (CarerCoping.NO_CARER, 0.6),
                ("", 1.0),
            ),
            rng.random(),
        )
        triage = TriageInput(
            phase=phase or None,
            ipos=ipos,
            red_flags=flags,
            carer_coping=coping or None,
            reason=reason,
        )
        suggestion = suggest_priority(triage)
        needs = NEEDS_FOR_REASON.get(reason, ())
        if (
            reason in (CallReason.MEDICATION_QUERY, CallReason.SYMPTOM_CONTROL)
            and rng.random() < 0.2
        ):
            needs = ()
        pool.append(
            _Triage(
                reason=reason,
                phase=phase,
                akps=str(rng.randrange(1, 8) * 10) if rng.random() < 0.4 else NULL,
                ipos=_text(dict(triage.ipos)),
                red_flags=_text(list(triage.red_flags or ())),
                coping=coping,
                priority=suggestion.priority,
                reasons=_text(list(suggestion.reasons)),
                needs=needs,
            )
        )
    return pool


class _Times:
    """Epoch seconds -> timestamptz text in COPY format; the hour's text is cached (a year is
    under 9,000 hours) and minutes:seconds come from a table."""

    _MMSS = tuple(f"{m:02d}:{s:02d}+00" for m in range(60) for s in range(60))

    def __init__(self) -> None:
        self._hours: dict[int, str] = {}
        self._days: dict[int, str] = {}

    def text(self, ts: int) -> str:
        hour, rest = divmod(ts, 3_600)
        prefix = self._hours.get(hour)
        if prefix is None:
            prefix = self._hours[hour] = datetime.fromtimestamp(hour * 3_600, UTC).strftime(
                "%Y-%m-%d %H:"
            )
        return prefix + self._MMSS[rest]

    def day(self, ordinal: int) -> str:
        text = self._days.get(ordinal)
        if text is None:
            text = self._days[ordinal] = date.fromordinal(ordinal).isoformat()
        return text


# --- The generator -----------------------------------------------------------------------------


@dataclass
class _Shape:
    """One patient's calls and their needs, drawn before ids are reserved (so that exactly as
    many ids are reserved as rows are written)."""

    calls: list[tuple[int, _Triage, tuple[str, ...]]]  # (received_at, triage, needs)
    in_hospital: bool

    @property
    def referrals(self) -> int:
        return sum(len(needs) for _, _, needs in self.calls)


@dataclass
class _Round:
    """One round's rows (COPY text), table by table, with the first id of each table's block."""

    first: dict[str, int]
    patients: list[tuple[str, ...]] = field(default_factory=list)
    assessments: list[tuple[str, ...]] = field(default_factory=list)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    referrals: list[tuple[str, ...]] = field(default_factory=list)
    events: list[tuple[str, ...]] = field(default_factory=list)
    deaths: list[tuple[str, ...]] = field(default_factory=list)
    interventions: list[tuple[str, ...]] = field(default_factory=list)
    # Rows whose ids (and the events naming them) are only known once their block is reserved,
    # after the round is drawn: see _Generator.finish.
    pending_deaths: list[_PendingDeath] = field(default_factory=list)
    pending_interventions: list[tuple[tuple[str, ...], tuple[str, ...], str]] = field(
        default_factory=list
    )
    without_nhs_number: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    # The rows as COPY input, table by table (built by the generating thread).
    buffers: dict[str, bytes] = field(default_factory=dict)

    def rows(self) -> int:
        return sum(len(rows) for _, rows in self.tables())

    def tables(self) -> tuple[tuple[str, list[tuple[str, ...]]], ...]:
        # In foreign-key order (the triggers check each row as it is copied without a superuser).
        return (
            ("patients", self.patients),
            ("deaths", self.deaths),
            ("assessments", self.assessments),
            ("calls", self.calls),
            ("referrals", self.referrals),
            ("interventions", self.interventions),
            ("events", self.events),
        )


@dataclass
class _PendingDeath:
    """A patient's death: its DeathRecord row without its id, and the COMPLETED events (without
    their data, which names the record) of the referrals its recording closed."""

    died: int
    recorded: int
    row: tuple[str, ...]
    closing: list[tuple[str, ...]] = field(default_factory=list)


class _Generator:
    """Draws patients, calls and referrals from one seeded generator (the same data for the same
    starting point every run), as COPY text rows."""

    def __init__(self, *, directory: _Directory, now: datetime, rng: random.Random) -> None:
        self.d = directory
        self.rng = rng
        self.now = int(now.timestamp())
        self.today = now.date().toordinal()
        self.times = _Times()
        self.triages = _triages(rng)
        self.names = self._names()
        self.search_forms: dict[tuple[str, str], str] = {}
        self.unroutable: dict[tuple[str, str, str], tuple[str, str]] = {}
        self.triage_offset = 0
        self.districts = [(d, "NORTHBANK") for d in NORTHBANK] + [
            (d, "SOUTHMERE") for d in SOUTHMERE
        ]
        self.statuses = [
            (int(younger.total_seconds()) if younger != timedelta.max else 2**62, shares)
            for younger, shares in STATUS_BY_AGE
        ]

    def _names(self) -> list[NameGroup]:
        """About 100 slots, each name group taking a share by its weight."""
        slots = []
        total = sum(group.weight for group in NAME_GROUPS)
        for index, group in enumerate(NAME_GROUPS):
            if index == 0:
                group = replace(group, family=group.family + MORE_FAMILY_NAMES)
            slots += [group] * max(1, round(100 * group.weight / total))
        return slots

    def shape(self) -> _Shape:
        rng = self.rng
        count = _pick(CALLS_PER_PATIENT, rng.random())
        at = self.now - int(HISTORY_DAYS * 86_400 * rng.random()) - 60
        calls = []
        for _ in range(count):
            triage = self.triages[int(rng.random() * len(self.triages))]
            needs = triage.needs[int(rng.random() * len(triage.needs))] if triage.needs else ()
            calls.append((at, triage, needs))
            at += int(3_600 + rng.random() * 14 * 86_400)
            if at > self.now - 120:
                break
        in_hospital = rng.random() < 0.05
        if in_hospital:
            # The last call comes from the ward: a review by the in-reach team.
            at, triage, _ = calls[-1]
            calls[-1] = (at, triage, (Need.HOSPITAL_SPECIALIST_REVIEW,) if self.d.in_reach else ())
        return _Shape(calls=calls, in_hospital=in_hospital)

    def round(
        self, shapes: list[_Shape], first: dict[str, int], numbers: Iterator[str | None]
    ) -> _Round:
        out = _Round(first=first)
        pid, call_id, referral_id = first["patients"], first["calls"], first["referrals"]
        # A call's triage assessment is the same position in the assessments' block.
        self.triage_offset = first["assessments"] - first["calls"]
        for shape in shapes:
            number = next(numbers)
            out.without_nhs_number += number is None
            self._patient(out, shape, pid, number, call_id, referral_id)
            pid += 1
            call_id += len(shape.calls)
            referral_id += shape.referrals
        return out

    def finish(self, out: _Round, first: Mapping[str, int]) -> None:
        """Number the round's deaths and interventions from the first ids of their blocks
        (``len(out.pending_deaths)`` and ``len(out.pending_interventions)`` ids), with the events
        that name them."""
        out.first.update(deaths=first["deaths"], interventions=first["interventions"])
        for index, death in enumerate(out.pending_deaths):
            death_id = first["deaths"] + index
            out.deaths.append((str(death_id), *death.row))
            data = f'{{"outcome": "{ReferralOutcome.PATIENT_DIED}", "death_record_id": {death_id}}}'
            out.events += [(*event, data) for event in death.closing]
        for index, (row, event, data) in enumerate(out.pending_interventions):
            intervention_id = first["interventions"] + index
            out.interventions.append((str(intervention_id), *row))
            out.events.append((*event, f'{{"intervention_id": {intervention_id}, {data}'))
        out.pending_deaths, out.pending_interventions = [], []

    def _patient(
        self,
        out: _Round,
        shape: _Shape,
        pid: int,
        number: str | None,
        call_id: int,
        referral_id: int,
    ) -> None:
        rng, t, d = self.rng, self.times, self.d
        group = self.names[int(rng.random() * len(self.names))]
        female = rng.random() < 0.52
        given = rng.choice(group.female if female else group.male)
        family = rng.choice(group.family)
        # Begum, Kaur and Singh are one sex's names; Polish surnames change with sex.
        own = group.female_family if female else group.male_family
        if own and rng.random() < 0.5:
            family = rng.choice(own)
        search = self.search_forms.get((given, family))
        if search is None:
            search = self.search_forms[(given, family)] = _text(search_form(given, family))
        age_days = int(
            365.25 * (rng.triangular(55, 99, 82) if rng.random() > 0.05 else rng.uniform(28, 55))
        )
        district, borough = self.districts[int(rng.random() * len(self.districts))]
        care_home = rng.random() < 0.1
        street = STREETS[int(rng.random() * len(STREETS))]
        address = (
            f"{CARE_HOMES[int(rng.random() * len(CARE_HOMES))]}, {street}, {TOWNS[borough]}"
            if care_home
            else f"{int(rng.random() * 200) + 1} {street}, {TOWNS[borough]}"
        )
        first_call, last_call = shape.calls[0][0], shape.calls[-1][0]
        created = first_call - int(rng.random() * 30 * 86_400)
        died = None
        death = None
        if rng.random() < DEATH_SHARE:
            # After the last call, so after every referral was made.
            died = last_call + int(3_600 + rng.random() * 14 * 86_400)
            died = died if died < self.now - 3_600 else None
        pid_text = str(pid)
        if died is not None:
            death = self._death(pid_text, died, care_home)
            out.pending_deaths.append(death)
        site = d.sites[borough]
        out.patients.append(
            (
                pid_text,
                number or NULL,
                NhsNumberStatus.VERIFIED if number else NhsNumberStatus.TRACE_REQUIRED,
                given,
                family,
                search,
                t.day(self.today - age_days),
                Sex.FEMALE if female else Sex.MALE,
                address,
                f"{district} {int(rng.random() * 9) + 1}{rng.choice(UNIT_LETTERS)}{rng.choice(UNIT_LETTERS)}",
                GP_PRACTICES[borough][int(rng.random() * 4)],
                UsualResidence.CARE_HOME if care_home else UsualResidence.OWN_HOME,
                PatientLocation.HOSPITAL
                if shape.in_hospital
                else (PatientLocation.CARE_HOME if care_home else PatientLocation.HOME),
                site if shape.in_hospital else NULL,
                t.text(died) if died else NULL,
                t.text(created),
                d.handler,
                t.text(died or last_call),
            )
        )
        last = len(shape.calls) - 1
        for index, (received, triage, needs) in enumerate(shape.calls):
            hospital_call = shape.in_hospital and index == last
            self._call(
                out,
                pid_text,
                district,
                site if hospital_call else NULL,
                received,
                triage,
                needs,
                call_id + index,
                referral_id,
                death,
            )
            referral_id += len(needs)

    def _death(self, pid: str, died: int, care_home: bool) -> _PendingDeath:
        """A DeathRecord as ``workspace.services.death_record`` writes it, recorded two
        hours after the death by the coordinator; the preferred places stand for the care plan's."""
        rng, t = self.rng, self.times
        first = (
            PlaceOfDeath.CARE_HOME
            if care_home and rng.random() < 0.7
            else _pick(PREFERRED_PLACES, rng.random())
        )
        second = ""
        if first and rng.random() < 0.4:
            second = (
                PlaceOfDeath.HOSPICE if first != PlaceOfDeath.HOSPICE else PlaceOfDeath.HOSPITAL
            )
        if first and rng.random() < 0.65:
            place = PlaceOfDeath.OWN_HOME if first == PlaceOfDeath.PRIVATE_RESIDENCE else first
        else:
            place = _pick(ACTUAL_PLACES, rng.random())
        outcomes = death_place_fields(
            place=place, first=first, second=second, care_preferred="", last_days_place=""
        )
        expected = _pick((("t", 0.8), ("f", 0.9), (NULL, 1.0)), rng.random())
        recorded = min(died + 7_200, self.now - 30)
        row = (
            pid,
            t.text(died),
            place,
            expected,
            VERIFIED_BY[int(rng.random() * len(VERIFIED_BY))],
            first,
            second,
            _text(outcomes["preferred_place_achieved"]),
            _text(outcomes["first_preference_achieved"]),
            t.text(recorded),
            self.d.coordinator,
            DeathRecord.Status.RECORDED,
        )
        return _PendingDeath(died=died, recorded=recorded, row=row)

    def _call(
        self,
        out: _Round,
        pid: str,
        district: str,
        site: str,
        received: int,
        triage: _Triage,
        needs: tuple[str, ...],
        call_id: int,
        referral_id: int,
        death: _PendingDeath | None,
    ) -> None:
        rng, t, d = self.rng, self.times, self.d
        ended = min(received + 240 + int(rng.random() * 1_200), self.now - 60)
        handler = d.handler if rng.random() < 0.85 else d.coordinator
        disposition = (
            Disposition.REFERRALS_CREATED
            if needs
            else _pick(
                (
                    (Disposition.ADVICE_GIVEN, 0.7),
                    (Disposition.SIGNPOSTED, 0.95),
                    (Disposition.ADVISED_999, 1.0),
                ),
                rng.random(),
            )
        )
        review = handler == d.handler and disposition == Disposition.ADVICE_GIVEN
        reviewed = review and self.now - received > 86_400
        received_text, ended_text = t.text(received), t.text(ended)
        cid, aid = str(call_id), str(call_id + self.triage_offset)
        out.assessments.append(
            (
                aid,
                pid,
                AssessmentSource.CALL_TRIAGE,
                triage.phase,
                triage.akps,
                triage.ipos,
                received_text,
                handler,
            )
        )
        in_hospital = site != NULL
        out.calls.append(
            (
                cid,
                received_text,
                ended_text,
                CallDirection.INBOUND,
                CallerType.HOSPITAL_CLINICIAN if in_hospital else _pick(CALLER_TYPES, rng.random()),
                "",
                "",
                pid,
                triage.reason,
                aid,
                triage.red_flags,
                "t",  # the pool's triages ask the red flags: () or one present
                triage.coping,
                PatientLocation.HOSPITAL if in_hospital else PatientLocation.HOME,
                site,
                triage.priority,
                triage.reasons,
                TRIAGE_RULES_VERSION,
                triage.priority,
                disposition,
                handler,
                "t" if review else "f",
                d.coordinator if reviewed else NULL,
                t.text(received + 10_800) if reviewed else NULL,
                "Advice appropriate." if reviewed else "",
            )
        )
        for offset, need in enumerate(needs):
            self._referral(
                out,
                pid,
                cid,
                district,
                need,
                triage.priority,
                received,
                ended,
                in_hospital,
                str(referral_id + offset),
                handler,
                death,
            )

    def _referral(
        self,
        out: _Round,
        pid: str,
        cid: str,
        district: str,
        need: str,
        priority: str,
        received: int,
        created: int,
        in_hospital: bool,
        rid: str,
        handler: str,
        death: _PendingDeath | None,
    ) -> None:
        rng, t, d = self.rng, self.times, self.d
        candidates: tuple[_TeamInfo, ...]
        if need == Need.HOSPITAL_SPECIALIST_REVIEW:
            candidates = (d.in_reach,) if in_hospital and d.in_reach else ()
        else:
            candidates = d.teams[(need, district)]
        if candidates:
            info = (
                candidates[0]
                if len(candidates) == 1 or rng.random() < 0.8
                else rng.choice(candidates[1:])
            )
            kind, reason, data = ReferralEvent.Kind.ROUTED, "", info.routed_data
        else:
            info = d.spoc
            kind = ReferralEvent.Kind.UNROUTABLE
            reason, data = self._unroutable(district, need, priority)
        routed = created + 1 + int(rng.random() * 3)
        clock = CLOCKS[priority]
        if clock.real_time and clock.accept_within and clock.contact_within:
            accept_by = routed + int(clock.accept_within.total_seconds())
            contact_by = received + int(clock.contact_within.total_seconds())
        else:
            # Calendar approximations of the service-hours clocks (module docstring).
            accept_by = routed + (4 * 3_600 if priority == Priority.P4 else 86_400)
            contact_by = routed + (2 if priority == Priority.P4 else 5) * 86_400
        # The amber moment, as referrals.services.clocks.at_risk_moment sets it from the start.
        at_risk = received + int((contact_by - received) * AT_RISK_FRACTION)
        age = self.now - created
        shares = next(shares for younger, shares in self.statuses if age < younger)
        status = _pick(shares, rng.random())
        # The life the referral would have had: claimed, first contact, closed (epoch seconds).
        accepted = contacted = closed = None
        if status in (
            ReferralStatus.ACCEPTED,
            ReferralStatus.IN_PROGRESS,
            ReferralStatus.COMPLETED,
        ):
            window = accept_by - routed
            late = 0.0 if rng.random() < ACCEPT_ON_TIME else 1.0
            accepted = routed + 30 + int((window - 30) * (late + rng.random() * (0.9 + late)))
            if status != ReferralStatus.ACCEPTED:
                if contact_by - accepted > 300 and rng.random() < CONTACT_ON_TIME:
                    contacted = (
                        accepted + 60 + int((contact_by - accepted - 60) * rng.random() * 0.95)
                    )
                else:
                    contacted = (
                        max(contact_by, accepted)
                        + 300
                        + int(rng.random() * (contact_by - received) / 2)
                    )
            if status == ReferralStatus.COMPLETED:
                assert contacted is not None  # COMPLETED only from IN_PROGRESS
                closed = contacted + 1_800 + int(rng.random() * 6 * 86_400)
        elif status != ReferralStatus.QUEUED:  # cancelled or entered in error
            closed = routed + 300 + int(rng.random() * 7_200)
        outcome = ""
        if status == ReferralStatus.COMPLETED:
            outcome = _pick(OUTCOMES, rng.random())
            if outcome == ReferralOutcome.PATIENT_DIED:
                outcome = ReferralOutcome.NEEDS_MET
        closed_on_death = ""
        if death is not None:
            died = death.died
            if status in (ReferralStatus.CANCELLED, ReferralStatus.ENTERED_IN_ERROR):
                closed = max(routed + 60, min(closed or died, died - 60))
            elif closed is None or closed > died:
                # Still open when the patient died: recording the death closed it, from the status
                # it had then (referrals.services.deaths).
                if accepted is not None and accepted >= died:
                    accepted = contacted = None
                if contacted is not None and contacted >= died:
                    contacted = None
                closed_on_death = (
                    ReferralStatus.QUEUED
                    if accepted is None
                    else ReferralStatus.ACCEPTED
                    if contacted is None
                    else ReferralStatus.IN_PROGRESS
                )
                status, outcome, closed = (
                    ReferralStatus.COMPLETED,
                    ReferralOutcome.PATIENT_DIED,
                    death.recorded,
                )
        # Nothing in the future: each moment at least ten seconds before the next.
        limit = self.now - 30
        if closed is not None:
            closed = min(closed, limit)
        if contacted is not None:
            contacted = min(contacted, (closed or limit) - 10)
        if accepted is not None:
            accepted = max(routed + 1, min(accepted, (contacted or closed or limit) - 10))
        owner = NULL
        if accepted is not None:
            owners = info.owners or d.nurses
            owner = owners[int(rng.random() * len(owners))]
        updated = min(closed or contacted or accepted or routed, limit)
        out.statuses[status] += 1
        routed_text, created_text = t.text(routed), t.text(created)
        team = info.team_id
        cancelled = status == ReferralStatus.CANCELLED
        out.referrals.append(
            (
                rid,
                pid,
                cid,
                need,
                priority,
                status,
                team,
                owner,
                t.text(received),
                t.text(accept_by),
                t.text(contact_by),
                t.text(at_risk),
                "1",
                f'{{"at": "{_iso(routed_text)}"{info.decision_tail}',
                reason,
                routed_text,
                outcome,
                created_text,
                handler,
                t.text(updated),
                routed_text,
                t.text(accepted) if accepted is not None else NULL,
                t.text(contacted) if contacted is not None else NULL,
                t.text(closed) if closed is not None else NULL,
                "Duplicate of an earlier referral." if cancelled else "",
            )
        )
        events = out.events
        events.append(
            (
                rid,
                ReferralEvent.Kind.CREATED,
                created_text,
                handler,
                "",
                ReferralStatus.AWAITING_ROUTING,
                NULL,
                f'{{"need": "{need}", "call_id": {cid}, "priority": "{priority}"}}',
            )
        )
        events.append(
            (
                rid,
                kind,
                routed_text,
                NULL,
                ReferralStatus.AWAITING_ROUTING,
                ReferralStatus.QUEUED,
                team,
                data,
            )
        )
        if accepted is not None:
            events.append(
                (
                    rid,
                    ReferralEvent.Kind.CLAIMED,
                    t.text(accepted),
                    owner,
                    ReferralStatus.QUEUED,
                    ReferralStatus.ACCEPTED,
                    team,
                    "{}",
                )
            )
        if contacted is not None:
            contacted_text = t.text(contacted)
            events.append(
                (
                    rid,
                    ReferralEvent.Kind.CONTACTED,
                    contacted_text,
                    owner,
                    ReferralStatus.ACCEPTED,
                    ReferralStatus.IN_PROGRESS,
                    team,
                    f'{{"contacted_at": "{_iso(contacted_text)}"}}',
                )
            )
            if rng.random() < WITH_INTERVENTIONS:
                end = closed or limit
                if death is not None:
                    end = min(end, death.died)
                self._interventions(out, rid, owner, team, contacted, end)
        if closed_on_death:
            assert death is not None
            death.closing.append(
                (
                    rid,
                    ReferralEvent.Kind.COMPLETED,
                    t.text(closed or limit),
                    d.coordinator,
                    closed_on_death,
                    ReferralStatus.COMPLETED,
                    team,
                )
            )
        elif status == ReferralStatus.COMPLETED:
            events.append(
                (
                    rid,
                    ReferralEvent.Kind.COMPLETED,
                    t.text(updated),
                    owner,
                    ReferralStatus.IN_PROGRESS,
                    ReferralStatus.COMPLETED,
                    team,
                    f'{{"outcome": "{outcome}"}}',
                )
            )
        elif cancelled:
            events.append(
                (
                    rid,
                    ReferralEvent.Kind.CANCELLED,
                    t.text(updated),
                    d.coordinator,
                    ReferralStatus.QUEUED,
                    ReferralStatus.CANCELLED,
                    team,
                    '{"reason": "Duplicate of an earlier referral."}',
                )
            )
        elif status == ReferralStatus.ENTERED_IN_ERROR:
            events.append(
                (
                    rid,
                    ReferralEvent.Kind.ENTERED_IN_ERROR,
                    t.text(updated),
                    d.coordinator,
                    ReferralStatus.QUEUED,
                    ReferralStatus.ENTERED_IN_ERROR,
                    team,
                    '{"reason": "Entered for the wrong patient."}',
                )
            )

    def _interventions(
        self, out: _Round, rid: str, by: str, team: str, contacted: int, end: int
    ) -> None:
        """One or two interventions between first contact and ``end``, with their INTERVENTION
        events (as ``referrals.services.interventions.intervention_record`` writes them)."""
        rng, t = self.rng, self.times
        for _ in range(2 if rng.random() < 0.3 else 1):
            at = contacted + int(max(0, end - contacted) * rng.random())
            recorded = min(at + 300 + int(rng.random() * 3_600), max(end, at))
            kind = _pick(INTERVENTION_KINDS, rng.random())
            avoided = rng.random() < ADMISSION_AVOIDED
            bed_days = str(1 + int(rng.random() * 14)) if avoided else NULL
            at_text, recorded_text = t.text(at), t.text(recorded)
            row = (rid, kind, at_text, by, "", "t" if avoided else "f", bed_days, recorded_text)
            event = (
                rid,
                ReferralEvent.Kind.INTERVENTION,
                recorded_text,
                by,
                ReferralStatus.IN_PROGRESS,
                ReferralStatus.IN_PROGRESS,
                team,
            )
            data = (
                f'"kind": "{kind}", "at": "{_iso(at_text)}", "admission_avoided": '
                f'{"true" if avoided else "false"}, "bed_days_saved": {bed_days if avoided else "null"}}}'
            )
            out.pending_interventions.append((row, event, data))

    def _unroutable(self, district: str, need: str, priority: str) -> tuple[str, str]:
        key = (district, need, priority)
        cached = self.unroutable.get(key)
        if cached is None:
            reason = f"No service covers {district} for {Need(need).label.lower()} at {priority}"
            data = {"attempt": 1, "reason": reason, "team_name": self.d.spoc.team_name}
            cached = self.unroutable[key] = (_text(reason), _text(data))
        return cached


def _iso(copy_text: str) -> str:
    """``2026-01-15 23:50:11+00`` (COPY) -> ``2026-01-15T23:50:11+00:00`` (as routing writes it)."""
    return f"{copy_text[:10]}T{copy_text[11:19]}+00:00"


# --- NHS numbers --------------------------------------------------------------------------------


def _nhs_numbers() -> Iterator[str | None]:
    """Unused synthetic numbers after the demo's, ascending; then ``None`` for ever.

    Normally the numbers already used are exactly the first ones (earlier --scale runs), so
    this starts after them; any number someone registered by hand further on is skipped. The
    database is read now, on the calling thread's connection; the numbers are drawn later."""
    start = DEMO_NHS_RESERVED
    taken: set[str] = set()
    if start < SYNTHETIC_CAPACITY:
        floor = synthetic_nhs_number(start)
        start += Patient.objects.filter(nhs_number__gte=floor, nhs_number__lte="9999999999").count()
    if start < SYNTHETIC_CAPACITY:
        taken = {
            number
            for number in Patient.objects.filter(
                nhs_number__gte=synthetic_nhs_number(start),
                nhs_number__lte="9999999999",
            ).values_list("nhs_number", flat=True)
            if number
        }
    return _numbers_from(start, taken)


def _numbers_from(start: int, taken: set[str]) -> Iterator[str | None]:
    if start < SYNTHETIC_CAPACITY:
        for number in synthetic_nhs_numbers(SYNTHETIC_CAPACITY - start, start):
            if number not in taken:
                yield number
    while True:
        yield None


# --- Loading ------------------------------------------------------------------------------------


@dataclass
class ScaleResult:
    patients: int = 0
    without_nhs_number: int = 0
    assessments: int = 0
    calls: int = 0
    referrals: int = 0
    events: int = 0
    deaths: int = 0
    interventions: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    # False when the database user may not switch off the foreign-key triggers (not superuser).
    fast_references: bool = False

    @property
    def rows(self) -> int:
        return (
            self.patients
            + self.assessments
            + self.calls
            + self.referrals
            + self.events
            + self.deaths
            + self.interventions
        )

    def add(self, out: _Round) -> None:
        self.patients += len(out.patients)
        self.assessments += len(out.assessments)
        self.calls += len(out.calls)
        self.referrals += len(out.referrals)
        self.events += len(out.events)
        self.deaths += len(out.deaths)
        self.interventions += len(out.interventions)
        self.without_nhs_number += out.without_nhs_number
        self.statuses.update(out.statuses)

    def lines(self) -> list[str]:
        rate = self.rows / self.seconds if self.seconds else 0.0
        statuses = ", ".join(f"{name} {count:,}" for name, count in sorted(self.statuses.items()))
        return [
            f"Scale: {self.patients:,} patients ({self.without_nhs_number:,} without an NHS number, "
            f"status 03), {self.calls:,} calls with {self.assessments:,} triage assessments, "
            f"{self.referrals:,} referrals, {self.events:,} referral events, "
            f"{self.interventions:,} interventions, {self.deaths:,} deaths",
            f"Referrals by status: {statuses}",
            f"{self.rows:,} rows in {self.seconds:.1f} s ({rate:,.0f} rows/s)",
        ]


TABLE_COLUMNS = {
    "patients": (Patient, PATIENT),
    "assessments": (Assessment, ASSESSMENT),
    "calls": (Call, CALL),
    "referrals": (Referral, REFERRAL),
    "events": (ReferralEvent, EVENT),
    "deaths": (DeathRecord, DEATH),
    "interventions": (Intervention, INTERVENTION),
}


def seed_scale(
    *,
    count: int,
    users: Mapping[str, User],
    services: Mapping[str, Service],
    now: datetime,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[str], Any] = lambda line: None,
) -> ScaleResult:
    """Add ``count`` generated patients with calls, triage and referrals; see the module docstring.

    Each round of ``chunk`` patients commits on its own: an interrupted load keeps the rounds
    done (every run adds more). Raises ScaleConfigurationError when the demo directory or users
    are missing.
    """
    tables = {key: _Table(model, columns) for key, (model, columns) in TABLE_COLUMNS.items()}
    rng = random.Random(SEED)  # noqa: S311 (repeatable demo data, not secrets)
    generator = _Generator(directory=_directory(users, services), now=now, rng=rng)
    result = ScaleResult()
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        _load_postgres(
            generator,
            tables,
            count=count,
            chunk=chunk,
            result=result,
            progress=progress,
            started=started,
        )
    else:
        numbers = _nhs_numbers()
        for size in _sizes(count, chunk):
            shapes = [generator.shape() for _ in range(size)]
            with transaction.atomic():
                out = generator.round(shapes, _next_ids(tables), numbers)
                generator.finish(out, _next_ids(tables))
                for key, rows in out.tables():
                    table = tables[key]
                    table.model._default_manager.bulk_create(
                        table.instances(rows), batch_size=BULK_CREATE_BATCH
                    )
            result.add(out)
            _report(progress, result, count, started)
    result.seconds = time.perf_counter() - started
    return result


def _sizes(count: int, chunk: int) -> Iterator[int]:
    done = 0
    while done < count:
        size = min(chunk, count - done)
        yield size
        done += size


def _report(
    progress: Callable[[str], Any], result: ScaleResult, count: int, started: float
) -> None:
    seconds = time.perf_counter() - started
    progress(
        f"  {result.patients:,}/{count:,} patients, {result.rows:,} rows, {seconds:.1f} s "
        f"({result.rows / seconds:,.0f} rows/s)"
    )


def _next_ids(tables: Mapping[str, _Table]) -> dict[str, int]:
    """SQLite (one writer at a time): the next ids are after the largest."""
    return {
        key: (tables[key].model._default_manager.aggregate(m=models.Max("id"))["m"] or 0) + 1
        for key in ("patients", "assessments", "calls", "referrals", "deaths", "interventions")
    }


def _load_postgres(
    generator: _Generator,
    tables: Mapping[str, _Table],
    *,
    count: int,
    chunk: int,
    result: ScaleResult,
    progress: Callable[[str], Any],
    started: float,
) -> None:
    """Generate round k+1 in a thread while PostgreSQL copies round k, all in one transaction.

    The generating thread reserves each round's ids on its own connection (``setval`` on each
    table's sequence: other writers then take ids after the block) and hands the rows over;
    this thread COPYs them. A load that at least doubles the patients drops the seven tables'
    plain indexes first and builds them again at the end (far faster than updating them row by
    row; constraint indexes stay), inside the same transaction, so a failure restores them.
    With a superuser, the foreign-key triggers are off during COPY
    (``session_replication_role = replica``, as pg_restore does) and each round's references
    are checked with one anti-join per foreign key instead of one trigger call per row.
    """
    sequences = _sequences(tables)
    # Which numbers are free is read on this connection, which sees this transaction's rows.
    numbers = _nhs_numbers()
    rebuild = count >= Patient.objects.count()
    handoff: queue.Queue[_Round | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: _Round | BaseException | None) -> None:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for size in _sizes(count, chunk):
                if stop.is_set():
                    return
                shapes = [generator.shape() for _ in range(size)]
                calls = sum(len(shape.calls) for shape in shapes)
                first = _reserve_ids(
                    sequences,
                    {
                        "patients": size,
                        "assessments": calls,
                        "calls": calls,
                        "referrals": sum(shape.referrals for shape in shapes),
                    },
                )
                out = generator.round(shapes, first, numbers)
                generator.finish(
                    out,
                    _reserve_ids(
                        sequences,
                        {
                            "deaths": len(out.pending_deaths),
                            "interventions": len(out.pending_interventions),
                        },
                    ),
                )
                out.buffers = {key: tables[key].buffer(rows) for key, rows in out.tables() if rows}
                put(out)
            put(None)
        except BaseException as exc:  # handed to the loading thread, which raises it
            put(exc)
        finally:
            connection.close()  # this thread's own connection

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        result.fast_references = bool(cursor.fetchone()[0])
        # Check what this transaction already wrote now (a demo seed in the same transaction):
        # PostgreSQL refuses to build an index on a table with foreign-key checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        indexes = _drop_indexes(cursor, tables) if rebuild else []
        if result.fast_references:
            cursor.execute("SET LOCAL session_replication_role = replica")
        thread = threading.Thread(target=produce, name="seed-scale-generator", daemon=True)
        thread.start()
        try:
            while (item := handoff.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                events_before = _largest_id(cursor, tables["events"])
                for key, buffer in item.buffers.items():
                    _copy(cursor, tables[key].copy_sql(), buffer)
                item.buffers = {}
                if result.fast_references:
                    _check_references(cursor, tables, item, events_after=events_before)
                result.add(item)
                _report(progress, result, count, started)
        finally:
            stop.set()
            thread.join()
        if result.fast_references:
            cursor.execute("SET LOCAL session_replication_role = origin")
        if indexes:
            built = time.perf_counter()
            # Sorting in memory builds each index in one pass (the server default is 64 MB).
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in indexes:
                cursor.execute(definition)
            progress(f"  {len(indexes)} indexes built again in {time.perf_counter() - built:.1f} s")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys' own mode
    # Fresh planner statistics, and the visibility map that lets an index-only scan skip the
    # table: the benchmarks query these tables next, and until a VACUUM (autovacuum may be hours
    # away on a busy server) every index-only scan reads the table's page of each row it finds.
    # VACUUM cannot run inside a transaction (a caller's, as in the tests): ANALYZE alone there.
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for table in tables.values():
            cursor.execute(f'{command} "{table.name}"')


def _copy(cursor: Any, sql: str, buffer: bytes) -> None:
    """``COPY ... FROM STDIN`` a round's rows of one table (text format, UTF-8), with psycopg 3's
    ``cursor.copy``: the whole buffer in one write, which psycopg hands to libpq in blocks of its
    own size."""
    with cursor.copy(sql) as copy:
        copy.write(buffer)


def _sequences(tables: Mapping[str, _Table]) -> dict[str, str]:
    with connection.cursor() as cursor:
        names = {}
        for key in ("patients", "assessments", "calls", "referrals", "deaths", "interventions"):
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [tables[key].name])
            names[key] = cursor.fetchone()[0]
    return names


def _reserve_ids(sequences: Mapping[str, str], sizes: Mapping[str, int]) -> dict[str, int]:
    """The first id of a block of ``sizes[key]`` ids taken from each table's sequence, in one
    statement per sequence, so that no other insert takes an id inside the block."""
    first = {}
    with connection.cursor() as cursor:
        for key, size in sizes.items():
            if size == 0:
                first[key] = 0
                continue
            cursor.execute(
                "SELECT setval(%s, nextval(%s) + %s - 1)", [sequences[key], sequences[key], size]
            )
            first[key] = cursor.fetchone()[0] - size + 1
    return first


def _drop_indexes(cursor: Any, tables: Mapping[str, _Table]) -> list[str]:
    """Drop the plain indexes of the seven tables (not those behind a primary key or unique
    constraint); return the statements that build them again, as PostgreSQL records them."""
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass) "
        "ORDER BY i.tablename, i.indexname",
        [[table.name for table in tables.values()]],
    )
    rows = cursor.fetchall()
    for name, _ in rows:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [definition for _, definition in rows]


def _largest_id(cursor: Any, table: _Table) -> int:
    cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table.name}"')  # noqa: S608 (model's table)
    return int(cursor.fetchone()[0])


def _check_references(
    cursor: Any, tables: Mapping[str, _Table], out: _Round, *, events_after: int
) -> None:
    """Every foreign key of the round's rows points at an existing row: what the triggers would
    have checked, in one pass over each table's new rows.

    A round's rows refer only to rows of the same round (whose id blocks are checked to be
    complete, so a reference inside a block is a reference to a row) and to a few rows of small
    tables (users, teams, sites), whose ids are listed. Raises ScaleConfigurationError naming
    the first bad reference.
    """
    blocks = {
        key: (out.first[key], out.first[key] + len(rows) - 1)
        for key, rows in out.tables()
        if key != "events" and rows
    }
    for key, (low, high) in blocks.items():
        cursor.execute(
            f'SELECT COUNT(*) FROM "{tables[key].name}" WHERE "id" BETWEEN %s AND %s',  # noqa: S608
            [low, high],
        )
        if cursor.fetchone()[0] != high - low + 1:
            raise ScaleConfigurationError(
                f"{tables[key].name}: ids {low}-{high} are not all there."
            )
    by_model: dict[Any, str] = {table.model: key for key, table in tables.items()}
    own = dict(blocks, events=(events_after + 1, _largest_id(cursor, tables["events"])))
    for key, rows in out.tables():
        if not rows:
            continue
        table = tables[key]
        conditions: list[str] = []
        params: list[Any] = []
        for model_field in table.fields:
            if not isinstance(model_field, models.ForeignKey):
                continue
            column = f'c."{model_field.column}"'
            parent_key = by_model.get(model_field.related_model)
            if parent_key in blocks:
                conditions.append(f"({column} IS NOT NULL AND {column} NOT BETWEEN %s AND %s)")
                params += list(blocks[parent_key])
            else:
                parent = model_field.target_field.model
                ids = list(
                    parent._default_manager.values_list(
                        model_field.target_field.attname, flat=True
                    )[:10_001]
                )
                if len(ids) > 10_000:
                    raise ScaleConfigurationError(
                        f"{table.name}.{model_field.column}: {parent._meta.db_table} "
                        "is too large to check this way."
                    )
                conditions.append(f"({column} IS NOT NULL AND NOT ({column} = ANY(%s)))")
                params.append(ids)
        if not conditions:
            continue
        cursor.execute(
            f'SELECT c."id" FROM "{table.name}" c WHERE c."id" BETWEEN %s AND %s AND '  # noqa: S608
            f"({' OR '.join(conditions)}) LIMIT 1",
            [*own[key], *params],
        )
        bad = cursor.fetchone()
        if bad is not None:
            raise ScaleConfigurationError(
                f"{table.name} row {bad[0]} refers to a row that does not exist."
            )
