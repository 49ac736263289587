"""A phone call nobody answered is on the call-backs list with the caller's number."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from spoc.accounts.roles import Role
from tests.calls.telephony_steps import phone_call
from tests.clock import WEEKDAY_MORNING

pytestmark = pytest.mark.django_db


def test_an_abandoned_call_is_on_the_call_backs_list(make_user, client):
    make_user(Role.CALL_HANDLER, username="handler1")
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        phone_call(Client(), "ringing", "abandoned", caller="07700 900123")
        client.force_login(make_user(Role.SPOC_COORDINATOR, username="coord1"))
        page = client.get("/calls/call-backs/").content.decode()
    assert "07700 900123" in page
    assert "Caller gave up" in page
