"""The read replica (spoc/core/replica.py) with a real streaming replica, started once for this
module by scripts/replica.sh from a primary of the module's own: which reads go to it, read your
writes, its lag on the dashboard and /healthz, and the fall back to the primary when it stops or
lags."""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from django.conf import settings as django_settings
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.models import Referral
from services.models import Service, TeamMembership
from services.selectors import team_memberships_of
from spoc.accounts.models import User
from spoc.audit.context import _current
from spoc.audit.models import AccessLog
from spoc.core import health
from spoc.core.replica import REPLICA, _Scope, _scope, replica_forget, replica_state
from spoc.settings.base import postgres_database
from tests.conftest import ROOT, wait_for
from tests.core.test_health import monitor
from tests.dashboards.builders import dashboard_world
from tests.factories import ServiceFactory

SCRIPT = ROOT / "scripts" / "replica.sh"
# The server's programs: the newest PostgreSQL under Debian's /usr/lib/postgresql, as the script.
PG_BIN = max(
    glob.glob("/usr/lib/postgresql/*/bin"),
    key=lambda path: int(path.split("/")[-2]),
    default="/usr/lib/postgresql/<version>/bin (none found: apt-get install postgresql)",
)
pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


def _free_port() -> int:
    """A port nobody listens on, from the system: two xdist workers, or two test runs on one
    machine, never take the same."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _script(*args: str, conninfo: str) -> None:
    done = subprocess.run(
        [str(SCRIPT), *args],
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "PRIMARY_CONNINFO": conninfo},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/replica.sh {' '.join(args)}: {done.stderr.strip()}")


class Replica:
    """The module's replica: its data directory and port, stopped and started by the script."""

    def __init__(self, datadir: Path, port: int, conninfo: str) -> None:
        self.datadir, self.port, self.conninfo = datadir, port, conninfo

    def start(self) -> None:
        _script("start", str(self.datadir), str(self.port), conninfo=self.conninfo)

    def stop(self) -> None:
        _script("stop", str(self.datadir), conninfo=self.conninfo)

    def sql(self, statement: str) -> Any:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchone()[0]

    def caught_up(self) -> bool:
        """Whether the replica has replayed everything the primary wrote so far."""
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            lsn = cursor.fetchone()[0]
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            return bool(cursor.fetchone()[0])


def _as_postgres(*command: str) -> list[str]:
    """PostgreSQL's programs refuse to run as root: as root, they run as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


def _run(command: list[str], **kwargs: Any) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


@contextmanager
def private_primary(folder: Path, port: int, user: str) -> Iterator[str]:
    """A PostgreSQL server of the module's own, on ``port``, for the replica to follow: a base
    backup copies a whole server, and the test server may hold large databases and long
    transactions (a hot standby waits for those to end before it opens). Yields its conninfo;
    stopped on the way out."""
    data = folder / "primary"
    _run(
        _as_postgres(
            f"{PG_BIN}/initdb",
            "-D",
            str(data),
            "-U",
            user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
    )
    with (data / "postgresql.conf").open("a") as conf:
        # A scratch server: no fsync, a few connections; wal_level and max_wal_senders keep
        # PostgreSQL's defaults (replica, 10), and initdb's pg_hba.conf lets 127.0.0.1 replicate.
        conf.write(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
            "unix_socket_directories = ''\nfsync = off\nmax_connections = 30\n"
        )
    _run(
        _as_postgres(
            f"{PG_BIN}/pg_ctl", "-D", str(data), "-l", str(folder / "primary.log"), "-w", "start"
        )
    )
    try:
        yield f"host=127.0.0.1 port={port} user={user}"
    finally:
        _run(_as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"))


def _copy_database(name: str, source: dict[str, Any], target: str) -> None:
    """The test database, as migrated, copied to the private primary."""
    password = {"PGPASSWORD": str(source["PASSWORD"])} if source.get("PASSWORD") else {}
    env = {"PATH": os.environ["PATH"], **password}
    _run(
        [
            f"{PG_BIN}/psql",
            "-X",
            "-d",
            f"{target} dbname=postgres",
            "-c",
            f'CREATE DATABASE "{name}"',
        ],
        env=env,
    )
    dump = (
        f"{PG_BIN}/pg_dump --no-owner --no-privileges -h {source['HOST'] or '127.0.0.1'} "
        f"-p {source['PORT'] or 5432} -U {source['USER']} {name}"
    )
    _run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f"{dump} | {PG_BIN}/psql -X -q -v ON_ERROR_STOP=1 -d '{target} dbname={name}'",
        ],
        env=env,
    )


@pytest.fixture(scope="module")
def replica(django_db_setup: None, django_db_blocker: Any) -> Iterator[Replica]:
    """A primary of the module's own holding a copy of the test database, a streaming replica
    of it started by scripts/replica.sh, the test's ``default`` database moved to that primary
    and the alias ``replica`` on the replica as DATABASE_REPLICA_URL would make
    (spoc/settings/base.py). All put back, stopped and removed on the way out."""
    default = connections[DEFAULT_DB_ALIAS]
    shared = {key: default.settings_dict[key] for key in ("HOST", "PORT")}
    name, user = default.settings_dict["NAME"], default.settings_dict["USER"]
    # Under /tmp, a name of its own: the postgres user, who runs both servers, must reach it.
    folder = Path(f"/tmp/spoc-test-replica-{_free_port()}")  # noqa: S108
    folder.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    primary_port, replica_port = _free_port(), _free_port()
    database = postgres_database(
        f"postgres://{user}@127.0.0.1:{replica_port}/{name}",
        connect_timeout=django_settings.REPLICA_CONNECT_TIMEOUT_SECONDS,
    )
    database.update(CONN_MAX_AGE=0, TEST={"MIRROR": DEFAULT_DB_ALIAS})
    try:
        with private_primary(folder, primary_port, user) as conninfo:
            server = Replica(folder / "replica", replica_port, conninfo)
            _copy_database(name, default.settings_dict, conninfo)
            try:
                server.start()
                with django_db_blocker.unblock():
                    default.close()
                default.settings_dict.update(HOST="127.0.0.1", PORT=str(primary_port))
                configured = connections.configure_settings(
                    {DEFAULT_DB_ALIAS: default.settings_dict, REPLICA: database}
                )
                connections.settings[REPLICA] = configured[REPLICA]
                django_settings.DATABASES[REPLICA] = configured[REPLICA]
                yield server
            finally:
                with django_db_blocker.unblock():
                    default.close()
                    if REPLICA in connections.settings:
                        connections[REPLICA].close()
                        del connections[REPLICA]
                        del connections.settings[REPLICA]
                django_settings.DATABASES.pop(REPLICA, None)
                # Both servers are thrown away: no need for the script's orderly stop.
                _run(
                    _as_postgres(
                        f"{PG_BIN}/pg_ctl", "-D", str(server.datadir), "-m", "immediate", "stop"
                    )
                )
    finally:
        default.settings_dict.update(shared)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def routed(replica: Replica, settings: Any) -> Iterator[Replica]:
    """The router and middleware as the settings install them with a replica, a fresh look at
    it, and every change of the test's set-up replayed before the test goes on."""
    settings.DATABASE_ROUTERS = ["spoc.core.replica.ReplicaRouter"]
    position = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: position + 1],
        "spoc.core.replica.ReplicaReadsMiddleware",
        *settings.MIDDLEWARE[position + 1 :],
    ]
    replica_forget()
    wait_for(replica.caught_up, timeout=30)
    yield replica
    replica_forget()


@pytest.fixture
def world(make_user: Any, routed: Replica) -> dict[str, Any]:
    """The dashboards' world, replayed on the replica before the test reads it (else a page
    could read the replica before it has the world, and the next read after)."""
    built = dashboard_world(make_user)
    wait_for(routed.caught_up, timeout=30)
    return built


@contextmanager
def queries_on(alias: str) -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connections[alias]) as captured:
        yield captured


def _manager(world: dict[str, Any]) -> User:
    return world["manager"]


def _healthz(client: Any, monkeypatch: Any) -> Any:
    """/healthz as a monitoring system reads it, on a hub whose other parts are well (only the
    database is checked besides the replica: no worker or beat runs here)."""
    monkeypatch.setattr(health, "CHECKS", {"database": health.check_database})
    return client.get("/healthz", **monitor())


def _note(html: str) -> str | None:
    found = re.search(r"Figures as of <strong>(\d\d:\d\d:\d\d)</strong>", html)
    return found.group(1) if found else None


def test_dashboards_exports_directory_and_fhir_directory_read_from_the_replica(
    client: Any, world: dict[str, Any]
) -> None:
    """Each listed read takes its figures or services from the replica; what it logs is written
    to the primary, and who is asking is read there."""
    client.force_login(_manager(world))
    params = {"organisation": world["org_a"].pk}
    with queries_on(REPLICA) as on_replica, queries_on(DEFAULT_DB_ALIAS) as on_primary:
        page = client.get(reverse("dashboards:dashboard"), params)
    assert page.status_code == 200
    summaries = [q["sql"] for q in on_replica if "dashboards_" in q["sql"]]
    assert summaries, "the dashboard's figures came from the primary"
    assert not [q for q in on_primary if "dashboards_" in q["sql"]]
    assert any("accounts_user" in q["sql"] for q in on_primary)
    assert not any("accounts_user" in q["sql"] for q in on_replica)
    assert _note(page.content.decode()) == timezone.localtime(replica_state().as_of).strftime(
        "%H:%M:%S"
    )

    with queries_on(REPLICA) as on_replica:
        export = client.get(reverse("dashboards:csv", args=["referrals_by_team"]), params)
        api = client.get(reverse("api-dashboard"), params)
    assert export.status_code == 200 and b"Team A" in b"".join(export.streaming_content)
    assert api.status_code == 200 and api.json()["tiles"] == page.context["figures"]["tiles"]
    assert len([q for q in on_replica if "dashboards_" in q["sql"]]) >= 2 * len(summaries)
    # The export is logged, on the primary (the replica takes no writes).
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT, user=_manager(world)).exists()

    client.force_login(world["handler"])
    with queries_on(REPLICA) as on_replica:
        search = client.get(
            reverse("services:search"), {"need": "URGENT_HOME_VISIT", "postcode": "L9 7AL"}
        )
        fhir = client.get(f"/fhir/R4/HealthcareService/{world['team_a'].service_id}")
    assert search.status_code == 200 and fhir.status_code == 200
    assert [q for q in on_replica if "services_service" in q["sql"]]


def test_patient_records_queues_and_referrals_never_read_the_replica(
    client: Any, world: dict[str, Any]
) -> None:
    referral = Referral.objects.filter(team=world["team_a"]).first()
    assert referral is not None
    client.force_login(world["nurse"])
    with queries_on(REPLICA) as on_replica:
        assert client.get(reverse("queue:mine")).status_code == 200
        assert client.get(reverse("queue:referral", args=[referral.pk])).status_code == 200
        assert client.get(reverse("patients:detail", args=[referral.patient_id])).status_code == 200
        client.force_login(world["lead"])
        assert client.get(reverse("dashboards:breaches")).status_code == 200
    assert len(on_replica) == 0


def test_the_team_memberships_a_request_keeps_are_read_from_the_primary(
    world: dict[str, Any], rf: Any
) -> None:
    """Within a marked view's scope, the directory reads from the replica, but the team
    memberships a request keeps (services.selectors, kept between requests under the teams
    epoch of the user row, itself read on the primary) are read on the primary: a replica behind
    must not have a membership just taken away kept under the epoch that took it away."""
    request = rf.get("/")
    request.user = world["lead"]
    scope, served = _scope.set(_Scope(request)), _current.set(request)
    try:
        assert router.db_for_read(TeamMembership) == REPLICA
        with queries_on(REPLICA) as on_replica, queries_on(DEFAULT_DB_ALIAS) as on_primary:
            memberships = team_memberships_of(user=world["lead"])
    finally:
        _current.reset(served)
        _scope.reset(scope)
    assert (world["team_a"].pk, TeamMembership.Role.LEAD) in memberships
    assert len(on_primary) == 1 and "services_teammembership" in on_primary[0]["sql"]
    assert len(on_replica) == 0


def test_a_user_who_just_wrote_reads_from_the_primary(client: Any, world: dict[str, Any]) -> None:
    """Any other method than GET, HEAD or OPTIONS, even one refused, holds that browser (a
    signed cookie) and that user (for API clients, who keep no cookies) to the primary; another
    user still reads from the replica."""
    client.force_login(_manager(world))
    written = client.post(reverse("dashboards:dashboard"))
    assert written.status_code == 200 and "spoc_wrote" in written.cookies
    with queries_on(REPLICA) as on_replica:
        page = client.get(reverse("dashboards:dashboard"))
    assert page.status_code == 200 and len(on_replica) == 0
    assert _note(page.content.decode()) is None

    client.cookies.pop("spoc_wrote")
    with queries_on(REPLICA) as on_replica:
        assert client.get(reverse("api-dashboard")).status_code == 200
    assert len(on_replica) == 0, "the user's mark did not hold the API to the primary"

    client.force_login(world["lead"])
    with queries_on(REPLICA) as on_replica:
        assert client.get(reverse("dashboards:dashboard")).status_code == 200
    assert len(on_replica) > 0


def test_writes_locks_transactions_migrations_and_accounts_stay_on_the_primary(
    replica: Replica, rf: Any
) -> None:
    """Within a marked view's scope, the router picks the replica's connection for the hub's
    data only; writes, locks, reads in a transaction, migrations and accounts stay on the
    primary."""
    token = _scope.set(_Scope(rf.get("/")))
    try:
        alias = router.db_for_read(Service)
        assert alias == REPLICA
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT inet_server_port(), pg_is_in_recovery()")
            assert cursor.fetchone() == (replica.port, True)
        assert router.db_for_write(Service) == DEFAULT_DB_ALIAS
        assert Service.objects.select_for_update().db == DEFAULT_DB_ALIAS
        assert router.db_for_read(User) == DEFAULT_DB_ALIAS
        assert router.db_for_read(AccessLog) == DEFAULT_DB_ALIAS
        with transaction.atomic():
            assert router.db_for_read(Service) == DEFAULT_DB_ALIAS
        assert not router.allow_migrate(REPLICA, "services")
        assert router.allow_migrate(DEFAULT_DB_ALIAS, "services")
        # A row read from the replica is saved to the primary.
        service = Service.objects.first() or ServiceFactory()
        wait_for(lambda: Service.objects.filter(pk=service.pk).exists())
        read = Service.objects.get(pk=service.pk)
        assert read._state.db == REPLICA
        read.name = "Renamed on the primary"
        read.save()
        assert Service.objects.using(DEFAULT_DB_ALIAS).get(pk=service.pk).name == read.name
    finally:
        _scope.reset(token)
    # Outside a marked view, everything reads from the primary.
    assert router.db_for_read(Service) == DEFAULT_DB_ALIAS


def test_a_replica_behind_shows_its_time_and_too_far_behind_is_not_read(
    client: Any, world: dict[str, Any], routed: Replica, settings: Any, monkeypatch: Any
) -> None:
    """With replay paused (pg_wal_replay_pause), the replica keeps the figures it had: the
    dashboard shows them with their time; once the lag passes REPLICA_MAX_LAG_SECONDS, the
    primary's figures are shown without a time, and /healthz says the hub is degraded."""
    client.force_login(_manager(world))
    # The period fixed once (the page's name for its end and the API's): by default it ends
    # today, which midnight may move between two reads.
    today = timezone.localdate().isoformat()
    params = {"organisation": world["org_a"].pk, "date_to": today, "to": today}
    before = client.get(reverse("api-dashboard"), params).json()
    routed.sql("SELECT pg_wal_replay_pause()::text")
    try:
        extra = world["team_a"].service
        extra.name = "Renamed while the replica waits"
        extra.save()
        time.sleep(1.5)  # a lag of more than a second, seen in whole seconds on the page
        replica_forget()
        with queries_on(REPLICA) as on_replica:
            page = client.get(reverse("dashboards:dashboard"), params)
        state = replica_state()
        assert state.ok and state.lag_seconds is not None and state.lag_seconds >= 1
        assert len(on_replica) > 0
        assert _note(page.content.decode()) == timezone.localtime(state.as_of).strftime("%H:%M:%S")
        assert state.as_of is not None and state.as_of <= timezone.now() - timedelta(seconds=1)
        assert client.get(reverse("api-dashboard"), params).json() == before

        settings.REPLICA_MAX_LAG_SECONDS = 1
        replica_forget()
        with queries_on(REPLICA) as on_replica:
            page = client.get(reverse("dashboards:dashboard"), params)
        assert page.status_code == 200 and _note(page.content.decode()) is None
        assert not [q for q in on_replica if "dashboards_" in q["sql"]]
        health = _healthz(client, monkeypatch)
        assert (health.status_code, health.json()["status"]) == (200, "degraded")
        assert health.json()["replica"]["ok"] is False
        assert health.json()["replica"]["lag_seconds"] >= 1
        assert "behind the primary" in health.json()["replica"]["error"]
    finally:
        routed.sql("SELECT pg_wal_replay_resume()::text")


def test_a_stopped_replica_falls_back_to_the_primary_and_healthz_says_so(
    client: Any, world: dict[str, Any], routed: Replica, settings: Any, monkeypatch: Any
) -> None:
    """Even with the replica's connection kept between requests, as in production
    (CONN_MAX_AGE), and its last look at the replica still fresh: the first request after the
    replica stops finds its connection dead and reads from the primary, with no error page."""
    client.force_login(_manager(world))
    settings.REPLICA_CHECK_SECONDS = 3600  # the last look stays fresh, however slow the stop
    monkeypatch.setitem(connections[REPLICA].settings_dict, "CONN_MAX_AGE", 600)
    connections[REPLICA].close()  # the next one opens with CONN_MAX_AGE 600
    with queries_on(REPLICA) as on_replica:
        assert client.get(reverse("dashboards:dashboard")).status_code == 200
    assert len(on_replica) > 0 and connections[REPLICA].connection is not None
    routed.stop()
    try:
        # What Django does as each request starts under a real server (the test client does not).
        connections[REPLICA].close_if_unusable_or_obsolete()
        with queries_on(DEFAULT_DB_ALIAS) as on_primary:
            page = client.get(reverse("dashboards:dashboard"))
        assert page.status_code == 200 and _note(page.content.decode()) is None
        assert [q for q in on_primary if "dashboards_" in q["sql"]]
        assert client.get(reverse("api-dashboard")).status_code == 200
        assert replica_state().ok is False
        health = _healthz(client, monkeypatch)
        assert (health.status_code, health.json()["status"]) == (200, "degraded")
        assert health.json()["replica"]["ok"] is False
        assert "OperationalError" in health.json()["replica"]["error"]
    finally:
        connections[REPLICA].close()
        routed.start()
    replica_forget()
    wait_for(routed.caught_up, timeout=30)
    health = _healthz(client, monkeypatch)
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert health.json()["replica"] == {"ok": True, "lag_seconds": 0.0, "as_of": ANY}
