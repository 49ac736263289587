"""The call handler's API (docs/design.md §9-§10): patients, calls and referrals under /api/v1/."""

from __future__ import annotations

import uuid
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from calls.models import Call
from patients.codes import CprDecision, PlaceOfDeath
from patients.models import CarePlan, Patient
from referrals.models import Referral, ReferralEvent
from referrals.transitions import ReferralStatus
from services.codes import Need, Priority
from services.models import PostcodeDeprivation
from spoc.audit.models import AccessLog
from tests.clients import api_client
from tests.conftest import TEST_PASSWORD
from tests.referrals.builders import PATIENT_DETAILS
from tests.referrals.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db


PATIENTS = "/api/v1/patients/"
CALLS = "/api/v1/calls/"
REFERRALS = "/api/v1/referrals/"


@pytest.fixture
def api(handler):
    return api_client(handler)


@pytest.fixture
def nurse_api(nurse):
    return api_client(nurse)


def queued(patient, team, **fields):
    return ReferralFactory(
        call__patient=patient, patient=patient, status=ReferralStatus.QUEUED, team=team, **fields
    )


# --- Patient search ---------------------------------------------------------------------------


def test_search_by_nhs_number_with_spaces(api):
    patient = PatientFactory(nhs_number="9990000018")
    PatientFactory()
    response = api.get(PATIENTS, {"q": "999 000 0018"})
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [patient.pk]


def test_search_by_name_is_accent_insensitive_and_logged_with_the_count_only(api, handler):
    patient = PatientFactory(given_name="Siân", family_name="Nguyễn", nhs_number="9990000018")
    PatientFactory(given_name="Aled", family_name="Jones")
    response = api.get(PATIENTS, {"q": "sian nguyen"})
    assert response.json() == {
        "count": 1,
        "results": [
            {
                "id": patient.pk,
                "nhs_number": "9990000018",
                "nhs_number_status": "02",
                "given_name": "Siân",
                "family_name": "Nguyễn",
                "display_name": "NGUYỄN, Siân",
                "date_of_birth": "1948-03-14",
                "postcode": "L9 7AL",
            }
        ],
    }
    row = AccessLog.objects.get(action=AccessLog.Action.SEARCH)
    assert row.user == handler and row.object_type == "patient"
    assert row.detail == {"results": 1}
    assert "sian" not in str(row.detail).lower() and row.reason == ""


def test_patient_without_nhs_number_shows_null(api):
    patient = PatientFactory(nhs_number=None, nhs_number_status="03", family_name="Untraced")
    result = api.get(PATIENTS, {"q": "untraced"}).json()["results"]
    assert [(r["id"], r["nhs_number"], r["nhs_number_status"]) for r in result] == [
        (patient.pk, None, "03")
    ]


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
def test_empty_search_is_a_field_error(api, params):
    response = api.get(PATIENTS, params)
    assert response.status_code == 400
    assert "q" in response.json()
    assert not AccessLog.objects.filter(action=AccessLog.Action.SEARCH).exists()


def test_nurse_search_finds_only_her_teams_patients(nurse_api, team, other_team):
    mine = PatientFactory(family_name="Mine")
    theirs = PatientFactory(family_name="Theirs")
    queued(mine, team)
    queued(theirs, other_team)
    found = nurse_api.get(PATIENTS, {"q": "14/03/1948"}).json()["results"]
    assert [p["id"] for p in found] == [mine.pk]


# --- Opening a patient ---------------------------------------------------------------------


def test_nurse_opens_her_teams_patient_but_gets_404_for_others(nurse_api, nurse, team, other_team):
    mine = PatientFactory()
    theirs = PatientFactory()
    queued(mine, team)
    queued(theirs, other_team)
    assert nurse_api.get(f"{PATIENTS}{mine.pk}/").status_code == 200
    response = nurse_api.get(f"{PATIENTS}{theirs.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such patient.", "code": "not_found"}
    assert nurse_api.get(f"{PATIENTS}999999/").status_code == 404
    rows = AccessLog.objects.filter(action=AccessLog.Action.VIEW)
    assert [(r.object_type, r.patient_id, r.user) for r in rows] == [("patient", mine.pk, nurse)]


def test_patient_detail_has_alerts_and_care_plan_and_access_information_for_clinicians(
    api, nurse_api, team, handler
):
    patient = PatientFactory(
        access_information="Key safe 1234", interpreter_needed=True, language="Welsh"
    )
    queued(patient, team)
    CarePlan.objects.create(
        patient=patient,
        version=1,
        is_current=True,
        ppd_first=PlaceOfDeath.OWN_HOME,
        cpr_decision=CprDecision.NOT_FOR_CPR,
        cpr_decision_date=date(2026, 1, 5),
        respect_exists=True,
        created_at=timezone.now(),
        created_by=handler,
    )
    body = api.get(f"{PATIENTS}{patient.pk}/").json()
    assert (
        body["id"] == patient.pk and body["display_name"] == patient.family_name.upper() + ", Siân"
    )
    codes = {alert["code"]: alert for alert in body["alerts"]}
    assert codes["CPR"]["level"] == "red" and "DNACPR" in codes["CPR"]["text"]
    assert {"RESPECT", "OPEN_REFERRALS", "INTERPRETER"} <= set(codes)
    assert "NO_PPD" not in codes
    assert body["care_plan"] == {
        "version": 1,
        "ppd_first": "21",
        "ppd_second": "",
        "ppc": "",
        "cpr_decision": CprDecision.NOT_FOR_CPR,
        "cpr_decision_date": "2026-01-05",
        "cpr_review_date": None,
        "respect_exists": True,
        "review_date": None,
    }
    assert "access_information" not in body  # a call handler is not a clinician
    assert nurse_api.get(f"{PATIENTS}{patient.pk}/").json()["access_information"] == "Key safe 1234"


def test_patient_without_a_care_plan(api):
    body = api.get(f"{PATIENTS}{PatientFactory().pk}/").json()
    assert body["care_plan"] is None
    assert {"CPR_UNKNOWN", "NO_PPD"} <= {alert["code"] for alert in body["alerts"]}


# --- Registering a patient ---------------------------------------------------------------------


def patient_body(**overrides: Any) -> dict[str, Any]:
    return {"nhs_number": "999 000 0018", "nhs_number_status": "01", **PATIENT_DETAILS, **overrides}


def test_handler_registers_a_patient(api, handler):
    response = api.post(PATIENTS, patient_body(), format="json")
    assert response.status_code == 201
    patient = Patient.objects.get()
    body = response.json()
    assert body["id"] == patient.pk
    assert (body["nhs_number"], body["postcode"], body["display_name"]) == (
        "9990000018",
        "L9 7AL",
        "O'BRIEN, Siân",
    )
    assert patient.search_name == "obrien sian" and patient.created_by == handler
    assert AccessLog.objects.filter(action=AccessLog.Action.CREATE, patient_id=patient.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"nhs_number": "999 000 0019"}, "nhs_number"),
        # Tomorrow as of when the test runs, not when it was collected (which may be before midnight).
        (
            {"date_of_birth": lambda: (timezone.localdate() + timedelta(days=1)).isoformat()},
            "date_of_birth",
        ),
        ({"date_of_birth": "yesterday"}, "date_of_birth"),
        ({"postcode": "NOT A POSTCODE"}, "postcode"),
        ({"given_name": "<script>alert(1)</script>"}, "given_name"),
        ({"family_name": ""}, "family_name"),
        ({"phone": "12345"}, "phone"),
        ({"sex": "robot"}, "sex"),
        ({"nhs_number": "", "nhs_number_status": "01"}, "nhs_number_status"),
        ({"location": "HOSPITAL"}, "location_site"),
        ({"ethnic_category": "X"}, "ethnic_category"),
        ({"ethnic_category": "<script>"}, "ethnic_category"),
        ({"diagnosis_group": "cancer"}, "diagnosis_group"),
    ],
)
def test_register_errors_are_field_level_json(api, overrides, field):
    overrides = {name: value() if callable(value) else value for name, value in overrides.items()}
    response = api.post(PATIENTS, patient_body(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert isinstance(response.json()[field], list)
    assert not Patient.objects.exists()


def test_register_takes_the_equity_fields_and_shows_the_postcodes_decile(api):
    PostcodeDeprivation.objects.create(postcode="L9 7AL", decile=2, imported_at=timezone.now())
    response = api.post(
        PATIENTS, patient_body(ethnic_category="K", diagnosis_group="RENAL"), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["ethnic_category"], body["diagnosis_group"], body["deprivation_decile"]) == (
        "K",
        "RENAL",
        2,
    )
    # Left out, they are not known; a postcode not in the table has no decile.
    other = api.post(
        PATIENTS,
        patient_body(nhs_number="999 000 0026", postcode="PR8 1AA", confirm_not_duplicate=True),
        format="json",
    ).json()
    assert (other["ethnic_category"], other["diagnosis_group"], other["deprivation_decile"]) == (
        "99",
        "NOT_KNOWN",
        None,
    )
    assert api.get(f"{PATIENTS}{body['id']}/").json()["deprivation_decile"] == 2


def test_register_refuses_a_registered_nhs_number_with_409(api):
    existing = PatientFactory(nhs_number="9990000018")
    response = api.post(PATIENTS, patient_body(), format="json")
    assert response.status_code == 409
    assert response.json()["existing_patient_id"] == existing.pk
    assert "already registered" in response.json()["detail"]
    assert Patient.objects.count() == 1


def test_possible_duplicates_need_the_confirm_flag(api):
    twin = PatientFactory(
        given_name="Siân",
        family_name="O'Brien",
        date_of_birth=date(1950, 3, 4),
        nhs_number=None,
        nhs_number_status="03",
    )
    body = patient_body(nhs_number="", nhs_number_status="03")
    response = api.post(PATIENTS, body, format="json")
    assert response.status_code == 409
    assert response.json()["possible_duplicates"] == [twin.pk]
    assert Patient.objects.count() == 1
    confirmed = api.post(PATIENTS, {**body, "confirm_not_duplicate": True}, format="json")
    assert confirmed.status_code == 201
    assert Patient.objects.count() == 2


def test_nurse_cannot_register_a_patient(nurse_api):
    response = nurse_api.post(PATIENTS, patient_body(), format="json")
    assert response.status_code == 403
    assert "detail" in response.json()
    assert not Patient.objects.exists()


# --- Logging a call ---------------------------------------------------------------------------


def call_body(patient: Patient | None, **overrides: Any) -> dict[str, Any]:
    """Pain scored 4 (suggests P2), red flags asked and none present, no priority chosen, two
    needs; the handler is not a clinician, so no Phase of Illness (not assessed)."""
    body: dict[str, Any] = {
        "received_at": (timezone.now() - timedelta(minutes=6)).isoformat(),
        "ended_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "caller_type": "CARER_FAMILY",
        "caller_name": "Mary O'Brien",
        "caller_phone": "07911 123456",
        "patient_id": patient.pk if patient is not None else None,
        "reason": "REQUEST_VISIT",
        "notes": "Pain worse since this morning.",
        "ipos": {"PAIN": 4, "NAUSEA": 1},
        "akps": 40,
        "red_flags": [],
        "carer_coping": "STRUGGLING",
        "patient_location": "HOME",
        "disposition": "REFERRALS_CREATED",
        "needs": [
            {"need": "URGENT_HOME_VISIT", "note": "Syringe driver alarming"},
            {"need": "CARER_SUPPORT"},
        ],
    }
    body.update(overrides)
    return body


def test_call_with_two_needs_saves_the_call_its_triage_and_two_referrals(api, handler):
    patient = PatientFactory()
    response = api.post(
        CALLS, call_body(patient), format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    call = Call.objects.get()
    assert body["id"] == call.pk and body["patient_id"] == patient.pk
    assert (body["suggested_priority"], body["chosen_priority"]) == ("P2", "P2")
    assert body["suggestion_reasons"][0] == "Pain scored 4 (overwhelmingly) → P2"
    # Not a clinician: no Phase of Illness, and the reasons say so; red flags asked, none present.
    assert "Phase of Illness not assessed" in body["suggestion_reasons"]
    assert body["red_flags"] == []
    assert body["disposition"] == "REFERRALS_CREATED"
    assert [
        (r["need"], r["priority"], r["status"], r["fhir_task_status"]) for r in body["referrals"]
    ] == [
        ("URGENT_HOME_VISIT", "P2", "AWAITING_ROUTING", "requested"),
        ("CARER_SUPPORT", "P4", "AWAITING_ROUTING", "requested"),
    ]
    assert call.triage is not None and call.triage.ipos == {"PAIN": 4, "NAUSEA": 1}
    assert call.triage.phase == "" and call.red_flags_asked is True
    assert call.handled_by == handler
    assert sorted(Referral.objects.values_list("need", flat=True)) == [
        "CARER_SUPPORT",
        "URGENT_HOME_VISIT",
    ]
    assert Referral.objects.get(need="URGENT_HOME_VISIT").note == "Syringe driver alarming"
    assert ReferralEvent.objects.filter(kind=ReferralEvent.Kind.CREATED).count() == 2
    assert "Idempotent-Replayed" not in response


def test_same_idempotency_key_twice_saves_one_call_and_returns_the_same_body(api):
    patient = PatientFactory()
    key = uuid.uuid4().hex
    first = api.post(CALLS, call_body(patient), format="json", HTTP_IDEMPOTENCY_KEY=key)
    second = api.post(CALLS, call_body(patient), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert (Call.objects.count(), Referral.objects.count()) == (1, 2)
    # A new key is a new call.
    assert (
        api.post(
            CALLS, call_body(patient), format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        ).status_code
        == 201
    )
    assert Call.objects.count() == 2


def test_idempotency_key_longer_than_64_characters_is_refused(api):
    response = api.post(
        CALLS, call_body(PatientFactory()), format="json", HTTP_IDEMPOTENCY_KEY="k" * 65
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Call.objects.exists()


def test_missing_fields_are_named(api):
    response = api.post(CALLS, {}, format="json")
    assert response.status_code == 400
    assert {"received_at", "caller_type", "reason", "disposition"} <= set(response.json())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ipos": {"PAIN": 7}}, "ipos"),
        ({"ipos": {"HICCUPS": 2}}, "ipos"),
        ({"red_flags": ["ALIENS"]}, "red_flags"),
        ({"phase": "GREAT"}, "phase"),
        ({"needs": [{"need": "SPA_DAY"}]}, "needs"),
        ({"needs": [{"need": "CARER_SUPPORT"}, {"need": "CARER_SUPPORT"}]}, "needs"),
        ({"received_at": "soon"}, "received_at"),
        # A callable is read when the test runs, not when the suite is collected (it may run an hour later).
        ({"received_at": lambda: (timezone.now() + timedelta(hours=1)).isoformat()}, "received_at"),
        ({"caller_phone": "12345"}, "caller_phone"),
        ({"akps": 45}, "akps"),
        ({"patient_id": 999999}, "patient_id"),
        ({"disposition": "ADVICE_GIVEN"}, "disposition"),
        ({"chosen_priority": "P9"}, "chosen_priority"),
    ],
)
def test_invalid_fields_are_named(api, overrides, field):
    overrides = {name: value() if callable(value) else value for name, value in overrides.items()}
    response = api.post(CALLS, call_body(PatientFactory(), **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Call.objects.exists()


def test_needs_without_a_patient_are_refused(api):
    response = api.post(CALLS, call_body(None), format="json")
    assert response.status_code == 400
    assert "Identify the patient" in " ".join(response.json()["needs"])


def test_override_without_a_reason_is_refused(api):
    patient = PatientFactory()
    response = api.post(CALLS, call_body(patient, chosen_priority="P4"), format="json")
    assert response.status_code == 400
    assert "suggested P2" in response.json()["override_reason"][0]
    assert not Call.objects.exists()
    ok = api.post(
        CALLS,
        call_body(patient, chosen_priority="P4", override_reason="GP visiting within the hour"),
        format="json",
    )
    assert ok.status_code == 201
    assert (ok.json()["suggested_priority"], ok.json()["chosen_priority"]) == ("P2", "P4")
    assert {r["priority"] for r in ok.json()["referrals"]} == {"P4"}


def test_red_flag_suggests_p1_when_no_priority_is_chosen(api):
    response = api.post(
        CALLS, call_body(PatientFactory(), red_flags=["MAJOR_BLEED"]), format="json"
    )
    assert response.json()["chosen_priority"] == "P1"
    assert response.json()["suggestion_reasons"][0] == "Red flag: Major bleed → P1"


def test_call_without_referrals(api):
    response = api.post(CALLS, call_body(None, needs=[], disposition="SIGNPOSTED"), format="json")
    assert response.status_code == 201
    assert response.json()["referrals"] == [] and response.json()["patient_id"] is None


def test_nurse_cannot_log_a_call(nurse_api):
    response = nurse_api.post(CALLS, call_body(PatientFactory()), format="json")
    assert response.status_code == 403
    assert "detail" in response.json()
    assert not Call.objects.exists()


# --- Referrals -----------------------------------------------------------------------------------


def test_referral_list_filters(api, team, other_team):
    patient = PatientFactory()
    p2 = queued(patient, team, priority=Priority.P2)
    p4 = queued(PatientFactory(), other_team, priority=Priority.P4, need=Need.CARER_SUPPORT)
    waiting = ReferralFactory()

    def ids(**params):
        response = api.get(REFERRALS, params)
        assert response.status_code == 200
        return [r["id"] for r in response.json()["results"]]

    assert sorted(ids()) == sorted([p2.pk, p4.pk, waiting.pk])
    assert ids(team=team.pk) == [p2.pk]
    assert ids(priority="P4") == [p4.pk]
    assert ids(status="AWAITING_ROUTING") == [waiting.pk]
    assert ids(patient=patient.pk) == [p2.pk]
    assert ids(need="CARER_SUPPORT") == [p4.pk]
    assert ids(status="QUEUED", priority="P2", team=team.pk) == [p2.pk]
    # Listing one patient's referrals is logged with the count only.
    row = AccessLog.objects.get(action=AccessLog.Action.SEARCH, object_type="referral")
    assert (row.patient_id, row.detail) == (patient.pk, {"results": 1})
    item = api.get(REFERRALS, {"team": team.pk}).json()["results"][0]
    assert item == {
        "id": p2.pk,
        "patient_id": patient.pk,
        "for_person": None,
        "need": "URGENT_HOME_VISIT",
        "priority": "P2",
        "status": "QUEUED",
        "fhir_task_status": "ready",
        "team": {"id": team.pk, "name": team.name},
        "owner": None,
        "accept_by": None,
        "contact_by": None,
        "created_at": p2.created_at.astimezone(UTC).isoformat(),
    }


@pytest.mark.parametrize(
    "params",
    [
        {"status": "LOST"},
        {"priority": "P0"},
        {"team": "abc"},
        {"patient": "-1"},
        {"need": "SPA_DAY"},
    ],
)
def test_bad_referral_filters_are_400(api, params):
    response = api.get(REFERRALS, params)
    assert response.status_code == 400
    assert set(response.json()) == {*params, "detail", "code"}


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["results"]]


def test_referral_list_pages_by_cursor_newest_first_with_a_constant_query_count(
    api, team, django_assert_max_num_queries
):
    referrals = [queued(PatientFactory(), team) for _ in range(60)]
    Referral.objects.filter(pk__in=[r.pk for r in referrals[::2]]).update(
        owner=referrals[0].created_by, status=ReferralStatus.ACCEPTED
    )
    newest_first = sorted(referrals, key=lambda r: (r.created_at, r.pk), reverse=True)
    # Permissions (2), the page and the access-log row, with 60 referrals as with one: nothing is
    # counted.
    with django_assert_max_num_queries(4):
        response = api.get(REFERRALS)
    body = response.json()
    assert set(body) == {"next", "previous", "results"} and body["previous"] is None
    assert _ids(response) == [r.pk for r in newest_first[:50]]
    with django_assert_max_num_queries(4):
        second = api.get(body["next"])
    assert _ids(second) == [r.pk for r in newest_first[50:]]
    assert second.json()["next"] is None
    assert _ids(api.get(second.json()["previous"])) == _ids(response)
    assert {r["owner"] for r in body["results"] + second.json()["results"]} == {
        None,
        referrals[0].created_by.username,
    }


def test_a_referral_arriving_between_two_pages_is_neither_shown_twice_nor_missed(api, team):
    old = [queued(PatientFactory(), team) for _ in range(55)]
    first = api.get(REFERRALS).json()
    arrived = queued(PatientFactory(), team)
    rest = api.get(first["next"]).json()
    shown = [r["id"] for r in first["results"] + rest["results"]]
    assert sorted(shown) == sorted(r.pk for r in old) and len(set(shown)) == 55
    # The newcomer heads the list for whoever starts again.
    assert api.get(REFERRALS).json()["results"][0]["id"] == arrived.pk


def test_referrals_created_in_the_same_instant_are_each_shown_once_across_pages(api, team):
    referrals = [queued(PatientFactory(), team) for _ in range(60)]
    # A call's referrals share their moment; here 60 do, more than a page.
    Referral.objects.filter(pk__in=[r.pk for r in referrals]).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    shown: list[int] = []
    url: str | None = REFERRALS
    while url:
        page = api.get(url)
        shown += _ids(page)
        url = page.json()["next"]
    assert shown == sorted((r.pk for r in referrals), reverse=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        "cD1ub3QtYS1kYXRl",  # p=not-a-date
        "cD0yMDI2LTEyLTAx",  # p=2026-12-01: no time, no offset
        "bz0tMw==",  # o=-3
    ],
)
def test_a_cursor_the_list_did_not_give_is_404_not_a_server_error(api, team, cursor):
    queued(PatientFactory(), team)
    response = api.get(REFERRALS, {"cursor": cursor})
    assert response.status_code == 404
    assert response.json() == {
        "detail": "This cursor is not one the list gave: start again from the first page.",
        "code": "not_found",
    }


def test_a_page_number_is_refused_with_a_message_saying_to_follow_next(api, team):
    queued(PatientFactory(), team)
    response = api.get(REFERRALS, {"page": "2"})
    assert response.status_code == 400
    assert response.json()["page"] == [
        "The referral list is paged by cursor: follow the `next` link of each page."
    ]


def test_referral_detail_has_events_and_routing_decision(api, handler, team):
    referral = queued(
        PatientFactory(),
        team,
        note="Syringe driver alarming",
        routing_decision={
            "winner": team.service_id,
            "candidates": [{"name": "Night Service", "excluded_reason": "Closed"}],
        },
    )
    start = timezone.now() - timedelta(minutes=5)
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.CREATED,
        at=start,
        actor=handler,
        from_status="",
        to_status="AWAITING_ROUTING",
    )
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.ROUTED,
        at=start + timedelta(seconds=2),
        from_status="AWAITING_ROUTING",
        to_status="QUEUED",
        team=team,
    )
    response = api.get(f"{REFERRALS}{referral.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["routing_decision"]["candidates"][0]["excluded_reason"] == "Closed"
    assert body["unroutable_reason"] == "" and body["note"] == "Syringe driver alarming"
    assert body["events"] == [
        {
            "kind": "CREATED",
            "at": start.astimezone(UTC).isoformat(),
            "actor": "handler1",
            "from_status": "",
            "to_status": "AWAITING_ROUTING",
            "team": None,
        },
        {
            "kind": "ROUTED",
            "at": (start + timedelta(seconds=2)).astimezone(UTC).isoformat(),
            "actor": None,
            "from_status": "AWAITING_ROUTING",
            "to_status": "QUEUED",
            "team": {"id": team.pk, "name": team.name},
        },
    ]
    row = AccessLog.objects.get(action=AccessLog.Action.VIEW)
    assert (row.object_type, row.object_id, row.patient_id) == (
        "referral",
        str(referral.pk),
        referral.patient_id,
    )


def test_nurse_sees_only_her_teams_referrals(nurse_api, team, other_team):
    mine = queued(PatientFactory(), team)
    theirs = queued(PatientFactory(), other_team)
    assert [r["id"] for r in nurse_api.get(REFERRALS).json()["results"]] == [mine.pk]
    assert nurse_api.get(f"{REFERRALS}{mine.pk}/").status_code == 200
    response = nurse_api.get(f"{REFERRALS}{theirs.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such referral.", "code": "not_found"}
    assert not AccessLog.objects.filter(
        action=AccessLog.Action.VIEW, object_id=str(theirs.pk)
    ).exists()


# --- Authentication and the schema ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"{PATIENTS}?q=smith"),
        ("post", PATIENTS),
        ("get", f"{PATIENTS}1/"),
        ("post", CALLS),
        ("get", REFERRALS),
        ("get", f"{REFERRALS}1/"),
    ],
)
def test_unauthenticated_requests_get_json_401(method, url):
    response = (
        getattr(APIClient(), method)(url, {}, format="json")
        if method == "post"
        else APIClient().get(url)
    )
    assert response.status_code == 401
    assert "detail" in response.json()


def test_a_real_token_works(handler):
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"username": "handler1", "password": TEST_PASSWORD}, format="json"
    ).json()["token"]
    patient = PatientFactory(family_name="Tokenfield")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(PATIENTS, {"q": "tokenfield"})
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [patient.pk]
    created = client.post(
        CALLS, call_body(patient), format="json", HTTP_IDEMPOTENCY_KEY="token-call-1"
    )
    assert created.status_code == 201
    assert Call.objects.get().handled_by == handler


def test_openapi_schema_still_generates(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    content = response.content.decode()
    for operation in (
        "patients_list",
        "patients_create",
        "patients_retrieve",
        "calls_create",
        "referrals_list",
        "referrals_retrieve",
    ):
        assert f"operationId: {operation}" in content
