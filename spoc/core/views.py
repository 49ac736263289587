import sys

from django.http import HttpRequest, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache

from spoc.core.api_errors import (
    DATABASE_ERRORS,
    api_error_response,
    database_unavailable_response,
    is_api_request,
)
from spoc.core.health import health_detail_allowed, health_report, health_summary


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 or 503 for everyone (load balancers read the status); the checks' detail only for a
    monitoring token or a system admin (spoc.core.health.health_detail_allowed)."""
    healthy, report = health_report()
    if not health_detail_allowed(
        user=request.user, authorization=request.headers.get("Authorization", "")
    ):
        report = health_summary(report)
    return JsonResponse(report, status=200 if healthy else 503)


@never_cache
def healthz_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def bad_request(request, exception=None):  # type: ignore[no-untyped-def]
    if is_api_request(request):
        return api_error_response(400)
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):  # type: ignore[no-untyped-def]
    if is_api_request(request):
        return api_error_response(403)
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):  # type: ignore[no-untyped-def]
    # Under /api/ a malformed id or an unknown path is a JSON 404, never the HTML page.
    if is_api_request(request):
        return api_error_response(404, detail="Not found.")
    return render(request, "errors/404.html", status=404)


def server_error(request):  # type: ignore[no-untyped-def]
    # Django calls this inside its `except` block, so the failure is still in sys.exc_info(): a
    # database that cannot be reached is a 503 an API client may retry, not a 500.
    if is_api_request(request):
        if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
            return database_unavailable_response()
        return api_error_response(
            500, detail="Server error. Try again; if it persists, use the paper fallback."
        )
    # Rendered without the request's context processors: they query the database, which may be
    # the thing that failed, and staff must still see the paper-fallback advice.
    return HttpResponseServerError(loader.get_template("errors/500.html").render())


def csrf_failure(request, reason=""):  # type: ignore[no-untyped-def]
    return render(request, "errors/csrf.html", status=403)
