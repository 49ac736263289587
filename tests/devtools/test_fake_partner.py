"""The fake partner (devtools/fake_partner.py): a real HTTP server that records what it is sent and
shows it, and a client that sends the hub BaRS referrals over HTTP with OAuth 2.0 client
credentials, as a partner system would."""

from __future__ import annotations

import json
import os
import random
import re
import stat
import threading
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from devtools.demo.partners import CREDENTIALS_FILE, seed_partners
from devtools.fake_partner import Hub, Journal, make_server, referral_message, send_messages
from devtools.management.commands import fake_partner as command
from referrals.models import Referral
from spoc.accounts.models import PartnerSystem
from tests.interop.fhir import fhir_valid

# A Wednesday morning, for the hub's clocks and the made-up messages alike.
MORNING = "2026-12-02T10:00:00+00:00"


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "log.jsonl")


@pytest.fixture
def server(journal: Journal) -> Iterator[str]:
    httpd = make_server(journal, host="127.0.0.1", port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# Both talk to the test's own server on 127.0.0.1 only.
def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310
        url, data=body, headers={"Content-Type": "application/fhir+json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        return str(response.read().decode())


def test_the_server_records_what_it_is_sent_and_shows_it_escaped(server, journal, tmp_path):
    message = {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [
            {
                "resource": {
                    "resourceType": "MessageHeader",
                    "eventCoding": {"code": "servicerequest-response"},
                }
            },
            {"resource": {"resourceType": "Task", "status": "accepted"}},
        ],
    }
    assert _post(f"{server}/111/fhir/R4/$process-message", json.dumps(message).encode()) == 200
    assert _post(f"{server}/gp/ZZP01/fhir/R4/$process-message", b"<script>x</script>") == 200
    [first, second] = journal.received()
    assert (first.path, first.summary) == (
        "/111/fhir/R4/$process-message",
        "servicerequest-response; Task: accepted",
    )
    assert second.summary == "not JSON"
    page = _get(f"{server}/")
    assert "servicerequest-response; Task: accepted" in page
    assert "<script>x" not in page
    assert [e["path"] for e in json.loads(_get(f"{server}/log.json"))] == [
        "/111/fhir/R4/$process-message",
        "/gp/ZZP01/fhir/R4/$process-message",
    ]
    # Kept in its file too, one JSON line each.
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 2


def test_every_made_up_referral_is_a_valid_fhir_message():
    rng = random.Random(7)
    for _ in range(20):
        fhir_valid(referral_message(rng, now=datetime.fromisoformat(MORNING)))


@pytest.mark.django_db(transaction=True)
def test_the_fake_111_provider_sends_the_hub_referrals_over_http(
    live_server, settings, tmp_path, journal
):
    settings.DATA_DIR = tmp_path
    provider = seed_partners(data_dir=tmp_path)
    credentials = json.loads((tmp_path / CREDENTIALS_FILE).read_text())
    hub = Hub(url=live_server.url, **credentials)
    with time_machine.travel(MORNING, tick=True):
        rng = random.Random(1)
        messages = [referral_message(rng, now=datetime.fromisoformat(MORNING)) for _ in range(3)]
        statuses = send_messages(hub, journal, messages)
    assert statuses == [200, 200, 200]
    referrals = Referral.objects.filter(sender=provider)
    assert referrals.count() == 3
    assert all(entry.summary.endswith("Task: requested") for entry in journal.all())


@pytest.mark.django_db(transaction=True)
def test_the_command_sends_made_up_referrals_and_says_what_the_hub_answered(
    live_server, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    seed_partners(data_dir=tmp_path)
    out = StringIO()
    with time_machine.travel(MORNING, tick=True):
        call_command(
            "fake_partner", "--hub", live_server.url, "--generate", "2", "--seed", "3", stdout=out
        )
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith("200 servicerequest-request") for line in lines)
    assert Referral.objects.filter(sender__isnull=False).count() == 2


@pytest.mark.django_db
def test_without_credentials_the_command_says_to_seed_first(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    with pytest.raises(CommandError, match=re.escape("run `manage.py seed_demo` first")):
        call_command("fake_partner", "--generate", "1")


@pytest.mark.django_db
def test_registering_the_demo_partner_twice_keeps_its_secret_while_the_file_is_there(tmp_path):
    first = seed_partners(data_dir=tmp_path)
    written = (tmp_path / CREDENTIALS_FILE).read_text()
    assert seed_partners(data_dir=tmp_path) == first
    assert (tmp_path / CREDENTIALS_FILE).read_text() == written
    assert first.secrets.count() == 1
    # A new data directory: a new secret, written there.
    other = tmp_path / "other"
    seed_partners(data_dir=other)
    assert json.loads((other / CREDENTIALS_FILE).read_text())["client_id"] == first.client_id
    assert first.secrets.count() == 2
    assert PartnerSystem.objects.count() == 1


@pytest.mark.django_db
def test_the_credentials_file_is_created_the_owners_alone(tmp_path, monkeypatch):
    previous = os.umask(0o022)
    # No chmod afterwards: the file must be created with its mode, never readable meanwhile.
    monkeypatch.setattr(Path, "chmod", lambda *args, **kwargs: None)
    try:
        (tmp_path / CREDENTIALS_FILE).write_text("{}")  # left from before, 0o644
        seed_partners(data_dir=tmp_path)
    finally:
        os.umask(previous)
    path = tmp_path / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["client_id"]


def test_an_answer_that_is_not_json_does_not_stop_the_sending(monkeypatch, tmp_path):
    calls: list[int] = []
    stop = threading.Event()

    def send(*args: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("Expecting value: line 1 column 1 (char 0)")
        stop.set()

    monkeypatch.setattr(command, "send_messages", send)
    errors = StringIO()
    sender = command.Command(stdout=StringIO(), stderr=errors)
    hub = Hub(url="http://127.0.0.1:1", client_id="x", client_secret="y")
    thread = threading.Thread(
        target=sender._send_every,
        args=(hub, Journal(tmp_path / "log.jsonl"), random.Random(1), 0.01, stop),
        daemon=True,
    )
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive() and len(calls) == 2
    assert "could not send a referral: Expecting value" in errors.getvalue()
