"""The fake phone (devtools/fake_phone.py; docs/telephony.md, "A phone to test with"): its page
and buttons, and the command's script sending the hub signed events it takes."""

from __future__ import annotations

import threading
import urllib.request
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from calls.models import CallBack, TelephonyCall
from devtools.fake_phone import Phone, make_server
from tests.clock import WEEKDAY_MORNING


def test_the_page_has_its_buttons_and_a_hub_that_cannot_be_reached_is_logged():
    phone = Phone(hub_url="http://127.0.0.1:9", secret="s", caller="0151 496 0123")
    httpd = make_server(phone, host="127.0.0.1", port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        # Both to the test's own server on 127.0.0.1.
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
        ring = urllib.request.Request(f"{url}/ring", data=b"", method="POST")  # noqa: S310
        with urllib.request.urlopen(ring, timeout=10) as response:  # noqa: S310
            after = response.read().decode()
    finally:
        httpd.shutdown()
        httpd.server_close()
    for label in (
        "Ring the SPOC from 0151 496 0123",
        "Answer on extension 2001",
        "Hang up",
        "Caller gives up",
    ):
        assert label in page
    assert "hub unreachable" in after
    # Answering with no call rings nobody: the phone says to ring first and sends nothing.
    quiet = Phone(hub_url="http://127.0.0.1:9", secret="s", caller="0151 496 0123")
    assert quiet.answer() == 0
    assert quiet.log[-1].endswith("answered: no call yet, ring first")


@pytest.mark.django_db(transaction=True)
def test_the_script_rings_and_the_caller_gives_up_a_missed_call_in_the_hub(live_server):
    out = StringIO()
    with time_machine.travel(WEEKDAY_MORNING, tick=True):
        call_command(
            "fake_phone",
            "--hub",
            live_server.url,
            "--secret",
            "test-telephony-secret",
            "--caller",
            "07700 900123",
            "--play",
            "ring",
            "abandon",
            "--pause",
            "0",
            stdout=out,
        )
    assert [line.split()[1] for line in out.getvalue().splitlines()] == ["ringing", "abandoned"]
    call = TelephonyCall.objects.get()
    assert (call.caller_number, call.outcome) == ("+447700900123", TelephonyCall.Outcome.ABANDONED)
    assert CallBack.objects.filter(telephony_call=call).exists()


@pytest.mark.django_db(transaction=True)
def test_a_script_the_hub_refuses_fails_the_command(live_server):
    with pytest.raises(CommandError, match="refused"):
        call_command(
            "fake_phone",
            "--hub",
            live_server.url,
            "--secret",
            "wrong",
            "--caller",
            "07700 900123",
            "--play",
            "ring",
            stdout=StringIO(),
        )
    assert not TelephonyCall.objects.exists()
