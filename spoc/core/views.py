from django.http import HttpRequest, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache

from spoc.core.health import health_report


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)


@never_cache
def healthz_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def bad_request(request, exception=None):  # type: ignore[no-untyped-def]
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):  # type: ignore[no-untyped-def]
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):  # type: ignore[no-untyped-def]
    return render(request, "errors/404.html", status=404)


def server_error(request):  # type: ignore[no-untyped-def]
    # Rendered without the request's context processors: they query the database, which may be
    # the thing that failed, and staff must still see the paper-fallback advice.
    return HttpResponseServerError(loader.get_template("errors/500.html").render())


def csrf_failure(request, reason=""):  # type: ignore[no-untyped-def]
    return render(request, "errors/csrf.html", status=403)
