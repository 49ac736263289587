"""A call-back after an abandoned phone call; the urgent alerts' fixtures
(tests/referrals/alerting.py), for the texts about overdue call-backs, and the fake Notify on a
free port (tests/referrals/test_notify_contract.py)."""

import pytest
import time_machine
from django.test import Client

from calls.models import CallBack
from tests.calls.telephony_steps import phone_call
from tests.clock import WEEKDAY_MORNING
from tests.referrals.alerting import alert_area, duty_rota  # noqa: F401 (fixtures)
from tests.referrals.test_notify_contract import notify  # noqa: F401 (fixture)


@pytest.fixture
def missed(make_user):
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        phone_call(Client(), "ringing", "abandoned", caller="07700 900123")
        yield CallBack.objects.get()
