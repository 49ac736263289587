"""seed_demo: the demo area, staff and patients, idempotent; --scale adds bulk benchmark data.

The full demo seed (300 patients through the real services) is the slow test here, about half
a minute: it runs once, and the idempotency check reruns it in the same test rather than seeding
twice more.
"""

import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone

from calls.models import Call, CallBack, CallFollowUp
from devtools.demo import scale
from devtools.demo.deprivation import SYNTHETIC_FILE, synthetic_deciles
from devtools.demo.patients import DEMO_NHS_RESERVED, plan_patients
from devtools.demo.users import DEMO_USERS
from devtools.nhs_numbers import SYNTHETIC_CAPACITY, synthetic_nhs_number
from experience.models import Answer, Invitation
from patients.codes import CprDecision, NhsNumberStatus
from patients.models import (
    Assessment,
    CarePlan,
    CarerAssessment,
    DeathCorrection,
    DeathRecord,
    JustInCaseMedicine,
    Patient,
    RelatedPerson,
)
from patients.nhs_number import is_valid_nhs_number
from referrals.models import Escalation, Intervention, Referral, ReferralEvent
from referrals.services.clocks import at_risk_moment
from referrals.services.deaths import preferred_place_achieved
from referrals.services.escalation import escalations_run
from services.codes import Need
from services.models import (
    CapacityStatus,
    CoverageArea,
    Organisation,
    PostcodeDeprivation,
    Service,
    Site,
    Team,
    TeamMembership,
)
from spoc.accounts.models import PartnerSecret, PartnerSystem, User
from spoc.audit.models import AccessLog
from spoc.dashboards.selectors import dashboard_figures, dashboard_scope
from spoc.dashboards.services import summaries_refresh
from tests.clock import WEEKDAY_MORNING

pytestmark = pytest.mark.django_db

COUNTED = (
    User,
    PostcodeDeprivation,
    PartnerSystem,
    PartnerSecret,
    Organisation,
    Site,
    Service,
    Team,
    CoverageArea,
    CapacityStatus,
    Patient,
    RelatedPerson,
    CarerAssessment,
    CarePlan,
    Assessment,
    Call,
    CallBack,
    Referral,
    ReferralEvent,
    AccessLog,
    DeathRecord,
    Intervention,
    Escalation,
    Invitation,
    Answer,
)
FIRST_TEST_NUMBER = "9990000000"
LAST_TEST_NUMBER = "9999999999"


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def assert_nhs_numbers_synthetic(patients):
    numbers = [n for n in patients.values_list("nhs_number", flat=True) if n is not None]
    assert numbers, "no NHS numbers at all"
    assert len(numbers) == len(set(numbers))
    assert all(FIRST_TEST_NUMBER <= n <= LAST_TEST_NUMBER for n in numbers)
    assert all(is_valid_nhs_number(n) for n in numbers)


def assert_referral_constraints_hold():
    assert not Referral.objects.filter(
        status__in=["QUEUED", "ACCEPTED", "IN_PROGRESS"], team__isnull=True
    ).exists()
    assert not Referral.objects.filter(
        status__in=["ACCEPTED", "IN_PROGRESS"], owner__isnull=True
    ).exists()
    assert not Referral.objects.filter(status="AWAITING_ROUTING").exists()
    # Every referral was created and then routed (or sent to the coordinators), once more after
    # each decline.
    missing = Referral.objects.annotate(
        created=Count("events", filter=Q(events__kind="CREATED"), distinct=True),
        routed=Count("events", filter=Q(events__kind__in=["ROUTED", "UNROUTABLE"]), distinct=True),
        declined=Count("events", filter=Q(events__kind="DECLINED"), distinct=True),
    ).exclude(created=1, routed=F("declined") + 1)
    assert not missing.exists()


def assert_lifecycle_history(*, now):
    """Deaths, holds, breaches, interventions, declines and past escalations, as a real hub's."""
    died = Patient.objects.filter(died_at__isnull=False)
    deaths = DeathRecord.objects.all()
    assert deaths.count() == died.count()
    assert not died.exclude(deaths__died_at=F("died_at")).exists()
    # Some deaths' places were corrected afterwards, each correction keeping the place before.
    corrected = DeathCorrection.objects.filter(kind=DeathCorrection.Kind.CORRECTED)
    assert corrected.exists()
    assert all(c.before["place"] == "10" and c.after["place"] == "21" for c in corrected)
    assert {True, False, None} <= set(deaths.values_list("preferred_place_achieved", flat=True))
    closed_by_death = Referral.objects.filter(outcome="PATIENT_DIED")
    assert closed_by_death.exists()
    assert not closed_by_death.filter(closed_at__isnull=True).exists()
    assert (
        not Referral.objects.filter(
            patient__in=died, status__in=["QUEUED", "ACCEPTED", "IN_PROGRESS", "ON_HOLD"]
        )
        .exclude(need__in=["BEREAVEMENT_SUPPORT", "VERIFICATION_OF_DEATH"])
        .exists()
    )
    bereavement = Referral.objects.filter(need="BEREAVEMENT_SUPPORT", for_person__isnull=False)
    assert bereavement.exists()
    for row in bereavement.select_related("patient", "for_person"):
        assert (
            row.for_person is not None
            and row.for_person.consent_to_contact
            and row.priority == "P5"
        )
        assert row.patient.died_at is not None
        assert row.contact_not_before == row.patient.died_at + timedelta(days=14)

    # Carers who consent have carer-support referrals of their own, routed by their postcode,
    # and needs assessments whose priority the call took (docs/routing.md, docs/triage.md).
    carers_own = Referral.objects.filter(need="CARER_SUPPORT", for_person__isnull=False)
    assert carers_own.exists()
    assert not carers_own.filter(
        Q(for_person_consent_at__isnull=True) | Q(for_person__consent_to_contact=False)
    ).exists()
    assessments = CarerAssessment.objects.all()
    assert assessments.exists()
    assert {"P3", "P4", "P5"} & set(assessments.values_list("suggested_priority", flat=True))
    assert Call.objects.filter(suggestion_reasons__icontains="assessment of").exists()

    held = Referral.objects.filter(status="ON_HOLD")
    assert held.exists() and not held.filter(hold_reason="").exists()
    assert Referral.objects.filter(
        status__in=["QUEUED", "ACCEPTED"], contact_by__lt=now, first_contact_at__isnull=True
    ).exists(), "no breached referral"
    avoided = Intervention.objects.filter(admission_avoided=True, bed_days_saved__gte=1)
    assert avoided.exists() and Intervention.objects.filter(admission_avoided=False).exists()
    declined = Referral.objects.exclude(declined_service_ids=[])
    assert declined.exists()
    assert not declined.exclude(events__kind="DECLINED").exists()
    assert not declined.filter(status="AWAITING_ROUTING").exists()

    # Past milestones are recorded, unnotified: the first escalation run has nothing to send.
    escalations = Escalation.objects.all()
    assert {"ACCEPT_OVERDUE", "CONTACT_AT_RISK", "CONTACT_BREACHED"} <= set(
        escalations.values_list("milestone", flat=True)
    )
    assert not escalations.filter(notified_at__isnull=False).exists()
    mail.outbox.clear()
    run = escalations_run(now=now)
    assert sum(run.recorded.values()) == 0 and mail.outbox == []

    nurse_teams = set(
        TeamMembership.objects.filter(user__username="nurse").values_list("team_id", flat=True)
    )
    lead_teams = set(
        TeamMembership.objects.filter(user__username="lead").values_list("team_id", flat=True)
    )
    assert nurse_teams & lead_teams


# At a fixed moment: the demo's history is built back from "now", so the states it reaches (a
# referral still on hold, a follow-up still to confirm) are the same on every run.
@time_machine.travel(WEEKDAY_MORNING, tick=True)
def test_seed_demo_builds_area_staff_and_patients_and_a_second_run_changes_nothing(
    settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    settings.BEREAVED_SURVEY_AFTER_DAYS = (
        28  # as the local settings: the demo's history is 3 months
    )
    # The history is checked as of the moment seeding began: on a busy machine seeding takes
    # minutes, and a clock milestone passing meanwhile is not the demo's to have recorded.
    seeded_at = timezone.now()
    output = seed()

    # It says what it is doing while it works, patients included.
    assert "Demo data: users and roles..." in output and "patients 300 of 300" in output
    assert set(User.objects.values_list("username", flat=True)) >= {u.username for u in DEMO_USERS}
    assert Team.objects.count() == Service.objects.count() == 20
    assert CoverageArea.objects.values("area").distinct().count() == 30

    patients = Patient.objects.all()
    assert patients.count() == 300
    assert_nhs_numbers_synthetic(patients)
    assert patients.filter(
        nhs_number__isnull=True, nhs_number_status=NhsNumberStatus.TRACE_REQUIRED
    ).exists()
    assert patients.filter(location="HOSPITAL", location_site__code__in=["ZZB01", "ZZB02"]).exists()
    assert patients.filter(died_at__isnull=False).count() >= 20
    names = set(patients.values_list("family_name", flat=True))
    assert {"O'Brien", "Nguyễn", "Okafor", "Patel"} & names

    plans = CarePlan.objects.filter(is_current=True)
    assert plans.count() >= 250
    with_ppd = plans.exclude(ppd_first="").count()
    assert 0.65 <= with_ppd / plans.count() <= 0.85
    dnacpr = plans.filter(cpr_decision=CprDecision.NOT_FOR_CPR)
    assert dnacpr.exists()
    assert not dnacpr.filter(
        Q(cpr_decision_date__isnull=True) | Q(cpr_review_date__isnull=True)
    ).exists()
    assert set(dnacpr.values_list("cpr_recorded_by__username", flat=True)) <= {
        "lead",
        "coordinator",
    }
    today = timezone.localdate()
    assert dnacpr.filter(cpr_review_date__lt=today).exists(), "no CPR decision overdue for review"
    assert plans.filter(review_date__lt=today).exists(), "no care plan overdue for review"
    assert RelatedPerson.objects.filter(is_main_carer=True).count() >= 150

    calls = Call.objects.all()
    assert calls.count() >= 400
    assert not calls.filter(triage__isnull=True).exists()
    oldest = calls.earliest("received_at").received_at
    assert (timezone.now() - oldest).days >= 60
    # Today's 999 advice and warm transfers: some still to confirm, the older ones confirmed.
    follow_ups = CallFollowUp.objects.all()
    assert follow_ups.filter(status="PENDING").exists()
    assert follow_ups.filter(status="DONE", call__disposition="ADVISED_999").exists()
    statuses = set(Referral.objects.values_list("status", flat=True))
    assert {"QUEUED", "ACCEPTED", "IN_PROGRESS", "ON_HOLD", "COMPLETED", "CANCELLED"} <= statuses
    # Just-in-case medicines are listed wherever the current care plan says they were issued.
    issued = CarePlan.objects.filter(is_current=True, anticipatory_meds_issued=True)
    assert issued.exists()
    assert set(issued.values_list("patient_id", flat=True)) <= set(
        JustInCaseMedicine.objects.values_list("patient_id", flat=True)
    )
    # Every need is in the demo, the care network's included (docs/routing.md "The care network").
    assert set(Referral.objects.values_list("need", flat=True)) == set(Need.values)
    assert_referral_constraints_hold()
    assert ReferralEvent.objects.filter(
        kind="CLAIMED", actor__username__in=["nurse", "lead", "coordinator"]
    ).exists()
    assert "Patients: 300 created" in output
    assert_lifecycle_history(now=seeded_at)
    assert_equity_and_outcomes_shown()
    # Every demo patient is registered with a GP practice of the directory.
    assert not patients.filter(registered_practice__isnull=True).exists()
    # The fake NHS 111 provider is a partner system, its credentials where fake_partner reads them.
    [provider] = PartnerSystem.objects.all()
    credentials = json.loads((tmp_path / "fake_partner.json").read_text())
    assert credentials["client_id"] == provider.client_id
    assert provider.endpoint == "http://127.0.0.1:8070/111/fhir/R4/$process-message"

    assert_feedback_shown()

    before = counts()
    again = seed()
    assert counts() == before
    assert "Patients: 0 created, 300 already there" in again


def assert_feedback_shown() -> None:
    """Completed referrals with consents, texts and answers, comments among them; surveys of
    deaths, some answered, the rest waiting for their day (devtools/demo/feedback.py)."""
    tests = Answer.objects.filter(kind="FFT")
    assert tests.count() >= 20
    assert len(set(tests.values_list("rating", flat=True))) >= 4
    assert tests.exclude(why="").exists()
    assert not Invitation.objects.filter(kind="FFT", referral__status__in=["QUEUED"]).exists()
    assert Answer.objects.filter(kind="BEREAVED").exists()
    assert Invitation.objects.filter(kind="BEREAVED", sent_at__isnull=True).exists()
    # Carers have a mobile number, so the Complete form offers them a text.
    assert RelatedPerson.objects.filter(phone_alt__startswith="+447700900").count() >= 150
    for answer in Answer.objects.select_related("invitation"):
        assert answer.received_at == answer.invitation.answered_at
        assert answer.invitation.sent_at is not None
        assert answer.invitation.sent_at <= answer.received_at <= timezone.now()


def assert_equity_and_outcomes_shown():
    """The demo gives the equity tables and the death measures something to show: several
    ethnic categories and diagnosis groups, deciles for most postcodes from the synthetic file,
    deaths with and without a preference, and places of care."""
    patients = Patient.objects.all()
    assert len(set(patients.values_list("ethnic_category", flat=True))) >= 6
    assert patients.filter(ethnic_category__in=["Z", "99"]).exists()
    assert len(set(patients.values_list("diagnosis_group", flat=True))) >= 6
    with_decile = patients.filter(
        postcode__in=PostcodeDeprivation.objects.values("postcode")
    ).count()
    assert 0.85 <= with_decile / patients.count() < 1
    deaths = DeathRecord.objects.all()
    assert deaths.filter(preferred_place_first="").exists()
    assert deaths.filter(first_preference_achieved=True).exists()
    assert deaths.filter(first_preference_achieved=False).exists()
    assert deaths.exclude(last_days_place="").exists()
    assert deaths.filter(preferred_care_achieved__isnull=False).exists()
    assert Intervention.objects.filter(primary_care_contact_avoided=True).exists()
    summaries_refresh(horizon_seconds=0)
    manager = User.objects.get(username="manager")
    scope = dashboard_scope(
        user=manager,
        date_from=timezone.localdate() - timedelta(days=365),
        date_to=timezone.localdate(),
    )
    figures = dashboard_figures(scope=scope, now=timezone.now())
    tables = {table["key"]: table for table in figures["tables"]}
    for key in ("equity_ethnic_category", "equity_diagnosis_group", "equity_deprivation_decile"):
        assert len(tables[key]["rows"]) >= 3, key
    assert [row[0] for row in tables["deaths"]["rows"][:3]] == [
        "Died in first preferred place (benchmark)",
        "Died in first or second preferred place",
        "No preferred place recorded",
    ]


def test_demo_deprivation_file_covers_most_demo_postcodes_and_is_synthetic():
    text = SYNTHETIC_FILE.read_text(encoding="utf-8")
    assert text.startswith("postcode,decile\n") and "synthetic" in SYNTHETIC_FILE.name
    postcodes = {plan.postcode for plan in plan_patients(today=timezone.localdate())}
    assert synthetic_deciles(sorted(postcodes)) == {
        line.split(",")[0]: int(line.split(",")[1]) for line in text.splitlines()[1:]
    }, "the demo's postcodes changed: run devtools.demo.deprivation.write_synthetic_file"


def test_demo_plan_is_the_same_every_time():
    today = timezone.localdate()
    first, second = plan_patients(40, today=today), plan_patients(40, today=today)
    assert first == second
    assert all(p.nhs_number == synthetic_nhs_number(p.index) for p in first if p.nhs_number)


# The demo seeded the day before: the patients the second run plans are the same people, with
# dates of birth a day later (those without an NHS number among them are found all the same).
@time_machine.travel(WEEKDAY_MORNING, tick=True)
def test_scale_adds_patients_with_calls_and_referrals_that_satisfy_the_constraints():
    with time_machine.travel(WEEKDAY_MORNING - timedelta(days=1), tick=True):
        seed("--patients", "30")
    demo_numbers = set(Patient.objects.values_list("nhs_number", flat=True))
    demo_ids = list(Patient.objects.values_list("pk", flat=True))
    before = counts()

    output = seed("--patients", "30", "--scale", "500", "--chunk", "200")

    after = counts()
    assert after["Patient"] - before["Patient"] == 500
    added = Patient.objects.exclude(nhs_number__in=[n for n in demo_numbers if n])
    assert_nhs_numbers_synthetic(Patient.objects.all())
    assert all(
        n >= synthetic_nhs_number(DEMO_NHS_RESERVED)
        for n in added.values_list("nhs_number", flat=True)
        if n is not None
    )
    assert after["Call"] - before["Call"] >= 1_000
    assert after["Assessment"] - before["Assessment"] == after["Call"] - before["Call"]
    assert after["Referral"] - before["Referral"] >= 1_000
    assert_referral_constraints_hold()
    new_referrals = Referral.objects.filter(patient__in=added)
    assert {"QUEUED", "COMPLETED", "CANCELLED"} <= set(
        new_referrals.values_list("status", flat=True)
    )
    assert not new_referrals.exclude(call__patient_id=F("patient_id")).exists()
    assert not Call.objects.filter(patient__in=added, triage__patient_id__isnull=True).exists()
    assert "rows/s" in output
    generated = Patient.objects.exclude(pk__in=demo_ids)
    assert_scale_lifecycle_consistent(Referral.objects.filter(patient__in=generated), generated)
    # The load dropped and rebuilt the plain indexes: they are all back.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'patient_search_name_trgm'"
        )
        assert cursor.fetchone()[0] == 1


def assert_scale_lifecycle_consistent(referrals, patients):
    """The generated referrals' lives are the ones the services would have written."""
    claimed = referrals.filter(status__in=["ACCEPTED", "IN_PROGRESS", "COMPLETED"])
    assert {"ACCEPTED", "IN_PROGRESS", "COMPLETED"} <= set(claimed.values_list("status", flat=True))
    working = claimed.exclude(status="COMPLETED")
    assert not working.filter(Q(accepted_at__isnull=True) | Q(owner__isnull=True)).exists()
    # A completed referral was claimed and contacted, unless the death closed it earlier on.
    assert (
        not claimed.filter(status="COMPLETED")
        .exclude(outcome="PATIENT_DIED")
        .filter(
            Q(accepted_at__isnull=True) | Q(owner__isnull=True) | Q(first_contact_at__isnull=True)
        )
        .exists()
    )
    assert not referrals.filter(accepted_at__isnull=False, owner__isnull=True).exists()
    assert not referrals.filter(accepted_at__lt=F("routed_at")).exists()
    assert not referrals.filter(first_contact_at__lt=F("accepted_at")).exists()
    assert not referrals.filter(first_contact_at__isnull=False, accepted_at__isnull=True).exists()
    assert not referrals.filter(closed_at__lt=F("first_contact_at")).exists()
    now = timezone.now()
    assert not referrals.filter(
        Q(closed_at__gt=now) | Q(first_contact_at__gt=now) | Q(accepted_at__gt=now)
    ).exists()
    assert not referrals.filter(
        status__in=["COMPLETED", "CANCELLED", "ENTERED_IN_ERROR"], closed_at__isnull=True
    ).exists()
    assert not referrals.filter(
        status__in=["QUEUED", "ACCEPTED", "IN_PROGRESS"], closed_at__isnull=False
    ).exists()
    assert not referrals.filter(status="COMPLETED", outcome="").exists()
    # Mostly on time, some late: the dashboards' compliance has both.
    assert (
        referrals.filter(accepted_at__lte=F("accept_by")).count()
        > referrals.filter(accepted_at__gt=F("accept_by")).count()
        > 0
    )
    assert referrals.filter(first_contact_at__lte=F("contact_by")).exists()
    assert referrals.filter(first_contact_at__gt=F("contact_by")).exists()
    # The amber moment of every first-contact clock, as the clocks set it (to the second).
    clocks = referrals.values_list("clock_started_at", "contact_by", "at_risk_at")
    assert all(
        at_risk is not None and abs(at_risk - at_risk_moment(started, by)) < timedelta(seconds=1)
        for started, by, at_risk in clocks
    )

    # Every claim, first contact and completion has its event, at the same moment, by the owner.
    events = ReferralEvent.objects.filter(referral__in=referrals)
    claims = events.filter(kind="CLAIMED")
    assert claims.count() == referrals.filter(accepted_at__isnull=False).count()
    assert not claims.exclude(at=F("referral__accepted_at")).exists()
    assert not claims.exclude(actor_id=F("referral__owner_id")).exists()
    assert not claims.exclude(
        from_status="QUEUED", to_status="ACCEPTED", team_id=F("referral__team_id"), data={}
    ).exists()
    contacts = events.filter(kind="CONTACTED")
    assert contacts.count() == referrals.filter(first_contact_at__isnull=False).count()
    assert not contacts.exclude(
        at=F("referral__first_contact_at"), from_status="ACCEPTED", to_status="IN_PROGRESS"
    ).exists()
    for event in contacts.select_related("referral")[:50]:
        assert datetime.fromisoformat(event.data["contacted_at"]) == event.referral.first_contact_at
    completions = events.filter(kind="COMPLETED")
    assert completions.count() == referrals.filter(status="COMPLETED").count()
    assert not completions.exclude(at=F("referral__closed_at")).exists()
    death_ids = dict(DeathRecord.objects.values_list("patient_id", "pk"))
    for event in completions.select_related("referral"):
        assert event.data["outcome"] == event.referral.outcome
        if event.referral.outcome == "PATIENT_DIED":
            assert event.data["death_record_id"] == death_ids[event.referral.patient_id]
            assert event.from_status in ("QUEUED", "ACCEPTED", "IN_PROGRESS")
        else:
            assert (event.actor_id, event.from_status) == (event.referral.owner_id, "IN_PROGRESS")

    # Interventions only after first contact, with their events; about 30% avoided an admission.
    interventions = Intervention.objects.filter(referral__in=referrals)
    assert interventions.exists()
    assert not interventions.filter(
        Q(referral__first_contact_at__isnull=True) | Q(at__lt=F("referral__first_contact_at"))
    ).exists()
    assert not interventions.filter(referral__closed_at__lt=F("at")).exists()
    assert not interventions.exclude(by_id=F("referral__owner_id")).exists()
    avoided = interventions.filter(admission_avoided=True)
    assert 0.15 <= avoided.count() / interventions.count() <= 0.45
    assert not avoided.filter(
        Q(bed_days_saved__lt=1) | Q(bed_days_saved__gt=14) | Q(bed_days_saved__isnull=True)
    ).exists()
    assert not interventions.filter(admission_avoided=False, bed_days_saved__isnull=False).exists()
    assert events.filter(kind="INTERVENTION").count() == interventions.count()
    assert set(
        events.filter(kind="INTERVENTION").values_list("data__intervention_id", flat=True)
    ) == set(interventions.values_list("id", flat=True))

    # Deaths: one record per dead patient, the same moment, the rule for the preferred place,
    # nothing referred after it, nothing left open.
    deaths = DeathRecord.objects.filter(patient__in=patients)
    assert deaths.exists()
    assert deaths.count() == patients.filter(died_at__isnull=False).count()
    assert not deaths.exclude(died_at=F("patient__died_at")).exists()
    for record in deaths:
        assert record.preferred_place_achieved == preferred_place_achieved(
            place=record.place,
            first=record.preferred_place_first,
            second=record.preferred_place_second,
        )
    assert {True, False, None} <= set(deaths.values_list("preferred_place_achieved", flat=True))
    died = referrals.filter(patient__died_at__isnull=False)
    assert not died.filter(created_at__gte=F("patient__died_at")).exists()
    assert not died.filter(status__in=["QUEUED", "ACCEPTED", "IN_PROGRESS"]).exists()
    assert not died.filter(
        Q(accepted_at__gte=F("patient__died_at")) | Q(first_contact_at__gte=F("patient__died_at"))
    ).exists()
    assert died.filter(outcome="PATIENT_DIED").exists()


def test_scale_beyond_the_test_range_leaves_patients_without_a_number(monkeypatch):
    # Pretend the reserved range ends five numbers after the demo's: the rest must get none.
    monkeypatch.setattr(scale, "SYNTHETIC_CAPACITY", DEMO_NHS_RESERVED + 5)
    seed("--patients", "0", "--scale", "12")
    patients = Patient.objects.all()
    assert patients.filter(nhs_number__isnull=False).count() == 5
    assert (
        patients.filter(
            nhs_number__isnull=True, nhs_number_status=NhsNumberStatus.TRACE_REQUIRED
        ).count()
        == 7
    )
    assert_nhs_numbers_synthetic(patients)


def test_numbers_run_out_at_the_end_of_the_test_range():
    numbers = scale._numbers_from(SYNTHETIC_CAPACITY - 2, set())
    assert [next(numbers) for _ in range(4)] == [
        synthetic_nhs_number(SYNTHETIC_CAPACITY - 2),
        synthetic_nhs_number(SYNTHETIC_CAPACITY - 1),
        None,
        None,
    ]


def test_seed_demo_is_refused_when_demo_data_is_not_allowed(settings):
    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="never created under production settings"):
        seed("--scale", "10")
    assert not User.objects.exists()
    assert not Patient.objects.exists()
