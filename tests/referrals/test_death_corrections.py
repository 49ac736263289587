"""Correcting a recorded death, or withdrawing it as entered in error: the service, who may, bad
input, the page and the API (docs/patients-and-calls.md, "Correcting or withdrawing a death")."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from calls.models import CallBack
from patients.codes import PlaceOfDeath
from patients.models import DeathCorrection, DeathRecord, Patient
from referrals.codes import ReferralOutcome
from referrals.models import GpLetter, Referral, ReferralEvent
from referrals.transitions import ReferralStatus
from services.codes import CallerType
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.clients import api_client
from tests.clock import WEEKDAY_MORNING
from tests.factories import OrganisationFactory
from tests.referrals import test_deaths
from tests.referrals.factories import CallFactory, member
from tests.referrals.test_deaths import care_plan, person, record, recorded, referral
from workspace.services import death_correct, death_withdraw

P = PlaceOfDeath
# The fixtures of the death tests: the directory, a coordinator, a patient.
directory, coordinator, patient = (
    test_deaths.directory,
    test_deaths.coordinator,
    test_deaths.patient,
)
pytestmark = pytest.mark.usefixtures("directory")


def correct(patient, user, reason="Place entered wrongly; the hospice confirmed.", **changes):
    return death_correct(patient_id=patient.pk, user=user, reason=reason, changes=changes)


def withdraw(patient, user, reason="Wrong patient: the death was Mr Ó Briain's."):
    return death_withdraw(patient_id=patient.pk, user=user, reason=reason)


# --- Corrections --------------------------------------------------------------------------------


def test_correcting_the_place_recomputes_the_preferred_place_and_keeps_both_versions(
    coordinator, patient
):
    care_plan(patient, coordinator, first=P.HOSPICE)
    death = record(patient, coordinator, place=P.HOSPITAL)
    assert death.preferred_place_achieved is False

    result = correct(patient, coordinator, place=P.HOSPICE)

    death.refresh_from_db()
    assert (death.place, death.preferred_place_achieved) == (P.HOSPICE, True)
    correction = DeathCorrection.objects.get()
    assert correction == result.correction and correction.kind == DeathCorrection.Kind.CORRECTED
    flags = ("preferred_place_achieved", "first_preference_achieved")
    assert correction.before == {"place": P.HOSPITAL, **dict.fromkeys(flags, False)}
    assert correction.after == {"place": P.HOSPICE, **dict.fromkeys(flags, True)}
    assert (correction.corrected_by, correction.patient_id) == (coordinator, patient.pk)
    log = AccessLog.objects.get(object_type="death_record", action=AccessLog.Action.UPDATE)
    assert log.detail == {
        "correction": "CORRECTED",
        "correction_id": correction.pk,
        "fields": ["first_preference_achieved", "place", "preferred_place_achieved"],
    }


def test_correcting_the_time_moves_the_patients_date_of_death(coordinator, patient):
    death = record(patient, coordinator)
    earlier = death.died_at - timedelta(days=2, hours=3)

    correct(patient, coordinator, died_at=earlier, verified_by="  Dr Nguyễn, GP  ")

    death.refresh_from_db()
    patient.refresh_from_db()
    assert death.died_at == patient.died_at == earlier
    assert death.verified_by == "Dr Nguyễn, GP"
    assert set(DeathCorrection.objects.get().before) == {"died_at", "verified_by"}


def test_bad_corrections_get_clear_messages_and_change_nothing(coordinator, patient):
    death = record(patient, coordinator)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"reason": ""}, "reason", "required"),
        ({"reason": "   "}, "reason", "required"),
        ({"reason": "x" * 1001}, "reason", "1000 characters"),
        ({"died_at": timezone.now() + timedelta(hours=2)}, "died_at", "in the future"),
        ({"place": "99"}, "place", "Choose the place"),
        ({"verified_by": "x" * 201}, "verified_by", "201 characters"),
        ({}, "__all__", "Nothing was changed"),
        ({"place": death.place}, "__all__", "Nothing was changed"),
    ]
    for overrides, field, message in cases:
        reason = overrides.pop("reason", "A reason")
        with pytest.raises(ValidationError) as caught:
            correct(patient, coordinator, reason=reason, **overrides)
        assert message in " ".join(caught.value.message_dict[field]), (overrides, caught.value)
    with pytest.raises(ValidationError, match="required"):
        withdraw(patient, coordinator, reason="")
    assert not DeathCorrection.objects.exists()
    assert DeathRecord.objects.get() == death and death.status == DeathRecord.Status.RECORDED


def test_a_reason_with_a_script_tag_is_kept_as_text(client, coordinator, patient):
    record(patient, coordinator, place=P.HOSPITAL)
    correct(patient, coordinator, reason="<script>alert(1)</script> O'Brien", place=P.HOSPICE)
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien" in page
    assert "<script>alert(1)" not in page


def test_who_may_correct_or_withdraw(coordinator, patient, make_user, directory):
    team = directory["community"].team
    referral(patient, ReferralStatus.QUEUED, team=team)
    record(patient, coordinator, place=P.HOSPITAL)
    nurse = member(make_user, team, "nurse1")
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    outside_lead = member(make_user, directory["north"].team, "lead2", role=Role.TEAM_LEAD)
    handler = make_user(Role.CALL_HANDLER, username="h1")
    manager = make_user(Role.MANAGER, username="m1", is_clinician=True)
    for user in (nurse, handler, manager):
        with pytest.raises(PermissionDenied):
            correct(patient, user, place=P.HOSPICE)
        with pytest.raises(PermissionDenied):
            withdraw(patient, user)
    with pytest.raises(Patient.DoesNotExist):
        correct(patient, outside_lead, place=P.HOSPICE)
    assert not DeathCorrection.objects.exists()
    correct(patient, lead, place=P.HOSPICE)
    withdraw(patient, coordinator)
    assert list(DeathCorrection.objects.values_list("kind", "corrected_by")) == [
        (DeathCorrection.Kind.CORRECTED, lead.pk),
        (DeathCorrection.Kind.WITHDRAWN, coordinator.pk),
    ]
    # Nothing stands to correct once withdrawn.
    with pytest.raises(DeathRecord.DoesNotExist):
        withdraw(patient, coordinator)


# --- Withdrawal ---------------------------------------------------------------------------------


def test_withdrawing_puts_back_what_the_death_closed(directory, coordinator, patient, make_user):
    team = directory["community"].team
    nurse = member(make_user, team, "nurse1")
    queued = referral(patient, ReferralStatus.QUEUED, team=team)
    accepted = referral(patient, ReferralStatus.ACCEPTED, team=team, owner=nurse)
    held = referral(patient, ReferralStatus.ON_HOLD, team=team, owner=nurse)
    Referral.objects.filter(pk=held.pk).update(
        held_at=timezone.now() - timedelta(hours=5),
        hold_reason="In hospital until Friday",
        status_before_hold=ReferralStatus.ACCEPTED,
    )
    awaiting = referral(patient, ReferralStatus.AWAITING_ROUTING)
    changed_since = referral(patient, ReferralStatus.QUEUED, team=team)
    carer = person(patient, main_carer=True)
    son = person(patient, given_name="Seán", family_name="Nguyễn")
    to_patient = CallBack.objects.create(
        call=CallFactory(patient=patient, caller_type=CallerType.PATIENT),
        patient=patient,
        due_at=timezone.now() + timedelta(hours=1),
    )
    result = recorded(patient, coordinator, bereavement_for=[carer.pk, son.pk])
    death = result.record
    # Since the death: the son's bereavement team has spoken to him; someone reopened a referral.
    sons = Referral.objects.get(for_person=son)
    Referral.objects.filter(pk=sons.pk).update(
        status=ReferralStatus.IN_PROGRESS, team=team, owner=nurse, first_contact_at=timezone.now()
    )
    Referral.objects.filter(pk=changed_since.pk).update(
        status=ReferralStatus.QUEUED, outcome="", closed_at=None
    )

    withdrawn = withdraw(patient, coordinator)

    death.refresh_from_db()
    patient.refresh_from_db()
    assert death.status == DeathRecord.Status.WITHDRAWN and patient.died_at is None
    correction = withdrawn.correction
    assert (correction.kind, correction.before, correction.after) == (
        DeathCorrection.Kind.WITHDRAWN,
        {"status": "RECORDED"},
        {"status": "WITHDRAWN"},
    )
    expected = {
        queued.pk: (ReferralStatus.QUEUED, None),
        accepted.pk: (ReferralStatus.ACCEPTED, nurse.pk),
        held.pk: (ReferralStatus.ON_HOLD, nurse.pk),
        awaiting.pk: (ReferralStatus.AWAITING_ROUTING, None),
    }
    assert {r.pk for r in withdrawn.reopened} == set(expected)
    for pk, (status, owner) in expected.items():
        back = Referral.objects.get(pk=pk)
        assert (back.status, back.owner_id, back.outcome, back.closed_at) == (
            status,
            owner,
            "",
            None,
        )
        event = back.events.get(kind=ReferralEvent.Kind.REOPENED)
        assert event.data["death_correction_id"] == correction.pk
        assert (event.from_status, event.to_status) == (ReferralStatus.COMPLETED, status)
    held.refresh_from_db()
    assert held.hold_reason == "In hospital until Friday"
    assert held.status_before_hold == ReferralStatus.ACCEPTED and held.held_at is not None
    assert [r.pk for r in withdrawn.left_closed] == [changed_since.pk]
    carers = Referral.objects.get(for_person=carer)
    assert carers.status == ReferralStatus.ENTERED_IN_ERROR
    assert carers.events.get(kind=ReferralEvent.Kind.ENTERED_IN_ERROR).data[
        "death_correction_id"
    ] == (correction.pk)
    assert [r.pk for r in withdrawn.bereavement_cancelled] == [carers.pk]
    assert [r.pk for r in withdrawn.bereavement_kept] == [sons.pk]
    assert Referral.objects.get(pk=sons.pk).status == ReferralStatus.IN_PROGRESS
    to_patient.refresh_from_db()
    assert (to_patient.status, to_patient.done_at, to_patient.cancelled_by_death) == (
        CallBack.Status.PENDING,
        None,
        death,
    )
    assert correction.effects == {
        "referrals_reopened": sorted(expected),
        "referrals_left_closed": [changed_since.pk],
        "bereavement_cancelled": [carers.pk],
        "bereavement_kept": [sons.pk],
        "call_backs_restored": [to_patient.pk],
    }


def test_a_withdrawn_death_can_be_recorded_again_on_a_new_record(coordinator, patient):
    first = record(patient, coordinator, place=P.HOSPITAL)
    withdraw(patient, coordinator)
    second = record(patient, coordinator, place=P.OWN_HOME)
    assert second.pk != first.pk
    assert list(DeathRecord.objects.recorded().filter(patient=patient)) == [second]
    patient.refresh_from_db()
    assert patient.died_at == second.died_at


def test_a_letter_already_sent_to_the_gp_is_named(client, coordinator, patient):
    death = record(patient, coordinator)
    GpLetter.objects.create(
        kind=GpLetter.Kind.DEATH,
        patient=patient,
        practice=OrganisationFactory(),
        death=death,
        letter_id=uuid.uuid4(),
        created_at=timezone.now(),
        pdf=b"%PDF",
    )
    client.force_login(coordinator)
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert 'data-testid="death-gp-letter"' in detail
    assert withdraw(patient, coordinator).gp_letter_sent is True
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "the practice must be told it was entered in error" in detail


# --- The page -----------------------------------------------------------------------------------


def checked(content: str, place: str) -> bool:
    return bool(re.search(rf'<input[^>]*name="place"[^>]*value="{place}"[^>]*checked', content))


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_the_page_corrects_then_withdraws_and_the_patient_page_keeps_the_history(
    client, directory, coordinator, patient
):
    care_plan(patient, coordinator, first=P.HOSPICE)
    referral(patient, ReferralStatus.QUEUED, team=directory["community"].team)
    record(patient, coordinator, place=P.HOSPITAL)
    client.force_login(coordinator)
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert 'data-testid="correct-death"' in detail
    url = reverse("patients:death-correct", args=[patient.pk])
    form = client.get(url)
    assert form.status_code == 200 and checked(form.content.decode(), P.HOSPITAL)
    moment = timezone.localtime(DeathRecord.objects.get().died_at)
    facts = {
        "died_date_day": moment.day,
        "died_date_month": moment.month,
        "died_date_year": moment.year,
        "died_time": moment.strftime("%H:%M"),
        "place": P.HOSPICE,
        "expected": "yes",
        "verified_by": "Jo Kennedy, district nurse",
    }

    # No reason: an error, and nothing typed is lost.
    response = client.post(url, {"what": "correct", **facts, "reason": ""})
    content = response.content.decode()
    assert response.status_code == 200 and "This is required: say why." in content
    assert checked(content, P.HOSPICE) and not DeathCorrection.objects.exists()

    response = client.post(
        url, {"what": "correct", **facts, "reason": "The hospice rang: he died there."}, follow=True
    )
    message = next(str(m) for m in response.context["messages"])
    assert "corrected: place of death from hospital to hospice" in message
    assert "preferred place from not achieved to achieved" in message
    content = response.content.decode()
    assert 'data-testid="death-corrections"' in content and "The hospice rang" in content

    # Withdrawing needs no facts, only a reason.
    response = client.post(
        url, {"what": "withdraw", "reason": "Entered on the wrong record."}, follow=True
    )
    message = next(str(m) for m in response.context["messages"])
    assert "was withdrawn as entered in error" in message
    assert "1 referral reopened where it was: urgent home visit (queued," in message
    content = response.content.decode()
    assert 'data-testid="death-withdrawn"' in content and 'data-testid="record-death"' in content
    assert 'data-testid="death-summary"' not in content
    # Nothing stands to correct now.
    assert client.get(url).status_code == 302


def test_the_page_is_refused_to_nurses_and_handlers(
    client, directory, coordinator, patient, make_user, handler
):
    team = directory["community"].team
    referral(patient, ReferralStatus.QUEUED, team=team)
    record(patient, coordinator)
    nurse = member(make_user, team, "nurse1")
    url = reverse("patients:death-correct", args=[patient.pk])
    for user in (nurse, handler):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"what": "withdraw", "reason": "x"}).status_code == 403
        detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
        assert 'data-testid="correct-death"' not in detail
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    client.force_login(lead)
    assert client.get(url).status_code == 200
    assert DeathRecord.objects.get().status == DeathRecord.Status.RECORDED


# --- The API ------------------------------------------------------------------------------------


def test_the_api_corrects_and_withdraws_with_the_same_rules(
    directory, coordinator, patient, make_user
):
    team = directory["community"].team
    closed = referral(patient, ReferralStatus.QUEUED, team=team)
    death = record(patient, coordinator, place=P.HOSPITAL)
    url = f"/api/v1/patients/{patient.pk}/death/corrections/"
    nurse = member(make_user, team, "nurse1")
    assert api_client(nurse).post(url, {"place": P.HOSPICE, "reason": "x"}).status_code == 403
    api = api_client(coordinator)
    response = api.post(url, {"place": P.HOSPICE}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert api.post(url, {"place": "99", "reason": "x"}, format="json").status_code == 400
    future = (timezone.now() + timedelta(days=1)).isoformat()
    response = api.post(url, {"died_at": future, "reason": "x"}, format="json")
    assert response.status_code == 400 and "died_at" in response.json()

    response = api.post(url, {"place": P.HOSPICE, "reason": "Confirmed"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["place"], body["status"]) == (P.HOSPICE, "RECORDED")
    assert body["correction"]["before"] == {"place": P.HOSPITAL}
    assert [c["kind"] for c in body["corrections"]] == ["CORRECTED"]

    response = api.post(url, {"withdraw": True, "reason": "Wrong patient"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "WITHDRAWN" and body["id"] == death.pk
    assert body["correction"]["effects"]["referrals_reopened"] == [closed.pk]
    closed.refresh_from_db()
    assert closed.status == ReferralStatus.QUEUED and closed.outcome != ReferralOutcome.PATIENT_DIED
    assert api.post(url, {"withdraw": True, "reason": "again"}, format="json").status_code == 404
    assert api.get(f"/api/v1/patients/{patient.pk}/death/").status_code == 404
