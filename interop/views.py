"""The FHIR R4 API at /fhir/R4/ (docs/interop.md): the CapabilityStatement, and read and search
of each resource type in interop/conformance.py. Thin, as every API view of the hub: parse the
search, call one selector, answer FHIR JSON.

Every answer is `application/fhir+json` (`application/json` when that is all the client
accepts); every error is an OperationOutcome with its HTTP status, whatever raised it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.log import log_response
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

from interop.codes import FHIR_JSON, JSON_FORMATS
from interop.conformance import RESOURCES, ResourceKind, capability_statement
from interop.resources import operation_outcome, searchset
from interop.search import RESULT_PARAMS, SearchError, row_id, search_parse
from spoc.accounts.authentication import PartnerTokenAuthentication
from spoc.accounts.partners import Partner
from spoc.core.api_errors import DATABASE_ERRORS, DATABASE_RETRY_AFTER_SECONDS

logger = logging.getLogger("django.request")

# The issue type (FHIR R4 issue-type) and the message of each refusal. Fixed messages: what the
# client sent (a media type, a method) is never repeated back.
ISSUES: dict[int, tuple[str, str]] = {
    400: ("invalid", "The request could not be read."),
    401: ("login", "Sign in, or send an API token: Authorization: Token <key>."),
    403: ("forbidden", "You may not do this."),
    404: ("not-found", "There is nothing here."),
    405: ("not-supported", "That method is not supported here: see /fhir/R4/metadata."),
    406: ("not-supported", "This server answers FHIR JSON only (application/fhir+json)."),
    415: (
        "not-supported",
        "Send a search as a form (application/x-www-form-urlencoded), a message as FHIR JSON.",
    ),
    429: ("throttled", "Too many requests: wait and try again."),
}


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "json"


class PlainJsonRenderer(JSONRenderer):
    """For a client that accepts only application/json: the same FHIR JSON."""


class FhirContentNegotiation(DefaultContentNegotiation):
    """FHIR's ``_format`` (json, application/json, application/fhir+json) before the Accept
    header; anything else is a 406."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        asked = request.query_params.get("_format")
        if asked is None:
            return super().select_renderer(request, renderers, format_suffix)
        # A "+" left unencoded in a query string arrives as a space.
        asked = asked.strip().replace(" ", "+").lower()
        if asked not in JSON_FORMATS:
            raise exceptions.NotAcceptable()
        # The view's renderer_classes, in order: FHIR JSON, then plain JSON.
        choices = list(renderers)
        renderer = choices[1] if asked == "application/json" else choices[0]
        return renderer, renderer.media_type


def fhir_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Every error as an OperationOutcome: a search the API refuses (400, ``invalid`` or
    ``not-supported``), the REST framework's refusals with their status and headers (401 with
    ``WWW-Authenticate``, 405 with ``Allow``, 429 with ``Retry-After``, ...), a database that
    cannot be reached (503, ``transient``, ``Retry-After``), and anything else (500,
    ``exception``, logged as Django logs a server error)."""
    if isinstance(exc, SearchError):
        return Response(operation_outcome(code=exc.code, diagnostics=str(exc)), status=400)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            operation_outcome(
                code="too-long",
                diagnostics=f"The body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} "
                "bytes this server takes.",
            ),
            status=413,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.APIException) and exc.status_code in ISSUES:
        code, message = ISSUES[exc.status_code]
        if isinstance(exc, exceptions.NotFound) and str(exc.detail) != str(
            exceptions.NotFound.default_detail
        ):
            message = str(exc.detail)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        set_rollback()
        return Response(
            operation_outcome(code=code, diagnostics=message),
            status=exc.status_code,
            headers=headers,
        )
    if isinstance(exc, DATABASE_ERRORS):
        return Response(
            operation_outcome(
                code="transient", diagnostics="The database is unavailable: try again shortly."
            ),
            status=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    response = Response(
        operation_outcome(code="exception", diagnostics="The server failed to answer."), status=500
    )
    request = context.get("request")
    log_response(
        "Internal Server Error: %s",
        getattr(request, "path", ""),
        response=response,
        request=getattr(request, "_request", None),
        exception=exc,
    )
    return response


class FhirAccess(BasePermission):
    """Staff who are signed in; a partner system whose token carries the view's ``partner_scope``
    (what it may read of the records: only the referrals it sent, by the permission selectors)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if isinstance(user, Partner):
            return bool(view.partner_scope) and view.partner_scope in user.scopes
        return bool(user and user.is_authenticated)


# The OpenAPI schema (/api/schema/) is the REST API's; the FHIR API's is its CapabilityStatement.
@extend_schema(exclude=True)
class FhirView(APIView):
    """The base of every FHIR view: its authentication, permissions, FHIR JSON and
    OperationOutcome errors are declared here once.

    Authentication: a partner system's bearer token (spoc/accounts/partners.py), then the REST
    API's (REST_FRAMEWORK, spoc/settings/base.py): staff sessions (once their second factor is
    verified where one is required) and API tokens."""

    # APIView's authentication classes are the REST API's DEFAULT_AUTHENTICATION_CLASSES, imported.
    authentication_classes = [PartnerTokenAuthentication, *APIView.authentication_classes]
    permission_classes = [FhirAccess]
    # The scope a partner's token needs here (none: partners may not).
    partner_scope = ""
    renderer_classes = [FhirJsonRenderer, PlainJsonRenderer]
    content_negotiation_class = FhirContentNegotiation
    # Only a search sent as a form (POST [type]/_search) has a body.
    parser_classes = [FormParser]
    http_method_names = ["get", "head"]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        return fhir_exception_handler


def fhir_base(request: Request) -> str:
    """The service base URL, as the client reached it (`https://host/fhir/R4/`)."""
    metadata = reverse("fhir-metadata")
    return request.build_absolute_uri(metadata[: -len("metadata")])


class MetadataView(FhirView):
    """`GET /fhir/R4/metadata`: open to anyone, as a client reads it to learn how to sign in."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(capability_statement(base=fhir_base(request), now=timezone.now()))


class ResourceView(FhirView):
    """A view of one resource type of interop/conformance.py, named by ``as_view(resource_type=...)``."""

    resource_type = ""

    @property
    def kind(self) -> ResourceKind:
        return RESOURCES[self.resource_type]

    @property
    def partner_scope(self) -> str:  # type: ignore[override]
        return self.kind.partner_scope


class ReadView(ResourceView):
    """`GET /fhir/R4/<type>/<id>`: 404 alike for an id that does not exist, one the hub never
    issues, and a record the user may not see."""

    def get(self, request: Request, resource_id: str) -> Response:
        found = row_id(resource_id)
        resource = self.kind.read(user=request.user, resource_id=found) if found else None
        if resource is None:
            raise exceptions.NotFound(f"No {self.kind.name} with that id.")
        return Response(resource)


class SearchView(ResourceView):
    """`GET /fhir/R4/<type>?...` and `POST /fhir/R4/<type>/_search` (the criteria as a form, so
    that an NHS number need not be in the address): a searchset Bundle, a page at a time."""

    @property
    def throttle_scope(self) -> str | None:
        """Read by the REST framework's ScopedRateThrottle."""
        return self.kind.search_throttle_scope

    def get(self, request: Request) -> Response:
        return self._search(request, request.query_params)

    def post(self, request: Request) -> Response:
        query = request.query_params.copy()
        data = request.data
        if isinstance(data, QueryDict):
            for name in data:
                query.setlist(name, [*query.getlist(name), *data.getlist(name)])
        return self._search(request, query)

    def _search(self, request: Request, query: QueryDict) -> Response:
        criteria, page = search_parse(
            dict(query.lists()), self.kind.params, needs_one=self.kind.needs_one
        )
        found = self.kind.search(user=request.user, criteria=criteria, page=page)
        base = fhir_base(request)
        given = [
            (name, value)
            for name, values in query.lists()
            if name not in RESULT_PARAMS
            for value in values
        ]
        given.append(("_count", str(page.size)))
        if page.accurate_total:
            given.append(("_total", "accurate"))

        def link(cursor: str | None) -> str:
            params = [*given, *([("_cursor", cursor)] if cursor else [])]
            return f"{base}{self.kind.name}?{urlencode(params)}"

        self_cursor = query.get("_cursor")
        return Response(
            searchset(
                base=base,
                self_url=link(self_cursor),
                resources=found.resources,
                total=found.total,
                next_url=link(found.next_cursor) if found.next_cursor else None,
            )
        )


class UnknownView(FhirView):
    """Anything else under /fhir/: a resource type, an operation or a FHIR version this server
    does not have. 404 whoever asks, with any method; the CapabilityStatement says what there
    is."""

    permission_classes = [AllowAny]
    http_method_names = ["get", "head", "post", "put", "patch", "delete", "options"]

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound(
            "This server has no such resource type or operation: see /fhir/R4/metadata."
        )

    post = put = patch = delete = get

    # APIView.options takes a Request where View.options takes an HttpRequest: the stubs ignore
    # that override there, and every view that overrides options again inherits it.
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        return self.get(request, *args, **kwargs)
