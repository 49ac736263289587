"""The main pages of each role, on the demo area's fictional data, for the page-wide browser
checks (tests/browser/test_accessibility.py, tests/browser/test_small_screens.py)."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from django.db.models import Count

from calls.models import Call
from patients.models import RelatedPerson
from referrals.models import Referral
from referrals.selectors import patients_visible_to, referrals_visible_to, team_ids_of
from referrals.transitions import ReferralStatus
from services.models import Service
from tests.browser.steps import sign_in_new_page

DEMO_PASSWORD = "browser-pages-pass"
# Enough for every list to have rows (queued, claimed, completed referrals, calls, call-backs, a
# death), few enough to seed in seconds.
DEMO_PATIENTS = 30

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 812}

ROLES = ("handler", "nurse", "lead", "coordinator", "manager", "diradmin", "auditor", "admin")


def seed_demo_area(settings: Any) -> None:
    """The demo area (devtools/management/commands/seed_demo.py): a user per role, the service
    directory, patients with their calls, referrals, care plans and deaths."""
    settings.DEMO_PASSWORD = DEMO_PASSWORD
    call_command("seed_demo", "--patients", str(DEMO_PATIENTS), stdout=io.StringIO())
    _every_badge()
    _follow_ups_due()


def _follow_ups_due() -> None:
    """A 999 advice overdue for its follow-up and a warm transfer not yet due, so the board and
    the follow-ups list show both kinds of row."""
    from datetime import timedelta

    from django.utils import timezone

    from calls.models import CallFollowUp
    from tests.referrals.factories import CallFactory

    now = timezone.now()
    for disposition, due in (("ADVISED_999", -20), ("WARM_TRANSFER", 40)):
        call = CallFactory(disposition=disposition, received_at=now - timedelta(minutes=70))
        CallFollowUp.objects.create(call=call, due_at=now + timedelta(minutes=due))


def _every_badge() -> None:
    """Referrals in the nurse's team that show every priority, every queue status and every clock
    badge (breached, at risk, accept overdue, urgent and not claimed), so that each badge's colour
    is checked on each row colour it can have."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.referrals.factories import PatientFactory, ReferralFactory

    nurse = _user("nurse")
    team_id = team_ids_of(nurse)[0]
    now = timezone.now()
    past, soon, later = (
        now - timedelta(minutes=20),
        now + timedelta(minutes=30),
        now + timedelta(hours=4),
    )
    waiting = [  # priority, accept by, contact by, at risk at
        ("P1", past, past, past),
        ("P2", soon, later, past),
        ("P3", past, later, None),
        ("P4", later, later, None),
        ("P5", later, later, None),
    ]
    for n, (priority, accept_by, contact_by, at_risk_at) in enumerate(waiting):
        ReferralFactory(
            team_id=team_id,
            priority=priority,
            status=ReferralStatus.QUEUED,
            patient=PatientFactory(family_name=f"Kowalczyk-{n}", postcode="L9 7AL"),
            accept_by=accept_by,
            contact_by=contact_by,
            at_risk_at=at_risk_at,
        )
    mine = [
        (ReferralStatus.ACCEPTED, "P1", past),
        (ReferralStatus.IN_PROGRESS, "P2", later),
        (ReferralStatus.ON_HOLD, "P3", later),
    ]
    for n, (status, priority, contact_by) in enumerate(mine):
        ReferralFactory(
            team_id=team_id,
            priority=priority,
            status=status,
            owner=nurse,
            accepted_at=now,
            patient=PatientFactory(family_name=f"Okonkwo-{n}", postcode="L9 7AL"),
            accept_by=past,
            contact_by=contact_by,
            first_contact_at=now if status != ReferralStatus.ACCEPTED else None,
            hold_reason="Patient in hospital" if status == ReferralStatus.ON_HOLD else "",
        )


def sign_in(browser: Any, live_url: str, username: str, *, viewport: dict[str, int]) -> Any:
    """A demo user signed in on a page of its own at this size."""
    return sign_in_new_page(browser, live_url, username, password=DEMO_PASSWORD, viewport=viewport)


def _user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def team_referral_path(username: str) -> str:
    """A referral of the user's team that is still open (its page offers the actions)."""
    user = _user(username)
    referral = (
        referrals_visible_to(user)
        .filter(team_id__in=team_ids_of(user))
        .exclude(status__in=[ReferralStatus.COMPLETED, ReferralStatus.CANCELLED])
        .order_by("pk")
        .first()
        or referrals_visible_to(user).order_by("pk").first()
    )
    assert referral is not None, f"{username} has no referral to open"
    return f"/queue/referrals/{referral.pk}/"


def patient_path(username: str) -> str:
    """A patient of the user's care with referrals (and so a timeline)."""
    user = _user(username)
    with_referrals = Referral.objects.values("patient_id")
    patient = (
        patients_visible_to(user)
        .filter(pk__in=with_referrals, died_at__isnull=True)
        .order_by("pk")
        .first()
        or patients_visible_to(user).order_by("pk").first()
    )
    assert patient is not None, f"{username} has no patient to open"
    return f"/patients/{patient.pk}/"


def carer_assessments_path(username: str) -> str:
    """The needs assessments of a carer of a patient of the user's care, one assessed if any."""
    carers = (
        RelatedPerson.objects.filter(patient__in=patients_visible_to(_user(username)))
        .annotate(assessed=Count("assessments"))
        .order_by("-assessed", "pk")
    )
    carer = carers.first()
    assert carer is not None, f"{username} sees no patient with a carer"
    return f"/patients/{carer.patient_id}/people/{carer.pk}/assessments/"


def patient_search_path(username: str) -> str:
    """A search that finds patients (by a family name of the user's care)."""
    patient = patients_visible_to(_user(username)).order_by("pk").first()
    return f"/patients/?q={patient.family_name if patient is not None else 'Smith'}"


def deceased_patient_path(username: str) -> str:
    patient = (
        patients_visible_to(_user(username)).filter(died_at__isnull=False).order_by("pk").first()
    )
    assert patient is not None, f"{username} sees no patient who has died"
    return f"/patients/{patient.pk}/"


def call_path(username: str) -> str:
    call = (
        Call.objects.filter(handled_by=_user(username)).order_by("-pk").first()
        or Call.objects.order_by("-pk").first()
    )
    assert call is not None
    return f"/calls/{call.pk}/"


def service_path() -> str:
    service = Service.objects.filter(team__isnull=False).order_by("pk").first()
    assert service is not None
    return f"/directory/services/{service.pk}/"


def rota_path(username: str) -> str:
    """The rota page of the user's first team."""
    return f"/rota/teams/{team_ids_of(_user(username))[0]}/"


def rota_edit_pages(username: str) -> list[tuple[str, str]]:
    """The forms that change the rota of the user's first team (a lead's or a coordinator's)."""
    from django.utils import timezone

    from rota.models import ShiftPattern

    team = rota_path(username)
    shift = ShiftPattern.objects.filter(team_id=team_ids_of(_user(username))[0]).order_by("pk")
    first = shift.first()
    assert first is not None, f"{username}'s team has no rota"
    return [
        ("rota-pattern-add", f"{team}patterns/add/"),
        ("rota-extra-add", f"{team}shifts/add/"),
        ("rota-import", f"{team}import/"),
        ("rota-pattern-edit", f"/rota/patterns/{first.pk}/edit/"),
        (
            "rota-cancel",
            f"/rota/patterns/{first.pk}/cancel/?date={timezone.localdate().isoformat()}",
        ),
    ]


def main_pages(username: str) -> list[tuple[str, str]]:
    """(name, path) of every main page of the role of ``username``."""
    everyone = [
        ("home", "/"),
        ("directory-search", "/directory/?need=URGENT_HOME_VISIT&postcode=L9+7AL&priority=P2"),
        ("service-page", service_path()),
        ("mfa-enrol", "/accounts/mfa/enrol/"),
    ]
    if username == "handler":
        return [
            *everyone,
            ("call-screen", "/calls/new/"),
            ("patient-search", patient_search_path(username)),
            ("patient-page", patient_path(username)),
            ("patient-deceased", deceased_patient_path(username)),
            ("my-calls", "/calls/"),
            ("call-page", call_path(username)),
            ("call-backs", "/calls/call-backs/"),
            ("missed-calls", "/calls/missed/"),
            # The forms a handler fills in about a patient.
            ("patient-register", "/patients/new/"),
            ("patient-edit", patient_path(username) + "edit/"),
            ("carer-add", patient_path(username) + "people/new/"),
            ("password-change", "/accounts/password/"),
            ("rota-index", "/rota/"),
        ]
    if username == "nurse":
        return [
            *everyone,
            ("team-queue", "/queue/"),
            ("caseload", "/queue/caseload/"),
            ("referral-page", team_referral_path(username)),
            ("patient-search", patient_search_path(username)),
            ("patient-page", patient_path(username)),
            # The clinical forms: the care plan and a death.
            ("care-plan", patient_path(username) + "care-plan/"),
            ("jic-medicines", patient_path(username) + "medicines/"),
            ("death-record", patient_path(username) + "death/"),
            # A carer's needs assessments, and the form to record one.
            ("carer-assessments", carer_assessments_path(username)),
            ("carer-assessment-new", carer_assessments_path(username) + "new/"),
            ("queue-print", f"/queue/teams/{team_ids_of(_user(username))[0]}/print/"),
            ("rota-team", rota_path(username)),
        ]
    if username == "lead":
        return [
            *everyone,
            ("team-queue", "/queue/"),
            ("caseload", "/queue/caseload/"),
            ("referral-page", team_referral_path(username)),
            ("patient-page", patient_path(username)),
            ("dashboard", "/dashboards/"),
            ("rota-team", rota_path(username)),
            *rota_edit_pages(username),
        ]
    if username == "coordinator":
        return [
            *everyone,
            ("call-screen", "/calls/new/"),
            ("board", "/board/"),
            ("senior-reviews", "/calls/reviews/"),
            ("follow-ups", "/calls/follow-ups/"),
            ("team-queue", "/queue/"),
            ("referral-page", team_referral_path(username)),
            ("patient-page", patient_path(username)),
            ("call-backs", "/calls/call-backs/"),
            ("missed-calls", "/calls/missed/"),
            ("my-calls", "/calls/"),
            ("rota-index", "/rota/"),
            ("rota-team", rota_path(username)),
        ]
    if username == "manager":
        return [
            *everyone,
            ("dashboard", "/dashboards/"),
            ("breaches", "/dashboards/breaches/"),
            ("definitions", "/dashboards/definitions/"),
            ("patient-search", patient_search_path(username)),
            ("rota-index", "/rota/"),
        ]
    if username == "diradmin":
        return [
            *everyone,
            ("service-list", "/directory/services/"),
            ("service-edit", service_path() + "edit/"),
        ]
    if username == "auditor":
        return [*everyone, ("access-log", "/audit/access-log/")]
    return everyone
