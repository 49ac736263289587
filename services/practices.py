"""GP practices: ODS-coded organisations of the directory, imported from a CSV file, and the
patient's registered practice found from what was typed (docs/directory.md, "GP practices")."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from services.codes import OrganisationType
from services.models import Organisation
from services.postcodes import InvalidPostcode, normalise_postcode
from spoc.core.identifiers import ENDPOINT_RULE, is_endpoint, is_ods_code

# An ODS code in what was typed: on its own, or after a name in brackets ("Aintree Park (N82001)").
_CODE_IN_TEXT = re.compile(r"(?:^|\()\s*([A-Za-z0-9]{3,10})\s*\)?\s*$")
CSV_COLUMNS = ("ods_code", "name", "postcode", "endpoint")
NAME_MAX = 200


def practice_for(text: str) -> Organisation | None:
    """The directory's GP practice that ``text`` names: by its ODS code (alone, or in brackets
    after the name as the form offers it), else by its exact name when only one practice has it.
    None when it names none: the text is kept as typed. At most two queries."""
    text = text.strip()
    if not text:
        return None
    practices = Organisation.objects.filter(org_type=OrganisationType.GP_PRACTICE)
    found = _CODE_IN_TEXT.search(text)
    if found:
        by_code = practices.filter(ods_code=found.group(1).upper()).first()
        if by_code is not None:
            return by_code
    named = list(practices.filter(name__iexact=text)[:2])
    return named[0] if len(named) == 1 else None


def practice_label(practice: Organisation) -> str:
    """How a practice is offered and shown: its name and ODS code."""
    return f"{practice.name} ({practice.ods_code})"


def practice_labels() -> list[str]:
    """Every GP practice of the directory, as offered when typing the patient's practice."""
    return [
        practice_label(p)
        for p in Organisation.objects.filter(org_type=OrganisationType.GP_PRACTICE)
        .only("name", "ods_code")
        .order_by("name")
    ]


@dataclass
class PracticeImport:
    created: int = 0
    updated: int = 0
    # (line number, message) for every rejected row; nothing is saved when there is any.
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _practice_row(row: dict[str, Any]) -> dict[str, str]:
    code = (row.get("ods_code") or "").strip().upper()
    name = (row.get("name") or "").strip()
    endpoint = (row.get("endpoint") or "").strip()
    if not is_ods_code(code):
        raise ValueError(f"the ODS code {code!r} is not 3 to 10 letters and digits")
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"the name must be 1 to {NAME_MAX} characters")
    postcode = (row.get("postcode") or "").strip()
    if postcode:
        postcode = normalise_postcode(postcode)
    if endpoint and not is_endpoint(endpoint):
        raise ValueError(f"the endpoint must be {ENDPOINT_RULE}")
    return {"ods_code": code, "name": name, "postcode": postcode, "endpoint": endpoint}


def gp_practices_import(lines: Iterable[str]) -> PracticeImport:
    """Create or update GP practices from CSV text with the header ``ods_code,name,postcode,endpoint``
    (postcode and endpoint may be empty). All or nothing: any bad row rejects the file, each
    rejected line with its reason. An ODS code that belongs to an organisation of another type is
    refused, never turned into a practice."""
    result = PracticeImport()
    reader = csv.DictReader(lines)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        result.rejected.append(
            (1, f"the header must name {', '.join(CSV_COLUMNS)} (missing {', '.join(missing)})")
        )
        return result
    rows: dict[str, dict[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        try:
            values = _practice_row(row)
            if values["ods_code"] in rows:
                raise ValueError(f"{values['ods_code']} appears twice in the file")
        except (ValueError, InvalidPostcode) as exc:
            result.rejected.append((line, str(exc)))
            continue
        rows[values["ods_code"]] = values | {"line": str(line)}
    others = dict(
        Organisation.objects.filter(ods_code__in=rows)
        .exclude(org_type=OrganisationType.GP_PRACTICE)
        .values_list("ods_code", "org_type")
    )
    for code, org_type in others.items():
        result.rejected.append(
            (
                int(rows[code]["line"]),
                f"{code} is already an organisation of type {OrganisationType(org_type).label}",
            )
        )
    if result.rejected:
        result.rejected.sort()
        return result
    existing = {o.ods_code: o for o in Organisation.objects.filter(ods_code__in=rows)}
    with transaction.atomic():
        for code, values in rows.items():
            fields = {k: values[k] for k in ("name", "postcode", "endpoint")}
            if code in existing:
                Organisation.objects.filter(pk=existing[code].pk).update(**fields)
                result.updated += 1
            else:
                Organisation.objects.create(
                    ods_code=code, org_type=OrganisationType.GP_PRACTICE, **fields
                )
                result.created += 1
    return result
