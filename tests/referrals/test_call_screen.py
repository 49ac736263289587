import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Call, CallBack
from referrals.models import Referral
from services.codes import PERSON_NEEDS, Need
from spoc.accounts.roles import Role
from tests.calls.telephony_steps import patient_with_carer
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory
from tests.services.directory_fixtures import make_spoc_8_to_8

pytestmark = pytest.mark.django_db
NEW = reverse("calls:new")


def payload(patient=None, **overrides):
    data = {
        "idempotency_key": uuid.uuid4().hex,
        "received_at": timezone.now().isoformat(),
        "patient": patient.pk if patient else "",
        "caller_type": "CARER_FAMILY",
        "caller_name": "Siân O'Brien",
        "caller_phone": "0151 496 0101",
        "caller_relationship": "Daughter",
        "caller_organisation": "",
        "reason": "SYMPTOM_CONTROL",
        "notes": "Mum in pain since lunchtime",
        "ipos_pain": "4",
        "red_flags": ["NONE"],
        "carer_coping": "STRUGGLING",
        "patient_location": "HOME",
        "patient_site": "",
        "chosen_priority": "",
        "override_reason": "",
        "disposition": "REFERRALS_CREATED",
        "needs": ["URGENT_HOME_VISIT", "CARER_SUPPORT"],
        "note_urgent_home_visit": "Pain crisis",
        "callback_due_at": "",
        "callback_note": "",
    }
    data.update(overrides)
    return data


def test_call_screen_opens_with_a_fresh_key_and_the_patient(client, handler):
    patient = PatientFactory(given_name="Mai", family_name="Nguyễn")
    client.force_login(handler)
    response = client.get(NEW, {"patient": patient.pk})
    assert response.status_code == 200
    assert len(response.context["form"].initial["idempotency_key"]) == 32
    assert "NGUYỄN, Mai" in response.content.decode()


def test_submit_saves_the_call_and_one_referral_per_need(
    client, handler, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    client.force_login(handler)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(NEW, payload(patient))
    call = Call.objects.get()
    assert response["Location"] == reverse("calls:detail", args=[call.pk])
    assert (call.suggested_priority, call.chosen_priority) == ("P2", "P2")
    assert sorted(Referral.objects.values_list("need", flat=True)) == [
        "CARER_SUPPORT",
        "URGENT_HOME_VISIT",
    ]
    assert Referral.objects.get(need="URGENT_HOME_VISIT").note == "Pain crisis"
    assert len(callbacks) == 2  # routing enqueued after commit, one per referral


def test_double_submit_creates_nothing_new(client, handler):
    patient = PatientFactory()
    client.force_login(handler)
    data = payload(patient)
    first = client.post(NEW, data)
    second = client.post(NEW, data, follow=True)
    assert Call.objects.count() == 1 and Referral.objects.count() == 2
    assert second.redirect_chain[0][0] == first["Location"]
    assert b"already saved" in second.content


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"chosen_priority": "P5"}, "override_reason", "reason"),
        ({"needs": [], "disposition": "REFERRALS_CREATED"}, "needs", ""),
        ({"caller_type": ""}, "caller_type", "required"),
        ({"caller_phone": "12345"}, "caller_phone", "Enter a UK phone number"),
        ({"notes": "x" * 5001}, "notes", "5000"),
        ({"patient_location": "HOSPITAL"}, "patient_site", ""),
    ],
)
def test_bad_input_is_explained_keeps_what_was_typed_and_saves_nothing(
    client, handler, overrides, field, message
):
    patient = PatientFactory()
    client.force_login(handler)
    response = client.post(NEW, payload(patient, **overrides))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors or form.non_field_errors(), form.errors
    if message:
        assert message.lower() in str(form.errors).lower()
    assert (
        "Mum in pain since lunchtime" in response.content.decode()
        or "x" * 100 in response.content.decode()
    )
    assert not Call.objects.exists() and not Referral.objects.exists()


def test_one_call_screen_s_carers_and_errors_never_reach_the_next(client, handler):
    """The call screen's fields are made once and copied for each form: what one request puts
    on its copy (a patient's carers offered, a field in error) stays on that page."""
    patient = patient_with_carer()
    client.force_login(handler)
    assert "NGUYỄN, Siân" in client.get(NEW, {"patient": patient.pk}).content.decode()
    refused = client.post(NEW, payload(patient, caller_type="", ipos_pain="9"))
    assert 'name="caller_type" class="nhsuk-select nhsuk-select--error"' in refused.content.decode()
    fresh = client.get(NEW).content.decode()
    assert "NGUYỄN" not in fresh
    assert "--error" not in fresh
    assert fresh.count('<option value="" selected>The patient</option>') == len(PERSON_NEEDS)


def test_needs_without_a_patient_are_refused(client, handler):
    client.force_login(handler)
    response = client.post(NEW, payload(None))
    assert response.status_code == 200
    assert not Call.objects.exists()


def test_script_tags_are_shown_as_text(client, handler):
    patient = PatientFactory()
    client.force_login(handler)
    response = client.post(NEW, payload(patient, notes="<script>alert('x')</script>"), follow=True)
    content = response.content.decode()
    assert "<script>alert('x')</script>" not in content
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in content


def test_advice_only_call_without_a_patient_and_a_call_back(client, handler):
    client.force_login(handler)
    due = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        NEW,
        payload(
            None,
            needs=[],
            disposition="ADVICE_GIVEN",
            phase="",
            carer_coping="",
            callback_due_at=due,
            callback_note="Check pain relief worked",
        ),
    )
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.patient is None and call.needs_senior_review  # handler is not a clinician
    assert CallBack.objects.get().note == "Check pain relief worked"


def test_live_suggestion_lists_every_reason_and_puts_cpr_next_to_p1(client, make_user):
    patient = PatientFactory()
    client.force_login(make_user(Role.CALL_HANDLER, is_clinician=True))
    response = client.post(
        reverse("calls:suggestion"),
        {
            "phase": "DYING",
            "red_flags": ["MAJOR_BLEED"],
            "ipos_pain": "4",
            "patient": patient.pk,
            "reason": "SYMPTOM_CONTROL",
        },
    )
    content = response.content.decode()
    assert 'data-testid="suggested-priority">P1<' in content
    assert "Red flag: Major bleed" in content and "Pain scored 4" in content and "Dying" in content
    assert 'data-testid="cpr-next-to-p1"' in content
    assert "No CPR decision recorded" in content


def test_live_suggestion_reports_bad_scores(client, handler):
    client.force_login(handler)
    response = client.post(reverse("calls:suggestion"), {"ipos_pain": "7"})
    content = response.content.decode()
    assert 'data-testid="suggested-priority"' not in content
    assert "Pain score must be from 0 to 4" in content or "Check the triage answers." in content


def test_open_referral_for_the_same_need_is_warned(client, handler):
    patient = PatientFactory()
    ReferralFactory(call__patient=patient, patient=patient)
    client.force_login(handler)
    response = client.get(reverse("calls:patient-panel"), {"patient": patient.pk})
    assert b'data-testid="open-referrals-warning"' in response.content
    assert b"Urgent home visit" in response.content


@pytest.mark.parametrize(
    "role", [Role.SPECIALIST_NURSE, Role.MANAGER, Role.AUDITOR, Role.DIRECTORY_ADMIN]
)
def test_only_call_takers_log_calls(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, payload(None)).status_code == 403


def test_call_detail_polls_until_routed_and_polls_are_not_logged(client, handler):
    call = CallFactory(handled_by=handler)
    ReferralFactory(call=call)
    client.force_login(handler)
    page = client.get(reverse("calls:detail", args=[call.pk]))
    assert b'hx-trigger="every 2s"' in page.content
    from spoc.audit.models import AccessLog

    before = AccessLog.objects.count()
    poll = client.get(
        reverse("calls:detail", args=[call.pk]), HTTP_HX_REQUEST="true", HTTP_X_SPOC_POLL="1"
    )
    assert poll.content.decode().lstrip().startswith('<div id="call-referrals"')
    assert AccessLog.objects.count() == before


def test_senior_review_by_the_coordinator(client, make_user, handler):
    call = CallFactory(handled_by=handler, needs_senior_review=True, disposition="ADVICE_GIVEN")
    coordinator = make_user(Role.SPOC_COORDINATOR, is_clinician=True)
    client.force_login(coordinator)
    assert call.notes in client.get(reverse("calls:reviews")).content.decode()
    client.post(reverse("calls:review", args=[call.pk]), {"comment": "Advice appropriate"})
    call.refresh_from_db()
    assert call.reviewed_by == coordinator and call.review_comment == "Advice appropriate"
    client.force_login(handler)
    assert client.get(reverse("calls:reviews")).status_code == 403


def test_a_senior_review_without_a_comment_is_refused_on_the_page_and_keeps_the_others(
    client, make_user, handler
):
    first = CallFactory(handled_by=handler, needs_senior_review=True, disposition="ADVICE_GIVEN")
    second = CallFactory(handled_by=handler, needs_senior_review=True, disposition="ADVICE_GIVEN")
    client.force_login(make_user(Role.SPOC_COORDINATOR, is_clinician=True))
    listed = client.get(reverse("calls:reviews")).content.decode()
    assert "required" not in listed.split("<main")[1] and listed.count("novalidate") == 2
    response = client.post(reverse("calls:review", args=[second.pk]), {"comment": "   "})
    page = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in page and "Write a review comment before saving." in page
    # The summary links to the box of the call posted, which is drawn in error; the other is not.
    assert f'href="#id_review_{second.pk}_comment"' in page
    assert (
        f'id="id_review_{second.pk}_comment"' in page
        and f'id="id_review_{first.pk}_comment"' in page
    )
    assert page.count("nhsuk-textarea--error") == 1
    second.refresh_from_db()
    assert second.reviewed_at is None


def test_call_backs_due_and_done(client, handler):
    call = CallFactory(handled_by=handler)
    call_back = CallBack.objects.create(
        call=call, patient=call.patient, due_at=timezone.now(), note="Ring back"
    )
    client.force_login(handler)
    assert b"Ring back" in client.get(reverse("calls:call-backs")).content
    client.post(reverse("calls:call-back-done", args=[call_back.pk]), {"outcome": "REACHED"})
    call_back.refresh_from_db()
    assert call_back.status == CallBack.Status.DONE and call_back.done_by == handler


# --- each need's own priority -------------------------------------------------------------------


def test_each_need_has_a_labelled_priority_select_described_by_its_suggestion(client, handler):
    client.force_login(handler)
    response = client.post(
        NEW, payload(PatientFactory(), red_flags=["MAJOR_BLEED"], caller_type="")
    )
    content = response.content.decode()
    assert response.status_code == 200 and not Call.objects.exists()
    assert (
        '<label class="nhsuk-label" for="id_priority_carer_support">Priority for carer support</label>'
        in content
    )
    assert 'aria-describedby="need-suggested-carer_support"' in content
    assert (
        'for="id_override_reason_carer_support">Reason for another priority for carer support<'
        in content
    )
    # The suggestion beside each need: the call's for a clinical need, its own for carer support.
    assert (
        'id="need-suggested-carer_support" data-testid="need-suggested-carer_support">Suggested <strong>P4</strong>'
        in content
    )
    assert (
        'id="need-suggested-urgent_home_visit" data-testid="need-suggested-urgent_home_visit">Suggested <strong>P1</strong>'
        in content
    )
    # Behaviour is in a static file: the CSP forbids inline scripts.
    assert "js/call-needs" in content
    assert "<script>" not in content


def test_live_suggestion_updates_each_needs_suggestion_out_of_band(client, handler):
    client.force_login(handler)
    response = client.post(
        reverse("calls:suggestion"),
        {
            "red_flags": ["MAJOR_BLEED"],
            "carer_coping": "CRISIS_TONIGHT",
            "reason": "SYMPTOM_CONTROL",
        },
    )
    content = response.content.decode()
    assert (
        'id="need-suggested-carer_support" hx-swap-oob="true" data-testid="need-suggested-carer_support">'
        "Suggested <strong>P3</strong>: Carer support: carer in crisis tonight → P3"
    ) in content
    assert 'id="need-suggested-overnight_support" hx-swap-oob="true"' in content
    assert content.count('hx-swap-oob="true"') == len(Need.values)  # one per need


def test_submit_gives_carer_support_its_own_priority(client, handler):
    client.force_login(handler)
    response = client.post(NEW, payload(PatientFactory(), red_flags=["MAJOR_BLEED"]))
    assert response.status_code == 302
    assert dict(Referral.objects.values_list("need", "priority")) == {
        "URGENT_HOME_VISIT": "P1",
        "CARER_SUPPORT": "P4",
    }


def test_changing_one_needs_priority_needs_a_reason_shown_beside_it(client, handler):
    client.force_login(handler)
    patient = PatientFactory()
    response = client.post(NEW, payload(patient, priority_carer_support="P2"))
    content = response.content.decode()
    assert response.status_code == 200 and not Call.objects.exists()
    assert response.context["form"].errors["override_reason_carer_support"] == [
        "Say why you chose P2 for carer support instead of the suggested P4."
    ]
    assert 'id="id_override_reason_carer_support-error"' in content

    saved = client.post(
        NEW,
        payload(
            patient,
            priority_carer_support="P2",
            override_reason_carer_support="Daughter cannot cope tonight",
        ),
    )
    assert saved.status_code == 302
    carer = Referral.objects.get(need="CARER_SUPPORT")
    assert (carer.priority, carer.suggested_priority, carer.override_reason) == (
        "P2",
        "P4",
        "Daughter cannot cope tonight",
    )
    assert Referral.objects.get(need="URGENT_HOME_VISIT").priority == "P2"


def test_an_unticked_needs_priority_is_ignored(client, handler):
    client.force_login(handler)
    response = client.post(
        NEW, payload(PatientFactory(), needs=["URGENT_HOME_VISIT"], priority_carer_support="P1")
    )
    assert response.status_code == 302
    assert list(Referral.objects.values_list("need", "priority")) == [("URGENT_HOME_VISIT", "P2")]


def test_the_call_screen_for_a_patient_has_an_exact_query_budget(
    client, handler, django_assert_num_queries
):
    make_spoc_8_to_8()
    patient = PatientFactory()
    client.force_login(handler)
    client.get(NEW, {"patient": patient.pk})  # the web process now keeps the directory
    # The session, the user, their authenticator, their roles (not kept in the tests' settings);
    # the patient and the access log's row; the open referrals; the banner (the counts of calls
    # and referrals, the care plan, the medicines); the related people; the directory's version
    # (the SPOC's hours from the kept directory); the call-backs badge; the sites to choose from.
    with django_assert_num_queries(14):
        response = client.get(NEW, {"patient": patient.pk})
    assert response.status_code == 200
