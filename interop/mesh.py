"""The MESH-style drop folder (docs/interop.md, "The GP hears back"): where a letter goes when
its GP practice has no endpoint. A MESH client (or a person) collects each practice's folder:

    <DATA_DIR>/mesh/out/<practice ODS code>/<message id>.json   the FHIR document Bundle
    <DATA_DIR>/mesh/out/<practice ODS code>/<message id>.pdf    the letter
    <DATA_DIR>/mesh/out/<practice ODS code>/<message id>.ctl    the control file, written last

Each file is written under a temporary name beginning with a dot, flushed to disk and renamed,
so a collector never reads half a file, and it collects a message only once its control file is
there. Writing the same message again writes the same bytes: harmless.

The letters carry patients' details, so the folders are made 0o700 and the files 0o600 as they
are created (never a moment with the umask's wider mode): only the hub's user, and the collector
running as it, may read them."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from django.conf import settings

WORKFLOW_ID = "SPOC_GP_OUTCOME_LETTER"
_SAFE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def mesh_outbox(mailbox: str) -> Path:
    """The folder of one mailbox (a practice's ODS code, checked: it names a directory)."""
    if not _SAFE.fullmatch(mailbox):
        raise ValueError("A mailbox is letters, digits and hyphens.")
    return Path(settings.DATA_DIR) / "mesh" / "out" / mailbox.upper()


def _private_folder(folder: Path) -> None:
    """Make ``folder`` and the drop folder's folders above it (below DATA_DIR) FOLDER_MODE, each
    created with that mode; one made earlier with a wider mode is narrowed."""
    data_dir = Path(settings.DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir
    for part in folder.relative_to(data_dir).parts:
        path = path / part
        try:
            os.mkdir(path, FOLDER_MODE)
        except FileExistsError:
            if path.stat().st_mode & 0o777 != FOLDER_MODE:
                path.chmod(FOLDER_MODE)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    # A temporary file left by an attempt that died may have another mode: start afresh, so the
    # file is created here with FILE_MODE (O_EXCL) and is never readable by others.
    temporary.unlink(missing_ok=True)
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE
    )
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def mesh_drop(
    *, mailbox: str, message_id: str, document: dict[str, Any], pdf: bytes, subject: str
) -> Path:
    """Write one message (the document, the PDF, then the control file) to ``mailbox``'s
    folder; returns the control file's path. Raises OSError when the folder cannot be written,
    ValueError when the mailbox or the message id could not name a file (mesh_outbox)."""
    if not _SAFE.fullmatch(message_id):
        raise ValueError("A message id is letters, digits and hyphens.")
    folder = mesh_outbox(mailbox)
    _private_folder(folder)
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    files = {f"{message_id}.json": body, f"{message_id}.pdf": pdf}
    for name, data in files.items():
        _write_atomically(folder / name, data)
    control = {
        "version": 1,
        "message_id": message_id,
        "workflow_id": WORKFLOW_ID,
        "to": mailbox.upper(),
        "subject": subject,
        "files": [
            {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in files.items()
        ],
    }
    path = folder / f"{message_id}.ctl"
    _write_atomically(path, json.dumps(control, indent=2).encode())
    return path
