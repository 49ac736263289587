"""The multi-node layout without containers (scripts/cluster.sh; docs/deployment.md): a web node
and a routing worker killed under a load of calls lose no accepted write, and the load balancer
fails requests over so that the client sees no error.

One cluster per module (PgBouncer, HAProxy, two gunicorn nodes, a worker per kind of work and
beat) on the test database and this xdist worker's Redis database, its ports derived from that
Redis database (so two xdist workers, or two runs on different Redis databases, never collide),
always stopped on the way out. Assertions are on outcomes, never on how long anything took.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from devtools.cluster_load import CallLoad, api_token, calls_missing, referrals_waiting
from services.codes import ServiceType
from spoc.accounts.roles import Role
from spoc.core.queues import WORKERS
from tests.conftest import ROOT, TEST_PASSWORD, real_time, subprocess_database_url, wait_for
from tests.referrals.factories import PatientFactory
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCRIPT = ROOT / "scripts" / "cluster.sh"


def cluster_port() -> int:
    """The load balancer's port: 18000 + 20 per Redis database (pytest_configure gives each
    xdist worker its own), leaving room for the 12 ports after it that the cluster takes."""
    database = int(urlsplit(settings.REDIS_URL).path.strip("/") or 0)
    return 18000 + 20 * database


class Cluster:
    def __init__(self, folder: Path) -> None:
        self.port = cluster_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "spoc.settings.test",
            "DATABASE_URL": subprocess_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CLUSTER_DIR": str(folder),
            "CLUSTER_PORT": str(self.port),
            "CLUSTER_GUNICORN_WORKERS": "1",
            "CLUSTER_WORKER_CONCURRENCY": "1",
            # No replica: its base backup copies the whole PostgreSQL server (tests/core/
            # test_replica.py tests it on a primary of its own).
            "CLUSTER_REPLICA": "0",
        }

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [str(SCRIPT), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def cluster(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        running.run("start")
        yield running
    finally:
        subprocess.run([str(SCRIPT), "stop"], cwd=ROOT, env=running.env, timeout=120, check=False)


def test_killing_a_web_node_and_a_worker_under_load_loses_no_accepted_call(cluster, make_user):
    make_user(Role.CALL_HANDLER, username="cluster-handler")
    # Routing places every referral: with a partner that can take it, or with the coordinators.
    make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())
    patients = [PatientFactory().pk for _ in range(5)]
    assert_all_running(cluster)
    token = api_token(base_url=cluster.url, username="cluster-handler", password=TEST_PASSWORD)
    load = CallLoad(
        base_url=cluster.url, token=token, patient_ids=patients, concurrency=4, clock=cluster_now
    )
    load.start()
    try:
        load.wait_for_accepted(5)
        cluster.run("kill", "web1")
        load.wait_for_accepted(10)
        cluster.run("kill", "worker-routing")
        load.wait_for_accepted(5)
        # What a restart policy does: start whatever is not running (web1, the worker).
        cluster.run("start")
        load.wait_for_accepted(5)
    finally:
        load.stop()
    assert load.failed == []
    call_ids = list(load.accepted.values())
    assert len(call_ids) >= 25
    assert calls_missing(call_ids) == []
    wait_for(lambda: referrals_waiting(call_ids) == 0, timeout=120, interval=0.5)
    assert_all_running(cluster)
    # Stopped before the test's database is emptied, so that no process of the cluster writes
    # while it is (the fixture's stop on the way out then finds nothing left to stop).
    cluster.run("stop")


def cluster_now() -> datetime:
    """The cluster's clock: its processes (scripts/cluster.sh) keep the real one, even while this
    process travels (``--clock``, docs/testing.md "Time in tests"), and refuse a call received
    later than their now."""
    return datetime.fromtimestamp(real_time(), UTC)


def assert_all_running(cluster: Cluster) -> None:
    """`status` names every process of the layout, each running."""
    lines = cluster.run("status").splitlines()
    names = [line.split()[0] for line in lines[:-1]]
    assert names == [
        "pgbouncer",
        "web1",
        "web2",
        "lb",
        *(f"worker-{kind}" for kind in WORKERS),
        "beat",
    ]
    assert all(" running (pid " in line for line in lines[:-1]), lines
