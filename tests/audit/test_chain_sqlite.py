"""The hash chain on the embedded SQLite default: history chained by the migration, rows written
by the service, the append-only triggers kept, and `verify_access_log` exiting 1 at a changed row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.commands import embedded_env, manage_ok, manage_run


def test_chain_and_verifier_on_sqlite(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    manage_ok(env, "migrate", "audit", "0003")
    database = tmp_path / "spoc.sqlite3"
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO audit_accesslog (at, username, action, object_type, object_id, patient_id, client_ip,"
            " reason, detail, flagged) VALUES (?, ?, 'VIEW', 'patient', ?, ?, '192.0.2.1', '', ?, 0)",
            [
                (f"2026-03-0{n} 10:00:00.12345{n}", f"nurse{n}", str(n), n, '{"b": 1, "a": [2.5]}')
                for n in range(1, 4)
            ],
        )
    manage_ok(env, "migrate")
    manage_ok(
        env,
        "shell",
        "-c",
        "from spoc.audit.services import access_log_record\n"
        "for n in range(4, 9):\n"
        "    access_log_record(action='VIEW', username=f'nurse{n}', object_type='patient', object_id=n,"
        " patient_id=n, detail={'patients': n, 'note': 'é'})",
    )
    assert "Access log chain intact: 8 rows" in manage_ok(env, "verify_access_log")

    with sqlite3.connect(database) as db:
        # The migration rebuilt the table and put its append-only triggers back.
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit_accesslog SET reason = 'edited' WHERE id = 5")
        db.execute("DROP TRIGGER audit_accesslog_no_update")
        db.execute("UPDATE audit_accesslog SET reason = 'edited' WHERE id = 5")
    result = manage_run(env, "verify_access_log")
    assert result.returncode == 1
    assert "Access log chain broken at row 5 (after row 4; 4 rows before it hold)" in result.stderr
