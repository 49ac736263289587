"""Production logs: one JSON object per line (docs/architecture.md, "Logs and error reports").

Importable before Django is set up: gunicorn's master process loads it from `gunicorn.conf.py`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# Searches carry NHS numbers and names in the query string: a path in a message keeps none.
_QUERY_STRING = re.compile(r"(/[^\s?]*)\?\S*")


def query_strings_hidden(text: str) -> str:
    """``text`` with any ``?query`` after a path replaced by ``?[query hidden]``."""
    return _QUERY_STRING.sub(r"\1?[query hidden]", text)


class JsonLogFormatter(JsonFormatter):
    """A record as ``{"level", "logger", "message", "time", ...}`` on one line, with its extra
    fields; for a request, its ``method``, ``path`` (never the query string) and ``status``.

    Django's request loggers pass the request itself (``extra={"request", "status_code"}``),
    whose text would carry the query string, so only its method and path are kept; gunicorn's
    access log passes its fields as the record's arguments (``m``, ``U``, ``s``, ``M``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        request = log_data.pop("request", None)
        status = log_data.pop("status_code", None)
        log_data.pop("server_time", None)
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = record.args
            log_data.update(
                method=atoms.get("m"),
                path=atoms.get("U"),
                status=_number(atoms.get("s")),
                duration_ms=_number(atoms.get("M")),
            )
        if request is not None:
            log_data["method"] = getattr(request, "method", None)
            log_data["path"] = getattr(request, "path", None)
        if status is not None:
            log_data["status"] = status
        if isinstance(log_data.get("message"), str):
            log_data["message"] = query_strings_hidden(log_data["message"])
        if isinstance(log_data.get("exc_info"), str):
            log_data["exc_info"] = query_strings_hidden(log_data["exc_info"])


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
