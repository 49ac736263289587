"""call_submit: each need of a call has its own priority (docs/triage.md "Each need's priority")."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from importlib import import_module
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from calls.models import Call
from calls.services.intake import CallInput, NeedRequest, call_submit
from patients.codes import PatientLocation, PhaseOfIllness
from referrals.codes import CallReason, CarerCoping, Disposition, RedFlag
from referrals.models import Referral
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import CallerType, Need, Priority, ServiceType
from services.hours import LONDON
from spoc.accounts.roles import Role
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory
from tests.services.directory_fixtures import make_service, small_directory

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler(make_user):
    """A call handler who is a clinician: the calls here record a Phase of Illness, a
    clinician's rating (docs/triage.md); the handler who is not one is tested apart."""
    return make_user(Role.CALL_HANDLER, username="handler1", is_clinician=True)


# A Wednesday evening (BST), after the carers' service has closed for the day.
WEDNESDAY_EVENING = datetime(2026, 6, 10, 18, 30, tzinfo=LONDON)


@pytest.fixture
def patient():
    return PatientFactory()


def urgent_call(patient: Any, *, needs: tuple[NeedRequest, ...], **changes: Any) -> CallInput:
    """A carer calls about a major bleed (red flag: P1) and says she is struggling."""
    fields: dict[str, Any] = {
        "received_at": WEDNESDAY_EVENING - timedelta(minutes=5),
        "caller_type": CallerType.CARER_FAMILY,
        "patient_id": patient.pk,
        "reason": CallReason.SYMPTOM_CONTROL,
        "phase": PhaseOfIllness.UNSTABLE,
        "red_flags": (RedFlag.MAJOR_BLEED,),
        "carer_coping": CarerCoping.STRUGGLING,
        "patient_location": PatientLocation.HOME,
        "chosen_priority": Priority.P1,
        "disposition": Disposition.REFERRALS_CREATED,
        "needs": needs,
        "idempotency_key": str(uuid.uuid4()),
    }
    fields.update(changes)
    return CallInput(**fields)


def submit(data: CallInput, user: Any) -> dict[str, Referral]:
    with time_machine.travel(WEDNESDAY_EVENING, tick=False):
        result = call_submit(data=data, user=user)
    return {referral.need: referral for referral in result.referrals}


BOTH = (NeedRequest(Need.URGENT_HOME_VISIT), NeedRequest(Need.CARER_SUPPORT))


def test_carer_support_with_an_urgent_symptom_stays_p4_and_reaches_the_carers_service(
    handler, patient
):
    directory = small_directory()
    carers = make_service(
        "Carers Centre", ServiceType.CARER_SUPPORT, hours=[(d, time(9), time(17)) for d in range(5)]
    )
    make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())

    referrals = submit(urgent_call(patient, needs=BOTH), handler)

    visit, carer = referrals[Need.URGENT_HOME_VISIT], referrals[Need.CARER_SUPPORT]
    assert (visit.priority, visit.suggested_priority) == (Priority.P1, Priority.P1)
    assert (carer.priority, carer.suggested_priority) == (Priority.P4, Priority.P4)
    with time_machine.travel(WEDNESDAY_EVENING + timedelta(minutes=1), tick=False):
        routed_carer = referral_route(referral_id=carer.pk)
        routed_visit = referral_route(referral_id=visit.pk)
    assert routed_carer is not None and routed_visit is not None
    # A P1 carer referral would find no carers' service open within 30 minutes.
    assert (routed_carer.status, routed_carer.team) == (ReferralStatus.QUEUED, carers.team)
    assert (routed_visit.status, routed_visit.team) == (
        ReferralStatus.QUEUED,
        directory["community"].team,
    )
    call = Call.objects.get()
    # The call keeps the highest of its needs, and nothing was overridden.
    assert (call.suggested_priority, call.chosen_priority, call.override_reason) == ("P1", "P1", "")
    assert "Carer support: default → P4" in call.suggestion_reasons


def test_one_need_chosen_above_its_suggestion_without_a_reason_is_refused(handler, patient):
    needs = (
        NeedRequest(Need.URGENT_HOME_VISIT),
        NeedRequest(Need.CARER_SUPPORT, priority=Priority.P2),
    )

    with pytest.raises(ValidationError) as caught:
        submit(urgent_call(patient, needs=needs), handler)

    assert caught.value.message_dict == {
        "override_reason_carer_support": [
            "Say why you chose P2 for carer support instead of the suggested P4."
        ]
    }
    assert not Call.objects.exists()
    assert not Referral.objects.exists()


def test_one_need_chosen_with_a_reason_is_saved_and_the_others_keep_theirs(handler, patient):
    needs = (
        NeedRequest(Need.URGENT_HOME_VISIT),
        NeedRequest(
            Need.CARER_SUPPORT, priority=Priority.P2, override_reason="Carer alone with a bleed"
        ),
    )

    referrals = submit(urgent_call(patient, needs=needs), handler)

    carer = Referral.objects.get(pk=referrals[Need.CARER_SUPPORT].pk)
    assert (carer.priority, carer.suggested_priority, carer.override_reason) == (
        Priority.P2,
        Priority.P4,
        "Carer alone with a bleed",
    )
    visit = Referral.objects.get(pk=referrals[Need.URGENT_HOME_VISIT].pk)
    assert (visit.priority, visit.suggested_priority, visit.override_reason) == (
        Priority.P1,
        Priority.P1,
        "",
    )
    call = Call.objects.get()
    assert (call.suggested_priority, call.chosen_priority) == (Priority.P1, Priority.P1)
    # The call's own reason is blank (its priority was not overridden): it keeps the need's.
    assert call.override_reason == "Carer support: Carer alone with a bleed"


def test_a_clinical_need_lowered_on_its_own_makes_the_call_an_override(handler, patient):
    needs = (
        NeedRequest(
            Need.URGENT_HOME_VISIT, priority=Priority.P2, override_reason="Bleed has stopped"
        ),
        NeedRequest(Need.CARER_SUPPORT),
    )

    submit(urgent_call(patient, needs=needs), handler)

    call = Call.objects.get()
    assert (call.suggested_priority, call.chosen_priority) == (Priority.P1, Priority.P2)
    assert call.override_reason == "Urgent home visit: Bleed has stopped"
    assert dict(Referral.objects.values_list("need", "priority")) == {
        Need.URGENT_HOME_VISIT: Priority.P2,
        Need.CARER_SUPPORT: Priority.P4,
    }


def test_a_reason_given_for_the_suggested_priority_is_not_kept(handler, patient):
    needs = (
        NeedRequest(Need.CARER_SUPPORT, priority=Priority.P4, override_reason="No change really"),
    )

    referrals = submit(urgent_call(patient, needs=needs), handler)

    carer = Referral.objects.get(pk=referrals[Need.CARER_SUPPORT].pk)
    assert (carer.priority, carer.override_reason) == (Priority.P4, "")


def test_an_unknown_need_priority_is_refused(handler, patient):
    needs = (NeedRequest(Need.CARER_SUPPORT, priority="P9", override_reason="x"),)

    with pytest.raises(ValidationError) as caught:
        submit(urgent_call(patient, needs=needs), handler)

    assert caught.value.message_dict == {"priority_carer_support": ["Choose one of the options."]}


def test_a_carer_in_crisis_tonight_gets_p3_carer_support_and_p2_overnight_support(handler, patient):
    needs = (NeedRequest(Need.OVERNIGHT_SUPPORT), NeedRequest(Need.CARER_SUPPORT))

    referrals = submit(
        urgent_call(
            patient,
            needs=needs,
            red_flags=(),
            phase=PhaseOfIllness.STABLE,
            carer_coping=CarerCoping.CRISIS_TONIGHT,
            reason=CallReason.CARER_CRISIS,
            chosen_priority=Priority.P2,
        ),
        handler,
    )

    assert referrals[Need.OVERNIGHT_SUPPORT].priority == Priority.P2
    assert referrals[Need.CARER_SUPPORT].priority == Priority.P3


def test_bereavement_support_after_a_death_notification_is_p4(handler):
    patient = PatientFactory(died_at=WEDNESDAY_EVENING - timedelta(hours=1))

    referrals = submit(
        urgent_call(
            patient,
            needs=(NeedRequest(Need.BEREAVEMENT_SUPPORT),),
            red_flags=(),
            phase=PhaseOfIllness.DECEASED,
            reason=CallReason.DEATH_NOTIFICATION,
            chosen_priority=Priority.P3,
        ),
        handler,
    )

    assert referrals[Need.BEREAVEMENT_SUPPORT].priority == Priority.P4
    call = Call.objects.get()
    # No clinical need: the call's priority is its need's, not the death verification's P3.
    assert (call.suggested_priority, call.chosen_priority) == (Priority.P4, Priority.P4)


def test_the_calls_priority_still_applies_to_clinical_needs_with_its_reason(handler, patient):
    referrals = submit(
        urgent_call(
            patient,
            needs=BOTH,
            chosen_priority=Priority.P2,
            override_reason="Bleed controlled with pressure",
        ),
        handler,
    )

    visit = Referral.objects.get(pk=referrals[Need.URGENT_HOME_VISIT].pk)
    assert (visit.priority, visit.override_reason) == (
        Priority.P2,
        "Bleed controlled with pressure",
    )
    assert Referral.objects.get(pk=referrals[Need.CARER_SUPPORT].pk).priority == Priority.P4


def test_the_migration_gives_earlier_referrals_their_calls_suggestion_and_override(handler):
    migration = import_module("referrals.migrations.0007_referral_suggested_priority_override")
    overridden = CallFactory(
        handled_by=handler,
        suggested_priority="P1",
        chosen_priority="P3",
        override_reason="GP already there",
    )
    followed = CallFactory(handled_by=handler, suggested_priority="P2", chosen_priority="P2")
    for call in (overridden, followed):
        ReferralFactory(call=call, need=Need.CARER_SUPPORT, priority=call.chosen_priority)

    # The models as they were when the migration ran (calls had not yet moved to their own app).
    state = MigrationLoader(connection).project_state(
        ("referrals", "0007_referral_suggested_priority_override")
    )
    migration.from_the_call(state.apps, None)

    assert sorted(
        Referral.objects.values_list(
            "call__chosen_priority", "suggested_priority", "override_reason"
        )
    ) == [("P2", "P2", ""), ("P3", "P1", "GP already there")]
