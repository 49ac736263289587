"""Area deprivation deciles by postcode (docs/metrics.md "Equity"): the import of a postcode,
decile file and the look-up the patient page and the dashboards use. No network at run time: the
file is downloaded and prepared beforehand (docs/operations.md "Deprivation deciles")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from services.models import PostcodeDeprivation
from services.postcodes import InvalidPostcode, normalise_postcode
from spoc.core.csv_import import csv_reader

IMPORT_COLUMNS = ("postcode", "decile")
# Rows written per statement: a national file has about 1.7 million postcodes.
BATCH = 5_000


@dataclass
class DeprivationImport:
    """What an import did: postcodes new to the table, postcodes whose decile changed, those
    already as in the file, and the rejected rows by line number (the header is line 1)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _decile(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(
            f"decile must be a whole number from 1 to 10, not {text.strip()!r}"
        ) from None
    if not 1 <= value <= 10:
        raise ValueError(f"decile must be from 1 to 10, not {value}")
    return value


def deprivation_import(*, lines: Iterable[str]) -> DeprivationImport:
    """Load postcode,decile rows into ``PostcodeDeprivation``, adding new postcodes and updating
    changed deciles, so importing the same file twice changes nothing.

    Atomic: every row is checked first; if any is rejected, nothing is saved and every rejected
    row is reported with its line number. A postcode given twice with different deciles is
    rejected; given twice with the same one, it is counted once."""
    result = DeprivationImport()
    reader = csv_reader(lines, columns=IMPORT_COLUMNS, rejected=result.rejected)
    if reader is None:
        return result
    deciles: dict[str, int] = {}
    for row in reader:
        try:
            postcode = normalise_postcode(row.get("postcode") or "")
            decile = _decile(row.get("decile") or "")
            if deciles.get(postcode, decile) != decile:
                raise ValueError(f"{postcode} is given another decile on an earlier line")
            deciles[postcode] = decile
        except (InvalidPostcode, ValueError) as exc:
            result.rejected.append((reader.line_num, str(exc)))
    if result.rejected:
        return result
    now = timezone.now()
    with transaction.atomic():
        known = dict(
            PostcodeDeprivation.objects.filter(postcode__in=list(deciles)).values_list(
                "postcode", "decile"
            )
        )
        new = [
            PostcodeDeprivation(postcode=p, decile=d, imported_at=now)
            for p, d in deciles.items()
            if p not in known
        ]
        changed = [
            PostcodeDeprivation(postcode=p, decile=d, imported_at=now)
            for p, d in deciles.items()
            if p in known and known[p] != d
        ]
        PostcodeDeprivation.objects.bulk_create(new, batch_size=BATCH)
        PostcodeDeprivation.objects.bulk_update(
            changed, ["decile", "imported_at"], batch_size=BATCH
        )
    result.added, result.changed = len(new), len(changed)
    result.unchanged = len(deciles) - len(new) - len(changed)
    return result


def deprivation_decile(*, postcode: str) -> int | None:
    """The decile of a (normalised) postcode's area; None when the postcode is blank or not in
    the imported file."""
    if not postcode:
        return None
    return (
        PostcodeDeprivation.objects.filter(postcode=postcode)
        .values_list("decile", flat=True)
        .first()
    )
