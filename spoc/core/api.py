"""API plumbing shared by every app: errors are JSON with field-level messages (DESIGN.md §9)."""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainConflict(Exception):
    """Base of domain errors that mean "conflict with the current state" (HTTP 409)."""


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainConflict):
        return Response({"detail": str(exc), "code": "conflict"}, status=409)
    return drf_exception_handler(exc, context)
