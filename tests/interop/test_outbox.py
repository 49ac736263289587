"""The referrer hears back (docs/interop.md): contract tests of the response messages the hub
sends the partner system that sent a referral. Each partner is a real HTTP server on a port of
its own, started by the test, that records every POST; the test moves the clock (time-machine)
and runs the outbox's two jobs as beat would. Every Bundle the partners receive is read back
with the fhir.resources models."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.utils import timezone

from devtools.nhs_numbers import synthetic_nhs_number
from interop.bars import message_process
from interop.outbox import outbox_deliver, outbox_feed
from interop.tasks import outbox_deliver_task, outbox_feed_task
from patients.codes import PlaceOfDeath
from referrals.codes import DeclineReason, ReferralOutcome
from referrals.models import OutboxMessage, Referral
from referrals.selectors.outbox import outbox_undelivered
from referrals.services.claims import (
    referral_cancel,
    referral_claim,
    referral_complete,
    referral_contact,
)
from referrals.services.lifecycle import referral_decline
from referrals.services.outbox import AlreadySent, outbox_resend, outbox_take_next
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import ServiceType
from spoc.accounts.models import PartnerSystem
from spoc.accounts.partners import Scope, partner_register
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.conftest import wait_for
from tests.interop.bars_messages import referral_message, update_message
from tests.interop.fhir import fhir_valid
from tests.referrals.factories import ReferralFactory, member
from tests.services.directory_fixtures import every_day, make_service
from workspace.services import death_record

# A Wednesday morning: the community team (08:00-20:00) is open. The messages' breach time
# (tests/interop/bars_messages.py) is 12:00 the same day.
MORNING = "2026-12-02T10:00:00+00:00"
BASE = "http://testserver/fhir/R4/"


# --- A partner system's endpoint -------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    answered: int  # the status the partner answered (0: it never answered)
    request_id: str
    content_type: str
    body: dict[str, Any]


class PartnerEndpoint:
    """A partner's own $process-message URL: records every POST, answers 200 while ``up``, 503
    while ``down``, and never answers while ``hanging`` (until the test ends)."""

    def __init__(self) -> None:
        self.mode = "up"
        self.posts: list[Post] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                mode = endpoint.mode
                status = {"up": 200, "down": 503}.get(mode, 0)
                with endpoint._lock:
                    endpoint.posts.append(
                        Post(
                            status,
                            self.headers.get("X-Request-ID", ""),
                            self.headers.get("Content-Type", ""),
                            body,
                        )
                    )
                if mode == "hanging":
                    endpoint._released.wait(timeout=60)
                    status = 503
                answer = json.dumps({"resourceType": "OperationOutcome", "issue": []}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/fhir/R4/$process-message"

    def received(self) -> list[dict[str, Any]]:
        """The Bundles the partner took (answered 200), in the order they came."""
        with self._lock:
            return [post.body for post in self.posts if post.answered == 200]

    def stop(self) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoints() -> Iterator[Callable[[], PartnerEndpoint]]:
    started: list[PartnerEndpoint] = []

    def start() -> PartnerEndpoint:
        started.append(PartnerEndpoint())
        return started[-1]

    yield start
    for endpoint in started:
        endpoint.stop()


def a_partner(name: str, ods: str, endpoint: str) -> PartnerSystem:
    return partner_register(
        name=name, ods_code=ods, scopes=[Scope.SEND_REFERRALS], endpoint=endpoint
    ).partner


# --- Referrals and the jobs -------------------------------------------------------------------


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def community(db: None) -> Any:
    return make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(8, 20)
    ).team


@pytest.fixture
def coordinators(db: None) -> Any:
    return make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True).team


@pytest.fixture
def nurse(make_user: Any, community: Any) -> Any:
    return member(make_user, community, "nurse1")


@pytest.fixture
def coordinator(make_user: Any) -> Any:
    return make_user(Role.SPOC_COORDINATOR, username="coordinator1")


def sent_by(partner: PartnerSystem, reference: str = "111-CASE-0001", **fields: Any) -> Referral:
    """A referral ``partner`` sent (its $process-message), routed to its team."""
    message = referral_message(reference=reference, **fields)
    answer = message_process(
        partner=partner, body=json.dumps(message).encode(), request_id="", base=BASE
    )
    assert answer.status == 200, answer.body
    referral = Referral.objects.get(sender=partner, sender_reference=reference)
    return referral_route(referral_id=referral.pk) or referral


def run_jobs() -> None:
    """What beat does every 10 seconds: add the messages owed, then send those due."""
    outbox_feed()
    outbox_deliver()


def task_statuses(bundles: list[dict[str, Any]]) -> list[str]:
    return [bundle["entry"][2]["resource"]["status"] for bundle in bundles]


def kinds(referral: Referral) -> list[str]:
    return list(referral.outbox.order_by("id").values_list("kind", flat=True))


def valid_response(bundle: dict[str, Any], referral: Referral) -> dict[str, Any]:
    """A BaRS response message about ``referral`` answering the message it came in."""
    fhir_valid(bundle)
    header, request, task = (entry["resource"] for entry in bundle["entry"])
    assert bundle["type"] == "message"
    assert header["eventCoding"]["code"] == "servicerequest-response"
    assert header["response"]["identifier"] == referral.sender_message_id
    assert (request["id"], task["id"]) == (str(referral.pk), str(referral.pk))
    return task


pytestmark = pytest.mark.django_db


# --- The tests ----------------------------------------------------------------------------------


def test_the_sender_hears_of_each_change_once_in_order_once_its_endpoint_is_back(
    clock, endpoints, community, nurse
):
    endpoint = endpoints()
    endpoint.mode = "down"
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    referral = sent_by(partner)
    run_jobs()
    assert endpoint.posts == []  # received and routed: the answer to its message told it

    referral_claim(referral_id=referral.pk, user=nurse)
    run_jobs()
    clock.shift(timedelta(minutes=5))
    referral_contact(referral_id=referral.pk, user=nurse)
    run_jobs()
    clock.shift(timedelta(minutes=5))
    referral_complete(referral_id=referral.pk, user=nurse, outcome=ReferralOutcome.NEEDS_MET)
    for _ in range(3):
        run_jobs()
        clock.shift(timedelta(minutes=1))

    # Down all along: only the first message was tried (each time it was due), never a later one.
    assert {post.body["id"] for post in endpoint.posts} == {endpoint.posts[0].body["id"]}
    first = OutboxMessage.objects.get(referral=referral, kind=OutboxMessage.Kind.CLAIMED)
    assert (first.status, first.attempts, first.last_error) == ("PENDING", 4, "HTTP 503.")

    endpoint.mode = "up"
    clock.shift(timedelta(minutes=30))
    run_jobs()
    run_jobs()

    received = endpoint.received()
    assert task_statuses(received) == ["accepted", "in-progress", "completed"]
    for bundle in received:
        valid_response(bundle, referral)
    # Every attempt sent the same Bundle, as FHIR JSON, under its id.
    assert received[0]["id"] == endpoint.posts[0].body["id"]
    assert {post.request_id for post in endpoint.posts} == {bundle["id"] for bundle in received}
    assert {post.content_type for post in endpoint.posts} == {"application/fhir+json"}
    completed = received[2]["entry"][2]["resource"]
    assert completed["statusReason"] == {"text": "Needs met"}
    assert list(referral.outbox.values_list("status", flat=True)) == ["SENT"] * 3


def test_a_hanging_partner_holds_up_no_other_partners_messages(
    clock, endpoints, community, make_user
):
    hanging, up = endpoints(), endpoints()
    hanging.mode = "hanging"
    slow = a_partner("GP system", "A81001", hanging.url)
    quick = a_partner("NHS 111 North West", "NLO01", up.url)
    stuck = [sent_by(slow, "GP-1"), sent_by(slow, "GP-2")]
    waiting = sent_by(quick, "111-1")
    nurse = member(make_user, community, "nurse1")
    for referral in (*stuck, waiting):
        referral_claim(referral_id=referral.pk, user=nurse)

    with override_settings(OUTBOX_TIMEOUT_SECONDS=0.5):
        run_jobs()

    [bundle] = up.received()
    assert valid_response(bundle, waiting)["status"] == "accepted"
    first, second = (OutboxMessage.objects.get(referral=r) for r in stuck)
    assert (first.status, first.attempts, first.last_error) == (
        "PENDING",
        1,
        "No answer within 0.5 s.",
    )
    # The partner did not answer: its other referral's message waits for the next run instead of
    # waiting out the timeout too.
    assert (second.status, second.attempts) == ("PENDING", 0)
    assert len(hanging.posts) == 1


def test_an_endpoint_that_refuses_connections_is_retried_backing_off(
    clock, endpoints, community, nurse
):
    endpoint = endpoints()
    url = endpoint.url
    endpoint.stop()  # nothing listens on its port any more
    partner = a_partner("NHS 111 North West", "NLO01", url)
    referral = sent_by(partner)
    referral_claim(referral_id=referral.pk, user=nurse)

    run_jobs()
    message = OutboxMessage.objects.get(referral=referral)
    assert (message.attempts, message.last_error) == (
        1,
        "Could not connect (ConnectionRefusedError).",
    )
    assert message.next_attempt_at == timezone.now() + timedelta(seconds=15)
    clock.shift(timedelta(seconds=14))
    run_jobs()
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 1
    clock.shift(timedelta(seconds=1))
    run_jobs()
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at == timezone.now() + timedelta(seconds=30)


@override_settings(OUTBOX_MAX_ATTEMPTS=3)
def test_a_message_failed_after_its_last_attempt_is_listed_and_sent_once_when_resent(
    clock, endpoints, community, nurse, coordinator
):
    endpoint = endpoints()
    endpoint.mode = "down"
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    referral = sent_by(partner)
    referral_claim(referral_id=referral.pk, user=nurse)
    referral_contact(referral_id=referral.pk, user=nurse)
    for _ in range(6):
        run_jobs()
        clock.shift(timedelta(minutes=10))

    claimed, contacted = referral.outbox.order_by("id")
    assert (claimed.status, claimed.attempts) == ("FAILED", 3)
    assert (contacted.status, contacted.attempts) == ("PENDING", 0)  # waits behind it
    rows, total = outbox_undelivered(user=coordinator)
    assert ([row.message.pk for row in rows], total) == ([claimed.pk], 1)
    [row] = rows
    assert (row.waiting, row.message.partner, row.message.referral) == (1, partner, referral)
    assert outbox_undelivered(user=nurse) == ([], 0)

    endpoint.mode = "up"
    run_jobs()
    assert endpoint.received() == []  # failed: nothing goes until a coordinator sends it again

    with pytest.raises(PermissionDenied):
        outbox_resend(message_id=claimed.pk, user=nurse)
    resent = outbox_resend(message_id=claimed.pk, user=coordinator)
    assert (resent.status, resent.attempts) == ("PENDING", 0)
    assert AccessLog.objects.filter(
        user=coordinator, object_type="outbox_message", object_id=str(claimed.pk)
    ).exists()
    run_jobs()
    run_jobs()

    assert task_statuses(endpoint.received()) == ["accepted", "in-progress"]
    assert outbox_undelivered(user=coordinator) == ([], 0)
    with pytest.raises(AlreadySent):
        outbox_resend(message_id=claimed.pk, user=coordinator)


def test_the_sender_is_told_once_when_its_breach_time_passes_unaccepted(
    clock, endpoints, community, nurse
):
    endpoint = endpoints()
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    referral = sent_by(partner)  # breach time 12:00
    clock.move_to("2026-12-02T11:59:00+00:00")
    run_jobs()
    assert endpoint.received() == []

    clock.move_to("2026-12-02T12:00:00+00:00")
    run_jobs()
    clock.shift(timedelta(hours=1))
    run_jobs()
    [notice] = endpoint.received()
    task = valid_response(notice, referral)
    assert task["status"] == "ready"  # in the team's queue, nobody has accepted it
    assert task["statusReason"] == {"text": "Not accepted by 2026-12-02T12:00:00+00:00."}

    referral_claim(referral_id=referral.pk, user=nurse)
    run_jobs()
    run_jobs()
    assert task_statuses(endpoint.received()) == ["ready", "accepted"]
    assert kinds(referral) == ["NOT_ACCEPTED", "CLAIMED"]


def test_no_breach_notice_for_a_referral_accepted_in_time(clock, endpoints, community, nurse):
    endpoint = endpoints()
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    referral = sent_by(partner)
    clock.move_to("2026-12-02T11:59:00+00:00")
    referral_claim(referral_id=referral.pk, user=nurse)
    for moment in ("12:00", "13:00", "18:00"):
        clock.move_to(f"2026-12-02T{moment}:00+00:00")
        run_jobs()
    assert task_statuses(endpoint.received()) == ["accepted"]
    assert kinds(referral) == ["CLAIMED"]


def test_without_a_breach_time_of_its_own_the_sender_is_told_at_the_accept_by_time(
    clock, endpoints, community
):
    endpoint = endpoints()
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    referral = sent_by(partner, breach=None)
    assert referral.accept_by is not None
    clock.move_to(referral.accept_by - timedelta(seconds=1))
    run_jobs()
    assert endpoint.received() == []
    clock.move_to(referral.accept_by)
    run_jobs()
    [notice] = endpoint.received()
    assert valid_response(notice, referral)["status"] == "ready"


def test_a_decline_the_routing_after_it_a_cancellation_and_a_death_are_each_told(
    clock, endpoints, community, coordinators, nurse, coordinator
):
    endpoint = endpoints()
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    declined = sent_by(partner, "111-1")
    referral_decline(referral_id=declined.pk, user=nurse, reason=DeclineReason.NO_CAPACITY)
    declined = referral_route(referral_id=declined.pk) or declined  # to the coordinators
    cancelled = sent_by(partner, "111-2", nhs_number=synthetic_nhs_number(100))
    referral_cancel(referral_id=cancelled.pk, user=coordinator, reason="Duplicate of a call.")
    died = sent_by(partner, "111-3", nhs_number=synthetic_nhs_number(101))
    referral_claim(referral_id=died.pk, user=nurse)
    death_record(
        patient_id=died.patient_id,
        user=coordinator,
        died_at=timezone.now() - timedelta(hours=1),
        place=PlaceOfDeath.OWN_HOME,
        expected=True,
        verified_by="Jo Kennedy, district nurse",
        bereavement_for=[],
    )
    run_jobs()
    run_jobs()

    assert kinds(declined) == ["DECLINED", "UNROUTABLE"]
    assert kinds(cancelled) == ["CANCELLED"]
    assert kinds(died) == ["CLAIMED", "COMPLETED"]
    by_referral: dict[str, list[dict[str, Any]]] = {}
    for bundle in endpoint.received():
        by_referral.setdefault(bundle["entry"][2]["resource"]["id"], []).append(bundle)
    assert task_statuses(by_referral[str(declined.pk)]) == ["requested", "ready"]
    team = by_referral[str(declined.pk)][1]["entry"][2]["resource"]["owner"]
    assert team["display"] == coordinators.name
    [bundle] = by_referral[str(cancelled.pk)]
    assert valid_response(bundle, cancelled)["statusReason"] == {"text": "Duplicate of a call."}
    assert bundle["entry"][1]["resource"]["status"] == "revoked"
    claim, death = by_referral[str(died.pk)]
    assert valid_response(claim, died)["status"] == "accepted"
    assert valid_response(death, died)["status"] == "completed"
    assert death["entry"][2]["resource"]["statusReason"] == {"text": "Patient died"}
    assert len(endpoint.received()) == 5


def test_the_senders_own_withdrawal_is_not_told_back_to_it(clock, endpoints, community):
    endpoint = endpoints()
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    original = referral_message()
    message_process(partner=partner, body=json.dumps(original).encode(), request_id="", base=BASE)
    withdrawal = update_message(original, status="revoked", note="Admitted to hospital.")
    answer = message_process(
        partner=partner, body=json.dumps(withdrawal).encode(), request_id="", base=BASE
    )
    assert answer.body["entry"][2]["resource"]["status"] == "cancelled"
    run_jobs()
    assert OutboxMessage.objects.count() == 0
    assert endpoint.posts == []


def test_an_event_older_than_the_lookback_is_not_told(clock, endpoints, community, nurse):
    partner = a_partner("NHS 111 North West", "NLO01", endpoints().url)
    referral = sent_by(partner)
    referral_claim(referral_id=referral.pk, user=nurse)
    clock.shift(timedelta(days=7, seconds=1))  # OUTBOX_EVENT_LOOKBACK_DAYS
    assert outbox_feed() == 0
    assert kinds(referral) == []


def test_a_referral_made_by_a_call_sends_nothing(clock, endpoints, community, nurse):
    referral = ReferralFactory(status=ReferralStatus.QUEUED, team=community)
    referral_claim(referral_id=referral.pk, user=nurse)
    referral_contact(referral_id=referral.pk, user=nurse)
    referral_complete(referral_id=referral.pk, user=nurse, outcome=ReferralOutcome.NEEDS_MET)
    clock.shift(timedelta(days=1))
    run_jobs()
    assert OutboxMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        ("", "No endpoint is registered for the partner system."),
        # Saved before the hub required https (registering it now is refused): never posted to.
        (
            "http://111.example.nhs.uk/fhir/R4/$process-message",
            "The partner's endpoint is not an https address.",
        ),
    ],
)
def test_a_partner_with_no_endpoint_or_plain_http_elsewhere_has_its_messages_failed_at_once(
    clock, community, nurse, coordinator, endpoint, error
):
    partner = a_partner("NHS 111 North West", "NLO01", "")
    PartnerSystem.objects.filter(pk=partner.pk).update(endpoint=endpoint)
    referral = sent_by(partner)
    referral_claim(referral_id=referral.pk, user=nurse)
    run_jobs()
    message = OutboxMessage.objects.get(referral=referral)
    assert (message.status, message.attempts, message.last_error) == ("FAILED", 1, error)
    assert outbox_undelivered(user=coordinator)[1] == 1


def test_feeding_twice_makes_one_message_per_event_and_a_message_is_taken_by_one_worker(
    clock, endpoints, community, nurse
):
    endpoint = endpoints()
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    referral = sent_by(partner)
    referral_claim(referral_id=referral.pk, user=nurse)
    assert outbox_feed() == 1
    assert outbox_feed() == 0

    taken = outbox_take_next(now=timezone.now(), skip_partner_ids=set())
    assert taken is not None and taken.attempts == 1
    # Another worker finds nothing to take while it is being sent...
    assert outbox_take_next(now=timezone.now(), skip_partner_ids=set()) is None
    # ...unless the worker that took it died: then it is taken again once its lease has passed.
    clock.shift(timedelta(seconds=91))
    again = outbox_take_next(now=timezone.now(), skip_partner_ids=set())
    assert again is not None and (again.pk, again.attempts) == (taken.pk, 2)


def test_the_list_of_undelivered_messages_costs_the_same_queries_for_many(
    clock, community, coordinator, django_assert_num_queries
):
    partner = a_partner("NHS 111 North West", "NLO01", "")

    def failed(count: int) -> None:
        OutboxMessage.objects.bulk_create(
            OutboxMessage(
                referral=ReferralFactory(status=ReferralStatus.QUEUED, team=community),
                partner=partner,
                kind=OutboxMessage.Kind.NOT_ACCEPTED,
                status=OutboxMessage.Status.FAILED,
                created_at=timezone.now(),
                next_attempt_at=timezone.now(),
                body={},
            )
            for _ in range(count)
        )

    failed(2)
    outbox_undelivered(user=coordinator)  # the user's permissions, read once per request
    with django_assert_num_queries(1):
        rows, total = outbox_undelivered(user=coordinator)
    assert total == 2
    failed(40)
    with django_assert_num_queries(2):  # the rows, and the count past the limit
        rows, total = outbox_undelivered(user=coordinator, limit=30)
    assert (len(rows), total) == (30, 42)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_outbox_jobs_deliver_through_a_real_worker(endpoints, make_user, celery_worker_process):
    # Open around the clock, so the answer does not depend on when the test runs.
    team = make_service("Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True).team
    nurse = member(make_user, team, "nurse1")
    endpoint = endpoints()
    partner = a_partner("NHS 111 North West", "NLO01", endpoint.url)
    referral = sent_by(partner, breach=None)
    referral_claim(referral_id=referral.pk, user=nurse)

    # As beat enqueues them; a one-process worker runs them in turn.
    outbox_feed_task.delay()
    outbox_deliver_task.delay()

    [bundle] = wait_for(endpoint.received, timeout=30)
    assert valid_response(bundle, referral)["status"] == "accepted"
    wait_for(
        lambda: OutboxMessage.objects.filter(referral=referral, status="SENT").exists(),
        timeout=30,
    )
