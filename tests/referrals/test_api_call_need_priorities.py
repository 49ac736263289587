"""The calls API: a priority per need, and the call-level priority of older clients."""

from __future__ import annotations

import uuid

import pytest

from calls.models import Call
from referrals.models import Referral
from tests.clients import api_client
from tests.referrals.factories import PatientFactory
from tests.referrals.test_api import CALLS, call_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(handler):
    return api_client(handler)


def referrals_of(response) -> dict[str, tuple[str, str, str]]:
    return {
        r["need"]: (r["priority"], r["suggested_priority"], r["override_reason"])
        for r in response.json()["referrals"]
    }


def test_a_red_flag_call_with_carer_support_returns_each_referrals_priority(api):
    response = api.post(
        CALLS,
        call_body(PatientFactory(), red_flags=["MAJOR_BLEED"]),
        format="json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )

    assert response.status_code == 201, response.json()
    assert referrals_of(response) == {
        "URGENT_HOME_VISIT": ("P1", "P1", ""),
        "CARER_SUPPORT": ("P4", "P4", ""),
    }
    assert (response.json()["suggested_priority"], response.json()["chosen_priority"]) == (
        "P1",
        "P1",
    )


def test_a_priority_per_need_with_its_reason(api):
    needs = [
        {
            "need": "URGENT_HOME_VISIT",
            "priority": "P3",
            "override_reason": "District nurse there now",
        },
        {"need": "CARER_SUPPORT", "priority": "P3", "override_reason": "Daughter exhausted"},
    ]

    response = api.post(CALLS, call_body(PatientFactory(), needs=needs), format="json")

    assert response.status_code == 201, response.json()
    assert referrals_of(response) == {
        "URGENT_HOME_VISIT": ("P3", "P2", "District nurse there now"),
        "CARER_SUPPORT": ("P3", "P4", "Daughter exhausted"),
    }
    assert (response.json()["suggested_priority"], response.json()["chosen_priority"]) == (
        "P2",
        "P3",
    )
    stored = dict(Referral.objects.values_list("need", "override_reason"))
    assert stored == {
        "URGENT_HOME_VISIT": "District nurse there now",
        "CARER_SUPPORT": "Daughter exhausted",
    }


def test_a_need_priority_without_a_reason_is_a_needs_error(api):
    needs = [{"need": "URGENT_HOME_VISIT"}, {"need": "CARER_SUPPORT", "priority": "P1"}]

    response = api.post(CALLS, call_body(PatientFactory(), needs=needs), format="json")

    assert response.status_code == 400
    assert response.json()["needs"] == [
        "Say why you chose P1 for carer support instead of the suggested P4."
    ]
    assert not Call.objects.exists()


def test_an_unknown_need_priority_is_refused(api):
    response = api.post(
        CALLS,
        call_body(PatientFactory(), needs=[{"need": "CARER_SUPPORT", "priority": "P0"}]),
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["needs"] == {"0": {"priority": ['"P0" is not a valid choice.']}}
    assert not Call.objects.exists()


def test_the_legacy_call_priority_applies_to_the_clinical_needs_only(api):
    response = api.post(
        CALLS,
        call_body(PatientFactory(), chosen_priority="P1", override_reason="Bleeding again"),
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert referrals_of(response) == {
        "URGENT_HOME_VISIT": ("P1", "P2", "Bleeding again"),
        "CARER_SUPPORT": ("P4", "P4", ""),
    }
    assert (response.json()["suggested_priority"], response.json()["chosen_priority"]) == (
        "P2",
        "P1",
    )


def test_a_need_priority_wins_over_the_call_priority(api):
    needs = [{"need": "URGENT_HOME_VISIT", "priority": "P2"}]

    response = api.post(
        CALLS,
        call_body(
            PatientFactory(), needs=needs, chosen_priority="P1", override_reason="Bleeding again"
        ),
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert referrals_of(response) == {"URGENT_HOME_VISIT": ("P2", "P2", "")}


def test_the_care_networks_needs_take_their_own_suggestions_through_the_api(api):
    """Pain scored 4 and no Phase of Illness (call_body): each need's own rule, not the call's
    P2; equipment, raised only by the phase, stays P4."""
    needs = [
        {"need": need}
        for need in (
            "DISTRICT_NURSING",
            "GP_OUT_OF_HOURS",
            "JUST_IN_CASE_MEDICINES",
            "EQUIPMENT",
            "CHC_FAST_TRACK",
            "SOCIAL_CARE_PACKAGE",
            "RAPID_DISCHARGE",
        )
    ]

    response = api.post(CALLS, call_body(PatientFactory(), needs=needs), format="json")

    assert response.status_code == 201, response.json()
    assert {need: suggested for need, (_, suggested, _) in referrals_of(response).items()} == {
        "DISTRICT_NURSING": "P2",
        "GP_OUT_OF_HOURS": "P2",
        "JUST_IN_CASE_MEDICINES": "P3",
        "EQUIPMENT": "P4",
        "CHC_FAST_TRACK": "P4",
        "SOCIAL_CARE_PACKAGE": "P4",
        "RAPID_DISCHARGE": "P2",
    }


def test_an_unknown_need_is_refused_by_the_api_and_nothing_is_saved(api):
    body = call_body(PatientFactory(), needs=[{"need": "DOG_WALKING"}])

    response = api.post(CALLS, body, format="json")

    assert response.status_code == 400
    assert "DOG_WALKING" in str(response.json())
    assert not Call.objects.exists() and not Referral.objects.exists()
