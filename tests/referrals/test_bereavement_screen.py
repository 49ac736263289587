"""The bereavement risk screen (docs/triage.md, "Bereavement risk screen"): the rule, the screen
answered when a death is recorded (service, page, API), routing by its result (and through a real
worker), and a later screen from the referral's page re-prioritising and routing again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.codes import PlaceOfDeath
from referrals.bereavement import Answer, Question, screen_component, screen_priority
from referrals.models import BereavementScreen, Referral, ReferralEvent
from referrals.selectors.queue import referral_page
from referrals.services.bereavement import NotBereavementReferral, referral_bereavement_screen
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import Need, Priority, ServiceType, service_types_for
from spoc.accounts.roles import Role
from tests.clients import api_client
from tests.conftest import wait_for
from tests.referrals import test_deaths
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory, member
from tests.referrals.test_deaths import person
from tests.referrals.test_deaths import recorded as died
from tests.services.directory_fixtures import make_service

Q = Question
ALL_NO = {q.value: Answer.NO for q in Question}


def answers(*yes: str, unknown: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        **ALL_NO,
        **dict.fromkeys(yes, Answer.YES),
        **dict.fromkeys(unknown, Answer.UNKNOWN),
    }


# The fixtures of the death tests: a coordinator, a patient.
coordinator, patient = test_deaths.coordinator, test_deaths.patient
# Two risk factors: component 3.
AT_RISK = answers(Q.SUDDEN_OR_TRAUMATIC, Q.LITTLE_SUPPORT)


# --- The rule (pure) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "component", "priority"),
    [
        (ALL_NO, 1, Priority.P5),
        (answers(Q.CHILD_BEREAVED), 2, Priority.P5),
        (answers(unknown=(Q.MENTAL_HEALTH,)), 2, Priority.P5),
        (answers(Q.MENTAL_HEALTH, unknown=(Q.OTHER_LOSSES,)), 2, Priority.P5),
        (answers(Q.MENTAL_HEALTH, Q.DEPENDENT_RELATIONSHIP), 3, Priority.P4),
        ({q.value: Answer.YES for q in Question}, 3, Priority.P4),
    ],
)
def test_the_rule_gives_each_component_and_its_priority(given, component, priority):
    assert screen_component(given) == component
    assert screen_priority(component) == priority


def test_not_screened_is_routine_and_an_incomplete_screen_has_no_result():
    assert screen_priority(None) == Priority.P5
    incomplete = dict(ALL_NO)
    del incomplete[Q.CHILD_BEREAVED]
    with pytest.raises(ValueError):
        screen_component(incomplete)
    with pytest.raises(ValueError):
        screen_component({**ALL_NO, Q.MENTAL_HEALTH: "MAYBE"})


def test_component_3_prefers_specialist_services_then_ordinary_ones():
    assert service_types_for(Need.BEREAVEMENT_SUPPORT, bereavement_component=3) == (
        ServiceType.BEREAVEMENT_SPECIALIST,
        ServiceType.BEREAVEMENT,
    )
    for component in (None, 1, 2):
        assert service_types_for(Need.BEREAVEMENT_SUPPORT, bereavement_component=component) == (
            ServiceType.BEREAVEMENT,
        )
    assert service_types_for(Need.CARER_SUPPORT, bereavement_component=3) == (
        ServiceType.CARER_SUPPORT,
    )


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def directory(db):
    return {
        "ordinary": make_service(
            "Northbank Bereavement", ServiceType.BEREAVEMENT, open_24_7=True, areas=("L9",)
        ),
        "specialist": make_service(
            "Northbank Specialist Bereavement",
            ServiceType.BEREAVEMENT_SPECIALIST,
            open_24_7=True,
            areas=("L9",),
        ),
        "spoc": make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=()),
    }


def queued_bereavement(patient, team, *, status=ReferralStatus.QUEUED, owner=None):
    """An unscreened bereavement referral for a new relative, queued for ``team`` at P5."""
    relative = person(patient, given_name="Aoife")
    return ReferralFactory(
        call=CallFactory(patient=patient),
        patient=patient,
        for_person=relative,
        need=Need.BEREAVEMENT_SUPPORT,
        priority=Priority.P5,
        status=status,
        team=team,
        owner=owner,
    )


# --- Answered when the death is recorded --------------------------------------------------------


def test_a_screened_person_at_risk_goes_at_p4_to_specialist_support_and_the_other_is_not_screened(
    directory, coordinator, patient
):
    at_risk = person(patient, given_name="Siân")
    other = person(patient, given_name="Tomás")

    result = died(
        patient,
        coordinator,
        bereavement_for=[at_risk.pk, other.pk],
        bereavement_screens={at_risk.pk: AT_RISK},
    )
    for made in result.bereavement:
        referral_route(referral_id=made.pk)

    screened = Referral.objects.get(for_person=at_risk)
    assert screened.priority == Priority.P4
    assert screened.team == directory["specialist"].team
    screen = BereavementScreen.objects.get(referral=screened)
    assert (screen.component, screen.answered_by, screen.answers) == (3, coordinator, AT_RISK)
    assert screened.events.filter(kind=ReferralEvent.Kind.BEREAVEMENT_SCREENED).count() == 1

    unscreened = Referral.objects.get(for_person=other)
    assert unscreened.priority == Priority.P5
    assert unscreened.team == directory["ordinary"].team
    assert not BereavementScreen.objects.filter(referral=unscreened).exists()


def test_component_3_falls_back_on_ordinary_bereavement_support(directory, coordinator, patient):
    directory["specialist"].coverage_areas.all().delete()
    carer = person(patient)

    result = died(
        patient, coordinator, bereavement_for=[carer.pk], bereavement_screens={carer.pk: AT_RISK}
    )
    routed = referral_route(referral_id=result.bereavement[0].pk)

    assert routed is not None and routed.team == directory["ordinary"].team


def test_a_half_answered_screen_or_one_for_someone_not_ticked_saves_nothing(
    directory, coordinator, patient
):
    carer = person(patient)
    other = person(patient, given_name="Tomás")
    half = dict(AT_RISK)
    del half[Q.CHILD_BEREAVED]

    for screens in ({carer.pk: half}, {other.pk: AT_RISK}, {carer.pk: {"SHOE_SIZE": "YES"}}):
        with pytest.raises(ValidationError) as caught:
            died(patient, coordinator, bereavement_for=[carer.pk], bereavement_screens=screens)
        assert caught.value.message_dict["bereavement_screens"]
    assert not Referral.objects.exists() and not patient.deaths.exists()

    # Someone already supported keeps their one referral: their screen is answered on it.
    supported = queued_bereavement(patient, directory["ordinary"].team)
    relative = supported.for_person
    with pytest.raises(ValidationError) as caught:
        died(
            patient,
            coordinator,
            bereavement_for=[relative.pk],
            bereavement_screens={relative.pk: AT_RISK},
        )
    assert "already has an open bereavement support referral" in str(caught.value)
    assert not BereavementScreen.objects.exists() and not patient.deaths.exists()


def test_the_death_page_takes_a_screen_per_person_and_shows_not_screened(
    client, directory, coordinator, patient
):
    carer = person(patient, main_carer=True)
    url = reverse("patients:death", args=[patient.pk])
    client.force_login(coordinator)
    died_at = timezone.localtime(timezone.now() - timedelta(hours=1))
    form = {
        "died_date": died_at.strftime("%Y-%m-%d"),
        "died_time": died_at.strftime("%H:%M"),
        "place": PlaceOfDeath.OWN_HOME,
        "expected": "yes",
        "bereavement_for": [str(carer.pk)],
    }
    page = client.get(url)
    assert "Risk screen for O&#x27;BRIEN, Siân" in page.content.decode()

    half = {f"screen_{carer.pk}_sudden_or_traumatic": "YES"}
    refused = client.post(url, {**form, **half})
    assert refused.status_code == 200
    assert "For O&#x27;BRIEN, Siân: Answer every question" in refused.content.decode()
    assert not Referral.objects.exists()

    full = {f"screen_{carer.pk}_{q.lower()}": a for q, a in AT_RISK.items()}
    saved = client.post(url, {**form, **full})
    assert saved.status_code == 302
    referral = Referral.objects.get(for_person=carer)
    assert (referral.priority, referral.bereavement_screen.component) == (Priority.P4, 3)


def test_the_death_api_takes_the_same_answers_per_person(directory, coordinator, patient):
    carer = person(patient)
    other = person(patient, given_name="Tomás")
    url = f"/api/v1/patients/{patient.pk}/death/"
    body = {
        "died_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "place": PlaceOfDeath.OWN_HOME,
        "bereavement_for": [carer.pk, other.pk],
        "bereavement_screens": [
            {"for_person_id": carer.pk, **{q.lower(): a for q, a in AT_RISK.items()}}
        ],
    }

    bad = api_client(coordinator).post(
        url,
        {**body, "bereavement_screens": [{"for_person_id": carer.pk, "mental_health": "MAYBE"}]},
        format="json",
    )
    assert bad.status_code == 400 and "bereavement_screens" in bad.json()
    assert not Referral.objects.exists()

    response = api_client(coordinator).post(url, body, format="json")

    assert response.status_code == 201, response.json()
    made = {r["for_person_id"]: r for r in response.json()["bereavement_referrals"]}
    assert (made[carer.pk]["priority"], made[carer.pk]["risk_screen_component"]) == ("P4", 3)
    assert (made[other.pk]["priority"], made[other.pk]["risk_screen_component"]) == ("P5", None)


# --- Answered later, from the referral's page ---------------------------------------------------


def test_a_later_screen_reprioritises_and_routes_an_unclaimed_referral_again(
    client, directory, patient, make_user
):
    ordinary = directory["ordinary"].team
    clinician = member(make_user, ordinary, "counsellor1")
    referral = queued_bereavement(patient, ordinary)
    url = reverse("queue:referral", args=[referral.pk])
    client.force_login(clinician)
    page = client.get(url).content.decode()
    assert 'data-testid="screen-result">Not screened' in page
    assert "Component" not in page

    response = client.post(
        reverse("queue:bereavement-screen", args=[referral.pk]),
        {q.lower(): a for q, a in AT_RISK.items()},
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.priority, referral.status) == (Priority.P4, ReferralStatus.AWAITING_ROUTING)
    kinds = list(referral.events.values_list("kind", flat=True))
    assert kinds[-3:] == [
        ReferralEvent.Kind.BEREAVEMENT_SCREENED,
        ReferralEvent.Kind.REPRIORITISED,
        ReferralEvent.Kind.REROUTE_REQUESTED,
    ]
    routed = referral_route(referral_id=referral.pk)
    assert routed is not None and routed.team == directory["specialist"].team

    # A second screen replaces the first, which its event keeps.
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord2", is_clinician=True)
    referral_bereavement_screen(referral_id=referral.pk, user=coordinator, answers=ALL_NO)
    referral.refresh_from_db()
    screen = BereavementScreen.objects.get(referral=referral)
    assert (screen.component, screen.answered_by) == (1, coordinator)
    last = referral.events.filter(kind=ReferralEvent.Kind.BEREAVEMENT_SCREENED).last()
    assert last is not None and last.data["previous"]["component"] == 3
    assert last.data["previous"]["answers"] == AT_RISK
    assert (referral.priority, referral.status) == (Priority.P5, ReferralStatus.AWAITING_ROUTING)

    client.force_login(coordinator)
    shown = client.get(url).content.decode()
    assert "Component 1: information about bereavement and support" in shown
    assert "Replaces: component 3: specialist bereavement help" in shown


def test_a_claimed_referral_is_reprioritised_but_stays_with_its_team(directory, patient, make_user):
    ordinary = directory["ordinary"].team
    clinician = member(make_user, ordinary, "counsellor1")
    referral = queued_bereavement(
        patient, ordinary, status=ReferralStatus.ACCEPTED, owner=clinician
    )

    referral_bereavement_screen(referral_id=referral.pk, user=clinician, answers=AT_RISK)

    referral.refresh_from_db()
    assert (referral.priority, referral.status, referral.team) == (
        Priority.P4,
        ReferralStatus.ACCEPTED,
        ordinary,
    )


def test_a_priority_changed_by_hand_is_kept(directory, patient, make_user):
    ordinary = directory["ordinary"].team
    clinician = member(make_user, ordinary, "counsellor1")
    referral = queued_bereavement(patient, ordinary)
    Referral.objects.filter(pk=referral.pk).update(priority=Priority.P3)

    referral_bereavement_screen(referral_id=referral.pk, user=clinician, answers=AT_RISK)

    referral.refresh_from_db()
    assert referral.priority == Priority.P3
    assert referral.status == ReferralStatus.AWAITING_ROUTING


def test_bad_input_and_the_wrong_referral_save_nothing(client, directory, patient, make_user):
    ordinary = directory["ordinary"].team
    clinician = member(make_user, ordinary, "counsellor1")
    referral = queued_bereavement(patient, ordinary)
    client.force_login(clinician)

    missing = {q.lower(): a for q, a in AT_RISK.items() if q != Q.MENTAL_HEALTH}
    response = client.post(reverse("queue:bereavement-screen", args=[referral.pk]), missing)
    assert response.status_code == 400
    assert "Answer yes, no or not known" in response.content.decode()
    with pytest.raises(ValidationError):
        referral_bereavement_screen(
            referral_id=referral.pk, user=clinician, answers={**AT_RISK, Q.LITTLE_SUPPORT: "?"}
        )
    assert not BereavementScreen.objects.exists()
    referral.refresh_from_db()
    assert (referral.priority, referral.status) == (Priority.P5, ReferralStatus.QUEUED)

    other_need = ReferralFactory(
        call=CallFactory(patient=patient), status=ReferralStatus.QUEUED, team=ordinary
    )
    with pytest.raises(NotBereavementReferral):
        referral_bereavement_screen(referral_id=other_need.pk, user=clinician, answers=AT_RISK)
    said = client.post(
        reverse("queue:bereavement-screen", args=[other_need.pk]),
        {q.lower(): a for q, a in AT_RISK.items()},
        follow=True,
    )
    assert "Only a bereavement support referral has a risk screen" in said.content.decode()
    assert not BereavementScreen.objects.exists()


# --- Through the real broker and worker ---------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_component_3_screen_is_routed_to_specialist_support_by_a_real_worker(
    directory, coordinator, celery_worker_process
):
    patient = PatientFactory(postcode="L9 7AL")
    carer = person(patient)

    died(patient, coordinator, bereavement_for=[carer.pk], bereavement_screens={carer.pk: AT_RISK})

    referral = Referral.objects.get(need=Need.BEREAVEMENT_SUPPORT)
    wait_for(
        lambda: Referral.objects.filter(pk=referral.pk, status=ReferralStatus.QUEUED).exists(),
        timeout=30,
    )
    referral.refresh_from_db()
    assert referral.team == directory["specialist"].team
    assert referral.priority == Priority.P4
    routed = referral.events.get(kind=ReferralEvent.Kind.ROUTED)
    assert routed.data["service_name"] == "Northbank Specialist Bereavement"


def test_the_referral_page_carries_the_screen_of_a_bereavement_referral_only(
    directory, patient, make_user
):
    ordinary = directory["ordinary"].team
    counsellor = member(make_user, ordinary, "counsellor1")
    screened = queued_bereavement(patient, ordinary)
    referral_bereavement_screen(referral_id=screened.pk, user=counsellor, answers=ALL_NO)
    unscreened = queued_bereavement(patient, ordinary)
    other = ReferralFactory(
        call=CallFactory(patient=patient), need=Need.CARER_SUPPORT, team=ordinary
    )

    page = referral_page(user=counsellor, referral_id=screened.pk)
    assert page is not None and page.screen is not None
    with CaptureQueriesContext(connection) as queries:
        assert (page.screen.component, page.screen.answered_by) == (1, counsellor)
    assert len(queries) == 0  # read with the page, who answered it too
    unscreened_page = referral_page(user=counsellor, referral_id=unscreened.pk)
    assert unscreened_page is not None and unscreened_page.screen is None
    # A referral of another need has no screen, and its page does not look for one.
    with CaptureQueriesContext(connection) as queries:
        other_page = referral_page(user=counsellor, referral_id=other.pk)
    assert other_page is not None and other_page.screen is None
    assert not any("referrals_bereavementscreen" in q["sql"] for q in queries.captured_queries)
