"""A load of calls logged through the load balancer of a running cluster (scripts/cluster.sh),
and what became of them: the fault benchmark (bench/faults.py, fault `web-and-worker-killed`)
and the cluster's test (tests/core/test_cluster.py) kill a web node and a worker under it.

Each call is posted to the calls API with an `Idempotency-Key` of its own, as a partner system
would, so that the load balancer may send it again to the other node when the first died
without answering (deploy/haproxy/haproxy.cfg). A call counts as accepted when the API answered
201 with its id; anything else (an error status, a dropped connection, a timeout) counts as
failed, and the load does not retry it itself: a failure here is one the client saw.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from calls.models import Call
from referrals.models import Referral
from referrals.transitions import ReferralStatus

CALLS_PATH = "/api/v1/calls/"
TOKEN_PATH = "/api/v1/auth/token/"  # noqa: S105  (a path, not a secret)


def api_token(*, base_url: str, username: str, password: str) -> str:
    """A token for the calls API, signed in through the load balancer."""
    request = urllib.request.Request(  # noqa: S310  (http:// to the cluster's own balancer)
        base_url + TOKEN_PATH,
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(json.load(response)["token"])


def call_body(patient_id: int, received_at: datetime) -> dict[str, object]:
    """A call about a patient in pain at home, asking for an urgent visit (P2 suggested)."""
    return {
        "received_at": received_at.isoformat(),
        "caller_type": "DISTRICT_NURSE",
        "caller_name": "Load caller",
        "patient_id": patient_id,
        "reason": "REQUEST_VISIT",
        "ipos": {"PAIN": 4},
        "red_flags": [],
        "carer_coping": "COPING",
        "patient_location": "HOME",
        "disposition": "REFERRALS_CREATED",
        "needs": [{"need": "URGENT_HOME_VISIT"}],
    }


@dataclass
class CallLoad:
    """``concurrency`` threads posting calls about ``patient_ids`` in turn until ``stop()``, each
    received at ``clock()``: the cluster's time, as its processes read it."""

    base_url: str
    token: str
    patient_ids: list[int]
    concurrency: int = 4
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    accepted: dict[str, int] = field(default_factory=dict)  # Idempotency-Key -> call id
    failed: list[str] = field(default_factory=list)  # what the client saw, per failed call
    replayed: int = 0  # answered from the call's first run (Idempotent-Replayed: true)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def wait_for_accepted(self, count: int, timeout: float = 120.0) -> None:
        """Until ``count`` more calls than now were accepted (the load is flowing), or no thread of
        the load is left (one that raised: its exception is reported where the thread ended)."""
        target = len(self.accepted) + count
        deadline = time.monotonic() + timeout
        while len(self.accepted) < target and time.monotonic() < deadline:
            if not any(thread.is_alive() for thread in self._threads):
                return
            time.sleep(0.05)

    def _run(self, index: int) -> None:
        sent = 0
        while not self._stop.is_set():
            patient_id = self.patient_ids[(index + sent * self.concurrency) % len(self.patient_ids)]
            sent += 1
            self._post(patient_id)

    def _post(self, patient_id: int) -> None:
        key = uuid.uuid4().hex
        request = urllib.request.Request(  # noqa: S310  (as above)
            self.base_url + CALLS_PATH,
            data=json.dumps(call_body(patient_id, self.clock())).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Token {self.token}",
                "Idempotency-Key": key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                body = json.load(response)
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                status = response.status
        except urllib.error.HTTPError as exc:
            with self._lock:
                self.failed.append(f"HTTP {exc.code}")
            return
        except (OSError, ValueError) as exc:
            with self._lock:
                self.failed.append(type(exc).__name__)
            return
        with self._lock:
            if status == 201:
                self.accepted[key] = int(body["id"])
                self.replayed += replayed
            else:
                self.failed.append(f"HTTP {status}")


def calls_missing(call_ids: list[int]) -> list[int]:
    """The accepted calls that are not in the database (lost writes)."""
    found = set(Call.objects.filter(pk__in=call_ids).values_list("pk", flat=True))
    return sorted(set(call_ids) - found)


def referrals_waiting(call_ids: list[int]) -> int:
    """How many referrals of these calls still wait for routing."""
    return Referral.objects.filter(
        call_id__in=call_ids, status=ReferralStatus.AWAITING_ROUTING
    ).count()
