"""The referral lifecycle's one transition map (DESIGN.md §6), edge by edge."""

from __future__ import annotations

from itertools import product

import pytest

from referrals.transitions import (
    FHIR_TASK_STATUS,
    OPEN_STATUSES,
    TRANSITIONS,
    IllegalTransition,
    ReferralStatus,
    check_transition,
)
from spoc.core.api import DomainConflict

ALLOWED = sorted((current, target) for current, targets in TRANSITIONS.items() for target in targets)
REFUSED = sorted(
    (current, target)
    for current, target in product(ReferralStatus.values, repeat=2)
    if target not in TRANSITIONS[current]
)

# The FHIR R4 Task.status value set (REFERENCE.md "Interoperability").
FHIR_TASK_STATUSES = {
    "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress",
    "on-hold", "failed", "completed", "entered-in-error",
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
    with pytest.raises(DomainConflict, match=r"A referral that is completed cannot become queued\."):
        check_transition(ReferralStatus.COMPLETED, ReferralStatus.QUEUED)


def test_no_status_moves_to_itself():
    for status in ReferralStatus.values:
        assert status not in TRANSITIONS[status]


def test_completed_cancelled_and_entered_in_error_are_not_open():
    for status in (ReferralStatus.COMPLETED, ReferralStatus.CANCELLED, ReferralStatus.ENTERED_IN_ERROR):
        assert status not in OPEN_STATUSES


def test_entered_in_error_is_final():
    assert TRANSITIONS[ReferralStatus.ENTERED_IN_ERROR] == frozenset()


def test_routing_edge_awaiting_routing_to_queued_exists():
    check_transition(ReferralStatus.AWAITING_ROUTING, ReferralStatus.QUEUED)


def test_fhir_task_status_covers_every_status_with_a_fhir_code():
    assert set(FHIR_TASK_STATUS) == set(ReferralStatus.values)
    assert set(FHIR_TASK_STATUS.values()) <= FHIR_TASK_STATUSES
