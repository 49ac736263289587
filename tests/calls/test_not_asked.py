"""Unknown is not absent (docs/triage.md, "Not asked is not absent"): red flags are asked (none
present or these present) or not asked, on the call, the screen and the API, and the suggestion
says which; the Phase of Illness is a clinician's rating, refused from a handler who is not one."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from calls.models import Call
from calls.services.intake import CallInput, call_submit
from patients.models import Assessment
from referrals.codes import CallReason, Disposition
from services.codes import CallerType, Priority
from spoc.accounts.roles import Role
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOT_ASKED = "Red flags not asked"
NOT_ASSESSED = "Phase of Illness not assessed"
PHASE_NOT_CLINICIAN = (
    "Phase of Illness is a clinician's rating: only a clinician records it. Leave it out, and the "
    "call records it as not assessed."
)


@pytest.fixture
def clinician(make_user):
    return make_user(Role.CALL_HANDLER, username="nurse-handler", is_clinician=True)


def submit(user: Any, **fields: Any) -> Call:
    values: dict[str, Any] = {
        "received_at": timezone.now() - timedelta(minutes=4),
        "caller_type": CallerType.CARER_FAMILY,
        "reason": CallReason.SYMPTOM_CONTROL,
        "chosen_priority": Priority.P5,
        "disposition": Disposition.SIGNPOSTED,
        "idempotency_key": uuid.uuid4().hex,
        **fields,
    }
    return call_submit(data=CallInput(**values), user=user).call


def test_red_flags_not_asked_are_kept_as_not_asked_and_the_suggestion_says_so(handler):
    call = submit(handler)
    assert (call.red_flags, call.red_flags_asked) == ([], False)
    assert call.suggestion_reasons == [
        "No urgent features among the answers recorded → P5",
        NOT_ASKED,
        NOT_ASSESSED,
    ]
    assert "No urgent features recorded" not in " ".join(call.suggestion_reasons)


def test_red_flags_asked_and_none_present_are_kept_as_asked(handler):
    call = submit(handler, red_flags=())
    assert (call.red_flags, call.red_flags_asked) == ([], True)
    assert call.suggestion_reasons == ["No urgent features recorded → P5", NOT_ASSESSED]


def test_red_flags_present_are_asked(handler):
    call = submit(handler, red_flags=("SEIZURE",), chosen_priority=Priority.P1)
    assert (call.red_flags, call.red_flags_asked, call.suggested_priority) == (
        ["SEIZURE"],
        True,
        "P1",
    )


def test_a_phase_from_a_handler_who_is_not_a_clinician_is_refused_and_nothing_saved(handler):
    with pytest.raises(ValidationError) as refused:
        submit(handler, phase="UNSTABLE", red_flags=(), chosen_priority=Priority.P2)
    assert refused.value.message_dict["phase"] == [PHASE_NOT_CLINICIAN]
    assert not Call.objects.exists() and not Assessment.objects.exists()


def test_a_clinician_s_phase_is_recorded_and_used_as_before(clinician):
    call = submit(clinician, phase="UNSTABLE", red_flags=(), chosen_priority=Priority.P2)
    assert call.triage is not None and call.triage.phase == "UNSTABLE"
    assert call.suggestion_reasons == ["Phase of illness Unstable → P2"]


# --- the call screen ------------------------------------------------------------------------------


def form(patient: Any = None, **fields: Any) -> dict[str, Any]:
    return {
        "idempotency_key": uuid.uuid4().hex,
        "received_at": timezone.now().isoformat(),
        "patient": patient.pk if patient else "",
        "caller_type": "CARER_FAMILY",
        "caller_name": "Nguyễn Thị Lan",
        "reason": "SYMPTOM_CONTROL",
        "disposition": "SIGNPOSTED",
        "chosen_priority": "",
        **fields,
    }


def test_the_phase_is_offered_to_clinicians_only(client, handler, clinician):
    client.force_login(handler)
    page = client.get(reverse("calls:new")).content.decode()
    assert 'name="phase"' not in page and 'data-testid="phase-not-offered"' in page
    client.force_login(clinician)
    page = client.get(reverse("calls:new")).content.decode()
    assert 'name="phase"' in page and "phase-not-offered" not in page


def test_a_phase_posted_by_a_handler_who_is_not_a_clinician_is_not_recorded(client, handler):
    client.force_login(handler)
    response = client.post(reverse("calls:new"), form(phase="DYING", red_flags=["NONE"]))
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.triage is not None and call.triage.phase == ""
    assert call.suggested_priority == "P5" and NOT_ASSESSED in call.suggestion_reasons


@pytest.mark.parametrize(
    ("ticked", "asked", "flags", "shown"),
    [
        ([], False, [], "Not asked"),
        (["NONE"], True, [], "Asked: none present"),
        (["MAJOR_BLEED", "SEIZURE"], True, ["MAJOR_BLEED", "SEIZURE"], "Major bleed, Seizure"),
    ],
)
def test_the_screen_records_red_flags_as_asked_or_not(client, handler, ticked, asked, flags, shown):
    client.force_login(handler)
    chosen = {"chosen_priority": "P1"} if flags else {}
    response = client.post(reverse("calls:new"), form(red_flags=ticked, **chosen))
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.red_flags_asked, call.red_flags) == (asked, flags)
    page = client.get(response["Location"]).content.decode()
    assert f'data-testid="call-red-flags">{shown}<' in page


def test_none_of_these_with_a_red_flag_is_refused_keeping_what_was_typed(client, handler):
    client.force_login(handler)
    response = client.post(
        reverse("calls:new"), form(red_flags=["NONE", "SEIZURE"], notes="<b>Fitting</b> now")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Untick “None of these” or the red flags you ticked: not both." in page
    assert "&lt;b&gt;Fitting&lt;/b&gt; now" in page
    assert not Call.objects.exists()


def test_the_live_suggestion_says_when_red_flags_were_not_asked(client, handler):
    client.force_login(handler)
    not_asked = client.post(reverse("calls:suggestion"), {"reason": "SYMPTOM_CONTROL"})
    assert NOT_ASKED in not_asked.content.decode()
    assert "No urgent features recorded" not in not_asked.content.decode()
    asked = client.post(
        reverse("calls:suggestion"), {"reason": "SYMPTOM_CONTROL", "red_flags": ["NONE"]}
    )
    assert "No urgent features recorded → P5" in asked.content.decode()
    assert NOT_ASKED not in asked.content.decode()


# --- the API --------------------------------------------------------------------------------------


def body(**fields: Any) -> dict[str, Any]:
    return {
        "received_at": (timezone.now() - timedelta(minutes=3)).isoformat(),
        "caller_type": "GP",
        "reason": "CLINICAL_UPDATE",
        "disposition": "ADVICE_GIVEN",
        **fields,
    }


def test_the_api_takes_red_flags_left_out_as_not_asked_and_an_empty_list_as_none_present(
    client, handler
):
    client.force_login(handler)
    left_out = client.post(reverse("api-calls"), body(), content_type="application/json")
    assert left_out.status_code == 201
    assert left_out.json()["red_flags"] is None
    assert NOT_ASKED in left_out.json()["suggestion_reasons"]
    empty = client.post(reverse("api-calls"), body(red_flags=[]), content_type="application/json")
    assert empty.json()["red_flags"] == [] and NOT_ASKED not in empty.json()["suggestion_reasons"]
    null = client.post(reverse("api-calls"), body(red_flags=None), content_type="application/json")
    assert null.json()["red_flags"] is None


def test_the_api_refuses_a_phase_from_a_handler_who_is_not_a_clinician(client, handler, clinician):
    client.force_login(handler)
    refused = client.post(
        reverse("api-calls"), body(phase="DYING", red_flags=[]), content_type="application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["phase"] == [PHASE_NOT_CLINICIAN]
    assert not Call.objects.exists()
    client.force_login(clinician)
    patient = PatientFactory()
    saved = client.post(
        reverse("api-calls"),
        body(phase="DYING", red_flags=[], patient_id=patient.pk),
        content_type="application/json",
    )
    assert saved.status_code == 201
    assert saved.json()["suggested_priority"] == "P3"
    assert saved.json()["suggestion_reasons"] == ["Phase of illness Dying → P3"]
