"""gunicorn settings for the web process.

The access log shows the path without its query string (%(U)s, not %(r)s): searches carry NHS
numbers and names there, and patient identifiers must not reach the web server's logs.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "2"))
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "false").lower() in ("1", "true", "yes")
timeout = 30
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


class _HideQueryStrings:
    """gunicorn's error log writes the request line of a failed request; drop its query string."""

    def filter(self, record):  # type: ignore[no-untyped-def]
        import re

        message = record.getMessage()
        cleaned = re.sub(r"(/[^\s?]*)\?\S*", r"\1?[query hidden]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"hide_query_strings": {"()": _HideQueryStrings}},
    # Under production settings both logs are JSON, one object per line, like Django's there
    # (spoc/core/logs.py: an access line's method, path and status are fields of their own).
    "formatters": {
        "generic": {"()": "spoc.core.logs.JsonLogFormatter"},
        "access": {"()": "spoc.core.logs.JsonLogFormatter"},
    }
    if os.environ.get("DJANGO_SETTINGS_MODULE") == "spoc.settings.production"
    else {
        "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"},
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": ["hide_query_strings"],
            "stream": "ext://sys.stderr",
        },
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["hide_query_strings"],
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
