"""The demo's partner systems: the fake NHS 111 provider (devtools/fake_partner.py), registered
with its endpoint on the fake partner's server, and its credentials written to the data directory
for `manage.py fake_partner` to sign in with. Idempotent: a second run changes nothing while the
credentials are there, and gives the provider a new secret when they are not."""

from __future__ import annotations

import json
import os
from pathlib import Path

from devtools.fake_partner import PROVIDER_NAME, PROVIDER_ODS
from spoc.accounts.models import PartnerSystem
from spoc.accounts.partners import Scope, partner_register, partner_secret_rotate

FAKE_PARTNER_PORT = 8070
CREDENTIALS_FILE = "fake_partner.json"


def fake_partner_url(path: str) -> str:
    return f"http://127.0.0.1:{FAKE_PARTNER_PORT}{path}"


def seed_partners(*, data_dir: Path) -> PartnerSystem:
    """Register the fake 111 provider (all scopes) and write its credentials to ``data_dir``."""
    path = data_dir / CREDENTIALS_FILE
    partner = PartnerSystem.objects.filter(ods_code=PROVIDER_ODS, name=PROVIDER_NAME).first()
    if partner is None:
        issued = partner_register(
            name=PROVIDER_NAME,
            ods_code=PROVIDER_ODS,
            endpoint=fake_partner_url("/111/fhir/R4/$process-message"),
            scopes=list(Scope.ALL),
        )
        partner, secret = issued.partner, issued.client_secret
    elif _written_for(path, partner):
        return partner
    else:  # registered, but its secret is not here (a new data directory)
        secret = partner_secret_rotate(partner=partner)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Created 0o600 (the owner's alone) from the start: never a moment readable by others. A file
    # left from before is replaced, not rewritten, so it cannot keep a wider mode.
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"client_id": partner.client_id, "client_secret": secret}))
    return partner


def _written_for(path: Path, partner: PartnerSystem) -> bool:
    try:
        return bool(json.loads(path.read_text(encoding="utf-8"))["client_id"] == partner.client_id)
    except (OSError, ValueError, KeyError):
        return False
