"""The summaries on the embedded SQLite default equal those of PostgreSQL: the same hand-built
history (tests/dashboards/parity.py), rebuilt and then refreshed by the job, on both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.commands import embedded_env, manage_ok
from tests.dashboards.parity import build_and_summarise


def sqlite_figures(data_dir: Path) -> dict[str, Any]:
    env = embedded_env(data_dir)
    for args in (
        ["migrate", "--noinput"],
        ["shell", "-c", "from tests.dashboards.parity import main; main()"],
    ):
        printed = manage_ok(env, *args, timeout=300)
    return json.loads(printed.strip().splitlines()[-1])


@pytest.mark.django_db
def test_sqlite_summaries_equal_postgresql(tmp_path: Path) -> None:
    postgresql = json.loads(json.dumps(build_and_summarise()))
    sqlite = sqlite_figures(tmp_path)
    # The history reaches every summary table, before and after the job's run.
    for stage in ("rebuilt", "refreshed"):
        assert all(postgresql[stage].values()), {k: len(v) for k, v in postgresql[stage].items()}
        for table, rows in postgresql[stage].items():
            assert sqlite[stage][table] == rows, (stage, table)
    assert postgresql["refreshed"] != postgresql["rebuilt"]
