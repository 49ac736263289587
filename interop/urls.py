"""/fhir/ (mounted by spoc/urls.py): the R4 API's routes, one read and one search (by GET, and by
POST to `_search`) for each resource type of interop/conformance.py, `$process-message` for BaRS
messages (interop/messages.py); anything else is a 404
OperationOutcome. A trailing slash is accepted."""

from collections.abc import Callable
from typing import Any

from django.urls import path, re_path

from interop.conformance import RESOURCES
from interop.messages import ProcessMessageView
from interop.views import MetadataView, ReadView, SearchView, UnknownView
from spoc.core.replica import replica_reads


def from_replica(name: str, view: Callable[..., Any]) -> Callable[..., Any]:
    """The view, marked to read from the replica when its resource type is the directory's."""
    return replica_reads(view) if RESOURCES[name].from_replica else view


urlpatterns = [
    path("R4/metadata", MetadataView.as_view(), name="fhir-metadata"),
    re_path(r"^R4/\$process-message/?$", ProcessMessageView.as_view(), name="fhir-process-message"),
    *(
        route
        for name in RESOURCES
        for route in (
            re_path(
                rf"^R4/{name}/?$",
                from_replica(name, SearchView.as_view(resource_type=name)),
                name=f"fhir-{name}-search",
            ),
            re_path(
                rf"^R4/{name}/_search/?$",
                SearchView.as_view(resource_type=name, http_method_names=["post"]),
                name=f"fhir-{name}-search-post",
            ),
            re_path(
                rf"^R4/{name}/(?P<resource_id>[^/]+)/?$",
                from_replica(name, ReadView.as_view(resource_type=name)),
                name=f"fhir-{name}-read",
            ),
        )
    ),
    re_path(r"^.*$", UnknownView.as_view(), name="fhir-unknown"),
]
