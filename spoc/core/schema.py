"""The OpenAPI schema declares every response, errors included (docs/security.md, "API errors").

``ApiAutoSchema`` (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``) adds the error responses an
operation can give to what its view declares, all with one body (``ErrorSerializer``): a view
declares its 2xx shapes and any error it answers with a richer body (a 409 naming the duplicate
patient), and never has to repeat 401, 403 or 429.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer
from rest_framework import serializers

from spoc.core.api_errors import DATABASE_RETRY_AFTER_SECONDS


class ErrorSerializer(serializers.Serializer):
    """Every error under /api/. A 400 adds its field errors beside ``detail`` and ``code``
    (``"<field>": ["message", ...]``); a 409 may add what it conflicts with."""

    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(
        help_text="What went wrong, for a program: invalid, not_authenticated, authentication_failed, "
        "not_permitted, not_found, method_not_allowed, throttled, conflict, already_claimed, "
        "illegal_transition, reopen_window_closed, death_already_recorded, duplicate_nhs_number, "
        "possible_duplicates, database_unavailable, ..."
    )


ERROR_DESCRIPTIONS: dict[str, str] = {
    "400": "Invalid input: `code` is `invalid`, with the field errors beside `detail` and `code`.",
    "401": "Not signed in, or the token is unknown or expired.",
    "403": "Signed in, but the role or team may not do this (`not_permitted`).",
    "404": "No such object, or not visible to this user (`not_found`).",
    "409": "Conflicts with the current state (the `code` says how).",
    "415": "Unsupported media type: send JSON.",
    "429": "Too many requests: wait `Retry-After` seconds.",
    "503": f"The database is unavailable (`database_unavailable`); try again after `Retry-After` "
    f"({DATABASE_RETRY_AFTER_SECONDS}) seconds.",
}
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ApiAutoSchema(AutoSchema):
    def _error_statuses(self) -> list[str]:
        statuses = ["401", "403", "429", "503"]
        if self.method in UNSAFE_METHODS:
            statuses += ["400", "409", "415"]
        elif self.get_override_parameters():
            statuses.append("400")  # query parameters are validated
        if "{" in self.path:
            statuses.append("404")
        return statuses

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in sorted(set(self._error_statuses()) | {s for s in responses if s >= "400"}):
            if status not in responses or not responses[status].get("content"):
                responses[status] = self._get_response_for_code(
                    ErrorSerializer, status, direction=direction
                )
            responses[status].setdefault("description", "")
            if not responses[status]["description"]:
                responses[status]["description"] = ERROR_DESCRIPTIONS.get(status, "")
        return responses

    def _is_list_view(self, serializer: Any = None) -> bool:
        # Our views are APIViews that build their own bodies: a response is a list only when the
        # view says so (`many=True`), never because a GET has no id in its path.
        if serializer is None:
            return bool(super()._is_list_view())
        return is_list_serializer(serializer)
