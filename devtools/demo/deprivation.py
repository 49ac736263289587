"""SYNTHETIC area deprivation deciles for the demo's fictional postcodes (docs/metrics.md
"Deprivation deciles"): made up, never real figures, so that the patient page and the equity
tables show deciles. ``deprivation_synthetic.csv`` beside this module is the file; it is loaded
by ``seed_demo`` through the same import as a real file (``manage.py import_deprivation``).

Northbank's districts are given the more deprived deciles and Southmere's the less, and about
one postcode in twenty is left out, so that "Not known" shows too. ``write_synthetic_file``
writes the file again from the demo cohort, should the cohort's postcodes change.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from devtools.demo.directory import NORTHBANK
from devtools.demo.patients import SEED, plan_patients
from services.deprivation import DeprivationImport, deprivation_import

SYNTHETIC_FILE = Path(__file__).with_name("deprivation_synthetic.csv")
# One postcode in this many has no decile in the file.
LEFT_OUT_EVERY = 20


def synthetic_deciles(postcodes: list[str]) -> dict[str, int]:
    """A made-up decile for most of these postcodes: 1-5 in Northbank, 4-10 in Southmere."""
    rng = random.Random(f"{SEED}-deprivation")  # noqa: S311 (repeatable demo data)
    deciles = {}
    for postcode in sorted(set(postcodes)):
        if rng.randrange(LEFT_OUT_EVERY) == 0:
            continue
        low, high = (1, 5) if postcode.split()[0] in NORTHBANK else (4, 10)
        deciles[postcode] = rng.randint(low, high)
    return deciles


def write_synthetic_file(*, today: date) -> int:
    """Write the synthetic file for the demo cohort's postcodes; return its number of rows."""
    deciles = synthetic_deciles([plan.postcode for plan in plan_patients(today=today)])
    lines = ["postcode,decile", *(f"{p},{d}" for p, d in deciles.items())]
    SYNTHETIC_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(deciles)


def seed_deprivation() -> DeprivationImport:
    """Load the synthetic file (idempotent: a second run changes nothing)."""
    with SYNTHETIC_FILE.open(encoding="utf-8", newline="") as handle:
        result = deprivation_import(lines=handle)
    assert not result.rejected, result.rejected
    return result
