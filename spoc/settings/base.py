"""Settings shared by every mode. Everything that differs between machines comes from the
environment (docs/architecture.md lists each variable)."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from spoc.core import queues

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(os.environ.get("SPOC_DATA_DIR", BASE_DIR / ".data"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# How many reverse proxies (TLS terminator, load balancer) stand in front of gunicorn. With N > 0
# the client address is the Nth entry from the right of X-Forwarded-For, so that lock-out and the
# access log see the real client, not the proxy. 0: REMOTE_ADDR as gunicorn saw it.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-local-key-change-me-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "phonenumber_field",
    # Ours, lowest layer first (docs/architecture.md):
    # core <- services <- patients, rota <- experience <- referrals <- calls <- workspace <- home,
    # dashboards, interop.
    "spoc.core",
    "spoc.accounts",
    "spoc.audit",
    "services",
    "patients",
    "rota",
    "experience",
    "referrals",
    "calls",
    "workspace",
    "spoc.home",
    "spoc.dashboards",
    "interop",
]

MIDDLEWARE = [
    "spoc.core.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "spoc.core.middleware.SecurityHeadersMiddleware",
    # Error responses under /api/ are JSON whoever made them (docs/security.md, "API errors").
    "spoc.core.api_errors.ApiErrorsAsJsonMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who is asking and from where, for the access log (spoc/audit/context.py).
    "spoc.audit.context.AccessContextMiddleware",
    "spoc.accounts.devices.KeptDevicesOTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "spoc.accounts.middleware.IdleTimeoutMiddleware",
    "spoc.accounts.middleware.MFARequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so that it sees the outcome of authentication (django-axes documentation).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "spoc.urls"
WSGI_APPLICATION = "spoc.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "spoc.core.context_processors.hub",
                "spoc.home.context_processors.navigation",
            ],
        },
    }
]
# Django's widgets drawn in Python, the same markup as its templates (spoc/core/form_renderer.py).
FORM_RENDERER = "spoc.core.form_renderer.HubFormRenderer"

# --- Database ---------------------------------------------------------------------------------
# DATABASE_URL selects PostgreSQL (production, tests). Without it, the embedded default: SQLite
# under .data/ in WAL mode, IMMEDIATE transactions and a busy timeout, so that web, worker and
# beat can share one file (docs/design.md §2).
DATABASE_URL = os.environ.get("DATABASE_URL", "")


def postgres_database(url: str, **options: object) -> dict[str, Any]:
    """A PostgreSQL database of DATABASES from its URL: connections kept for 10 minutes and
    checked before a request reuses one (a server restarted meanwhile costs no error page).
    Which process holds a connection shows in pg_stat_activity: "spoc gunicorn 4242", "spoc
    celery 4250" (a worker's pool processes show the worker's number), "spoc manage.py 4301"."""
    database: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    )
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_URL must be a PostgreSQL URL (postgres://user@host:5432/name); leave it "
            "unset for the embedded SQLite database under .data/."
        )
    database.setdefault("OPTIONS", {}).update(
        application_name=f"spoc {Path(sys.argv[0]).name} {os.getpid()}"[:63], **options
    )
    return database


if DATABASE_URL:
    DATABASES = {"default": postgres_database(DATABASE_URL)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "spoc.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA busy_timeout=20000;",
            },
        }
    }
# DATABASE_POOLER=pgbouncer: DATABASE_URL leads to PgBouncer in transaction mode
# (docs/deployment.md, "Pooled connections"), which hands each transaction whichever server
# connection is free, so nothing may outlive a transaction on the server. No server-side cursor:
# QuerySet.iterator() outside a transaction declares one WITH HOLD. No prepared statement:
# Django 5.2 binds parameters on the client and passes psycopg 3 prepare_threshold=None, which
# is pinned here so that turning server_side_binding on cannot bring them back unnoticed
# (PgBouncer 1.18 cannot follow a prepared statement to another server connection). The hub's
# advisory locks (pg_advisory_xact_lock) and temporary tables (ON COMMIT DROP) already end with
# their transaction. Django keeps its connection to PgBouncer (CONN_MAX_AGE) and checks it
# before reusing it (conn_health_checks), so one that PgBouncer closed is replaced, not used.
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "")
if DATABASE_POOLER not in {"", "pgbouncer"}:
    raise ImproperlyConfigured(
        f"DATABASE_POOLER must be empty or 'pgbouncer', not {DATABASE_POOLER!r}."
    )
if DATABASE_POOLER and DATABASE_URL:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"].update(prepare_threshold=None, server_side_binding=False)
# Two roles on PostgreSQL (docs/architecture.md, "Two database roles"): DATABASE_URL is then the
# app's role, which owns nothing; `manage.py migrate` alone logs in as the owner from
# DATABASE_MIGRATE_URL and grants the app role its rights (spoc/core/dbroles.py). Neither set:
# one role, as before.
DATABASE_MIGRATE_URL = os.environ.get("DATABASE_MIGRATE_URL", "")
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "") or (
    str(DATABASES["default"].get("USER") or "") if DATABASE_URL and DATABASE_MIGRATE_URL else ""
)

# A streaming read replica of the primary (docs/operations.md, "A read replica";
# spoc/core/replica.py): with DATABASE_REPLICA_URL, the dashboards and their exports, the directory
# search and the FHIR directory reads come from it, unless the user wrote within
# REPLICA_READ_YOUR_WRITES_SECONDS, or it is down or more than REPLICA_MAX_LAG_SECONDS behind.
# Its lag is measured at most every REPLICA_CHECK_SECONDS; a replica found down or behind is not
# tried again for REPLICA_RETRY_SECONDS, and a connection gives up after
# REPLICA_CONNECT_TIMEOUT_SECONDS (libpq's least is 2), so a replica that is gone costs one
# request in a process that long, not every request.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 30)
# Longer than any lag the hub tolerates, and than the time it takes to notice it.
REPLICA_READ_YOUR_WRITES_SECONDS = env_int(
    "REPLICA_READ_YOUR_WRITES_SECONDS", 2 * REPLICA_MAX_LAG_SECONDS + 60
)
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 5)
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 30)
REPLICA_CONNECT_TIMEOUT_SECONDS = env_int("REPLICA_CONNECT_TIMEOUT_SECONDS", 2)
if DATABASE_REPLICA_URL:
    if not DATABASE_URL:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL names a replica of PostgreSQL: set DATABASE_URL to its primary."
        )
    DATABASES["replica"] = postgres_database(
        DATABASE_REPLICA_URL, connect_timeout=REPLICA_CONNECT_TIMEOUT_SECONDS
    )
    # The test suite's replica follows its test database, which it never creates or flushes.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if DATABASE_POOLER:
        # Reached through PgBouncer too: the same limits as the primary's connection (above).
        DATABASES["replica"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["replica"]["OPTIONS"].update(prepare_threshold=None, server_side_binding=False)
    DATABASE_ROUTERS = ["spoc.core.replica.ReplicaRouter"]
    # After authentication, which says whose writes to remember.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "spoc.core.replica.ReplicaReadsMiddleware",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite (the embedded default) cannot hold an index's included columns: the team queue's index
# (referral_open_queue) still serves it there, only not as an index-only scan.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Celery -----------------------------------------------------------------------------------
# REDIS_URL selects Redis. Without it, Kombu's filesystem transport under .data/broker: real
# worker and beat processes, no server (docs/design.md §2).
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = DATA_DIR / "broker"
# Every task has a hard time limit; a task may set a shorter one (routing: 60 s).
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
# Redis: a task taken by a worker that dies before acknowledging it (acks_late) is handed out
# again once it is this many seconds old. Short, since the work waits that long; longer than the
# hard time limit, so a task still running is never given to a second worker.
BROKER_VISIBILITY_TIMEOUT_SECONDS = env_int(
    "CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 30
)
# How often each worker looks for such tasks (one small sorted-set read). Kombu's default looks
# every 10 s but scans only every 10th look, which would add up to 100 s to the timeout above.
BROKER_UNACKED_RESTORE_SECONDS = env_int("BROKER_UNACKED_RESTORE_SECONDS", 5)
# Any one broker socket operation gives up after this long, and a publish is tried once (no
# publish retries): a stalled Redis costs a submit at most this, a stopped one nothing. Redis
# itself reconnects a pooled connection that a Redis restart closed, so one try is enough.
BROKER_SOCKET_TIMEOUT_SECONDS = float(os.environ.get("BROKER_SOCKET_TIMEOUT_SECONDS", "1"))
BROKER_HEALTH_CHECK_SECONDS = env_int("BROKER_HEALTH_CHECK_SECONDS", 10)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
# After a failed publish, routing is not enqueued from this process for this many seconds (the
# sweeper enqueues it instead), so that a call with several needs, or the calls that follow it,
# do not each wait for a stalled broker (calls/services/intake.py).
ROUTING_ENQUEUE_PAUSE_SECONDS = env_int("ROUTING_ENQUEUE_PAUSE_SECONDS", 10)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
        "unacked_restore_interval": BROKER_UNACKED_RESTORE_SECONDS,
        "unacked_restore_throttle": 1,
        "socket_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
        # Connecting: one retry at once, so that a stopped broker fails a publish quickly.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 0.5,
        # A connection whose peer vanished without closing it (a restarted host, a dropped
        # NAT entry) is found by TCP keepalive instead of lasting for ever. A worker's waiting
        # BRPOP gets no socket timeout: Kombu drops it, and the worker reconnects, when its
        # reply is BROKER_HEALTH_CHECK_SECONDS overdue (a stalled Redis), and redis-py pings a
        # connection idle that long before using it again.
        "socket_keepalive": True,
        "health_check_interval": BROKER_HEALTH_CHECK_SECONDS,
        # A worker consuming several queues always takes from the first of CELERY_TASK_QUEUES
        # that has a task (P1-P2 routing first), instead of Kombu's default round robin.
        "queue_order_strategy": "priority",
    }
    # Kombu's Redis transport, except that a failed acknowledgement no longer costs the worker
    # a slot (spoc/core/broker.py): after a Redis stall while busy, a worker otherwise stays
    # alive and takes nothing.
    CELERY_BROKER_TRANSPORT = "spoc.core.broker:Transport"
else:
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# The queues (spoc/core/queues.py): one per kind of work, and which task goes to which. A worker
# started without --queues consumes them all, in this order (development); production runs one
# worker per kind (docker-compose.yml). TASK_QUEUE_PREFIX prefixes every queue's name (the test
# suite's own queues on a shared Redis).
TASK_QUEUE_PREFIX = os.environ.get("TASK_QUEUE_PREFIX", "")
# Each queue with its own direct exchange and routing key (a queue given only a name would be
# bound to the default queue's exchange and key, and every task would reach every queue).
CELERY_TASK_QUEUES = [
    Queue(
        f"{TASK_QUEUE_PREFIX}{name}",
        Exchange(f"{TASK_QUEUE_PREFIX}{name}"),
        f"{TASK_QUEUE_PREFIX}{name}",
    )
    for name in queues.QUEUES
]
CELERY_TASK_DEFAULT_QUEUE = f"{TASK_QUEUE_PREFIX}{queues.DEFAULT_QUEUE}"
CELERY_TASK_ROUTES = {
    pattern: {"queue": f"{TASK_QUEUE_PREFIX}{queue}"}
    for pattern, queue in queues.TASK_ROUTES.items()
}

# The cache holds the API throttles' counts. Redis when REDIS_URL is set, so that every gunicorn
# worker adds to one count (keys prefixed "spoc:"; never call cache.clear() there, which would
# empty the broker's database too); a cache that times out lets the request through
# (spoc/core/throttles.py). Without Redis, each process counts on its own in memory.
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "spoc",
            "OPTIONS": {
                "socket_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
                "socket_connect_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A team queue's rows under the queue's version, shared by every web process and node through
# Redis (in this process's memory without it): the polls of a team's open tabs after a change
# take them instead of reading them again (referrals.selectors.queue.team_queue). Old versions
# are never asked for again and expire.
CACHES["queue"] = (
    {**CACHES["default"], "TIMEOUT": 600}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "team-queue",
        "TIMEOUT": 600,
    }
)
# A cache that fails (the queue's; the default one of sessions, roles, team memberships and
# authenticators) is left alone by the process for this long, so that a stalled Redis costs a
# request at most once in that time (spoc/core/pauses.py).
CACHE_RETRY_SECONDS = env_int("CACHE_RETRY_SECONDS", 30)
# A user's roles and permissions (one query, spoc/accounts/roles.py) are kept in the default
# cache this long under their credentials epoch, which every change of their roles raises, and
# their team memberships (one query, services/selectors.py) under their teams epoch, which every
# change of them raises, and the ids of their confirmed authenticators (spoc/accounts/devices.py)
# under their devices epoch, which every write of a device raises: their pages take them from
# there instead of the database (0: every request reads them).
ROLES_KEPT_SECONDS = env_int("ROLES_KEPT_SECONDS", 600)
# A team queue's state (its counts and version) is kept in the same cache this long for the
# polls of everyone who sees the team whole: the team's open tabs polling within it ask the
# database once, and a tab whose poll falls this soon after a change shows it at its next poll
# (docs/patients-and-calls.md, "The queue's state kept for a second"; 0: every poll reads it).
QUEUE_STATE_KEPT_SECONDS = env_int("QUEUE_STATE_KEPT_SECONDS", 1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# Acknowledged after the task ran; a task whose worker process is killed is put back on the
# queue (without this, Celery acknowledges it as failed even with late acknowledgement). Tasks
# must therefore be safe to run twice (CONTRIBUTING.md, "How we write code").
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Europe/London"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Reuse database connections across tasks instead of reconnecting for each one.
CELERY_DB_REUSE_MAX = 200
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Exactly one beat sends the schedule (spoc/core/beat.py; docs/operations.md, "Exactly one beat"):
# it holds a lock in Redis for BEAT_LOCK_SECONDS, renewed every third of that; a second beat
# tries every BEAT_STANDBY_SECONDS and sends nothing meanwhile. A beat that dies without giving
# the lock up is replaced within BEAT_LOCK_SECONDS, far inside the canaries' 90 s.
CELERY_BEAT_SCHEDULER = "spoc.core.beat:SingleBeatScheduler"
BEAT_LOCK_SECONDS = env_int("BEAT_LOCK_SECONDS", 30)
BEAT_STANDBY_SECONDS = env_int("BEAT_STANDBY_SECONDS", 5)

# The worker writes a heartbeat this often; /healthz calls the worker down when the last one is
# older than WORKER_HEARTBEAT_STALE_SECONDS.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
WORKER_HEARTBEAT_STALE_SECONDS = env_int("WORKER_HEARTBEAT_STALE_SECONDS", 45)
# Beat sends a canary task every 30 s and records that it did; /healthz fails its `canary` check
# when none was consumed for CANARY_STALE_SECONDS (after a start-up grace as long), and its
# `beat` check when beat scheduled none for BEAT_STALE_SECONDS. runhub restarts its worker, and
# the worker's container healthcheck ends it, when the canary is older than
# WORKER_RESTART_AFTER_SECONDS while beat runs (spoc/core/pipeline.py, docs/operations.md).
CANARY_STALE_SECONDS = env_int("CANARY_STALE_SECONDS", 90)
BEAT_STALE_SECONDS = env_int("BEAT_STALE_SECONDS", 90)
WORKER_RESTART_AFTER_SECONDS = env_int("WORKER_RESTART_AFTER_SECONDS", 120)
# /healthz shows every check only to a system admin or to a monitoring system that sends
# "Authorization: Bearer <HEALTHZ_TOKEN>"; anyone else gets the overall status. Empty: no token.
HEALTHZ_TOKEN = os.environ.get("HEALTHZ_TOKEN", "")

# Routing that was committed but never ran: re-enqueued after this age, and reported on
# /healthz after the alert age (docs/design.md §6).
ROUTING_SWEEP_AFTER_SECONDS = env_int("ROUTING_SWEEP_AFTER_SECONDS", 60)
ROUTING_ALERT_AFTER_SECONDS = env_int("ROUTING_ALERT_AFTER_SECONDS", 300)
# A referral whose routing was enqueued within this many seconds is not enqueued again by the
# sweeper: its task is still queued (behind a backlog, or in a stalled Redis), and a copy per
# sweep would only lengthen the queue. As long as the alert age, so a task truly lost is sent
# again by the time /healthz reports its referral (a mark in the cache, referrals/services/enqueue.py).
ROUTING_REENQUEUE_AFTER_SECONDS = env_int("ROUTING_REENQUEUE_AFTER_SECONDS", 300)
# docs/design.md §5: a P4-P5 service "can meet" its deadline only when that deadline, counted in its
# own hours, falls within this many calendar days (so a service closed for a fortnight never wins).
ROUTING_P4_CALENDAR_CAP_DAYS = env_int("ROUTING_P4_CALENDAR_CAP_DAYS", 4)
ROUTING_P5_CALENDAR_CAP_DAYS = env_int("ROUTING_P5_CALENDAR_CAP_DAYS", 10)
# docs/design.md §7 (local): bereavement support contacts the family no sooner than this after a death.
BEREAVEMENT_CONTACT_AFTER_DAYS = env_int("BEREAVEMENT_CONTACT_AFTER_DAYS", 14)

# Clock milestones that passed longer ago than this when the escalation job first sees them
# (seeded history, a long outage) are recorded, not notified (docs/design.md §6).
ESCALATION_NOTIFY_WITHIN_HOURS = env_int("ESCALATION_NOTIFY_WITHIN_HOURS", 24)
# /healthz fails its `escalation` check while a milestone passed longer ago than this is still
# unrecorded: beat or the escalation job (every minute) has stopped.
ESCALATION_ALERT_AFTER_SECONDS = env_int("ESCALATION_ALERT_AFTER_SECONDS", 300)
# The hub's address in notification emails (which carry a referral number and a link, never a
# patient's name or NHS number).
HUB_URL = os.environ.get("SPOC_HUB_URL", "http://127.0.0.1:8000").rstrip("/")
# Email the team on duty when a referral joins its queue (seed_demo turns it off for history).
NOTIFY_NEW_REFERRALS = env_bool("NOTIFY_NEW_REFERRALS", True)

# Urgent alerts by text message through GOV.UK Notify (docs/operations.md, "Urgent alerts and
# acknowledgement"). The API key is Notify's ("<key name>-<service id>-<secret>"); without one
# the alerts are still made and shown, and each send is recorded as failed. Each message kind has
# its Notify template; a delivery receipt must carry NOTIFY_CALLBACK_TOKEN as its bearer token.
NOTIFY_API_KEY = os.environ.get("NOTIFY_API_KEY", "")
NOTIFY_BASE_URL = os.environ.get(
    "NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"
).rstrip("/")
NOTIFY_TIMEOUT_SECONDS = float(os.environ.get("NOTIFY_TIMEOUT_SECONDS", "10"))
NOTIFY_CALLBACK_TOKEN = os.environ.get("NOTIFY_CALLBACK_TOKEN", "")
NOTIFY_TEMPLATES = {
    "ALERT": os.environ.get("NOTIFY_TEMPLATE_ALERT", ""),
    "REPEAT": os.environ.get("NOTIFY_TEMPLATE_REPEAT", ""),
    "DIGEST": os.environ.get("NOTIFY_TEMPLATE_DIGEST", ""),
    "CALL_BACK_OVERDUE": os.environ.get("NOTIFY_TEMPLATE_CALL_BACK_OVERDUE", ""),
    "FEEDBACK": os.environ.get("NOTIFY_TEMPLATE_FEEDBACK", ""),
    "BEREAVED_SURVEY": os.environ.get("NOTIFY_TEMPLATE_BEREAVED_SURVEY", ""),
}
# Feedback texts (docs/operations.md, "Feedback texts"). A link may be answered for this many
# days after its text was sent: two weeks covers a person who reads texts at the weekend only.
FEEDBACK_LINK_DAYS = env_int("FEEDBACK_LINK_DAYS", 14)
# A bereaved relative's survey is sent this many days after the death. National bereavement
# surveys (VOICES) write some months after the death, not in the first weeks of grief; 90 days
# is after the bereavement service's first contact (BEREAVEMENT_CONTACT_AFTER_DAYS) and early
# enough that the last months of care are remembered.
BEREAVED_SURVEY_AFTER_DAYS = env_int("BEREAVED_SURVEY_AFTER_DAYS", 90)
# Requests to the public feedback form per client address (docs/security.md, "The feedback
# form"): a person answering makes two or three; a household or care home behind one address a
# few more.
FEEDBACK_FORM_RATE = os.environ.get("FEEDBACK_FORM_RATE", "30/hour")
# How long an urgent alert waits for its acknowledgement before it is sent again, then to the
# next person up the chain: minutes per priority (P4-P5 are never urgent alerts).
ALERT_ACK_MINUTES = {
    "P1": env_int("ALERT_ACK_MINUTES_P1", 5),
    "P2": env_int("ALERT_ACK_MINUTES_P2", 10),
    "P3": env_int("ALERT_ACK_MINUTES_P3", 30),
}
# A referral queued, or a clock milestone passed, longer ago than this when the alert job first
# sees it (seeded history, a long outage) gets no alert: the board and the emails have it.
ALERT_START_WITHIN_MINUTES = env_int("ALERT_START_WITHIN_MINUTES", 15)
# At most one digest of new P4-P5 referrals per team in this many minutes.
ALERT_DIGEST_EVERY_MINUTES = env_int("ALERT_DIGEST_EVERY_MINUTES", 60)
# A pending call-back overdue by this many minutes is texted, once, to its owner on duty, else
# to the SPOC coordinator on duty (docs/telephony.md, "Reminders").
CALL_BACK_REMIND_AFTER_MINUTES = env_int("CALL_BACK_REMIND_AFTER_MINUTES", 15)
# A call that advised 999 or transferred the caller is followed up by the coordinators within
# this many minutes of being saved: what happened is confirmed and recorded
# (docs/patients-and-calls.md, "Follow-ups").
CALL_FOLLOW_UP_MINUTES = env_int("CALL_FOLLOW_UP_MINUTES", 60)

# Response messages to the systems that sent referrals (docs/interop.md, "The referrer hears
# back"): each POST gives up after OUTBOX_TIMEOUT_SECONDS (per connect and per read), a failed
# one is tried again after OUTBOX_RETRY_BASE_SECONDS, doubling up to OUTBOX_RETRY_MAX_SECONDS,
# and after OUTBOX_MAX_ATTEMPTS attempts (about half an hour with the defaults) the message is
# failed and waits for a coordinator to send it again.
OUTBOX_TIMEOUT_SECONDS = float(os.environ.get("OUTBOX_TIMEOUT_SECONDS", "10"))
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 15)
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 900)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
# The feed (every 10 s) reads only the events of this many days back: a run costs the same
# however long the hub has run, and history loaded into a new hub (or restored from a backup) is
# not told to its senders. Far longer than any outage the feed must catch up on.
OUTBOX_EVENT_LOOKBACK_DAYS = env_int("OUTBOX_EVENT_LOOKBACK_DAYS", 7)
# The duty rota: how far ahead the gap job looks for periods with nobody on duty while a team's
# service is open (docs/operations.md "The duty rota"): long enough to see tonight from the morning.
ROTA_GAP_LOOKAHEAD_HOURS = env_int("ROTA_GAP_LOOKAHEAD_HOURS", 12)
# Letters to GP practices (docs/interop.md, "The GP hears back"): a completion or a death is
# sent a letter if the job sees it within this many days of it being recorded, so history loaded
# into a new hub (or restored from a backup) is not posted to practices.
GP_LETTER_LOOKBACK_DAYS = env_int("GP_LETTER_LOOKBACK_DAYS", 7)
# Telephony (docs/telephony.md): the secret the phone system signs its events with, and Twilio's
# auth token for its status callbacks; either blank turns its webhook off (503). A voicemail's
# recording is linked only at an https address, or on this machine when allowed (development).
TELEPHONY_WEBHOOK_SECRET = os.environ.get("TELEPHONY_WEBHOOK_SECRET", "")
TELEPHONY_TWILIO_AUTH_TOKEN = os.environ.get("TELEPHONY_TWILIO_AUTH_TOKEN", "")
TELEPHONY_LOOPBACK_RECORDINGS = env_bool("TELEPHONY_LOOPBACK_RECORDINGS", False)

# --- Auth, sessions, security ------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with the roles and their permissions read in one query (spoc/accounts/backends.py).
    "spoc.accounts.backends.RoleBackend",
]
# OWASP ASVS 5.0 level 2, V6.2: at least 12 characters; not one of Django's 20,000 common
# passwords nor close to the user's own names; no rule on which characters (so no
# NumericPasswordValidator: 6.2.5) and no upper limit (Django has none; 6.2.9 asks for 64 at least).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Passwords are stored with Argon2id at OWASP's recommended cost (spoc/accounts/hashers.py). A
# password still stored with a hasher further down the list is checked with it and rehashed with
# the first at its owner's next sign-in (Django's update on a successful check), so the PBKDF2
# hashes written before Argon2 move over as people sign in, with no reset.
PASSWORD_HASHERS = [
    "spoc.accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out by user and address together, never for good: after AXES_FAILURE_LIMIT failures the
# pair waits AXES_COOLOFF_TIME, so an attacker elsewhere cannot lock a clinician out.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# And per address across usernames (password spraying): AXES_ADDRESS_FAILURE_LIMIT failures from
# one address within the cool-off pause every username from it (spoc.accounts.lockout). Higher
# than the per-user limit, since a ward computer or a hospital proxy serves many staff.
AXES_HANDLER = "spoc.accounts.lockout.AddressLimitAxesHandler"
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 20)
# A success resets the count of that username from that address only (web sign-in and the token
# endpoint alike), never the address's count of other usernames.
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "spoc.accounts.lockout.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

SESSION_COOKIE_AGE = 12 * 60 * 60
# Sessions are kept in the database and read through the default cache: a session read or
# written less than SESSION_KEPT_SECONDS ago is taken from Redis instead of the database
# (spoc/accounts/sessions.py). It also bounds how long a copy of a signed-out cookie could still
# be accepted when the sign-out could not reach Redis. Without Redis each process would keep a
# copy of its own and miss a sign-out made in another: every request reads the database (0).
SESSION_ENGINE = "spoc.accounts.sessions"
SESSION_KEPT_SECONDS = env_int("SESSION_KEPT_SECONDS", 300) if REDIS_URL else 0
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Idle timeout (docs/design.md §10): signed out after this many seconds without a request that is not
# a queue poll; the page warns SESSION_IDLE_WARNING_SECONDS before.
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)
SESSION_IDLE_WARNING_SECONDS = env_int("SESSION_IDLE_WARNING_SECONDS", 3 * 60)

# TOTP for every member of staff where MFA_REQUIRED (production); optional elsewhere.
MFA_REQUIRED = env_bool("MFA_REQUIRED", False)
OTP_TOTP_ISSUER = "SPOC hub"

API_TOKEN_TTL = timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 12))

# A partner system's bearer token (OAuth 2.0 client credentials: spoc/accounts/partners.py).
PARTNER_TOKEN_TTL = timedelta(minutes=env_int("PARTNER_TOKEN_TTL_MINUTES", 60))

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Identifiers travel in query strings (searches): keep them out of error reports.
DEFAULT_EXCEPTION_REPORTER_FILTER = "spoc.core.errors.QueryStringHidingFilter"

# --- Access log archive (docs/security.md, "Old months of the access log are archived") ---------
# Whole months kept in the table before the current one; older months are written to compressed,
# checksummed files and removed from the table (spoc/audit/archive.py). How long the files are then
# kept is the organisation's records-retention decision: the hub never deletes them.
ACCESS_LOG_ONLINE_MONTHS = int(os.environ.get("ACCESS_LOG_ONLINE_MONTHS", "12"))
ACCESS_LOG_ARCHIVE_DIR = Path(
    os.environ.get("ACCESS_LOG_ARCHIVE_DIR", str(DATA_DIR / "access-log-archive"))
)

# --- Dashboards (docs/design.md §8; docs/metrics.md) ---------------------------------------------
# Cost of one hospital bed day in pounds, used for "£ saved". Source: the ~£400 per bed day of a
# Liverpool article on IMPaCT (docs/reference.md "Outcome measures"; published figures range from £345
# for a standard bed to £1,032 on average). The dashboard shows the figure and this source.
BED_DAY_COST_GBP = int(os.environ.get("BED_DAY_COST_GBP", "400"))
# The summary job reads raw rows only up to the largest id it saw this long ago: ids are handed
# out before commit, and no transaction of ours stays open this long.
DASHBOARD_SAFE_HORIZON_SECONDS = int(os.environ.get("DASHBOARD_SAFE_HORIZON_SECONDS", "60"))
# The most local dates one run of the summary job recomputes, the oldest first; the others wait for
# the next runs (docs/metrics.md "How the figures are kept"). Sized so that a run stays well inside
# the task's 90 s soft limit on the largest database measured (docs/performance.md).
DASHBOARD_MAX_DAYS_PER_RUN = int(os.environ.get("DASHBOARD_MAX_DAYS_PER_RUN", "14"))

# --- API --------------------------------------------------------------------------------------
# API rates ("N/s", "N/min", "N/hour", "N/day"): far above a busy call handler's use (a search
# per keystroke pause, a queue refresh every few seconds), far below a scraper's.
API_THROTTLE_USER_RATE = os.environ.get("API_THROTTLE_USER_RATE", "600/min")
API_THROTTLE_PATIENT_SEARCH_RATE = os.environ.get("API_THROTTLE_PATIENT_SEARCH_RATE", "120/min")
API_THROTTLE_ANON_RATE = os.environ.get("API_THROTTLE_ANON_RATE", "60/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "spoc.accounts.authentication.ExpiringTokenAuthentication",
        "spoc.accounts.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "spoc.core.schema.ApiAutoSchema",
    # Long lists are paged by cursor, never counted (spoc/core/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "spoc.core.pagination.NewestFirstCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "spoc.core.api.exception_handler",
    # JSON through orjson, the browsable API as before (spoc/core/renderers.py).
    "DEFAULT_RENDERER_CLASSES": [
        "spoc.core.renderers.ApiJsonRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # 429 with Retry-After past these rates (spoc/core/throttles.py; counts in CACHES["default"]).
    "DEFAULT_THROTTLE_CLASSES": [
        "spoc.core.throttles.AnonRateThrottle",
        "spoc.core.throttles.UserRateThrottle",
        "spoc.core.throttles.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": API_THROTTLE_ANON_RATE,
        "user": API_THROTTLE_USER_RATE,
        "patient_search": API_THROTTLE_PATIENT_SEARCH_RATE,
        "partner_token": API_THROTTLE_ANON_RATE,
    },
    # The client address is REMOTE_ADDR, which TrustedProxyMiddleware already took from the
    # trusted hops of X-Forwarded-For; DRF must not read that header again (a client writes it).
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SPOC hub API",
    "DESCRIPTION": "Single point of contact for palliative and end-of-life care.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the priority codes wherever a serializer field takes them (calls, needs,
    # referrals, actions, directory search), instead of one per field name.
    # One name per choice set that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "PriorityEnum": "services.codes.Priority",
        "PlaceOfDeathEnum": "patients.codes.PlaceOfDeath",
        "BereavementAnswerEnum": "referrals.bereavement.Answer",
        "DeathStatusEnum": "patients.models.DeathRecord.Status",
    },
}

# --- Locale, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True
DATE_FORMAT = "d-M-Y"
DATETIME_FORMAT = "d-M-Y H:i"
SHORT_DATE_FORMAT = "d-M-Y"
TIME_FORMAT = "H:i"
PHONENUMBER_DEFAULT_REGION = "GB"
PHONENUMBER_DEFAULT_FORMAT = "NATIONAL"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "spoc-hub@localhost")

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "spoc-demo-2026")
# Seeding demo users is refused where this is False (production).
DEMO_DATA_ALLOWED = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # django.server logs the full request line (with its query string) in runserver.
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
CSRF_FAILURE_VIEW = "spoc.core.views.csrf_failure"
