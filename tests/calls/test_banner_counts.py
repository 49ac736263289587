"""The banner's counts read from the database (``patient_banner_for``): the patient's calls of
the last seven days and their open referrals, both in one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.selectors import patient_banner_for
from referrals.transitions import ReferralStatus
from tests.factories import TeamFactory
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def test_the_calls_of_seven_days_and_the_open_referrals_are_counted_in_one_query(
    django_assert_num_queries,
):
    now = timezone.now()
    patient = PatientFactory()
    calls = [
        CallFactory(patient=patient, received_at=now - timedelta(days=days, hours=1))
        for days in (0, 3, 6)
    ]
    # Older than seven days, or another patient's: not counted.
    CallFactory(patient=patient, received_at=now - timedelta(days=8))
    someone_else = PatientFactory()
    team = TeamFactory()
    their_call = CallFactory(patient=someone_else)
    for status in (ReferralStatus.AWAITING_ROUTING, ReferralStatus.QUEUED, ReferralStatus.ON_HOLD):
        ReferralFactory(call=calls[0], status=status, team=team)
    for status in (ReferralStatus.COMPLETED, ReferralStatus.CANCELLED):
        ReferralFactory(call=calls[0], status=status, team=team)
    ReferralFactory(call=their_call, status=ReferralStatus.QUEUED, team=team)

    # The current care plan, the two counts, the just-in-case medicines at home.
    with django_assert_num_queries(3):
        banner = patient_banner_for(patient=patient)

    texts = {alert.code: alert.text for alert in banner.alerts}
    # Three calls in the last seven days, besides the eighth day's.
    assert texts["REPEAT_CALLER"] == "Repeat caller: 3 calls in 7 days"
    assert texts["OPEN_REFERRALS"] == "3 open referrals"


def test_a_patient_without_calls_or_referrals_has_neither_alert():
    banner = patient_banner_for(patient=PatientFactory())
    codes = {alert.code for alert in banner.alerts}
    assert "REPEAT_CALLER" not in codes and "OPEN_REFERRALS" not in codes
