"""gunicorn settings for the web process.

The access log shows the path without its query string (%(U)s, not %(r)s): searches carry NHS
numbers and names there, and patient identifiers must not reach the web server's logs.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Spreading the requests over the cores (docs/performance.md, "Mixed load"). Sync workers, two
# per core and one more: a sync worker takes a connection from the listening socket only when it
# is idle and answers one request on it, so the next request goes to a worker that is free,
# whichever client sent it. With threaded workers (gthread) a worker accepts connections while
# its threads are busy and keeps a kept-alive connection to itself, so a few kept-alive clients
# (a reverse proxy's pool, a busy browser) pile onto one worker, which one interpreter lock
# holds to one core; SO_REUSEPORT (reuse_port) spreads connections by a hash of their
# addresses, so a few connections still land on one worker. Measured with bench/mixed_load.py:
# the requests of three kept-alive tabs went 30/27/26/24/21 over five sync workers, where three
# gthread workers with reuse_port answered 109/12/5. Sync workers keep no connection alive
# (keepalive is ignored): the reverse proxy in front buffers slow clients, as gunicorn's
# documentation asks of sync workers. The GUNICORN_* variables try another setup.
# The cores this process may run on (a container's cpuset), not the host's; where the system
# cannot say (macOS), all of them.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * _cores + 1)))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "2"))
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "false").lower() in ("1", "true", "yes")
timeout = 30
accesslog = "-"
# The worker's pid ends each line (%(p)s, "<1234>"): how evenly the requests were spread over the
# workers can be read from the log (bench/mixed_load.py counts them).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %(p)s'


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """The hub loaded, its long-lived objects leave the garbage collector's full collections
    (spoc/core/memory.py)."""
    from spoc.core.memory import freeze_long_lived

    freeze_long_lived(load_views=True)


def post_request(worker, req, environ, resp):  # type: ignore[no-untyped-def]
    """Once, after the worker's first requests: what they compiled and cached stays too."""
    from spoc.core.memory import WARM_REQUESTS, freeze_long_lived

    if getattr(worker, "nr", 0) == WARM_REQUESTS:
        freeze_long_lived()


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
