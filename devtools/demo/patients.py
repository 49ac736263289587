"""Demo patients (docs/design.md §12): a few hundred fictional people living in the demo area, with
carers, care plans, deaths, and three months of calls, triage and referrals.

Everything goes through the services the screens use (``patient_register``,
``related_person_save``, ``care_plan_update``, ``call_submit``, ``referral_route``,
``referral_claim``, ``referral_contact``, ``referral_complete``, ``referral_decline``,
``referral_hold``, ``referral_cancel``, ``intervention_record``, ``death_record``,
``call_senior_review``, ``call_back_complete``, ``call_follow_up_record``), so the demo data obeys
every rule a user obeys.
Each step runs with the clock set to the moment it happened (:func:`_clock_at`): timestamps,
the routing clocks, date checks and access-log rows then read as the history they are.

Deterministic: one ``random.Random(SEED)`` draws the whole plan before anything is saved, so
every run plans the same people. Idempotent: a patient whose NHS number (or, without one, name
and date of birth) is already registered is skipped with everything about them, so a second run
creates nothing.

Deaths are recorded through ``death_record`` (open referrals closed, bereavement support offered
to a carer who consented); declines, holds, interventions and cancellations through their
services too. The one thing written directly, and said so (:func:`_complete_directly`), is the
completion of a referral in a partner team that has no demo staff. The clock milestones the
history passed are recorded as already seen (:func:`_seed_escalations`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from unittest import mock

from django.utils import timezone

from calls.models import Call, CallBack, CallFollowUp
from calls.services.follow_ups import call_follow_up_record
from calls.services.intake import CallInput, NeedRequest, call_submit
from calls.services.reviews import call_back_complete, call_senior_review
from calls.triage import TriageInput, suggest_priority
from devtools.demo.directory import GP_PRACTICES, NORTHBANK, SITES, SOUTHMERE
from devtools.nhs_numbers import synthetic_nhs_number
from patients.carers import CarerHealth, CarerOutcome, OutcomeAnswer
from patients.codes import (
    CprDecision,
    DiagnosisGroup,
    EthnicCategory,
    IposItem,
    NhsNumberStatus,
    PatientLocation,
    PhaseOfIllness,
    PlaceOfDeath,
    PreferenceNotStated,
    Prognosis,
    Relationship,
    Sex,
    UsualResidence,
)
from patients.medicines import MedicineData, jic_medicine_add
from patients.models import DeathRecord, Patient, RelatedPerson
from patients.names import search_form
from patients.services import (
    PatientData,
    care_plan_update,
    carer_assessment_record,
    patient_register,
    related_person_save,
)
from referrals.codes import (
    CallReason,
    CarerCoping,
    DeclineReason,
    Disposition,
    EscalationMilestone,
    InterventionType,
    RedFlag,
    ReferralOutcome,
)
from referrals.models import Escalation, Referral, ReferralEvent
from referrals.services.claims import (
    referral_cancel,
    referral_claim,
    referral_complete,
    referral_contact,
)
from referrals.services.interventions import intervention_record
from referrals.services.lifecycle import referral_decline, referral_hold
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import CallerType, Need, Priority, ServiceType
from services.models import Service, Site, TeamMembership
from spoc.accounts.models import User
from workspace.services import death_correct, death_record

SEED = 42
DEMO_PATIENTS = 300
# The demo patients take the first synthetic NHS numbers (indices 0..DEMO_NHS_RESERVED-1 of
# devtools.nhs_numbers.synthetic_nhs_number); `seed_demo --scale` starts after them.
DEMO_NHS_RESERVED = 1_000
# Calls are spread over this many days before now.
HISTORY_DAYS = 90
# A handler's advice waits for senior review; the demo leaves the last day's reviews pending.
REVIEW_PENDING_FOR = timedelta(days=1)
# The call reasons about the patient's condition: the handler asks the red flags.
RED_FLAGS_ASKED_FOR = frozenset(
    {
        CallReason.SYMPTOM_CONTROL,
        CallReason.MEDICATION_QUERY,
        CallReason.REQUEST_VISIT,
        CallReason.REQUEST_ADMISSION,
        CallReason.CARER_CRISIS,
        CallReason.CLINICAL_UPDATE,
    }
)

# --- Fictional people ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NameGroup:
    """Names that go together, with how often the group appears in the demo area."""

    weight: int
    family: tuple[str, ...]
    female: tuple[str, ...]
    male: tuple[str, ...]
    # Family names carried by one sex only (Begum, Kaur; Singh; Polish -ska / -ski).
    female_family: tuple[str, ...] = ()
    male_family: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


NAME_GROUPS: tuple[NameGroup, ...] = (
    NameGroup(
        52,
        (
            "Smith",
            "Jones",
            "Williams",
            "Taylor",
            "Brown",
            "Davies",
            "Evans",
            "Wilson",
            "Thomas",
            "Roberts",
            "Johnson",
            "Wright",
            "Walker",
            "Robinson",
            "Thompson",
            "Hughes",
            "Edwards",
            "Green",
            "Hall",
            "Wood",
            "Harris",
            "Clarke",
            "Jackson",
            "Lewis",
            "Ashworth",
            "Whitfield",
            "Barker",
            "Rimmer",
            "Fairclough",
            "Heaton",
            "Cropper",
            "Pemberton",
            "Lloyd-Jones",
        ),
        (
            "Margaret",
            "Joan",
            "Patricia",
            "Sheila",
            "Maureen",
            "Jean",
            "Brenda",
            "Dorothy",
            "Irene",
            "Doreen",
            "Pauline",
            "Barbara",
            "Elizabeth",
            "Susan",
            "Christine",
            "Valerie",
            "Zoë-Ann",
            "Zoë",
            "Lesley-Ann",
            "Kathleen",
            "Renée",
        ),
        (
            "John",
            "William",
            "James",
            "Robert",
            "Michael",
            "David",
            "Peter",
            "Brian",
            "Kenneth",
            "Terence",
            "Ronald",
            "Derek",
            "Alan",
            "Keith",
            "Graham",
            "Colin",
            "Stephen",
            "Anthony",
        ),
    ),
    NameGroup(
        14,
        (
            "O'Brien",
            "Ó Briain",
            "Murphy",
            "Kelly",
            "McCarthy",
            "Doyle",
            "Byrne",
            "O'Neill",
            "Ó Súilleabháin",
            "Gallagher",
            "Quinn",
            "Donnelly",
            "McGuinness",
            "O’Hara",
        ),
        ("Aoife", "Niamh", "Siobhán", "Bríd", "Eileen", "Mary", "Kathleen", "Máire", "Róisín"),
        ("Patrick", "Seán", "Declan", "Pádraig", "Francis", "Desmond", "Liam", "Éamonn"),
    ),
    NameGroup(
        7,
        ("Pritchard", "Llewellyn", "Morgan", "Price", "Powell", "Rees", "Rhys", "Bowen"),
        ("Siân", "Bronwen", "Rhiannon", "Gwenllian", "Eirlys", "Ceri"),
        ("Dafydd", "Gareth", "Huw", "Iwan", "Gwilym", "Emrys"),
        languages=("Welsh",),
    ),
    NameGroup(
        5,
        ("Okafor", "Adeyemi", "Okonkwo", "Mensah", "Nwosu", "Eze", "Babatunde", "Oyelaran"),
        ("Ngozi", "Chiamaka", "Folasade", "Adaeze", "Abena"),
        ("Emeka", "Chukwuemeka", "Tunde", "Kwame", "Olusegun"),
        languages=("Yoruba", "Igbo"),
    ),
    NameGroup(
        3,
        ("Rahman", "Chowdhury", "Uddin", "Ahmed", "Miah"),
        ("Rukhsana", "Shirin", "Nasreen", "Fatema"),
        ("Abdul", "Mohammed", "Jamal", "Shafiqul"),
        female_family=("Begum", "Bibi"),
        languages=("Sylheti", "Bengali"),
    ),
    NameGroup(
        3,
        ("Khan", "Hussain", "Ali", "Iqbal", "Akhtar"),
        ("Shabana", "Parveen", "Amina", "Fatima"),
        ("Tariq", "Imran", "Mohammed", "Zahid"),
        languages=("Urdu", "Punjabi"),
    ),
    NameGroup(
        3,
        ("Patel", "Shah", "Mistry", "Parmar"),
        ("Priya", "Hansa", "Kokila", "Jayshree"),
        ("Rajesh", "Sanjay", "Dilip", "Bharat"),
        languages=("Gujarati",),
    ),
    NameGroup(
        2,
        ("Gill", "Sandhu", "Dhillon"),
        ("Harpreet", "Jaspreet", "Gurmeet"),
        ("Gurdeep", "Harjit", "Kuldip"),
        female_family=("Kaur",),
        male_family=("Singh",),
        languages=("Punjabi",),
    ),
    NameGroup(
        3,
        ("Nguyễn", "Trần", "Lê", "Phạm"),
        ("Mai", "Linh", "Thảo", "Hương"),
        ("Minh", "Tuấn", "Dũng", "Hùng"),
        languages=("Vietnamese",),
    ),
    NameGroup(
        3,
        ("Chen", "Wong", "Lam", "Cheung", "Li"),
        ("Mei Ling", "Wai Man", "Siu Fong"),
        ("Wing Kit", "Kwok Wai", "Chi Keung"),
        languages=("Cantonese",),
    ),
    NameGroup(
        3,
        ("Nowak", "Wójcik"),
        ("Agnieszka", "Krystyna", "Danuta", "Halina"),
        ("Jerzy", "Tadeusz", "Zbigniew", "Andrzej"),
        female_family=("Kowalska", "Wiśniewska", "Zielińska"),
        male_family=("Kowalski", "Wiśniewski", "Zieliński"),
        languages=("Polish",),
    ),
    NameGroup(
        2,
        ("Campbell", "Francis", "Grant", "Reid"),
        ("Gloria", "Hyacinth", "Merline"),
        ("Winston", "Delroy", "Errol"),
    ),
    NameGroup(
        1,
        ("Müller", "Rossi", "Ferreira", "Østergaard"),
        ("Ingrid", "Giulia", "Maria", "Søs"),
        ("Klaus", "Giuseppe", "João", "Bjørn"),
        languages=("German", "Italian", "Portuguese"),
    ),
)

STREETS = (
    "Heron Way",
    "Marsh Lane",
    "Orchard Street",
    "Dockside Road",
    "Mersey View",
    "Linacre Road",
    "Sandpiper Close",
    "Quarry Street",
    "Chapel Walk",
    "Brook Terrace",
    "Fernhill Drive",
    "Pilot's Row",
    "St Brigid's Road",
    "Cotton Lane",
    "Kestrel Avenue",
    "Rope Walk",
    "Sefton Grove",
    "Lighthouse Lane",
    "Foundry Court",
    "Willow Bank",
)
CARE_HOMES = (
    "Beechwood Care Home",
    "The Moorings Nursing Home",
    "Oak Lodge Residential Home",
    "Riverside Court Nursing Home",
)
TOWNS = {"NORTHBANK": "Northbank", "SOUTHMERE": "Southmere"}
DIAGNOSES = (
    "Metastatic lung cancer",
    "Advanced heart failure",
    "End-stage COPD",
    "Motor neurone disease",
    "Metastatic breast cancer",
    "Pancreatic cancer",
    "End-stage kidney disease (conservative care)",
    "Advanced dementia",
    "Metastatic prostate cancer",
    "Bowel cancer with liver metastases",
    "Idiopathic pulmonary fibrosis",
    "Glioblastoma",
    "Ovarian cancer",
    "Oesophageal cancer",
    "Frailty",
    "Advanced Parkinson's disease",
    "Mesothelioma",
)
# Inward codes: digit + two letters; Royal Mail never uses C, I, K, M, O or V in the last two.
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# Ofcom's numbers for drama (0151 496 0000-0999 and friends): valid, never anyone's phone.
DRAMA_PREFIXES = ("0151 496 0", "0161 496 0", "020 7946 0", "0113 496 0")
# The directory's duty phones are in 0151 496 0xxx too; people's numbers avoid them.
DIRECTORY_PHONE_ENDINGS = frozenset(
    {"000", "101", "110", "202", "303", "404", "505", "606", "707", "808", "909"}
)
KEY_WORKERS = (
    ("Siân Pritchard", "0151 496 0101"),
    ("Declan O'Brien", "0151 496 0101"),
    ("Ruth Ellison", "0151 496 0202"),
    ("Tomasz Nowak", "0151 496 0303"),
)
MEDS_PLACES = (
    # Each reads after "kept at" on the banner.
    "home, in the kitchen cupboard",
    "home, in the just-in-case box",
    "the care home's treatment room",
    "home, beside the district nurses' notes",
)
# The usual four just-in-case medicines of an English end-of-life prescription, as the demo's
# prescriptions write them (medicine, dose and route, quantity).
JUST_IN_CASE_MEDICINES = (
    (
        "Morphine sulfate 10 mg/1 ml injection",
        "2.5 mg to 5 mg subcutaneously, hourly if needed, for pain or breathlessness",
        "10 ampoules",
    ),
    (
        "Midazolam 10 mg/2 ml injection",
        "2.5 mg to 5 mg subcutaneously, hourly if needed, for agitation",
        "10 ampoules",
    ),
    (
        "Levomepromazine 25 mg/1 ml injection",
        "6.25 mg subcutaneously, 4-hourly if needed, for nausea or vomiting",
        "5 ampoules",
    ),
    (
        "Hyoscine butylbromide 20 mg/1 ml injection",
        "20 mg subcutaneously, hourly if needed, for respiratory secretions",
        "10 ampoules",
    ),
)
RESPECT_PLACES = ("At home, in the green folder", "Care home office", "With the GP record")

# --- The plan ----------------------------------------------------------------------------------


@dataclass
class CarerPlan:
    given_name: str
    family_name: str
    relationship: str
    phone: str
    postcode: str
    has_lpa: bool
    consent_to_contact: bool


@dataclass
class CarePlanPlan:
    before_now: timedelta
    author: str
    values: dict[str, Any]


@dataclass
class CallPlan:
    before_now: timedelta
    minutes: int
    handled_by: str
    caller_type: str
    caller_name: str
    caller_phone: str
    caller_organisation: str
    caller_relationship: str
    reason: str
    notes: str
    phase: str
    ipos: dict[str, int]
    red_flags: tuple[str, ...]
    carer_coping: str
    patient_location: str
    site_code: str | None
    override: str | None
    disposition: str
    needs: tuple[str, ...]
    callback_hours: int | None
    # Per need: how far that referral has got (0-1, see _settle_referral), a second draw for
    # its owner and timing, and its outcome if it is completed.
    fates: tuple[float, ...]
    draws: tuple[float, ...]
    outcomes: tuple[str, ...]


@dataclass
class PatientPlan:
    index: int
    given_name: str
    family_name: str
    sex: str
    date_of_birth: date
    nhs_number: str | None
    nhs_number_status: str
    postcode: str
    address: str
    phone: str
    gp_practice: str
    usual_residence: str
    location: str
    site_code: str | None
    language: str
    interpreter_needed: bool
    registered_before_now: timedelta
    registered_by: str
    died_before_now: timedelta | None
    carer: CarerPlan | None
    ethnic_category: str = EthnicCategory.NOT_KNOWN
    diagnosis_group: str = DiagnosisGroup.NOT_KNOWN
    care_plans: list[CarePlanPlan] = field(default_factory=list)
    calls: list[CallPlan] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.nhs_number or f"nonum{self.index}"


@dataclass
class SeedSummary:
    patients_created: int = 0
    patients_skipped: int = 0
    carers: int = 0
    care_plans: int = 0
    calls: int = 0
    referrals: int = 0
    deaths: int = 0
    deaths_in_preferred_place: int = 0
    bereavement_referrals: int = 0
    carer_assessments: int = 0
    declines: int = 0
    holds: int = 0
    interventions: int = 0
    escalations: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(self.statuses.items()))
        return [
            f"Patients: {self.patients_created} created, {self.patients_skipped} already there",
            f"Carers: {self.carers}; care plan versions: {self.care_plans}; deaths: {self.deaths}",
            f"Calls: {self.calls}; referrals: {self.referrals} ({statuses or 'none'})",
            f"Deaths in the preferred place: {self.deaths_in_preferred_place}; bereavement "
            f"referrals: {self.bereavement_referrals}; declined and routed again: {self.declines}; "
            f"held: {self.holds}; interventions: {self.interventions}; past escalations: "
            f"{self.escalations}; carers' needs assessments: {self.carer_assessments}",
        ]


def _weighted(rng: random.Random, options: Mapping[Any, float]) -> Any:
    return rng.choices(list(options), weights=list(options.values()))[0]


def _phone(rng: random.Random, prefixes: tuple[str, ...] = DRAMA_PREFIXES[:1]) -> str:
    while True:
        ending = f"{rng.randrange(100, 1000):03d}"
        if ending not in DIRECTORY_PHONE_ENDINGS:
            return f"{rng.choice(prefixes)}{ending}"


def _postcode(rng: random.Random, district: str) -> str:
    return f"{district} {rng.randrange(1, 10)}{rng.choice(UNIT_LETTERS)}{rng.choice(UNIT_LETTERS)}"


def _name(rng: random.Random, group: NameGroup, sex: str) -> tuple[str, str]:
    given = rng.choice(group.female if sex == Sex.FEMALE else group.male)
    own = group.female_family if sex == Sex.FEMALE else group.male_family
    families = group.family + own * 3 if own else group.family
    return given, rng.choice(families)


def _age(rng: random.Random) -> int:
    # Mostly 55-98 (palliative care is mostly older people), a few younger.
    if rng.random() < 0.05:
        return rng.randrange(28, 55)
    return min(98, max(55, round(rng.triangular(55, 99, 82))))


def plan_patients(
    count: int = DEMO_PATIENTS, *, seed: int = SEED, today: date
) -> list[PatientPlan]:
    """The whole demo cohort, drawn from one seeded generator: the same people every run.

    Times are offsets before now; ``today`` only turns ages into dates of birth, so a run on
    another day plans the same people with later dates of birth (``_exists`` still finds them
    for a year)."""
    rng = random.Random(seed)  # noqa: S311 (repeatable demo data, not secrets)
    return [_plan_patient(rng, index, today=today) for index in range(count)]


def _plan_patient(rng: random.Random, index: int, *, today: date) -> PatientPlan:
    group = rng.choices(NAME_GROUPS, weights=[g.weight for g in NAME_GROUPS])[0]
    sex = Sex.FEMALE if rng.random() < 0.52 else Sex.MALE
    given, family = _name(rng, group, sex)
    age = _age(rng)
    dob = today - timedelta(days=age * 365 + rng.randrange(0, 365))
    borough = "NORTHBANK" if rng.random() < 0.5 else "SOUTHMERE"
    district = rng.choice(NORTHBANK if borough == "NORTHBANK" else SOUTHMERE)
    postcode = _postcode(rng, district)
    residence = _weighted(
        rng,
        {
            UsualResidence.OWN_HOME: 80,
            UsualResidence.OTHER_PRIVATE: 8,
            UsualResidence.CARE_HOME: 12,
        },
    )
    if residence == UsualResidence.CARE_HOME:
        address = f"{rng.choice(CARE_HOMES)}\n{rng.choice(STREETS)}\n{TOWNS[borough]}"
    else:
        address = f"{rng.randrange(1, 180)} {rng.choice(STREETS)}\n{TOWNS[borough]}"
    location = _weighted(
        rng, {"USUAL": 86, PatientLocation.HOSPITAL: 10, PatientLocation.HOSPICE: 4}
    )
    site_code = None
    if location == "USUAL":
        location = (
            PatientLocation.CARE_HOME
            if residence == UsualResidence.CARE_HOME
            else PatientLocation.HOME
        )
    elif location == PatientLocation.HOSPITAL:
        site_code = SITES[0][0] if borough == "NORTHBANK" else SITES[1][0]
    language = ""
    interpreter = False
    if group.languages and rng.random() < 0.45:
        language = rng.choice(group.languages)
        interpreter = age >= 70 and rng.random() < 0.6
    # 98% have an NHS number (most traced); a few still need a trace.
    has_number = rng.random() < 0.98
    status = (
        _weighted(rng, {NhsNumberStatus.VERIFIED: 92, NhsNumberStatus.NOT_TRACED: 8})
        if has_number
        else NhsNumberStatus.TRACE_REQUIRED
    )
    number = synthetic_nhs_number(index) if has_number else None

    first_call = timedelta(minutes=HISTORY_DAYS * 24 * 60 * rng.random() ** 1.4 + 20)
    registered = first_call + timedelta(
        days=rng.choice((0, 0, 0, 3, 10, 30, 60)), minutes=rng.randrange(1, 5)
    )
    died = None
    if rng.random() < 0.14 and first_call > timedelta(days=4):
        died = timedelta(minutes=rng.randrange(60, int(first_call.total_seconds() // 60) - 60 * 24))

    carer = None
    if rng.random() < 0.72:
        relationship = _weighted(
            rng,
            {
                Relationship.SPOUSE_PARTNER: 48,
                Relationship.CHILD: 34,
                Relationship.SIBLING: 6,
                Relationship.FRIEND: 5,
                Relationship.NEIGHBOUR: 3,
                Relationship.OTHER_RELATIVE: 4,
            },
        )
        carer_sex = (
            Sex.MALE
            if sex == Sex.FEMALE and relationship == Relationship.SPOUSE_PARTNER
            else (Sex.FEMALE if rng.random() < 0.6 else Sex.MALE)
        )
        carer_given, carer_family = _name(rng, group, carer_sex)
        if (
            relationship in (Relationship.SPOUSE_PARTNER, Relationship.CHILD)
            and rng.random() < 0.7
            and not (group.female_family or group.male_family)
        ):
            carer_family = family
        lives_with = relationship == Relationship.SPOUSE_PARTNER
        carer = CarerPlan(
            given_name=carer_given,
            family_name=carer_family,
            relationship=relationship,
            phone=_phone(rng, DRAMA_PREFIXES if not lives_with else DRAMA_PREFIXES[:1]),
            postcode=postcode if lives_with else _postcode(rng, rng.choice(NORTHBANK + SOUTHMERE)),
            has_lpa=rng.random() < 0.25,
            consent_to_contact=rng.random() < 0.88,
        )

    plan = PatientPlan(
        index=index,
        given_name=given,
        family_name=family,
        sex=sex,
        date_of_birth=dob,
        nhs_number=number,
        nhs_number_status=status,
        postcode=postcode,
        address=address,
        phone=_phone(rng),
        gp_practice=rng.choice(GP_PRACTICES[borough]),
        usual_residence=residence,
        location=location,
        site_code=site_code,
        language=language,
        interpreter_needed=interpreter,
        registered_before_now=registered,
        registered_by=rng.choice(("handler", "handler", "coordinator")),
        died_before_now=died,
        carer=carer,
    )
    if rng.random() < 0.9:
        plan.care_plans = _plan_care_plans(rng, plan)
    plan.calls = _plan_calls(rng, plan, first_call=first_call)
    _plan_equity(plan, group)
    return plan


# The ethnic category most people of each name group (by its first family name) would state;
# fictional people, for the equity tables to show several groups.
ETHNIC_BY_NAMES = {
    "Smith": EthnicCategory.WHITE_BRITISH,
    "O'Brien": EthnicCategory.WHITE_IRISH,
    "Pritchard": EthnicCategory.WHITE_BRITISH,
    "Okafor": EthnicCategory.BLACK_AFRICAN,
    "Rahman": EthnicCategory.ASIAN_BANGLADESHI,
    "Khan": EthnicCategory.ASIAN_PAKISTANI,
    "Patel": EthnicCategory.ASIAN_INDIAN,
    "Gill": EthnicCategory.ASIAN_INDIAN,
    "Nguyễn": EthnicCategory.ASIAN_OTHER,
    "Chen": EthnicCategory.OTHER_CHINESE,
    "Nowak": EthnicCategory.WHITE_OTHER,
    "Campbell": EthnicCategory.BLACK_CARIBBEAN,
    "Müller": EthnicCategory.WHITE_OTHER,
}
# Palliative care's case mix: mostly cancer, then frailty and dementia, heart and lung disease.
DIAGNOSIS_WEIGHTS = {
    DiagnosisGroup.CANCER: 52,
    DiagnosisGroup.DEMENTIA_FRAILTY: 13,
    DiagnosisGroup.HEART_DISEASE: 11,
    DiagnosisGroup.RESPIRATORY: 10,
    DiagnosisGroup.NEUROLOGICAL: 5,
    DiagnosisGroup.RENAL: 3,
    DiagnosisGroup.LIVER: 2,
    DiagnosisGroup.OTHER: 2,
    DiagnosisGroup.NOT_KNOWN: 2,
}


def _plan_equity(plan: PatientPlan, group: NameGroup) -> None:
    """The patient's ethnic category (most state their group's, some choose not to say, some
    were not asked) and diagnosis group, from a generator of their own so that the rest of the
    demo stays as it was."""
    rng = random.Random(f"{SEED}-equity-{plan.index}")  # noqa: S311 (repeatable demo data)
    stated = ETHNIC_BY_NAMES.get(group.family[0], EthnicCategory.OTHER_ANY)
    plan.ethnic_category = _weighted(
        rng, {stated: 82, EthnicCategory.NOT_STATED: 7, EthnicCategory.NOT_KNOWN: 11}
    )
    plan.diagnosis_group = _weighted(rng, DIAGNOSIS_WEIGHTS)


def _plan_care_plans(rng: random.Random, plan: PatientPlan) -> list[CarePlanPlan]:
    written = plan.registered_before_now - timedelta(hours=rng.randrange(1, 72))
    written = max(written, timedelta(hours=2))
    ppd: dict[str, Any] = {"ppd_first": "", "ppd_second": "", "ppd_not_stated": ""}
    if rng.random() < 0.75:
        first = _weighted(
            rng,
            {
                PlaceOfDeath.OWN_HOME: 45,
                PlaceOfDeath.HOSPICE: 25,
                PlaceOfDeath.CARE_HOME: 12
                if plan.usual_residence == UsualResidence.CARE_HOME
                else 2,
                PlaceOfDeath.HOSPITAL: 5,
                PlaceOfDeath.OTHER_PRIVATE_RESIDENCE: 3,
            },
        )
        ppd["ppd_first"] = first
        if rng.random() < 0.5:
            ppd["ppd_second"] = rng.choice(
                [
                    p
                    for p in (PlaceOfDeath.HOSPICE, PlaceOfDeath.OWN_HOME, PlaceOfDeath.HOSPITAL)
                    if p != first
                ]
            )
    elif rng.random() < 0.6:
        ppd["ppd_not_stated"] = rng.choice(PreferenceNotStated.values)
    # The preferred place of care, from a generator of its own so that the rest of the demo
    # stays as it was: mostly the 1st preferred place of death, sometimes home, sometimes none.
    care_rng = random.Random(f"{SEED}-care-{plan.key}")  # noqa: S311 (repeatable demo data)
    ppd["ppc"] = _weighted(
        care_rng,
        {ppd["ppd_first"]: 60, PlaceOfDeath.OWN_HOME: 20, PlaceOfDeath.HOSPICE: 5, "": 15},
    )
    key_worker, key_phone = rng.choice(KEY_WORKERS)
    meds = rng.random() < 0.6
    values: dict[str, Any] = {
        **ppd,
        "consent_to_share": rng.random() < 0.92,
        "key_worker_name": key_worker,
        "key_worker_phone": key_phone,
        "primary_diagnosis": rng.choice(DIAGNOSES),
        "prognosis": _weighted(
            rng, {Prognosis.LAST_MONTHS: 50, Prognosis.LAST_WEEKS: 35, Prognosis.LAST_DAYS: 15}
        ),
        "carer_aware_of_prognosis": (rng.random() < 0.8) if plan.carer else None,
        "anticipatory_meds_issued": meds,
        "anticipatory_meds_location": rng.choice(MEDS_PLACES) if meds else "",
        # Reviews every 4 to 12 weeks (at most 3 months ahead): the older ones are now overdue.
        "review_date_weeks": rng.randrange(4, 13),
    }
    cpr = _weighted(
        rng, {CprDecision.NOT_FOR_CPR: 55, CprDecision.FOR_CPR: 10, CprDecision.UNKNOWN: 35}
    )
    cpr_values = _cpr_values(rng, cpr)
    senior = rng.choice(("lead", "coordinator"))
    if rng.random() < 0.35 and written > timedelta(days=14):
        # A first plan without the CPR decision, then a senior clinician's review adding it.
        later = written - timedelta(days=rng.randrange(3, max(4, int(written.days) - 2)))
        first_values = {**values, "review_date_weeks": rng.randrange(4, 9)}
        return [
            CarePlanPlan(written, "nurse", first_values),
            CarePlanPlan(later, senior, {**values, **cpr_values}),
        ]
    if cpr == CprDecision.UNKNOWN:
        return [CarePlanPlan(written, rng.choice(("nurse", senior)), values)]
    return [CarePlanPlan(written, senior, {**values, **cpr_values})]


def _cpr_values(rng: random.Random, cpr: str) -> dict[str, Any]:
    if cpr == CprDecision.UNKNOWN:
        return {}
    respect = rng.random() < 0.6
    return {
        "cpr_decision": cpr,
        "cpr_decision_days_ago": rng.randrange(0, 20),
        # A short review interval makes some CPR decisions overdue for review by now.
        "cpr_review_days": rng.choice((14, 28, 90, 180)),
        "respect_exists": respect,
        "respect_cpr": cpr if respect else "",
        "respect_care_focus": rng.randrange(5, 11) if respect else None,
        "respect_kept_at": rng.choice(RESPECT_PLACES) if respect else "",
    }


# Call reasons with how often they come up, and what each tends to ask for.
REASONS = {
    CallReason.SYMPTOM_CONTROL: 30,
    CallReason.MEDICATION_QUERY: 12,
    CallReason.REQUEST_VISIT: 10,
    CallReason.REQUEST_ADMISSION: 4,
    CallReason.CARE_PACKAGE_EQUIPMENT: 5,
    CallReason.CARER_CRISIS: 6,
    CallReason.NEW_REFERRAL: 8,
    CallReason.CLINICAL_UPDATE: 12,
    CallReason.INFORMATION: 5,
    CallReason.ADMIN: 5,
    CallReason.OTHER: 3,
}
NEEDS_FOR_REASON: dict[str, tuple[tuple[str, ...], ...]] = {
    CallReason.SYMPTOM_CONTROL: (
        (Need.URGENT_HOME_VISIT,),
        (Need.SPECIALIST_FOLLOW_UP,),
        (Need.URGENT_HOME_VISIT, Need.OVERNIGHT_SUPPORT),
        (Need.JUST_IN_CASE_MEDICINES,),
        (Need.GP_OUT_OF_HOURS,),
    ),
    CallReason.REQUEST_VISIT: (
        (Need.SPECIALIST_FOLLOW_UP,),
        (Need.URGENT_HOME_VISIT,),
        (Need.DISTRICT_NURSING,),
    ),
    CallReason.REQUEST_ADMISSION: ((Need.HOSPICE_ADMISSION,),),
    CallReason.CARE_PACKAGE_EQUIPMENT: (
        (Need.END_OF_LIFE_CARE_AT_HOME,),
        (Need.EQUIPMENT,),
        (Need.SOCIAL_CARE_PACKAGE,),
        (Need.CHC_FAST_TRACK, Need.EQUIPMENT),
    ),
    CallReason.CARER_CRISIS: (
        (Need.OVERNIGHT_SUPPORT, Need.CARER_SUPPORT),
        (Need.CARER_SUPPORT,),
        (Need.END_OF_LIFE_CARE_AT_HOME, Need.CARER_SUPPORT),
    ),
    CallReason.NEW_REFERRAL: (
        (Need.SPECIALIST_FOLLOW_UP,),
        (Need.SPECIALIST_FOLLOW_UP, Need.DAY_THERAPY),
    ),
    CallReason.DEATH_NOTIFICATION: ((Need.BEREAVEMENT_SUPPORT,),),
}
CALLERS = {
    CallerType.CARER_FAMILY: 30,
    CallerType.DISTRICT_NURSE: 22,
    CallerType.GP: 12,
    CallerType.PATIENT: 8,
    CallerType.CARE_HOME_STAFF: 8,
    CallerType.OOH_111: 6,
    CallerType.AMBULANCE: 3,
    CallerType.COMMUNITY_SPC_NURSE: 5,
    CallerType.PHARMACIST: 2,
    CallerType.SOCIAL_CARE: 2,
    CallerType.HOSPICE_STAFF: 2,
}
CALLER_ORGANISATIONS = {
    CallerType.DISTRICT_NURSE: "Riverside district nursing",
    CallerType.GP: "",  # the patient's practice
    CallerType.OOH_111: "NHS 111",
    CallerType.AMBULANCE: "North West Ambulance Service",
    CallerType.COMMUNITY_SPC_NURSE: "Riverside Community Palliative Care",
    CallerType.PHARMACIST: "Dockside Pharmacy",
    CallerType.SOCIAL_CARE: "Northbank and Southmere adult social care",
    CallerType.HOSPICE_STAFF: "St Brigid's Hospice",
    CallerType.HOSPITAL_CLINICIAN: "Northbank and Southmere Hospitals",
}
OUTCOMES = {
    ReferralOutcome.NEEDS_MET: 78,
    ReferralOutcome.TRANSFERRED: 8,
    ReferralOutcome.NO_CONTACT: 4,
    ReferralOutcome.DECLINED_BY_PATIENT: 5,
    ReferralOutcome.OTHER: 5,
}
STAFF_NAMES = (
    "Dr A. Sharma",
    "Dr H. Walsh",
    "Jo Kennedy",
    "Sam Osei",
    "Nina Kaur",
    "Dr P. Lam",
    "Chris Doyle",
    "Beth Ellis",
)
NOTES: dict[str, str] = {
    CallReason.SYMPTOM_CONTROL: "Pain worse since last night despite regular oral morphine.",
    CallReason.MEDICATION_QUERY: "Asked about timing of breakthrough doses.",
    CallReason.REQUEST_VISIT: "Would like a nurse to visit to review symptoms.",
    CallReason.REQUEST_ADMISSION: "Family and patient ask about a hospice bed.",
    CallReason.CARE_PACKAGE_EQUIPMENT: "Needs a hospital bed and more care at home.",
    CallReason.CARER_CRISIS: "Carer exhausted, has not slept for two nights.",
    CallReason.NEW_REFERRAL: "New diagnosis, referred for specialist palliative care.",
    CallReason.CLINICAL_UPDATE: "Update after GP visit; plan unchanged.",
    CallReason.INFORMATION: "Asked what support is available at night.",
    CallReason.ADMIN: "Change of phone number for the family.",
    CallReason.OTHER: "General enquiry.",
    CallReason.DEATH_NOTIFICATION: "Patient died peacefully; family with them.",
}


def _plan_calls(rng: random.Random, plan: PatientPlan, *, first_call: timedelta) -> list[CallPlan]:
    count = _weighted(rng, {1: 55, 2: 27, 3: 11, 4: 5, 5: 2})
    moments = [first_call]
    earliest = (
        plan.died_before_now + timedelta(hours=1) if plan.died_before_now else timedelta(minutes=15)
    )
    for _ in range(count - 1):
        step = timedelta(minutes=rng.randrange(6 * 60, 15 * 24 * 60))
        if moments[-1] - step < earliest:
            break
        moments.append(moments[-1] - step)
    # Today's work: some people rang in the last few hours, so the queues show something.
    today = False
    if plan.died_before_now is None and rng.random() < 0.12:
        recent = timedelta(minutes=rng.randrange(15, 10 * 60))
        if recent < moments[-1] - timedelta(hours=2):
            moments.append(recent)
            today = True
    calls = [
        _plan_call(rng, plan, moment, last=i == len(moments) - 1)
        for i, moment in enumerate(moments)
    ]
    if today:
        calls[-1] = _urgent_today(calls[-1], plan)
    if plan.died_before_now is not None:
        # The family rings to say the patient has died: bereavement support for them.
        after = plan.died_before_now - timedelta(minutes=rng.randrange(30, 8 * 60))
        calls.append(
            _plan_call(
                rng,
                plan,
                max(after, timedelta(minutes=10)),
                last=True,
                reason=CallReason.DEATH_NOTIFICATION,
            )
        )
    return calls


def _urgent_today(call: CallPlan, plan: PatientPlan) -> CallPlan:
    """Some of today's calls found a red flag and advised 999 or transferred the caller, so the
    board and the follow-ups list have follow-ups to confirm, due and overdue. Drawn from a
    generator of its own, so the rest of the plan stays as it was."""
    extra = random.Random(f"{SEED}-{plan.key}-urgent")  # noqa: S311
    if extra.random() >= 0.4:
        return call
    return replace(
        call,
        reason=CallReason.SYMPTOM_CONTROL,
        notes="Sudden change this afternoon; caller frightened.",
        red_flags=(extra.choice(RedFlag.values),),
        disposition=extra.choice(
            (Disposition.ADVISED_999, Disposition.ADVISED_999, Disposition.WARM_TRANSFER)
        ),
        override=None,
        needs=(),
        callback_hours=None,
        fates=(),
        draws=(),
        outcomes=(),
    )


def _plan_call(
    rng: random.Random,
    plan: PatientPlan,
    moment: timedelta,
    *,
    last: bool,
    reason: str | None = None,
) -> CallPlan:
    reason = reason or _weighted(rng, REASONS)
    in_hospital = (
        last
        and plan.location == PatientLocation.HOSPITAL
        and reason != CallReason.DEATH_NOTIFICATION
    )
    caller = _weighted(rng, CALLERS)
    if reason == CallReason.DEATH_NOTIFICATION:
        caller = CallerType.CARER_FAMILY if plan.carer else CallerType.DISTRICT_NURSE
    elif in_hospital:
        caller = CallerType.HOSPITAL_CLINICIAN
    elif caller == CallerType.CARER_FAMILY and plan.carer is None:
        caller = CallerType.DISTRICT_NURSE
    if caller == CallerType.CARER_FAMILY and plan.carer is not None:
        name = f"{plan.carer.given_name} {plan.carer.family_name}"
        phone, relationship = plan.carer.phone, Relationship(plan.carer.relationship).label
    elif caller == CallerType.PATIENT:
        name, phone, relationship = f"{plan.given_name} {plan.family_name}", plan.phone, ""
    else:
        name, phone, relationship = rng.choice(STAFF_NAMES), _phone(rng), ""
    organisation = CALLER_ORGANISATIONS.get(caller, "")
    if caller == CallerType.GP:
        organisation = plan.gp_practice
    elif caller == CallerType.CARE_HOME_STAFF:
        organisation = (
            plan.address.split("\n")[0]
            if plan.usual_residence == UsualResidence.CARE_HOME
            else rng.choice(CARE_HOMES)
        )

    phase = _weighted(
        rng,
        {
            "": 15,
            PhaseOfIllness.STABLE: 20,
            PhaseOfIllness.UNSTABLE: 15,
            PhaseOfIllness.DETERIORATING: 35,
            PhaseOfIllness.DYING: 15,
        },
    )
    if reason == CallReason.DEATH_NOTIFICATION:
        phase = PhaseOfIllness.DECEASED
    ipos: dict[str, int] = {}
    if reason in (
        CallReason.SYMPTOM_CONTROL,
        CallReason.REQUEST_VISIT,
        CallReason.CARER_CRISIS,
    ) or (phase and rng.random() < 0.5):
        top = {PhaseOfIllness.UNSTABLE: 4, PhaseOfIllness.DYING: 3}.get(phase, 3)
        for item in rng.sample(list(IposItem.values), rng.randrange(2, 6)):
            ipos[item] = min(4, max(0, round(rng.triangular(0, top + 0.5, top - 1))))
    red_flags: tuple[str, ...] = ()
    if reason == CallReason.SYMPTOM_CONTROL and rng.random() < 0.04:
        red_flags = (rng.choice(RedFlag.values),)
    coping = ""
    if plan.carer is not None and rng.random() < 0.6:
        coping = _weighted(
            rng,
            {CarerCoping.COPING: 55, CarerCoping.STRUGGLING: 35, CarerCoping.CRISIS_TONIGHT: 10},
        )
        if reason == CallReason.CARER_CRISIS:
            coping = rng.choice((CarerCoping.STRUGGLING, CarerCoping.CRISIS_TONIGHT))
    elif plan.carer is None and rng.random() < 0.3:
        coping = CarerCoping.NO_CARER
    location = (
        plan.location
        if last
        else (
            PatientLocation.CARE_HOME
            if plan.usual_residence == UsualResidence.CARE_HOME
            else PatientLocation.HOME
        )
    )
    if location == PatientLocation.HOSPICE:
        location = PatientLocation.HOME if not last else location
    site_code = plan.site_code if location == PatientLocation.HOSPITAL else None

    needs: tuple[str, ...] = ()
    if in_hospital:
        # A patient dying in hospital who lives at home is also offered a rapid discharge.
        needs = (
            (Need.HOSPITAL_SPECIALIST_REVIEW, Need.RAPID_DISCHARGE)
            if plan.usual_residence != UsualResidence.CARE_HOME
            else (Need.HOSPITAL_SPECIALIST_REVIEW,)
        )
    elif reason in NEEDS_FOR_REASON and (
        reason != CallReason.SYMPTOM_CONTROL or rng.random() < 0.5
    ):
        needs = rng.choice(NEEDS_FOR_REASON[reason])
    if reason == CallReason.DEATH_NOTIFICATION:
        # Recording the death offers bereavement support to the family (``_record_death``); an
        # expected death at home or in a care home needs verifying.
        needs = (
            (Need.VERIFICATION_OF_DEATH,)
            if location in (PatientLocation.HOME, PatientLocation.CARE_HOME)
            else ()
        )
    if red_flags:
        disposition = _weighted(
            rng,
            {
                Disposition.ADVISED_999: 50,
                Disposition.WARM_TRANSFER: 20,
                Disposition.REFERRALS_CREATED: 30,
            },
        )
        needs = (Need.URGENT_HOME_VISIT,) if disposition == Disposition.REFERRALS_CREATED else ()
    elif needs:
        disposition = Disposition.REFERRALS_CREATED
    else:
        disposition = _weighted(rng, {Disposition.ADVICE_GIVEN: 70, Disposition.SIGNPOSTED: 30})

    suggestion = suggest_priority(
        TriageInput(
            phase=phase or None,
            ipos=ipos,
            red_flags=red_flags,
            carer_coping=coping or None,
            reason=reason,
            patient_location=location or None,
        )
    )
    override = None
    if needs and suggestion.priority in (Priority.P4, Priority.P5) and rng.random() < 0.08:
        override = Priority.P3
    return CallPlan(
        before_now=moment,
        minutes=rng.randrange(4, 25),
        handled_by="coordinator" if rng.random() < 0.2 else "handler",
        caller_type=caller,
        caller_name=name,
        caller_phone=phone,
        caller_organisation=organisation,
        caller_relationship=relationship,
        reason=reason,
        notes=NOTES.get(reason, ""),
        phase=phase,
        ipos=ipos,
        red_flags=red_flags,
        carer_coping=coping,
        patient_location=location,
        site_code=site_code,
        override=override,
        disposition=disposition,
        needs=needs,
        callback_hours=rng.randrange(2, 20) if not needs and rng.random() < 0.12 else None,
        fates=tuple(rng.random() for _ in needs),
        draws=tuple(rng.random() for _ in needs),
        outcomes=tuple(_weighted(rng, OUTCOMES) for _ in needs),
    )


# --- Saving the plan ---------------------------------------------------------------------------


@contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    """Run the services as if it were ``moment``.

    The services read the time through ``django.utils.timezone.now()`` (directly, or through
    ``localdate()``), so their timestamps, clocks and date checks, and the access-log rows they
    write, read as the history being built. For this single-threaded seed only.
    """
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def _exists(plan: PatientPlan) -> bool:
    """Whether the planned patient was created by an earlier run: by NHS number, or for one
    without, by name and a date of birth planned on an earlier day (plan_patients turns ages
    into dates from the day of the run, so a run on a later day plans it later)."""
    if plan.nhs_number:
        return Patient.objects.filter(nhs_number=plan.nhs_number).exists()
    return Patient.objects.filter(
        nhs_number__isnull=True,
        date_of_birth__range=(plan.date_of_birth - timedelta(days=366), plan.date_of_birth),
        search_name=search_form(plan.given_name, plan.family_name),
    ).exists()


# seed_demo prints a line every this many patients, so a first `make run` shows it is working.
PROGRESS_EVERY = 50


def seed_patients(
    *,
    users: Mapping[str, User],
    services: Mapping[str, Service],
    now: datetime,
    count: int = DEMO_PATIENTS,
    progress: Callable[[str], Any] | None = None,
) -> SeedSummary:
    """Create the demo patients with their history; skip those already there.

    ``users`` are the demo users (``devtools.demo.users.seed_users``), ``services`` the demo
    directory (``seed_directory``); nothing else is referred to. Returns what was created.
    The clock milestones their referrals passed are recorded as already seen
    (:func:`_seed_escalations`), so the first escalation run sends nothing for them.
    """
    sites = {site.code: site for site in Site.objects.filter(code__in=[code for code, *_ in SITES])}
    member_teams = _team_members(services)
    summary = SeedSummary()
    created: list[int] = []
    for index, plan in enumerate(plan_patients(count, today=timezone.localdate(now)), start=1):
        if progress is not None and (index % PROGRESS_EVERY == 0 or index == count):
            progress(f"  patients {index:,} of {count:,}")
        if _exists(plan):
            summary.patients_skipped += 1
            continue
        created.append(
            _save_patient(
                plan, users=users, sites=sites, member_teams=member_teams, now=now, summary=summary
            )
        )
    summary.escalations = _seed_escalations(patient_ids=created, now=now)
    return summary


def _team_members(services: Mapping[str, Service]) -> dict[int, list[int]]:
    """Team id -> the demo clinicians who work in it (who may own its referrals)."""
    members: dict[int, list[int]] = {}
    rows = TeamMembership.objects.filter(
        team__service__in=list(services.values()),
        user__is_clinician=True,
    ).order_by("team_id", "user_id")
    for row in rows:
        members.setdefault(row.team_id, []).append(row.user_id)
    return members


def _save_patient(
    plan: PatientPlan,
    *,
    users: Mapping[str, User],
    sites: Mapping[str, Site],
    member_teams: Mapping[int, list[int]],
    now: datetime,
    summary: SeedSummary,
) -> int:
    """Save one planned patient with their history; return the patient's id."""
    registered_at = now - plan.registered_before_now
    with _clock_at(registered_at):
        patient = patient_register(
            data=PatientData(
                given_name=plan.given_name,
                family_name=plan.family_name,
                date_of_birth=plan.date_of_birth,
                nhs_number=plan.nhs_number or "",
                nhs_number_status=plan.nhs_number_status,
                sex=plan.sex,
                address=plan.address,
                postcode=plan.postcode,
                phone=plan.phone,
                gp_practice=plan.gp_practice,
                usual_residence=plan.usual_residence,
                location=plan.location,
                location_site=sites.get(plan.site_code) if plan.site_code else None,
                interpreter_needed=plan.interpreter_needed,
                language=plan.language,
                ethnic_category=plan.ethnic_category,
                diagnosis_group=plan.diagnosis_group,
            ),
            user=users[plan.registered_by],
            # Demo names repeat by design (two Margaret Smiths); each is a different person.
            confirmed_not_duplicate=True,
        )
        summary.patients_created += 1
        carer_person = None
        if plan.carer is not None:
            carer = plan.carer
            carer_person = related_person_save(
                patient=patient,
                user=users[plan.registered_by],
                values={
                    "given_name": carer.given_name,
                    "family_name": carer.family_name,
                    "relationship": carer.relationship,
                    "phone": carer.phone,
                    "postcode": carer.postcode,
                    "is_main_carer": True,
                    "is_next_of_kin": True,
                    "has_lpa": carer.has_lpa,
                    "consent_to_contact": carer.consent_to_contact,
                },
            )
            summary.carers += 1
    # A carer who consents has their own carer-support referrals (for them, routed by their
    # postcode) and a needs assessment before the first (docs/triage.md).
    for_carer = carer_person if carer_person and carer_person.consent_to_contact else None
    if for_carer is not None:
        _assess_carer(for_carer, plan, users=users, now=now, summary=summary)
    for version in plan.care_plans:
        _save_care_plan(patient, version, users=users, now=now)
        summary.care_plans += 1
    died_at = now - plan.died_before_now if plan.died_before_now else None
    for call in sorted(plan.calls, key=lambda c: c.before_now, reverse=True):
        _save_call(
            patient,
            plan,
            call,
            users=users,
            sites=sites,
            member_teams=member_teams,
            now=now,
            died_at=died_at,
            summary=summary,
            carer=for_carer,
        )
    if died_at is not None:
        _record_death(
            patient,
            plan,
            users=users,
            member_teams=member_teams,
            now=now,
            died_at=died_at,
            summary=summary,
        )
    return patient.pk


# A carer's needs assessment's answers (patients/carers.py), as a carer-support worker finds them.
CARER_HEALTH = {CarerHealth.NO_CONCERN: 3, CarerHealth.AT_RISK: 5, CarerHealth.DETERIORATING: 2}
CARER_OUTCOME_ANSWERS = {
    OutcomeAnswer.ACHIEVED: 6,
    OutcomeAnswer.NOT_ACHIEVED: 3,
    OutcomeAnswer.ENDANGERED: 0.2,
    OutcomeAnswer.NOT_APPLICABLE: 1,
}


def _assess_carer(
    carer: RelatedPerson,
    plan: PatientPlan,
    *,
    users: Mapping[str, User],
    now: datetime,
    summary: SeedSummary,
) -> None:
    """A needs assessment of ``carer`` a few days before the patient's first carer-support call,
    when that call is recent enough to be assessed (the last 300 days)."""
    first = max((c.before_now for c in plan.calls if Need.CARER_SUPPORT in c.needs), default=None)
    if first is None or first > timedelta(days=300):
        return
    # Its own generator, so the plan (and every earlier demo) stays the same.
    rng = random.Random(f"{SEED}-{plan.key}-carer-assessment")  # noqa: S311
    registered_at = now - plan.registered_before_now
    assessed_at = max(
        now - first - timedelta(days=rng.randint(2, 20)), registered_at + timedelta(hours=1)
    )
    with _clock_at(assessed_at):
        carer_assessment_record(
            carer=carer,
            user=users["nurse"],
            assessment_date=timezone.localdate(assessed_at),
            health=_weighted(rng, CARER_HEALTH),
            outcomes={
                outcome.value: OutcomeAnswer.NOT_APPLICABLE.value
                if outcome == CarerOutcome.CHILD_CARE and rng.random() < 0.8
                else _weighted(rng, CARER_OUTCOME_ANSWERS)
                for outcome in CarerOutcome
            },
            significant_impact=rng.random() < 0.6,
            notes="Assessed at home with the carer; plan agreed with them.",
        )
    summary.carer_assessments += 1


def _save_care_plan(
    patient: Patient, version: CarePlanPlan, *, users: Mapping[str, User], now: datetime
) -> None:
    written_at = now - version.before_now
    today = timezone.localdate(written_at)
    values = dict(version.values)
    weeks = values.pop("review_date_weeks")
    values["review_date"] = today + timedelta(weeks=weeks)
    decided = values.pop("cpr_decision_days_ago", None)
    review_days = values.pop("cpr_review_days", None)
    if decided is not None and review_days is not None:
        values["cpr_decision_date"] = today - timedelta(days=decided)
        values["cpr_review_date"] = values["cpr_decision_date"] + timedelta(days=review_days)
        if values.get("respect_exists"):
            values["respect_date"] = values["cpr_decision_date"]
    with _clock_at(written_at):
        care_plan_update(patient=patient, user=users[version.author], values=values)
        if values.get("anticipatory_meds_issued") and not patient.jic_medicines.exists():
            for name, dose_route, quantity in JUST_IN_CASE_MEDICINES:
                jic_medicine_add(
                    patient=patient,
                    user=users[version.author],
                    data=MedicineData(
                        name=name,
                        dose_route=dose_route,
                        quantity=quantity,
                        kept_at=values["anticipatory_meds_location"],
                        prescribed_by=f"Dr Ellis, {patient.gp_practice or 'the GP practice'}",
                        prescribed_date=today,
                    ),
                )


def _save_call(
    patient: Patient,
    plan: PatientPlan,
    call: CallPlan,
    *,
    users: Mapping[str, User],
    sites: Mapping[str, Site],
    member_teams: Mapping[int, list[int]],
    now: datetime,
    died_at: datetime | None,
    summary: SeedSummary,
    carer: RelatedPerson | None = None,
) -> None:
    received_at = now - call.before_now
    ended_at = min(received_at + timedelta(minutes=call.minutes), now - timedelta(minutes=1))
    handler = users[call.handled_by]
    # A handler who is not a clinician records no Phase of Illness (a clinician's rating), and
    # red flags are asked on the calls about the patient's condition; on the others they are
    # not asked, and the suggestion says so (docs/triage.md).
    phase = call.phase if handler.is_clinician else ""
    red_flags = call.red_flags if call.reason in RED_FLAGS_ASKED_FOR else None
    suggested = suggest_priority(
        TriageInput(
            phase=phase or None,
            ipos=call.ipos,
            red_flags=red_flags,
            carer_coping=call.carer_coping or None,
            reason=call.reason,
            patient_location=call.patient_location or None,
        )
    ).priority
    site = sites.get(call.site_code) if call.site_code else None
    data = CallInput(
        received_at=received_at,
        ended_at=ended_at,
        caller_type=call.caller_type,
        caller_name=call.caller_name,
        caller_phone=call.caller_phone,
        caller_organisation=call.caller_organisation,
        caller_relationship=call.caller_relationship,
        patient_id=patient.pk,
        reason=call.reason,
        notes=call.notes,
        phase=phase,
        ipos=call.ipos,
        red_flags=red_flags,
        carer_coping=call.carer_coping,
        patient_location=call.patient_location,
        patient_site_id=site.pk if site else None,
        chosen_priority=call.override or suggested,
        override_reason="Caller very distressed; coordinator agreed a same-day response."
        if call.override
        else "",
        disposition=call.disposition,
        needs=tuple(
            NeedRequest(need=need, for_person_id=carer.pk, for_person_consent=True)
            if carer is not None and need == Need.CARER_SUPPORT
            else NeedRequest(need=need)
            for need in call.needs
        ),
        callback_due_at=ended_at + timedelta(hours=call.callback_hours)
        if call.callback_hours
        else None,
        callback_note="Ring back to check the advice helped." if call.callback_hours else "",
        idempotency_key=f"demo-{plan.key}-{call.before_now.total_seconds():.0f}"[:64],
    )
    with _clock_at(ended_at):
        result = call_submit(data=data, user=handler)
    summary.calls += 1
    # A referral made before the patient died is worked until the death, which then closes
    # whatever is still open (``_record_death``).
    horizon = died_at if died_at is not None and received_at < died_at else now
    # Routing runs in the worker after commit; here, synchronously, at the moment it would have.
    routed_at = ended_at + timedelta(seconds=1)
    for index, (referral, fate, draw, outcome) in enumerate(
        zip(result.referrals, call.fates, call.draws, call.outcomes, strict=True)
    ):
        with _clock_at(routed_at):
            routed = referral_route(referral_id=referral.pk)
        assert routed is not None
        # Decisions added after the plan was fixed draw from their own generator, so the plan
        # (and every earlier demo) stays the same.
        extra = random.Random(f"{SEED}-{plan.key}-{call.before_now.total_seconds():.0f}-{index}")  # noqa: S311
        status = _settle_referral(
            routed,
            fate=fate,
            draw=draw,
            outcome=outcome,
            extra=extra,
            users=users,
            member_teams=member_teams,
            now=horizon,
            summary=summary,
        )
        summary.referrals += 1
        summary.statuses[status] += 1
    _finish_call(result.call, users=users, now=horizon)


# What a nurse does for each need (docs/reference.md intervention list).
INTERVENTION_FOR_NEED: dict[str, str] = {
    Need.URGENT_HOME_VISIT: InterventionType.HOME_VISIT,
    Need.END_OF_LIFE_CARE_AT_HOME: InterventionType.HOSPICE_AT_HOME_SHIFT,
    Need.OVERNIGHT_SUPPORT: InterventionType.NIGHT_VISIT,
    Need.HOSPICE_ADMISSION: InterventionType.HOSPICE_ADMISSION,
    Need.HOSPITAL_SPECIALIST_REVIEW: InterventionType.IN_REACH_REVIEW,
    Need.SPECIALIST_FOLLOW_UP: InterventionType.PHONE_ADVICE,
    Need.DAY_THERAPY: InterventionType.DAY_THERAPY,
    Need.BEREAVEMENT_SUPPORT: InterventionType.BEREAVEMENT_SESSION,
    Need.CARER_SUPPORT: InterventionType.CARER_SUPPORT,
    Need.DISTRICT_NURSING: InterventionType.HOME_VISIT,
    Need.GP_OUT_OF_HOURS: InterventionType.HOME_VISIT,
    Need.SOCIAL_CARE_PACKAGE: InterventionType.EQUIPMENT_OR_CARE_PACKAGE,
    Need.CHC_FAST_TRACK: InterventionType.EQUIPMENT_OR_CARE_PACKAGE,
    Need.EQUIPMENT: InterventionType.EQUIPMENT_OR_CARE_PACKAGE,
    Need.JUST_IN_CASE_MEDICINES: InterventionType.PHONE_ADVICE,
    Need.VERIFICATION_OF_DEATH: InterventionType.HOME_VISIT,
    Need.RAPID_DISCHARGE: InterventionType.EQUIPMENT_OR_CARE_PACKAGE,
}
# Interventions that can keep a patient out of hospital (a clinician attests it).
AVOIDS_ADMISSION = frozenset(
    {
        InterventionType.HOME_VISIT,
        InterventionType.NIGHT_VISIT,
        InterventionType.HOSPICE_AT_HOME_SHIFT,
        InterventionType.PHONE_ADVICE,
    }
)
HOLD_REASONS = (
    "Patient admitted to hospital overnight; visit once home.",
    "Family asked us to wait until the weekend.",
    "Awaiting the GP's review before visiting.",
)
DECLINES = (
    (DeclineReason.NO_CAPACITY, "No nurse free before the deadline today."),
    (DeclineReason.WRONG_SERVICE, "Needs hospice at home rather than a specialist visit."),
)
DECLINE_SHARE = 0.08
HOLD_SHARE = 0.12
INTERVENTION_SHARE = 0.7


def _settle_referral(
    referral: Referral,
    *,
    fate: float,
    draw: float,
    outcome: str,
    extra: random.Random,
    users: Mapping[str, User],
    member_teams: Mapping[int, list[int]],
    now: datetime,
    summary: SeedSummary,
) -> str:
    """Move a routed referral on as far as its age at ``now`` and ``fate`` (0-1) say; return its
    status. ``now`` is the demo's now, or the death of a patient who has died since.

    A team with demo clinicians works its referrals through the services, each at the moment it
    happened: some it declines (routed again without it), the rest it claims, contacts, records
    interventions on (some avoiding an admission), puts on hold or completes. The partner teams
    have no demo staff: their referrals stay queued while recent and are otherwise recorded as
    completed directly, with a COMPLETED event that has no actor. The coordinators cancel a few.
    """
    assert referral.routed_at is not None and referral.team_id is not None
    last_moment = now - timedelta(minutes=1)
    by_id = {user.pk: user for user in users.values()}
    owners = member_teams.get(referral.team_id, [])
    # A partner team declines; the coordinators route by hand instead (``referrals.actions``).
    partner = referral.team is not None and referral.team.service.service_type != ServiceType.SPOC
    if (
        owners
        and partner
        and extra.random() < DECLINE_SHARE
        and now - referral.routed_at > timedelta(hours=1)
    ):
        reason, note = extra.choice(DECLINES)
        declined_at = referral.routed_at + timedelta(minutes=15)
        with _clock_at(declined_at):
            referral_decline(
                referral_id=referral.pk, user=by_id[owners[-1]], reason=reason, note=note
            )
        with _clock_at(declined_at + timedelta(minutes=1)):
            rerouted = referral_route(referral_id=referral.pk)
        assert (
            rerouted is not None and rerouted.routed_at is not None and rerouted.team_id is not None
        )
        referral = rerouted
        owners = member_teams.get(referral.team_id or 0, [])
        summary.declines += 1
    assert referral.routed_at is not None
    age = now - referral.routed_at
    if age < timedelta(hours=8):
        status = (
            ReferralStatus.QUEUED
            if fate < 0.6
            else ReferralStatus.ACCEPTED
            if fate < 0.9
            else ReferralStatus.IN_PROGRESS
        )
    elif age < timedelta(days=4):
        status = (
            ReferralStatus.QUEUED
            if fate < 0.1
            else ReferralStatus.ACCEPTED
            if fate < 0.3
            else ReferralStatus.IN_PROGRESS
            if fate < 0.7
            else ReferralStatus.COMPLETED
            if fate < 0.95
            else ReferralStatus.CANCELLED
        )
    elif age < timedelta(days=21):
        status = (
            ReferralStatus.IN_PROGRESS
            if fate < 0.2
            else ReferralStatus.COMPLETED
            if fate < 0.94
            else ReferralStatus.CANCELLED
        )
    else:
        status = ReferralStatus.COMPLETED if fate < 0.96 else ReferralStatus.CANCELLED
    if status in (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS) and not owners:
        status = ReferralStatus.QUEUED if age < timedelta(days=1) else ReferralStatus.COMPLETED
    if status == ReferralStatus.QUEUED:
        return status
    if status == ReferralStatus.CANCELLED:
        at = min(referral.routed_at + timedelta(minutes=20 + int(draw * 600)), last_moment)
        with _clock_at(at):
            referral_cancel(
                referral_id=referral.pk,
                user=users["coordinator"],
                reason="Duplicate of a referral made earlier the same day.",
            )
        return status
    done = min(referral.routed_at + timedelta(hours=4 + draw * 24 * 6), last_moment)
    if not owners:
        _complete_directly(referral, at=done, outcome=outcome)
        return status
    owner = by_id[owners[int(draw * len(owners))]]
    claimed = min(referral.routed_at + timedelta(minutes=5 + int(draw * 120)), last_moment)
    contacted = min(claimed + timedelta(minutes=10 + int(fate * 170)), last_moment)
    with _clock_at(claimed):
        referral_claim(referral_id=referral.pk, user=owner)
    if status in (ReferralStatus.IN_PROGRESS, ReferralStatus.COMPLETED):
        with _clock_at(contacted):
            referral_contact(referral_id=referral.pk, user=owner, at=contacted)
        if extra.random() < INTERVENTION_SHARE:
            _intervene(
                referral,
                owner=owner,
                at=min(contacted + timedelta(minutes=30), last_moment),
                extra=extra,
                summary=summary,
            )
    if status != ReferralStatus.COMPLETED and extra.random() < HOLD_SHARE:
        with _clock_at(min(max(claimed, contacted) + timedelta(minutes=45), last_moment)):
            referral_hold(referral_id=referral.pk, user=owner, reason=extra.choice(HOLD_REASONS))
        summary.holds += 1
        return ReferralStatus.ON_HOLD
    if status == ReferralStatus.COMPLETED:
        with _clock_at(max(done, contacted)):
            referral_complete(referral_id=referral.pk, user=owner, outcome=outcome)
    return status


def _intervene(
    referral: Referral, *, owner: User, at: datetime, extra: random.Random, summary: SeedSummary
) -> None:
    kind = INTERVENTION_FOR_NEED.get(referral.need, InterventionType.PHONE_ADVICE)
    avoided = kind in AVOIDS_ADMISSION and extra.random() < 0.3
    with _clock_at(at):
        intervention_record(
            referral_id=referral.pk,
            user=owner,
            kind=kind,
            at=at,
            notes="Symptoms reviewed; plan agreed with the family."
            if not avoided
            else "Crisis managed at home; admission avoided.",
            admission_avoided=avoided,
            bed_days_saved=extra.randrange(2, 12) if avoided else None,
            # Advice and visits that spared a GP call or visit; drawn apart from ``extra`` so
            # the rest of the demo stays as it was.
            primary_care_contact_avoided=random.Random(  # noqa: S311 (repeatable demo data)
                f"{SEED}-primary-care-{referral.pk}-{at.isoformat()}"
            ).random()
            < 0.35,
        )
    summary.interventions += 1


def _complete_directly(referral: Referral, *, at: datetime, outcome: str) -> None:
    """A partner team without demo staff: the completion is recorded without an actor."""
    Referral.objects.filter(pk=referral.pk).update(
        status=ReferralStatus.COMPLETED, outcome=outcome, closed_at=at, updated_at=at
    )
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.COMPLETED,
        at=at,
        actor=None,
        from_status=referral.status,
        to_status=ReferralStatus.COMPLETED,
        team_id=referral.team_id,
        data={"outcome": outcome},
    )


# --- Deaths -------------------------------------------------------------------------------------

# Share of the deaths recorded in hospital whose place the coordinator corrects afterwards (the
# patient page's "Corrections"; docs/patients-and-calls.md, "Correcting or withdrawing a death").
PLACE_CORRECTED = 0.25


def _correct_place_of_death(
    patient: Patient,
    plan: PatientPlan,
    *,
    users: Mapping[str, User],
    now: datetime,
    recorded_at: datetime,
) -> None:
    """For some deaths recorded in hospital, the ambulance crew's note arrives later: the patient
    died at home before the transfer. Corrected through the service, with the reason, an hour
    after the death was recorded ("died in the preferred place" follows). Drawn apart, so the
    rest of the demo stays as it was."""
    rng = random.Random(f"{SEED}-death-correction-{plan.key}")  # noqa: S311 (repeatable demo data)
    corrected_at = recorded_at + timedelta(hours=1)
    record = DeathRecord.objects.recorded().get(patient=patient)
    if (
        record.place != PlaceOfDeath.HOSPITAL
        or rng.random() >= PLACE_CORRECTED
        or corrected_at >= now
    ):
        return
    with _clock_at(corrected_at):
        death_correct(
            patient_id=patient.pk,
            user=users["coordinator"],
            reason="The ambulance crew's note: the patient died at home before the transfer "
            "to hospital.",
            changes={"place": PlaceOfDeath.OWN_HOME},
        )


VERIFIERS = (
    "Jo Kennedy, district nurse",
    "Dr A. Sharma, GP",
    "Sam Osei, hospice nurse",
    "Dr P. Lam, hospital doctor",
    "Nina Kaur, care home nurse",
    "Paramedic crew 114",
)


def _death_details(rng: random.Random, plan: PatientPlan) -> tuple[str, bool | None, str]:
    """Where the patient died, whether it was expected, and who verified it: the 1st or 2nd
    preferred place for most of those with one, elsewhere for the rest."""
    values = plan.care_plans[-1].values if plan.care_plans else {}
    first, second = values.get("ppd_first", ""), values.get("ppd_second", "")
    roll = rng.random()
    if first and roll < 0.55:
        place = first
    elif second and roll < 0.7:
        place = second
    elif plan.usual_residence == UsualResidence.CARE_HOME and rng.random() < 0.6:
        place = PlaceOfDeath.CARE_HOME
    else:
        place = _weighted(
            rng,
            {
                PlaceOfDeath.HOSPITAL: 45,
                PlaceOfDeath.OWN_HOME: 20,
                PlaceOfDeath.HOSPICE: 18,
                PlaceOfDeath.CARE_HOME: 8,
                PlaceOfDeath.OTHER_PRIVATE_RESIDENCE: 6,
                PlaceOfDeath.OTHER: 3,
            },
        )
    expected = _weighted(rng, {True: 80, False: 12, None: 8})
    return place, expected, rng.choice(VERIFIERS)


def _record_death(
    patient: Patient,
    plan: PatientPlan,
    *,
    users: Mapping[str, User],
    member_teams: Mapping[int, list[int]],
    now: datetime,
    died_at: datetime,
    summary: SeedSummary,
) -> None:
    """The coordinator records the death after the family's call, through the service: open
    referrals close, bereavement support is offered to the carer if they consented, and that
    referral is routed (its clocks start two weeks after the death)."""
    rng = random.Random(f"{SEED}-death-{plan.key}")  # noqa: S311 (repeatable demo data)
    place, expected, verified_by = _death_details(rng, plan)
    # Where the last days were spent: mostly where the patient died; sometimes moved in the last
    # hours, sometimes not known to the recorder.
    care_rng = random.Random(f"{SEED}-last-days-{plan.key}")  # noqa: S311 (repeatable demo data)
    last_days_place = _weighted(
        care_rng, {place: 70, PlaceOfDeath.OWN_HOME: 10, PlaceOfDeath.HOSPICE: 5, "": 15}
    )
    last_call = (
        Call.objects.filter(patient=patient)
        .order_by("-received_at")
        .values_list("ended_at", flat=True)
        .first()
    )
    recorded_at = max(
        died_at + timedelta(minutes=40), (last_call or died_at) + timedelta(minutes=5)
    )
    recorded_at = max(min(recorded_at, now - timedelta(minutes=2)), died_at)
    consenting = list(
        RelatedPerson.objects.filter(patient=patient, consent_to_contact=True).values_list(
            "pk", flat=True
        )
    )
    with _clock_at(recorded_at):
        death = death_record(
            patient_id=patient.pk,
            user=users["coordinator"],
            died_at=died_at,
            place=place,
            last_days_place=last_days_place,
            expected=expected,
            verified_by=verified_by,
            bereavement_for=consenting,
        )
    summary.deaths += 1
    _correct_place_of_death(patient, plan, users=users, now=now, recorded_at=recorded_at)
    death.record.refresh_from_db()
    summary.deaths_in_preferred_place += death.record.preferred_place_achieved is True
    bereavement = Referral.objects.filter(
        patient=patient, need=Need.BEREAVEMENT_SUPPORT, status=ReferralStatus.AWAITING_ROUTING
    )
    for referral in bereavement:
        with _clock_at(recorded_at + timedelta(seconds=1)):
            routed = referral_route(referral_id=referral.pk)
        assert routed is not None and routed.contact_not_before is not None
        status = ReferralStatus.QUEUED
        if now - routed.contact_not_before > timedelta(days=2) and not member_teams.get(
            routed.team_id or 0
        ):
            done = min(
                routed.contact_not_before + timedelta(days=2 + rng.random() * 10),
                now - timedelta(minutes=1),
            )
            _complete_directly(routed, at=done, outcome=ReferralOutcome.NEEDS_MET)
            status = ReferralStatus.COMPLETED
        summary.referrals += 1
        summary.bereavement_referrals += 1
        summary.statuses[status] += 1


# --- Escalations already passed -----------------------------------------------------------------


def _seed_escalations(*, patient_ids: list[int], now: datetime) -> int:
    """Record, as already seen and not notified, every clock milestone the seeded referrals
    passed (docs/design.md §6, §12): so the first escalation run sends nothing for history.

    For a referral still open this is the escalation job's own rule
    (``referrals.services.escalation``): accept-by passed while queued; 75% of the first-contact time (``at_risk_at``)
    or contact-by passed without first contact. For one that moved on, the milestone counts if it
    fell due before the referral was accepted (for accept-by) or contacted (for the contact
    clock), put on hold, or closed. Returns the number of rows recorded.
    """
    rows: list[Escalation] = []
    referrals = Referral.objects.filter(patient_id__in=patient_ids, team__isnull=False).only(
        "pk",
        "routing_attempt",
        "team_id",
        "status",
        "accept_by",
        "at_risk_at",
        "contact_by",
        "accepted_at",
        "first_contact_at",
        "held_at",
        "closed_at",
    )
    for referral in referrals.iterator(chunk_size=2000):
        stops = [moment for moment in (referral.held_at, referral.closed_at) if moment is not None]
        accepted = min([m for m in (referral.accepted_at, *stops) if m is not None], default=now)
        contacted = min(
            [m for m in (referral.first_contact_at, *stops) if m is not None], default=now
        )
        for milestone, due, until in (
            (EscalationMilestone.ACCEPT_OVERDUE, referral.accept_by, accepted),
            (EscalationMilestone.CONTACT_AT_RISK, referral.at_risk_at, contacted),
            (EscalationMilestone.CONTACT_BREACHED, referral.contact_by, contacted),
        ):
            if due is not None and due <= now and due <= until:
                rows.append(
                    Escalation(
                        referral_id=referral.pk,
                        routing_attempt=referral.routing_attempt,
                        milestone=milestone,
                        due_at=due,
                        recorded_at=min(due + timedelta(minutes=1), now),
                        team_id=referral.team_id,
                        notified_at=None,
                    )
                )
    Escalation.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def _finish_call(call: Call, *, users: Mapping[str, User], now: datetime) -> None:
    """Senior reviews, follow-ups and call-backs done in the past are recorded as done, by the
    service."""
    if call.needs_senior_review and now - call.received_at > REVIEW_PENDING_FOR:
        at = call.received_at + timedelta(hours=3)
        with _clock_at(at):
            call_senior_review(
                call_id=call.pk,
                user=users["coordinator"],
                comment="Advice appropriate; no further action.",
            )
    follow_up = CallFollowUp.objects.filter(call=call, status=CallFollowUp.Status.PENDING).first()
    if follow_up is not None and follow_up.due_at < now - timedelta(hours=1):
        # Confirmed before it fell due: an ambulance usually takes the patient in, a transfer
        # is usually taken (docs/patients-and-calls.md, "Follow-ups").
        outcome = (
            CallFollowUp.Outcome.TRANSFER_ACCEPTED
            if call.disposition == Disposition.WARM_TRANSFER
            else CallFollowUp.Outcome.CONVEYED
            if call.received_at.minute % 3
            else CallFollowUp.Outcome.NOT_CONVEYED
        )
        with _clock_at(follow_up.due_at - timedelta(minutes=15)):
            call_follow_up_record(
                follow_up_id=follow_up.pk,
                user=users["coordinator"],
                outcome=outcome,
                note="Rang the caller back to check.",
            )
    for call_back in CallBack.objects.filter(call=call, status=CallBack.Status.PENDING):
        if call_back.due_at < now - timedelta(hours=1):
            with _clock_at(call_back.due_at + timedelta(minutes=10)):
                call_back_complete(
                    call_back_id=call_back.pk,
                    user=call.handled_by,
                    outcome=CallBack.Outcome.REACHED,
                )


def demo_nhs_numbers(count: int = DEMO_PATIENTS) -> list[str]:
    """The NHS numbers the demo patients may carry (all in the reserved test range)."""
    return [synthetic_nhs_number(index) for index in range(count)]
