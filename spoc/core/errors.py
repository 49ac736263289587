from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class QueryStringHidingFilter(SafeExceptionReporterFilter):
    """Error reports never carry request parameters: searches put NHS numbers and names in the
    query string, and forms put patient details in POST bodies."""

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, str]:  # type: ignore[override]
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, object]:
        meta = super().get_safe_request_meta(request)
        if "QUERY_STRING" in meta:
            meta["QUERY_STRING"] = self.cleansed_substitute
        return meta
