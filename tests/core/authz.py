"""The machinery behind the authorization matrix (tests/core/test_authorization_matrix.py): the
columns (anonymous and one user per role), what a cell may expect, the objects the rows' paths
point at, signed-in clients, the walk over the URL resolver, and the count of rows a request
wrote.

Everything here is built once per module, inside one transaction rolled back at the end; each cell
runs in a savepoint of its own (pytest-django's ``db``), so a POST that a role may make is undone
before the next cell.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from spoc.accounts.roles import Role

# --- The columns ----------------------------------------------------------------------------------

ANON = "anon"
# Column -> (role, how the user is placed). "nurse_b" is a specialist nurse of ANOTHER team than
# the referral's: the column that shows what a clinician outside the team gets.
COLUMNS: dict[str, Role | None] = {
    ANON: None,
    "handler": Role.CALL_HANDLER,
    "nurse": Role.SPECIALIST_NURSE,
    "nurse_b": Role.SPECIALIST_NURSE,
    "lead": Role.TEAM_LEAD,
    "coord": Role.SPOC_COORDINATOR,
    "manager": Role.MANAGER,
    "diradmin": Role.DIRECTORY_ADMIN,
    "auditor": Role.AUDITOR,
    "sysadmin": Role.SYSTEM_ADMIN,
}
SIGNED_IN = tuple(c for c in COLUMNS if c != ANON)
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


# --- What a cell expects ------------------------------------------------------------------------


class Expect(ABC):
    @abstractmethod
    def matches(self, response: HttpResponseBase, world: World) -> bool:
        """True when the response is what the cell expects."""

    def denies(self) -> bool:
        """True when the cell refuses the request (the request must then write nothing)."""
        return False

    @abstractmethod
    def describe(self, world: World) -> str:
        """The expectation in words, for a failing cell's message."""


@dataclass(frozen=True)
class Status(Expect):
    code: int
    # A header the response must carry (401 under /api/ says how to authenticate).
    header: str = ""

    def matches(self, response: HttpResponseBase, world: World) -> bool:
        return response.status_code == self.code and (not self.header or self.header in response)

    def denies(self) -> bool:
        return self.code in (401, 403, 404, 405)

    def describe(self, world: World) -> str:
        return f"{self.code}" + (f" with {self.header}" if self.header else "")


@dataclass(frozen=True)
class OneOf(Expect):
    codes: tuple[int, ...]

    def matches(self, response: HttpResponseBase, world: World) -> bool:
        return response.status_code in self.codes

    def describe(self, world: World) -> str:
        return " or ".join(str(c) for c in self.codes)


@dataclass(frozen=True)
class Redirect(Expect):
    """302 to a path (the query string is not compared): a literal path, or a URL name whose
    arguments name attributes of the World (``Redirect("patients:detail", patient_id="patient")``)."""

    to: str
    args: tuple[tuple[str, str], ...] = ()
    refusal: bool = False

    def path(self, world: World) -> str:
        if self.to.startswith("/"):
            return self.to
        return reverse(self.to, kwargs={k: getattr(world, v) for k, v in self.args})

    def matches(self, response: HttpResponseBase, world: World) -> bool:
        location = response.get("Location", "")
        return response.status_code == 302 and urlsplit(location).path == self.path(world)

    def denies(self) -> bool:
        return self.refusal

    def describe(self, world: World) -> str:
        return f"302 to {self.path(world)}"


def to(name: str, **args: str) -> Redirect:
    return Redirect(name, tuple(args.items()))


LOGIN = Redirect("/accounts/login/", refusal=True)
ADMIN_LOGIN = Redirect("/admin/login/", refusal=True)
UNAUTHENTICATED = Status(401, header="WWW-Authenticate")


def describe_response(response: HttpResponseBase) -> str:
    if response.status_code in (301, 302, 303, 307, 308):
        return f"{response.status_code} to {urlsplit(response.get('Location', '')).path}"
    return str(response.status_code)


def _cells(
    default: Expect | int, anon: Expect | int, cells: dict[str, Expect | int]
) -> dict[str, Expect]:
    unknown = set(cells) - set(SIGNED_IN)
    if unknown:
        raise ValueError(f"unknown columns {sorted(unknown)}")

    def as_expect(value: Expect | int) -> Expect:
        return Status(value) if isinstance(value, int) else value

    return {ANON: as_expect(anon), **{c: as_expect(cells.get(c, default)) for c in SIGNED_IN}}


def page(
    default: Expect | int, *, anon: Expect | int = LOGIN, **cells: Expect | int
) -> dict[str, Expect]:
    """A page's cells: anonymous is sent to sign in; every signed-in column ``default`` unless
    named."""
    return _cells(default, anon, cells)


def api(
    default: Expect | int, *, anon: Expect | int = UNAUTHENTICATED, **cells: Expect | int
) -> dict[str, Expect]:
    """An API operation's cells: anonymous gets 401 with WWW-Authenticate."""
    return _cells(default, anon, cells)


# --- The rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One row: an operation (URL name, method, and the objects its path and body point at) and
    the status each column expects."""

    name: str
    method: str
    expect: dict[str, Expect]
    args: dict[str, str] = field(default_factory=dict)  # path kwarg -> World attribute
    fixed: dict[str, str] = field(default_factory=dict)  # path kwarg -> itself ("action": "claim")
    data: Callable[[World], dict[str, Any]] | None = None
    query: str = ""
    variant: str = ""
    # Under /api/: signed-in columns send their API token, not the session cookie.
    token: bool = False

    @property
    def key(self) -> str:
        return f"{self.name} {self.method}" + (f" [{self.variant}]" if self.variant else "")

    def url(self, world: World) -> str:
        path = reverse(
            self.name, kwargs={**{k: getattr(world, v) for k, v in self.args.items()}, **self.fixed}
        )
        return path + (f"?{self.query.format(w=world)}" if self.query else "")


# --- The objects the rows point at --------------------------------------------------------------


@dataclass
class World:
    """Primary keys of the objects the rows' paths and bodies name, and each column's credentials."""

    team_a: int = 0  # the referral's team: nurse and lead are in it; the manager's organisation
    team_b: int = 0  # nurse_b's team
    spoc_team: int = 0  # the coordinators' own team
    service_a: int = 0
    organisation_a: int = 0  # service_a's
    closure: int = 0  # of service_a
    patient: int = 0  # referred to team A
    patient_b: int = 0  # referred to team B only
    dead_patient: int = 0  # referred to team A, with a recorded death
    person: int = 0  # a carer of `patient`
    medicine: int = 0  # a just-in-case medicine at `patient`'s home
    call: int = 0  # about `patient`, taken by the call handler, awaiting a senior review
    call_back: int = 0  # pending, for `call`
    follow_up: int = 0  # pending, for `call` (as if it had advised 999)
    referral: int = 0  # `patient`, queued for team A
    claimed: int = 0  # `patient`, team A, claimed by the nurse
    # Open: a record a partner's message registered, which may be `patient`.
    possible_match: int = 0
    dead_referral: int = 0  # `dead_patient`'s, team A
    gp_letter: int = 0  # the letter to dead_patient's practice about the death
    shift_pattern: int = 0  # team A's rota: the nurse, every day 08:00-20:00
    shift_change: int = 0  # team A's rota: an extra shift of the nurse tomorrow
    rota_day: str = ""  # tomorrow (London), a day shift_pattern runs
    # The link of a feedback text sent to `patient` about `claimed` (experience/), not answered.
    feedback_token: str = "matrix-feedback-token-0123456789abcdefghijk"
    users: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    family_name: str = ""

    @property
    def lead_user(self) -> int:
        return self.users["lead"]

    @property
    def nurse_user(self) -> int:
        return self.users["nurse"]


def _feedback_sent(w: World, *, patient: Any, referral_id: int, user: Any, now: Any) -> None:
    from experience.models import Invitation
    from experience.selectors import token_hash

    Invitation.objects.create(
        kind=Invitation.Kind.FFT,
        patient=patient,
        referral_id=referral_id,
        phone="+447700900123",
        consent_recorded_by=user,
        consent_recorded_at=now,
        due_at=now,
        sent_at=now,
        status="delivered",
        token_hash=token_hash(w.feedback_token),
        expires_at=now + timedelta(days=14),
    )


def world_build() -> World:
    """Teams A, B and the coordinators', patients, a call, referrals, a carer, a call-back and a
    closure; one user per column, each signed in (a session) and holding an API token."""
    from django.contrib.auth.models import Group

    from calls.models import CallBack, CallFollowUp
    from patients.models import DeathRecord, JustInCaseMedicine, PossibleMatch, RelatedPerson
    from referrals.models import GpLetter
    from referrals.transitions import ReferralStatus
    from services.models import Closure, Organisation, OrganisationMembership, TeamMembership
    from spoc.accounts.models import ApiToken, PartnerSystem
    from spoc.accounts.roles import roles_sync
    from spoc.accounts.tokens import hash_key
    from tests.factories import UserFactory
    from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory
    from tests.services.directory_fixtures import every_day, make_service

    roles_sync()
    now = timezone.now()
    w = World()
    service_a = make_service("Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20))
    team_a = service_a.team
    team_b = make_service("Hospice at Home", "HOSPICE_AT_HOME", hours=every_day(8, 22)).team
    spoc_team = make_service("SPOC coordinators", "SPOC", open_24_7=True).team
    w.team_a, w.team_b, w.spoc_team, w.service_a = team_a.pk, team_b.pk, spoc_team.pk, service_a.pk
    w.organisation_a = service_a.organisation_id
    w.closure = Closure.objects.create(
        service=service_a,
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=4),
        reason="Staff training",
    ).pk

    users: dict[str, Any] = {}
    for column, role in COLUMNS.items():
        if role is None:
            continue
        user: Any = UserFactory(
            username=f"matrix-{column}",
            is_clinician=column in ("nurse", "nurse_b", "lead", "coord"),
            is_staff=column == "sysadmin",
        )
        user.groups.add(Group.objects.get(name=role))
        users[column] = user
    lead, member = TeamMembership.Role.LEAD, TeamMembership.Role.MEMBER
    TeamMembership.objects.create(user=users["nurse"], team=team_a, role=member)
    TeamMembership.objects.create(user=users["lead"], team=team_a, role=lead)
    TeamMembership.objects.create(user=users["nurse_b"], team=team_b, role=member)
    TeamMembership.objects.create(user=users["coord"], team=spoc_team, role=member)
    OrganisationMembership.objects.create(
        user=users["manager"], organisation=service_a.organisation
    )

    patient: Any = PatientFactory()
    call: Any = CallFactory(patient=patient, handled_by=users["handler"], needs_senior_review=True)
    clocks = {
        "accept_by": now + timedelta(minutes=15),
        "contact_by": now + timedelta(hours=2),
        "accept_clock_started_at": now,
    }
    referral: Any = ReferralFactory(call=call, team=team_a, status=ReferralStatus.QUEUED, **clocks)
    claimed: Any = ReferralFactory(
        call=call,
        team=team_a,
        status=ReferralStatus.ACCEPTED,
        owner=users["nurse"],
        accepted_at=now,
        **clocks,
    )
    patient_b: Any = PatientFactory()
    ReferralFactory(call__patient=patient_b, team=team_b, status=ReferralStatus.QUEUED, **clocks)
    dead: Any = PatientFactory()
    dead_referral: Any = ReferralFactory(
        call__patient=dead, team=team_a, status=ReferralStatus.QUEUED, **clocks
    )
    record = DeathRecord.objects.create(
        patient=dead,
        died_at=now - timedelta(hours=5),
        place="21",
        expected=True,
        recorded_at=now - timedelta(hours=4),
        recorded_by=users["nurse"],
    )
    w.dead_referral = dead_referral.pk
    w.gp_letter = GpLetter.objects.create(
        kind=GpLetter.Kind.DEATH,
        patient=dead,
        practice=Organisation.objects.create(
            ods_code="Y09999", name="Matrix Surgery", org_type="GP_PRACTICE"
        ),
        death=record,
        letter_id=uuid.uuid4(),
        created_at=now,
        pdf=b"%PDF-1.4 matrix",
    ).pk
    person = RelatedPerson.objects.create(
        patient=patient,
        given_name="Eira",
        family_name="Jones",
        relationship="CHILD",
        consent_to_contact=True,
        created_at=now,
    )
    w.medicine = JustInCaseMedicine.objects.create(
        patient=patient,
        name="Midazolam 10 mg/2 ml injection",
        dose_route="2.5 mg subcutaneously, hourly if needed",
        quantity="10 ampoules",
        kept_at="Kitchen drawer",
        prescribed_by="Dr Matrix",
        prescribed_date=now.date(),
        recorded_at=now,
        recorded_by=users["coord"],
    ).pk
    call_back = CallBack.objects.create(call=call, patient=patient, due_at=now + timedelta(hours=1))
    w.follow_up = CallFollowUp.objects.create(call=call, due_at=now + timedelta(hours=1)).pk
    w.patient, w.patient_b, w.dead_patient, w.person = patient.pk, patient_b.pk, dead.pk, person.pk
    w.call, w.call_back, w.referral, w.claimed = call.pk, call_back.pk, referral.pk, claimed.pk
    partner = PartnerSystem.objects.create(
        name="NHS 111 North West", ods_code="NLO01", client_id="matrix-partner", created_at=now
    )
    from_message: Any = PatientFactory(nhs_number=None, created_by=None, created_by_partner=partner)
    w.possible_match = PossibleMatch.objects.create(
        patient=from_message, candidate=patient, patient_label=str(from_message), found_at=now
    ).pk
    w.family_name = patient.family_name
    _feedback_sent(w, patient=patient, referral_id=claimed.pk, user=users["nurse"], now=now)
    w.shift_pattern, w.shift_change, w.rota_day = _rota_build(team_a, users["nurse"], now)

    for column, user in users.items():
        client = Client()
        client.force_login(user)
        w.sessions[column] = client.cookies[settings.SESSION_COOKIE_NAME].value
        key = f"matrix-token-{column}"
        ApiToken.objects.create(
            user=user, key_hash=hash_key(key), created_at=now, expires_at=now + timedelta(hours=12)
        )
        w.tokens[column] = key
        w.users[column] = user.pk
    return w


def _rota_build(team: Any, nurse: Any, now: Any) -> tuple[int, int, str]:
    from datetime import time

    from rota.models import ShiftChange, ShiftPattern

    tomorrow = timezone.localdate(now) + timedelta(days=1)
    shift = ShiftPattern.objects.create(
        team=team,
        user=nurse,
        role="SPECIALIST_NURSE",
        phone="+447700900123",
        weekdays=127,
        start_time=time(8),
        end_time=time(20),
        valid_from_date=tomorrow - timedelta(days=7),
        created_by=nurse,
        created_at=now,
    )
    extra = ShiftChange.objects.create(
        team=team,
        kind=ShiftChange.Kind.EXTRA,
        user=nurse,
        role="DOCTOR",
        phone="+447700900124",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=4),
        created_by=nurse,
        created_at=now,
    )
    return shift.pk, extra.pk, tomorrow.isoformat()


def client_for(world: World, column: str, *, token: bool) -> Client:
    """A fresh client for ``column``: no credentials for anonymous; else the column's API token
    (``token``) or its session cookie. Fresh each time, so a sign-out in one cell cannot reach
    the next."""
    if column == ANON:
        return Client()
    if token:
        return Client(HTTP_AUTHORIZATION=f"Token {world.tokens[column]}")
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[column]
    return client


# --- The URL resolver ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    route: str
    name: str  # namespaced ("patients:detail"); the route itself when the pattern has no name


def url_patterns() -> Iterator[Pattern]:
    """Every pattern the hub answers, walking included URLconfs recursively."""

    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[Pattern]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                yield Pattern(route, f"{namespace}{entry.name}" if entry.name else route)

    yield from walk(get_resolver().url_patterns, "", "")


# --- Did the request write? ---------------------------------------------------------------------

# Rows a refused request may still write: its session (the idle-timeout clock), the access log and
# django-axes' records of sign-in attempts. Anything else is a change of state.
WRITES_ALLOWED = [
    "django_session",
    "audit_accesslog",
    "axes_accessattempt",
    "axes_accessattemptexpiration",
    "axes_accesslog",
    "axes_accessfailurelog",
]


def rows_written() -> dict[str, int]:
    """Rows inserted, updated or deleted per table so far in this transaction (PostgreSQL's
    pg_stat_xact_user_tables counts them per transaction, rolled-back savepoints included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
            "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 AND relname <> ALL(%s)",
            [WRITES_ALLOWED],
        )
        return dict(cursor.fetchall())
