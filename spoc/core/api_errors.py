"""Errors under ``/api/`` are JSON, whoever answers: a DRF view, Django's error handlers, a plain
view or a middleware (docs/security.md, "API errors").

Every error body is ``{"detail": str, "code": str}`` (a 400 adds its field errors beside them), so
a client tells one refusal from another by ``code`` and never has to parse an HTML page. A
database that cannot be reached is a 503 with ``Retry-After`` and the code
``database_unavailable``: the request may succeed if tried again, which a 500 does not say.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
# Long enough for a PostgreSQL fail-over or restart; a client retrying sooner only adds load.
DATABASE_RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE = "database_unavailable"
DATABASE_UNAVAILABLE_DETAIL = (
    "The database is unavailable. Try again shortly; meanwhile use the paper fallback."
)
DATABASE_ERRORS = (OperationalError, InterfaceError)

# The code of an error answered by status alone (Django's handlers, plain views, middleware).
STATUS_CODES: dict[int, str] = {
    400: "invalid",
    401: "not_authenticated",
    403: "not_permitted",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def error_body(*, detail: str, code: str) -> dict[str, str]:
    return {"detail": detail, "code": code}


def api_error_response(
    status: int, *, detail: str | None = None, code: str | None = None
) -> JsonResponse:
    """A JSON error for ``status``; ``detail`` and ``code`` default to the status' own."""
    return JsonResponse(
        error_body(
            detail=detail or f"{HTTPStatus(status).phrase}.",
            code=code or STATUS_CODES.get(status, "error"),
        ),
        status=status,
    )


def database_unavailable_response() -> JsonResponse:
    response = api_error_response(
        503, detail=DATABASE_UNAVAILABLE_DETAIL, code=DATABASE_UNAVAILABLE
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.split(";")[0].strip().endswith(("/json", "+json"))


class ApiErrorsAsJsonMiddleware:
    """The net under the API: an error response under ``/api/`` that is not JSON (a plain view's
    405 from ``require_GET``, an HTML page from a middleware) becomes the JSON error for its status,
    keeping its headers (``Allow``, ``Retry-After``, ``WWW-Authenticate``). DRF views and the error
    handlers already answer JSON, so this changes nothing they say."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not is_api_request(request) or is_json(response):
            return response
        replacement = api_error_response(response.status_code)
        for header, value in response.headers.items():
            if header.lower() not in ("content-type", "content-length"):
                replacement.headers.setdefault(header, value)
        for cookie in response.cookies.values():
            replacement.cookies[cookie.key] = cookie
        return replacement
