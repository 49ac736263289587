"""The referral lifecycle's one transition map (docs/design.md §6), edge by edge."""

from __future__ import annotations

from itertools import product

import pytest

from referrals.transitions import (
    ACTIONS,
    FHIR_REQUEST_STATUS,
    FHIR_TASK_STATUS,
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
    IllegalAction,
    IllegalTransition,
    ReferralStatus,
    allowed_actions,
    check_action,
    check_transition,
)
from spoc.core.api import DomainConflict

ACTION_ALLOWED = sorted(
    (action, status)
    for action, spec in ACTIONS.items()
    for status in spec.sources
    if not spec.returns_to
)
ACTION_REFUSED = sorted(
    (action, status)
    for action, status in product(Action.values, ReferralStatus.values)
    if status not in ACTIONS[action].sources
)
ALLOWED = sorted(
    (current, target) for current, targets in TRANSITIONS.items() for target in targets
)
REFUSED = sorted(
    (current, target)
    for current, target in product(ReferralStatus.values, repeat=2)
    if target not in TRANSITIONS[current]
)

# The FHIR R4 Task.status value set (docs/reference.md "Interoperability").
FHIR_TASK_STATUSES = {
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
}

# The FHIR R4 ServiceRequest.status value set, request-status.
FHIR_REQUEST_STATUSES = {
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
}


def test_the_map_has_an_entry_for_every_status_and_names_only_known_statuses():
    assert set(TRANSITIONS) == set(ReferralStatus.values)
    for targets in TRANSITIONS.values():
        assert targets <= set(ReferralStatus.values)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_every_edge_of_the_map_is_allowed(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_every_other_pair_is_refused_with_illegal_transition(current, target):
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, target)
    assert (caught.value.current, caught.value.target) == (current, target)


def test_illegal_transition_is_a_conflict_with_a_readable_message():
    with pytest.raises(
        DomainConflict, match=r"A referral that is cancelled cannot become queued\."
    ):
        check_transition(ReferralStatus.CANCELLED, ReferralStatus.QUEUED)


def test_no_status_moves_to_itself():
    for status in ReferralStatus.values:
        assert status not in TRANSITIONS[status]


def test_completed_cancelled_and_entered_in_error_are_not_open():
    for status in (
        ReferralStatus.COMPLETED,
        ReferralStatus.CANCELLED,
        ReferralStatus.ENTERED_IN_ERROR,
    ):
        assert status not in OPEN_STATUSES


def test_entered_in_error_is_final():
    assert TRANSITIONS[ReferralStatus.ENTERED_IN_ERROR] == frozenset()


def test_routing_edge_awaiting_routing_to_queued_exists():
    check_transition(ReferralStatus.AWAITING_ROUTING, ReferralStatus.QUEUED)


def test_fhir_task_status_covers_every_status_with_a_fhir_code():
    assert set(FHIR_TASK_STATUS) == set(ReferralStatus.values)
    assert set(FHIR_TASK_STATUS.values()) <= FHIR_TASK_STATUSES


def test_fhir_request_status_covers_every_status_with_a_fhir_code():
    assert set(FHIR_REQUEST_STATUS) == set(ReferralStatus.values)
    assert set(FHIR_REQUEST_STATUS.values()) <= FHIR_REQUEST_STATUSES


def test_every_action_is_in_the_map():
    assert set(ACTIONS) == set(Action.values)


@pytest.mark.parametrize(("action", "status"), ACTION_ALLOWED)
def test_every_action_leads_where_the_map_says(action, status):
    target = ACTIONS[action].target
    assert check_action(action, status) == (target if target is not None else status)


@pytest.mark.parametrize(("action", "status"), ACTION_REFUSED)
def test_every_action_is_refused_from_any_other_status(action, status):
    with pytest.raises(IllegalAction) as caught:
        check_action(action, status)
    assert (caught.value.current, caught.value.action) == (status, action)
    assert isinstance(caught.value, DomainConflict)


@pytest.mark.parametrize(
    "before", [ReferralStatus.QUEUED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS]
)
def test_resume_returns_to_the_status_before_the_hold(before):
    assert check_action(Action.RESUME, ReferralStatus.ON_HOLD, before_hold=before) == before


@pytest.mark.parametrize("before", ["", ReferralStatus.COMPLETED, ReferralStatus.AWAITING_ROUTING])
def test_resume_without_a_working_status_to_return_to_is_refused(before):
    with pytest.raises(IllegalAction):
        check_action(Action.RESUME, ReferralStatus.ON_HOLD, before_hold=before)


@pytest.mark.parametrize("before", sorted(OPEN_STATUSES))
def test_withdrawing_a_death_reopens_a_referral_to_where_it_was(before):
    assert (
        check_action(Action.REOPEN_ON_WITHDRAWAL, ReferralStatus.COMPLETED, before_hold=before)
        == before
    )


@pytest.mark.parametrize("before", ["", ReferralStatus.COMPLETED, ReferralStatus.CANCELLED])
def test_withdrawing_a_death_never_reopens_to_a_closed_status(before):
    with pytest.raises(IllegalAction):
        check_action(Action.REOPEN_ON_WITHDRAWAL, ReferralStatus.COMPLETED, before_hold=before)


def test_illegal_action_message_is_readable():
    with pytest.raises(IllegalAction, match=r"A referral that is cancelled cannot be claimed\."):
        check_action(Action.CLAIM, ReferralStatus.CANCELLED)


def test_closed_referrals_allow_only_reopening_a_completed_one():
    # By hand, or by withdrawing the death that closed it.
    assert allowed_actions(ReferralStatus.COMPLETED) == [
        Action.REOPEN,
        Action.REOPEN_ON_WITHDRAWAL,
    ]
    assert allowed_actions(ReferralStatus.CANCELLED) == []
    assert allowed_actions(ReferralStatus.ENTERED_IN_ERROR) == []


def test_every_derived_edge_comes_from_an_action():
    for current, targets in TRANSITIONS.items():
        for target in targets:
            assert any(
                current in spec.sources and (target == spec.target or target in spec.returns_to)
                for action, spec in ACTIONS.items()
            ), (current, target)
