"""API plumbing shared by every app: errors are JSON with a stable code and, for bad input,
field-level messages (docs/security.md, "API errors").

Every error body is ``{"detail": str, "code": str}``; a 400 adds the field errors beside them
(``{"detail", "code", "<field>": ["message", ...]}``), as DRF's serializers name them. The codes
are part of the API: clients branch on them, so a code, once published, keeps its meaning.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from spoc.core.api_errors import (
    DATABASE_ERRORS,
    DATABASE_RETRY_AFTER_SECONDS,
    DATABASE_UNAVAILABLE,
    DATABASE_UNAVAILABLE_DETAIL,
    error_body,
)

# Primary keys are BigAutoField: a larger id cannot exist, and PostgreSQL would refuse to compare it.
MAX_ID = 2**63 - 1

INVALID_DETAIL = "Invalid input: see the field errors."

# DRF's own error codes, renamed where the hub has one code for the same refusal: a role or
# team that may not do something is `not_permitted`, whether DRF or a service said so.
DRF_CODES: dict[str, str] = {
    "permission_denied": "not_permitted",
}


class DomainConflict(Exception):
    """Base of the errors a service raises to refuse a request. A screen shows the message; the
    API answers ``status_code`` with ``{"detail": message, "code": code}``. Most are conflicts
    with the current state (409); a subclass that means "not permitted" says 403."""

    status_code: ClassVar[int] = 409
    code: ClassVar[str] = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: domain errors, DRF's errors and a database that cannot be
    reached, each as ``{"detail", "code"}`` JSON. Anything else is left to Django's 500 handler
    (``spoc.core.views.server_error``), which answers JSON under /api/ too."""
    if isinstance(exc, DomainConflict):
        return Response(error_body(detail=str(exc), code=exc.code), status=exc.status_code)
    if isinstance(exc, DATABASE_ERRORS):
        return Response(
            error_body(detail=DATABASE_UNAVAILABLE_DETAIL, code=DATABASE_UNAVAILABLE),
            status=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            response.data
            if isinstance(response.data, dict)
            else {api_settings.NON_FIELD_ERRORS_KEY: response.data}
        )
        response.data = {**errors, **error_body(detail=INVALID_DETAIL, code="invalid")}
        return response
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
    code = str(getattr(detail, "code", None) or getattr(exc, "default_code", None) or "error")
    response.data = error_body(detail=str(detail), code=DRF_CODES.get(code, code))
    return response


def api_iso(value: datetime | date | None) -> str | None:
    """ISO 8601; datetimes in UTC, so a value read back from the database prints the same."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat()


def api_field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as DRF-shaped field errors ("__all__" -> "non_field_errors")."""
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(exc.messages)}
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field: list(messages)
        for field, messages in exc.message_dict.items()
    }
