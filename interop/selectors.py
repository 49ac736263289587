"""The FHIR API's reads (docs/interop.md). Each starts from the permission selectors
(`patients_visible_to`, `referrals_visible_to`) through the hub's own logging selectors, so a
FHIR read is the same read, in the access log, as the screen or the REST API doing it:
`patient_shown` and `patients_found` for patients, `referral_shown` and `referral_list_page`
for referrals. The directory holds no patient data: any signed-in user reads it, unlogged, as
in the REST API.

Every function answers resources (interop/resources.py) in a fixed number of queries whatever
the number of matches: a read returns None for a record that does not exist or that the user
may not see, alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Field, Model, Prefetch, QuerySet

from interop.resources import (
    Resource,
    healthcare_service_resource,
    location_resource,
    organization_resource,
    patient_resource,
    service_request_resource,
    task_resource,
)
from interop.search import INVALID_CURSOR, NO_MATCH, Page, SearchError, cursor_encode
from patients.selectors import patient_shown
from referrals.models import Referral
from referrals.selectors import patients_visible_to
from referrals.selectors.queue import referral_list_page, referral_shown
from services.models import OpeningHours, Organisation, Service, Site
from spoc.core.pagination import rows_after
from workspace.selectors import patients_found

Row = TypeVar("Row", bound=Model)


@dataclass(frozen=True)
class Found:
    """One page of a search's matches, as resources; how many match in all, when that is known
    (None: not counted); and the cursor of the next page, when there is one."""

    resources: list[Resource]
    total: int | None
    next_cursor: str | None = None


def _sort_value(rows: QuerySet[Row], field: str, text: str) -> Any:
    """A cursor's sort value as ``field`` holds it; SearchError when it cannot be one (a moment
    must carry its offset, as the cursors the API makes do)."""
    model_field = rows.model._meta.get_field(field)
    assert isinstance(model_field, Field)
    try:
        value = model_field.to_python(text)
    except ValidationError:
        raise SearchError(INVALID_CURSOR) from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise SearchError(INVALID_CURSOR)
    return value


def _keyset_page(
    rows: QuerySet[Row], page: Page, *, field: str, descending: bool
) -> tuple[list[Row], str | None, int | None]:
    """One page of ``rows``, which are ordered by (``field``, id), descending or not: the matches
    after the page's cursor, one more read to know whether a next page follows (and its
    cursor), and how many match in all, counted only when the page asks (``_total=accurate``,
    ``_count=0``) or known for free (a first page that holds them all). No OFFSET and no count
    otherwise: a page deep in millions of referrals is a seek on the (field, id) index."""
    total = rows.count() if page.counts else None
    if not page.size:
        return [], None, total
    if page.after is not None:
        text, last_id = page.after
        value = _sort_value(rows, field, text)
        rows = rows_after(rows, field=field, value=value, pk=last_id, descending=descending)
    found = list(rows[: page.size + 1])
    more, found = len(found) > page.size, found[: page.size]
    next_cursor = None
    if more:
        last = getattr(found[-1], field)
        next_cursor = cursor_encode(
            last.isoformat() if isinstance(last, datetime) else str(last), found[-1].pk
        )
    elif total is None and page.after is None:
        total = len(found)
    return found, next_cursor, total


def _page_of(rows: QuerySet[Row], page: Page, build: Callable[[Row], Resource]) -> Found:
    """A page of the directory, by name (``rows`` ordered by name and id)."""
    found, next_cursor, total = _keyset_page(rows, page, field="name", descending=False)
    return Found([build(row) for row in found], total, next_cursor)


# --- Patients -------------------------------------------------------------------------------


def fhir_patient_read(*, user: Any, resource_id: int) -> Resource | None:
    patient = patient_shown(patients=patients_visible_to(user), patient_id=resource_id)
    return patient_resource(patient) if patient is not None else None


def fhir_patient_search(*, user: Any, criteria: Mapping[str, Any], page: Page) -> Found:
    """Patients by NHS number (``identifier``; None, another system, finds no one). Logged as a
    patient search with its count, never the number."""
    # An empty query finds no one without a query, and is logged as a search all the same.
    # An NHS number is one patient's: the match, if any, is always on the first page.
    found = patients_found(patients=patients_visible_to(user), query=criteria["identifier"] or "")
    shown = [] if page.after else found[: page.size]
    return Found([patient_resource(p) for p in shown], len(found))


# --- Referrals: ServiceRequest and Task -------------------------------------------------------


def _referral_filters(criteria: Mapping[str, Any]) -> dict[str, int]:
    """The referral list's filters (referrals.selectors.queue.referral_list_page) for FHIR
    criteria: a patient (``patient``, ``subject``), a focus (the ServiceRequest, whose id is
    the referral's) and an owner (a team's HealthcareService, or an Organization). Two criteria
    naming different patients match nothing."""
    filters: dict[str, int] = {}
    patients = {criteria[name][1] for name in ("patient", "subject") if name in criteria}
    if patients:
        filters["patient"] = patients.pop() if len(patients) == 1 else NO_MATCH
    if "focus" in criteria:
        filters["id"] = criteria["focus"][1]
    if "owner" in criteria:
        kind, owner_id = criteria["owner"]
        filters["service" if kind == "HealthcareService" else "organisation"] = owner_id
    return filters


def _referrals_found(
    *, user: Any, criteria: Mapping[str, Any], page: Page, build: Callable[[Referral], Resource]
) -> Found:
    """Referrals the user may see, newest first, through referral_list_page: one patient's are a
    look-up of their record (logged with the number found: the total when counted, else the
    page's), any other list is logged with how many patients it showed."""
    pages: list[tuple[list[Referral], str | None, int | None]] = []

    def paginate(rows: QuerySet[Referral]) -> tuple[list[Referral], int]:
        found = _keyset_page(
            rows.select_related("call", "for_person"), page, field="created_at", descending=True
        )
        pages.append(found)
        return found[0], found[2] if found[2] is not None else len(found[0])

    referrals = referral_list_page(
        user=user, filters=_referral_filters(criteria), paginate=paginate
    )
    _, next_cursor, total = pages[0]
    return Found([build(referral) for referral in referrals], total, next_cursor)


def fhir_service_request_read(*, user: Any, resource_id: int) -> Resource | None:
    referral = referral_shown(user=user, referral_id=resource_id)
    return service_request_resource(referral) if referral is not None else None


def fhir_service_request_search(*, user: Any, criteria: Mapping[str, Any], page: Page) -> Found:
    return _referrals_found(user=user, criteria=criteria, page=page, build=service_request_resource)


def fhir_task_read(*, user: Any, resource_id: int) -> Resource | None:
    referral = referral_shown(user=user, referral_id=resource_id)
    return task_resource(referral) if referral is not None else None


def fhir_task_search(*, user: Any, criteria: Mapping[str, Any], page: Page) -> Found:
    return _referrals_found(user=user, criteria=criteria, page=page, build=task_resource)


# --- The directory --------------------------------------------------------------------------


def _services() -> QuerySet[Service]:
    return (
        Service.objects.select_related("organisation", "team")
        .prefetch_related(
            "sites",
            Prefetch(
                "opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens_at")
            ),
        )
        .order_by("name", "id")
    )


def _sites() -> QuerySet[Site]:
    return Site.objects.select_related("organisation").order_by("name", "id")


def _one(
    rows: QuerySet[Row], resource_id: int, build: Callable[[Row], Resource]
) -> Resource | None:
    row = rows.filter(pk=resource_id).first()
    return build(row) if row is not None else None


def _matching(
    rows: QuerySet[Row], criteria: Mapping[str, Any], fields: Mapping[str, str]
) -> QuerySet[Row]:
    """``rows`` filtered by each criterion given, on its field: a reference by its id, a code as
    it is (None, another system, matches nothing)."""
    for name, field in fields.items():
        if name in criteria:
            value = criteria[name]
            rows = rows.filter(**{field: value[1] if isinstance(value, tuple) else value or ""})
    return rows


def fhir_healthcare_service_read(*, user: Any, resource_id: int) -> Resource | None:
    return _one(_services(), resource_id, healthcare_service_resource)


def fhir_healthcare_service_search(*, user: Any, criteria: Mapping[str, Any], page: Page) -> Found:
    rows = _matching(
        _services(), criteria, {"organization": "organisation_id", "service-type": "service_type"}
    )
    return _page_of(rows, page, healthcare_service_resource)


def fhir_organization_read(*, user: Any, resource_id: int) -> Resource | None:
    return _one(Organisation.objects.all(), resource_id, organization_resource)


def fhir_organization_search(*, user: Any, criteria: Mapping[str, Any], page: Page) -> Found:
    rows = _matching(
        Organisation.objects.order_by("name", "id"), criteria, {"identifier": "ods_code"}
    )
    return _page_of(rows, page, organization_resource)


def fhir_location_read(*, user: Any, resource_id: int) -> Resource | None:
    return _one(_sites(), resource_id, location_resource)


def fhir_location_search(*, user: Any, criteria: Mapping[str, Any], page: Page) -> Found:
    return _page_of(
        _matching(_sites(), criteria, {"organization": "organisation_id"}), page, location_resource
    )
