"""Open Referral UK (HSDS) exchange of the service directory (docs/reference.md "Interoperability").

``directory_export()`` writes the whole directory as JSON; ``directory_import(data)`` reads the
same JSON back, all or nothing. Exporting, importing into an empty database and exporting again
gives identical JSON: everything the directory holds travels, either in an HSDS field or in an
extension field whose name starts with ``spoc_`` (HSDS allows extra fields; consumers that do not
know them ignore them). Capacity reports do not travel: they are live state, not directory data.

The file is a collection of HSDS 3 objects (as the ORUK v3 profile names them), top level::

    {
      "organizations": [ ...by id... ],
      "locations":     [ ...our hospital and hospice sites, by id... ],
      "services":      [ ...by id... ]
    }

An organization (matched on import by its ODS code)::

    {"id": "org-RXX", "name": "Northshire Hospitals NHS Trust",
     "organization_identifiers": [{"identifier_scheme": "ODS", "identifier_type": "ODS code",
                                   "identifier": "RXX"}],
     "attributes": [{"taxonomy_term": {"taxonomy": "spoc-organisation-type",
                                       "code": "NHS_TRUST", "term": "NHS trust"}}]}

A location is a site (matched by its code, ``external_identifier``)::

    {"id": "loc-NGH", "organization_id": "org-RXX", "name": "Northshire General Hospital",
     "location_type": "physical", "external_identifier": "NGH",
     "external_identifier_type": "spoc-site-code",
     "addresses": [{"postal_code": "L9 7AL", "country": "GB", "address_type": "physical"}]}

A service (matched by name, else by its id, so that a renamed service is updated)::

    {"id": "svc-night-service",                  # "svc-" + slug of the name (shape.service_ids)
     "organization_id": "org-RXX", "name": "Night service", "description": "...",
     "status": "active",                          # | "inactive" | "temporarily closed"
     "email": null, "assured_date": "2025-01-31", "alert": null,
     "minimum_age": 18, "maximum_age": null,
     "eligibility_description": "Aged 18 and over. ...",          # in words; not imported
     "attributes": [{"taxonomy_term": {"taxonomy": "spoc-service-type",
                                       "code": "NIGHT_SERVICE", "term": "Night service"}}],
     "phones": [{"number": "0151 700 1234"}],     # national format
     "contacts": [{"name": "Night team", "email": "night@example.nhs.uk",
                   "phones": [{"number": "0151 700 1235"}]}],    # the intake team, duty contact
     "service_areas": [{"name": "Postcode areas", "extent_type": "text",
                        "extent": "L10, L9, L9 7"}],              # outward codes and sectors
     "schedules": [{"freq": "WEEKLY", "byday": "MO", "opens_at": "20:00", "closes_at": "08:00",
                    "description": "Monday 20:00 to Tuesday 08:00"}],
     "service_at_locations": [{"location_id": "loc-NGH"}],        # derived from spoc_sites
     "spoc_sites": ["NGH"],                        # in-reach: the sites served, by code
     "spoc_open_24_7": false,
     "spoc_closed_on_bank_holidays": true,
     "spoc_closures": [{"starts_at": "2025-12-24T17:00:00+00:00",
                        "ends_at": "2025-12-27T09:00:00+00:00", "reason": "Christmas"}],
     "spoc_accepts_self_referral": true,
     "spoc_referrer_types": ["GP", "DISTRICT_NURSE"],
     "spoc_clock_overrides": {"P2": {"contact_within_minutes": 180}},
     "spoc_out_of_hours_message": "Call NHS 111",  # where callers go while it is closed
     "spoc_out_of_hours_phone": "0151 700 1236"}   # national format; null for none

Conventions:

* One schedule per weekly window; ``closes_at`` at or before ``opens_at`` means the window runs
  past midnight into the next day (the model's rule), which ``description`` says in words.
* Round-the-clock service is ``"spoc_open_24_7": true``, not seven 00:00-23:59 schedules (which
  would leave a minute a day closed and could not be told apart from real hours).
* Closures are ``spoc_closures`` with aware ISO 8601 times (Europe/London offsets), not HSDS
  schedules: a schedule with ``valid_from``/``valid_to`` says when a service *is* open.
  Bank holidays are a flag, not one closure per holiday.
* Areas are separated by ", " because a sector contains a space (``"L9 7"``).
* A service's or location's ``organization_id`` names an organization of the file, or
  ``org-<ODS code>`` of one already in the directory; ``spoc_sites`` likewise names sites of the
  file or of the directory.
* ``contacts`` holds at most one contact: the intake team and its duty phone and email. A file
  without one leaves the service's team as it is (teams are never deleted by an import).
* Nested objects carry no ids: the import replaces them as a whole.
* ``eligibility_description``, ``service_at_locations``, schedule ``description`` and the
  ``term`` of attributes are written for readers and ignored on import.
* Optional text that is empty is exported as ``null`` (email, alert) or ``""`` (description);
  the import accepts either.
"""

from services.oruk.export import directory_export
from services.oruk.import_ import ImportResult, KindCounts, directory_import
from services.oruk.records import OrukImportError, OrukProblem

__all__ = [
    "ImportResult",
    "KindCounts",
    "OrukImportError",
    "OrukProblem",
    "directory_export",
    "directory_import",
]
