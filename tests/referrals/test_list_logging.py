"""Pages and API lists that show patients write one access-log row per view, with how many
patients they showed and never who; the queue's polls write none."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Call, CallBack
from referrals.transitions import ReferralStatus
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory, member

pytestmark = pytest.mark.django_db


def _list_rows(object_type):
    return list(AccessLog.objects.filter(action=AccessLog.Action.LIST, object_type=object_type))


def test_team_queue_view_is_one_row_counting_distinct_patients(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    twice = PatientFactory()
    for patient in (twice, twice, PatientFactory()):
        ReferralFactory(
            patient=patient,
            call=CallFactory(patient=patient),
            status=ReferralStatus.QUEUED,
            team=team,
            contact_by=timezone.now() + timedelta(hours=2),
        )
    client.force_login(nurse)
    assert client.get(reverse("queue:team", args=[team.pk])).status_code == 200
    [row] = _list_rows("team_queue")
    assert row.user == nurse and row.object_id == str(team.pk)
    assert row.detail == {"patients": 2} and row.patient_id is None


def test_queue_polls_are_not_logged_but_a_filter_change_is(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    ReferralFactory(
        status=ReferralStatus.QUEUED, team=team, contact_by=timezone.now() + timedelta(hours=2)
    )
    client.force_login(nurse)
    url = reverse("queue:team", args=[team.pk])
    client.get(url, HTTP_HX_REQUEST="true", HTTP_X_SPOC_POLL="1", HTTP_X_QUEUE_VERSION="stale")
    assert _list_rows("team_queue") == []
    client.get(url + "?priority=P2", HTTP_HX_REQUEST="true")
    assert len(_list_rows("team_queue")) == 1


def test_caseload_is_logged_with_its_count(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    ReferralFactory(
        status=ReferralStatus.ACCEPTED,
        team=team,
        owner=nurse,
        contact_by=timezone.now() + timedelta(hours=2),
    )
    client.force_login(nurse)
    assert client.get(reverse("queue:caseload")).status_code == 200
    [row] = _list_rows("caseload")
    assert row.detail == {"patients": 1}


def test_call_backs_my_calls_and_senior_reviews_are_logged(client, make_user):
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord1")
    call = CallFactory(handled_by=coordinator, needs_senior_review=True)
    CallBack.objects.create(
        call=call, patient=call.patient, due_at=timezone.now() + timedelta(hours=1)
    )
    CallBack.objects.create(call=CallFactory(patient=None), patient=None, due_at=timezone.now())
    client.force_login(coordinator)
    for name, object_type in (
        ("calls:call-backs", "call_backs"),
        ("calls:mine", "my_calls"),
        ("calls:reviews", "senior_reviews"),
    ):
        assert client.get(reverse(name)).status_code == 200
        [row] = _list_rows(object_type)
        # A call-back for a caller with no patient record shows nobody's record.
        assert row.detail == {"patients": 1}, object_type
    assert Call.objects.count() == 2


def test_api_referral_list_is_logged_per_page(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    ReferralFactory.create_batch(
        3, status=ReferralStatus.QUEUED, team=team, contact_by=timezone.now() + timedelta(hours=2)
    )
    client.force_login(nurse)
    response = client.get(reverse("api-referrals"))
    assert response.status_code == 200 and len(response.json()["results"]) == 3
    [row] = _list_rows("referral_list")
    assert row.detail == {"patients": 3}
    # One patient's referrals is a search of that record, logged as before and not as a list.
    patient_id = response.json()["results"][0]["patient_id"]
    client.get(reverse("api-referrals"), {"patient": patient_id})
    assert len(_list_rows("referral_list")) == 1
    assert AccessLog.objects.filter(action=AccessLog.Action.SEARCH, patient_id=patient_id).exists()
