"""Production: everything secret or host-specific must come from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_int

DEBUG = False
DEMO_DATA_ALLOWED = False
MFA_REQUIRED = True

for _required in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS"):
    if not os.environ.get(_required):
        raise ImproperlyConfigured(f"{_required} must be set under production settings.")
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]

SECURE_SSL_REDIRECT = True
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True

# Logs: one JSON object per line on standard output (level, logger, message, time; a request's
# method, path without its query string, and status), for a log collector to parse
# (spoc/core/logs.py; docs/architecture.md, "Logs and error reports"). Development keeps the
# readable lines of base.py.
LOGGING = {
    **LOGGING,  # noqa: F405
    "formatters": {"json": {"()": "spoc.core.logs.JsonLogFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
}
# Celery's worker and beat keep the root logger configured above instead of their own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Error reports to Sentry only where SENTRY_DSN is set; without it nothing is initialised. No
# patient data is sent: no request bodies, cookies, query strings or local variables
# (spoc/core/error_reports.py; docs/architecture.md, "Logs and error reports").
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    from spoc.core.error_reports import sentry_options

    sentry_sdk.init(
        **sentry_options(
            dsn=SENTRY_DSN,
            environment=os.environ.get("SENTRY_ENVIRONMENT", ""),
            release=os.environ.get("SENTRY_RELEASE", ""),
        )
    )
