"""call_submit: a call, its triage and its referrals in one transaction (docs/design.md §3-§5, §9)."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from calls.models import Call, CallBack
from calls.services import intake as calls_module
from calls.services.intake import CallInput, NeedRequest, call_submit
from calls.triage import TRIAGE_RULES_VERSION
from patients.codes import AssessmentSource, PatientLocation, PhaseOfIllness
from patients.models import Assessment
from referrals.codes import CallReason, CarerCoping, Disposition, RedFlag
from referrals.models import Referral, ReferralEvent
from referrals.tasks import route_referral_task
from referrals.transitions import ReferralStatus
from services.codes import CallerType, Need, Priority
from services.models import Site
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.core.queues import routing_queue
from tests.factories import OrganisationFactory
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler(make_user):
    """A call handler who is a clinician: the calls here record a Phase of Illness, a
    clinician's rating (docs/triage.md); the handler who is not one is tested apart."""
    return make_user(Role.CALL_HANDLER, username="handler1", is_clinician=True)


TWO_NEEDS = (
    NeedRequest(Need.URGENT_HOME_VISIT, "Syringe driver alarming"),
    NeedRequest(Need.CARER_SUPPORT),
)


@pytest.fixture
def patient():
    return PatientFactory()


@pytest.fixture
def site():
    return Site.objects.create(
        organisation=OrganisationFactory(), code="RXN01", name="North Hospital"
    )


def call_input(patient: Any, **changes: Any) -> CallInput:
    """A valid call: unstable phase (suggests P2), P2 chosen, two needs."""
    fields: dict[str, Any] = {
        "received_at": timezone.now() - timedelta(minutes=6),
        "ended_at": timezone.now() - timedelta(minutes=1),
        "caller_type": CallerType.CARER_FAMILY,
        "caller_name": "Mary O'Brien",
        "caller_phone": "07911 123456",
        "caller_relationship": "Daughter",
        "patient_id": patient.pk if patient is not None else None,
        "reason": CallReason.REQUEST_VISIT,
        "notes": "Pain worse since this morning.",
        "phase": PhaseOfIllness.UNSTABLE,
        "ipos": {"PAIN": 3, "NAUSEA": 1},
        "akps": 40,
        "carer_coping": CarerCoping.STRUGGLING,
        "patient_location": PatientLocation.HOME,
        "chosen_priority": Priority.P2,
        "disposition": Disposition.REFERRALS_CREATED,
        "needs": TWO_NEEDS,
        "idempotency_key": str(uuid.uuid4()),
    }
    fields.update(changes)
    return CallInput(**fields)


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Call, Assessment, Referral, ReferralEvent, CallBack, AccessLog)
    }


def test_submit_saves_call_assessment_referrals_events_and_access_log(handler, patient):
    data = call_input(patient)

    result = call_submit(data=data, user=handler)

    assert result.created is True
    call = Call.objects.get()
    assert result.call == call
    assert call.handled_by == handler
    assert call.patient == patient
    assert call.suggested_priority == Priority.P2
    assert call.chosen_priority == Priority.P2
    assert call.triage_rules_version == TRIAGE_RULES_VERSION
    assert str(call.caller_phone.as_e164) == "+447911123456"
    assessment = call.triage
    assert assessment is not None
    assert assessment.source == AssessmentSource.CALL_TRIAGE
    assert assessment.patient == patient
    assert assessment.phase == PhaseOfIllness.UNSTABLE
    assert assessment.ipos == {"PAIN": 3, "NAUSEA": 1}
    assert assessment.akps == 40
    assert assessment.assessed_at == data.received_at
    assert assessment.assessed_by == handler
    referrals = sorted(result.referrals, key=lambda r: r.need)
    assert [r.need for r in referrals] == [Need.CARER_SUPPORT, Need.URGENT_HOME_VISIT]
    for referral in referrals:
        referral.refresh_from_db()
        assert referral.call == call
        assert referral.patient == patient
        assert referral.status == ReferralStatus.AWAITING_ROUTING
        # The clock starts when the call is saved, not when the screen was opened.
        assert referral.clock_started_at == referral.created_at > data.received_at
        assert referral.created_by == handler
        assert referral.team is None
        event = referral.events.get()
        assert event.kind == ReferralEvent.Kind.CREATED
        assert (event.from_status, event.to_status) == ("", ReferralStatus.AWAITING_ROUTING)
        assert event.actor == handler
    assert referrals[1].note == "Syringe driver alarming"
    # Each need has its own priority: the urgent visit the call's, carer support its default.
    assert [(r.priority, r.suggested_priority, r.override_reason) for r in referrals] == [
        (Priority.P4, Priority.P4, ""),
        (Priority.P2, Priority.P2, ""),
    ]
    log = AccessLog.objects.get()
    assert (log.action, log.object_type, log.object_id) == ("CREATE", "call", str(call.pk))
    assert log.patient_id == patient.pk
    assert log.user == handler


def test_a_failure_part_way_through_saving_saves_nothing(handler, patient, monkeypatch):
    before = row_counts()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ReferralEvent.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        call_submit(data=call_input(patient), user=handler)

    assert row_counts() == before


def test_the_patients_record_is_not_changed_by_where_the_call_says_they_are(handler, patient, site):
    updated_at = patient.updated_at

    result = call_submit(
        data=call_input(
            patient, patient_location=PatientLocation.HOSPITAL, patient_site_id=site.pk
        ),
        user=handler,
    )

    assert result.call.patient_location == PatientLocation.HOSPITAL
    assert result.call.patient_site == site
    patient.refresh_from_db()
    assert patient.location == PatientLocation.HOME
    assert patient.location_site is None
    assert patient.updated_at == updated_at


def test_a_call_without_an_identified_patient_can_give_advice(handler):
    result = call_submit(
        data=call_input(None, disposition=Disposition.SIGNPOSTED, needs=()), user=handler
    )

    assert result.call.patient is None
    assert result.call.triage is not None
    assert result.call.triage.patient is None
    assert result.referrals == []
    assert AccessLog.objects.get().patient_id is None


# --- Validation: every rule gives a field-keyed error and saves nothing --------------------------


def _case(key: str, **changes: Any) -> Any:
    return pytest.param(key, changes, id=f"{key}-{'-'.join(changes)}")


VALIDATION_CASES = [
    _case("reason", reason="GOSSIP"),
    _case("caller_type", caller_type="ALIEN"),
    _case("disposition", disposition="HUNG_UP"),
    _case("direction", direction="SIDEWAYS"),
    _case("chosen_priority", chosen_priority="P9"),
    _case("phase", phase="ZOMBIE"),
    _case("ipos", ipos={"PAIN": 5}),
    _case("ipos", ipos={"ITCHING": 2}),
    _case("ipos", ipos={"PAIN": True}),
    _case("red_flags", red_flags=("NOSEBLEED",)),
    _case("carer_coping", carer_coping="FINE"),
    _case("patient_location", patient_location="MOON"),
    _case("akps", akps=55),
    _case("akps", akps=110),
    _case("patient_site_id", patient_location=PatientLocation.HOSPITAL),
    _case("patient_site_id", patient_location=PatientLocation.HOSPITAL, patient_site_id=987654),
    _case("patient_id", patient_id=987654),
    _case("needs", patient_id=None),
    _case("needs", needs=()),
    _case("disposition", disposition=Disposition.ADVICE_GIVEN),
    _case("needs", needs=(NeedRequest(Need.CARER_SUPPORT), NeedRequest(Need.CARER_SUPPORT))),
    _case("needs", needs=(NeedRequest("MIRACLE"),)),
    _case("needs", needs=(NeedRequest(Need.CARER_SUPPORT, "x" * 2001),)),
    _case("override_reason", chosen_priority=Priority.P4),
    _case("override_reason", chosen_priority=Priority.P4, override_reason="   "),
    _case("override_reason", chosen_priority=Priority.P1, override_reason="x" * 1001),
    _case("notes", notes="x" * 5001),
    _case("notes", notes="bad\x00byte"),
    _case("caller_name", caller_name="x" * 201),
    _case("caller_organisation", caller_organisation="x" * 201),
    _case("caller_relationship", caller_relationship="x" * 101),
    _case("caller_phone", caller_phone="not a number"),
    _case("idempotency_key", idempotency_key="k" * 65),
    _case("callback_note", callback_due_at="future", callback_note="x" * 501),
    _case("callback_due_at", callback_note="Ring back after the GP has been"),
    _case("callback_due_at", callback_due_at="past"),
    _case("received_at", received_at="future"),
    _case("received_at", received_at="naive"),
    _case("ended_at", ended_at="before"),
]


def _resolve(changes: dict[str, Any]) -> dict[str, Any]:
    now = timezone.now()
    moments = {
        ("received_at", "future"): now + timedelta(minutes=5),
        ("received_at", "naive"): datetime(2026, 1, 5, 10, 0),
        ("ended_at", "before"): now - timedelta(hours=1),
        ("callback_due_at", "future"): now + timedelta(hours=2),
        ("callback_due_at", "past"): now - timedelta(minutes=5),
    }
    return {k: moments.get((k, v), v) if isinstance(v, str) else v for k, v in changes.items()}


@pytest.mark.parametrize(("key", "changes"), VALIDATION_CASES)
def test_invalid_input_gives_a_field_keyed_error_and_saves_nothing(
    handler, patient, site, key, changes
):
    changes = _resolve(changes)
    before = row_counts()

    with pytest.raises(ValidationError) as caught:
        call_submit(data=call_input(patient, **changes), user=handler)

    assert key in caught.value.message_dict, caught.value.message_dict
    assert all(caught.value.message_dict[key])
    assert row_counts() == before


def test_a_site_is_refused_when_the_patient_is_at_home(handler, patient, site):
    with pytest.raises(ValidationError) as caught:
        call_submit(data=call_input(patient, patient_site_id=site.pk), user=handler)
    assert "patient_site_id" in caught.value.message_dict


def test_every_problem_is_reported_at_once(handler, patient):
    with pytest.raises(ValidationError) as caught:
        call_submit(
            data=call_input(patient, reason="GOSSIP", notes="x" * 5001, akps=7), user=handler
        )
    assert {"reason", "notes", "akps"} <= set(caught.value.message_dict)


def test_a_call_chosen_against_its_suggestion_without_a_reason_is_refused_without_a_query(
    handler, patient, monkeypatch
):
    """The call's constraint (a priority other than the suggested one has a reason) is checked
    in Python: should the call's reason ever come out blank, the handler is told, nothing is
    saved, and no query is spent on the check."""
    monkeypatch.setattr(calls_module, "_call_override_reason", lambda reason, plans: "")
    data = call_input(
        patient,
        needs=(NeedRequest(Need.URGENT_HOME_VISIT, priority=Priority.P1, override_reason="Bleed"),),
    )
    before = row_counts()

    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError) as caught:
        call_submit(data=data, user=handler)

    assert caught.value.message_dict == {
        "override_reason": ["Say why you chose P1 instead of the suggested P2."]
    }
    assert row_counts() == before
    assert not [q for q in queries.captured_queries if "_check" in q["sql"]]


def test_received_at_within_a_minute_of_clock_skew_is_accepted(handler, patient):
    received_at = timezone.now() + timedelta(seconds=50)

    result = call_submit(
        data=call_input(patient, received_at=received_at, ended_at=None), user=handler
    )

    assert result.call.received_at == received_at


# --- Idempotency --------------------------------------------------------------------------------


def test_a_second_submit_with_the_same_key_returns_the_first_call_and_creates_nothing(
    handler, patient, django_capture_on_commit_callbacks
):
    data = call_input(patient)
    first = call_submit(data=data, user=handler)
    before = row_counts()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = call_submit(data=dataclasses.replace(data, notes="double click"), user=handler)

    assert second.created is False
    assert second.call.pk == first.call.pk
    assert {r.pk for r in second.referrals} == {r.pk for r in first.referrals}
    assert row_counts() == before
    assert callbacks == []


def test_the_same_key_from_another_handler_is_another_call(handler, make_user, patient):
    data = call_input(patient)
    call_submit(data=data, user=handler)

    other = call_submit(
        data=data, user=make_user(Role.CALL_HANDLER, username="handler2", is_clinician=True)
    )

    assert other.created is True
    assert Call.objects.count() == 2


def test_a_submit_racing_one_with_the_same_key_returns_the_winner(handler, patient, monkeypatch):
    data = call_input(patient)
    winner = call_submit(data=data, user=handler)
    before = row_counts()
    real = calls_module._earlier_submission
    looks: list[int] = []

    def not_yet_committed(**kwargs: Any) -> Any:
        # The first look happens before the other submission commits: it finds nothing.
        looks.append(1)
        return None if len(looks) == 1 else real(**kwargs)

    monkeypatch.setattr(calls_module, "_earlier_submission", not_yet_committed)

    result = call_submit(data=data, user=handler)

    assert result.created is False
    assert result.call.pk == winner.call.pk
    assert row_counts() == before


# --- Triage: computed here, overrides need a reason ---------------------------------------------


def test_the_suggestion_is_computed_by_the_rules_whatever_the_client_chose(handler, patient):
    data = call_input(
        patient,
        red_flags=(RedFlag.MAJOR_BLEED,),
        chosen_priority=Priority.P5,
        override_reason="Caller says it has stopped",
    )

    call = call_submit(data=data, user=handler).call

    call.refresh_from_db()
    assert call.suggested_priority == Priority.P1
    assert call.suggestion_reasons[0] == "Red flag: Major bleed → P1"
    assert call.red_flags == [RedFlag.MAJOR_BLEED]
    # The call keeps the highest chosen priority of its needs: carer support stays at its P4.
    assert call.chosen_priority == Priority.P4
    assert call.override_reason == "Caller says it has stopped"
    assert call.triage_rules_version == TRIAGE_RULES_VERSION
    assert {
        (r.need, r.priority, r.suggested_priority, r.override_reason)
        for r in Referral.objects.all()
    } == {
        (Need.URGENT_HOME_VISIT, Priority.P5, Priority.P1, "Caller says it has stopped"),
        (Need.CARER_SUPPORT, Priority.P4, Priority.P4, ""),
    }


def test_choosing_the_suggested_priority_needs_no_reason(handler, patient):
    call = call_submit(
        data=call_input(
            patient,
            phase=PhaseOfIllness.STABLE,
            ipos={},
            chosen_priority=Priority.P5,
            needs=(NeedRequest(Need.URGENT_HOME_VISIT),),
        ),
        user=handler,
    ).call
    assert (call.suggested_priority, call.override_reason) == (Priority.P5, "")


# --- Senior review, call-backs, text as typed --------------------------------------------------


@pytest.mark.parametrize(
    ("clinician", "disposition", "needs", "expected"),
    [
        (False, Disposition.ADVICE_GIVEN, (), True),
        (True, Disposition.ADVICE_GIVEN, (), False),
        (False, Disposition.REFERRALS_CREATED, TWO_NEEDS, False),
        (False, Disposition.SIGNPOSTED, (), False),
    ],
)
def test_advice_from_a_non_clinician_waits_for_senior_review(
    make_user, patient, clinician, disposition, needs, expected
):
    user = make_user(Role.CALL_HANDLER, username="h-review", is_clinician=clinician)

    call = call_submit(
        data=call_input(
            patient,
            disposition=disposition,
            needs=needs,
            **({} if clinician else {"phase": None, "ipos": {"PAIN": 4}}),
        ),
        user=user,
    ).call

    assert call.needs_senior_review is expected


def test_a_call_back_is_saved_with_the_call(handler, patient):
    due = timezone.now() + timedelta(hours=3)

    call = call_submit(
        data=call_input(patient, callback_due_at=due, callback_note="Ring after the GP visit"),
        user=handler,
    ).call

    call_back = CallBack.objects.get()
    assert call_back.call == call
    assert call_back.patient == patient
    assert call_back.due_at == due
    assert call_back.note == "Ring after the GP visit"
    assert call_back.status == CallBack.Status.PENDING
    assert call_back.assigned_to == handler


def test_names_and_markup_are_stored_exactly_as_typed(handler, patient):
    data = call_input(
        patient,
        caller_name="Siân O'Brien-Nguyễn",
        caller_relationship="Daughter’s partner",
        notes='<script>alert("x")</script> & "quotes"',
    )

    call = call_submit(data=data, user=handler).call

    call.refresh_from_db()
    assert call.caller_name == "Siân O'Brien-Nguyễn"
    assert call.caller_relationship == "Daughter’s partner"
    assert call.notes == '<script>alert("x")</script> & "quotes"'


# --- After commit: routing is enqueued, a broker fault is not an error -------------------------


def test_on_commit_enqueues_one_routing_task_per_referral(
    handler, patient, django_capture_on_commit_callbacks, monkeypatch
):
    sent: list[tuple[int, str]] = []

    def apply_async(args: tuple[int], *, queue: str) -> None:
        sent.append((args[0], queue))

    monkeypatch.setattr(route_referral_task, "apply_async", apply_async)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = call_submit(data=call_input(patient), user=handler)
    assert len(callbacks) == 2
    assert sent == []

    for callback in callbacks:
        callback()
    # Each to the routing queue of its priority (P1-P2 have one of their own).
    assert sorted(sent) == sorted((r.pk, routing_queue(r.priority)) for r in result.referrals)


def test_a_call_without_referrals_enqueues_nothing(
    handler, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_submit(
            data=call_input(patient, disposition=Disposition.SIGNPOSTED, needs=()), user=handler
        )
    assert callbacks == []


def test_a_broker_failure_after_commit_is_logged_and_the_call_stays_saved(
    handler, patient, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broker_down(args: tuple[int], *, queue: str) -> None:
        raise BrokerError("Error 111 connecting to redis. Connection refused.")

    monkeypatch.setattr(route_referral_task, "apply_async", broker_down)

    with (
        caplog.at_level(logging.ERROR),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        result = call_submit(data=call_input(patient), user=handler)

    assert len(callbacks) == 2
    assert result.created is True
    assert Call.objects.filter(pk=result.call.pk).exists()
    assert (
        Referral.objects.filter(call=result.call, status=ReferralStatus.AWAITING_ROUTING).count()
        == 2
    )
    assert "could not be enqueued" in caplog.text


QUERIES_ONE_NEED = 11


def test_submit_runs_the_same_number_of_queries_for_one_need_or_four(handler, patient):
    def queries_for(needs: tuple[NeedRequest, ...]) -> int:
        with CaptureQueriesContext(connection) as queries:
            call_submit(data=call_input(patient, needs=needs), user=handler)
        return len(queries)

    def needs(*codes: str) -> tuple[NeedRequest, ...]:
        return tuple(NeedRequest(code) for code in codes)

    one = queries_for(needs(Need.URGENT_HOME_VISIT))
    four = queries_for(
        needs(
            Need.URGENT_HOME_VISIT,
            Need.END_OF_LIFE_CARE_AT_HOME,
            Need.DAY_THERAPY,
            Need.SPECIALIST_FOLLOW_UP,
        )
    )
    assert one == four
    # No query of full_clean's: the models' constraints are checked in Python by call_submit or
    # left to the database (was 17, with a savepoint and a query for two of them).
    assert one <= QUERIES_ONE_NEED, one
    # Carer support reads its carer's latest needs assessment (docs/triage.md): one query more,
    # whatever else the call asks.
    carer = queries_for(needs(Need.CARER_SUPPORT))
    four_with_carer = queries_for(
        needs(Need.URGENT_HOME_VISIT, Need.CARER_SUPPORT, Need.DAY_THERAPY, Need.OVERNIGHT_SUPPORT)
    )
    assert carer == four_with_carer == one + 1


def test_a_patient_who_has_died_gets_only_support_for_the_family(handler):
    patient = PatientFactory(died_at=timezone.now() - timedelta(days=1))
    with pytest.raises(ValidationError) as caught:
        call_submit(data=call_input(patient), user=handler)
    assert caught.value.message_dict["needs"] == [
        "The patient has died: Urgent home visit cannot be referred. Only bereavement support, "
        "carer support and verification of expected death can."
    ]
    assert not Call.objects.exists()
    result = call_submit(
        data=call_input(
            patient,
            reason=CallReason.BEREAVEMENT,
            phase=PhaseOfIllness.DECEASED,
            ipos={},
            chosen_priority=Priority.P5,
            needs=(NeedRequest(Need.BEREAVEMENT_SUPPORT),),
        ),
        user=handler,
    )
    assert [r.need for r in result.referrals] == [Need.BEREAVEMENT_SUPPORT]
