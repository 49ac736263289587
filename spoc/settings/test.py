"""The test suite: PostgreSQL and a Redis database of its own (never the one `make run` uses)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/spoc")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
# The queues of this test run (spoc/core/queues.py), so that two runs sharing one Redis never take
# each other's tasks; the workers the tests start inherit the variable, hence the same names.
os.environ.setdefault("TASK_QUEUE_PREFIX", f"test-{os.getpid()}-")
# No test is throttled by the API calls of the tests before it; the throttling tests set low
# rates themselves (tests/core/test_throttling.py).
os.environ.setdefault("API_THROTTLE_USER_RATE", "100000/min")
os.environ.setdefault("API_THROTTLE_ANON_RATE", "100000/min")
os.environ.setdefault("API_THROTTLE_PATIENT_SEARCH_RATE", "100000/min")
os.environ.setdefault("FEEDBACK_FORM_RATE", "100000/min")

from .base import *  # noqa: F403
from .base import INSTALLED_APPS

# The tests seed the demo area and use synthetic NHS numbers (devtools), as in development.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]

# Tests are independent of each other's order: a broker fault faked by one test must not pause
# enqueueing in the next. The tests of the pause set it themselves.
ROUTING_ENQUEUE_PAUSE_SECONDS = 0

# A fast hasher keeps the thousands of users the tests make cheap; the list of base.py, which every
# other mode uses, is tested by tests/accounts/test_password_hashing.py.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests that read /healthz's checks send it as a monitoring system would (tests/core/test_health.py).
HEALTHZ_TOKEN = "test-healthz-token"
# The throttles' counts in this process's memory: a test may clear them (cache.clear()) without
# emptying the Redis database that the test workers' broker uses. The tests of the Redis cache
# configure it themselves. The team queue's rows are kept in memory too, emptied before each test
# (tests/conftest.py).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "queue": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "team-queue"},
}
# A poll right after a change sees it: the tests of a queue's state kept for a second set it
# (tests/referrals/test_queue_kept.py).
QUEUE_STATE_KEPT_SECONDS = 0
# A test that changes a user's groups directly (not through user_roles_set, which raises their
# credentials epoch) sees the change: the tests of kept roles set it (tests/accounts/test_roles_kept.py).
ROLES_KEPT_SECONDS = 0
# Every request reads its session from the database, as the query budgets count it: the tests of
# sessions kept set it (tests/accounts/test_sessions_kept.py).
SESSION_KEPT_SECONDS = 0

# Live-server threads must not keep connections open past a test (the test database is dropped).
for _database in DATABASES.values():  # noqa: F405
    _database["CONN_MAX_AGE"] = 0

# Telephony webhooks on, with secrets of the tests' own (docs/telephony.md).
TELEPHONY_WEBHOOK_SECRET = "test-telephony-secret"
TELEPHONY_TWILIO_AUTH_TOKEN = "test-twilio-token"
TELEPHONY_LOOPBACK_RECORDINGS = True
