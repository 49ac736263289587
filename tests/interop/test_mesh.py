"""The MESH-style drop folder (interop/mesh.py): what it writes carries patients' details, so
only the hub's user may read it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from interop.mesh import mesh_drop

MESSAGE_ID = "3f0c4a52-7d3e-4a51-9a59-0c8d2d4b1e11"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    # The usual umask, which on its own would leave folders 0o755 and files 0o644.
    previous = os.umask(0o022)
    try:
        with override_settings(DATA_DIR=tmp_path):
            yield tmp_path
    finally:
        os.umask(previous)


def _drop(mailbox: str = "Y05678") -> Path:
    return mesh_drop(
        mailbox=mailbox,
        message_id=MESSAGE_ID,
        document={"resourceType": "Bundle", "id": MESSAGE_ID},
        pdf=b"%PDF-1.4 letter",
        subject="Referral completed",
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_drop_folder_is_the_owners_alone_folders_0700_files_0600(data_dir):
    control = _drop()
    folder = control.parent
    assert [_mode(p) for p in (data_dir / "mesh", data_dir / "mesh" / "out", folder)] == [0o700] * 3
    files = sorted(folder.iterdir())
    assert [p.name for p in files] == sorted(f"{MESSAGE_ID}{s}" for s in (".ctl", ".json", ".pdf"))
    assert {_mode(p) for p in files} == {0o600}


def test_a_folder_made_wider_earlier_and_a_stale_temporary_file_are_made_private(data_dir):
    folder = data_dir / "mesh" / "out" / "Y05678"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    stale = folder / f".{MESSAGE_ID}.pdf.tmp"
    stale.write_bytes(b"half a letter")
    stale.chmod(0o644)
    _drop()
    assert _mode(folder) == 0o700
    assert not stale.exists()
    assert _mode(folder / f"{MESSAGE_ID}.pdf") == 0o600
    assert (folder / f"{MESSAGE_ID}.pdf").read_bytes() == b"%PDF-1.4 letter"


def test_a_mailbox_that_cannot_name_a_folder_is_refused(data_dir):
    with pytest.raises(ValueError, match="letters, digits and hyphens"):
        _drop("Y0/../123")
    assert not (data_dir / "mesh").exists()
