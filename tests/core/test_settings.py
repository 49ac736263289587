import os
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.conftest import ROOT

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-0123456789-abcdefghij",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/spoc",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "spoc.example.nhs.uk",
}


def run_django(
    settings_module: str, code: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", *PRODUCTION_ENV}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": settings_module,
            "SPOC_DATA_DIR": str(ROOT / ".data" / "settings-test"),
        }
    )
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("module", "extra_env", "expected_engine", "development_tools"),
    [
        ("spoc.settings.local", {}, "django.db.backends.sqlite3", True),
        ("spoc.settings.test", {}, "django.db.backends.postgresql", True),
        ("spoc.settings.production", PRODUCTION_ENV, "django.db.backends.postgresql", False),
    ],
)
def test_settings_load_in_every_mode(module, extra_env, expected_engine, development_tools):
    """Each mode loads; only development and the tests install the development tools (devtools,
    with `seed_demo`)."""
    result = run_django(
        module,
        "from django.apps import apps; from django.conf import settings; "
        "from django.core.management import get_commands; "
        "print(settings.DATABASES['default']['ENGINE'], apps.is_installed('devtools'), 'seed_demo' in get_commands())",
        extra_env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        expected_engine,
        str(development_tools),
        str(development_tools),
    ]


def test_local_without_redis_uses_filesystem_broker():
    result = run_django(
        "spoc.settings.local", "from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    )
    assert result.stdout.strip() == "filesystem://"


def test_production_refuses_to_start_without_its_secrets():
    result = run_django("spoc.settings.production", "pass")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set under production settings" in result.stderr


def test_production_requires_mfa_and_forbids_demo_data():
    result = run_django(
        "spoc.settings.production",
        "from django.conf import settings; print(settings.MFA_REQUIRED, settings.DEMO_DATA_ALLOWED, settings.DEBUG)",
        PRODUCTION_ENV,
    )
    assert result.stdout.split() == ["True", "False", "False"]


def test_pgbouncer_pooler_turns_off_what_cannot_outlive_a_transaction():
    """Behind PgBouncer in transaction mode: no server-side cursors, no prepared statements,
    and the connection to the pooler is still kept and checked before reuse."""
    result = run_django(
        "spoc.settings.production",
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['DISABLE_SERVER_SIDE_CURSORS'], d['OPTIONS']['prepare_threshold'], "
        "d['OPTIONS']['server_side_binding'], d['CONN_MAX_AGE'] > 0, d['CONN_HEALTH_CHECKS'])",
        {**PRODUCTION_ENV, "DATABASE_POOLER": "pgbouncer"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "None", "False", "True", "True"]


def test_without_a_pooler_server_side_cursors_stay_on():
    result = run_django(
        "spoc.settings.production",
        "from django.conf import settings; "
        "d = settings.DATABASES['default']; print(d['ENGINE'], d.get('DISABLE_SERVER_SIDE_CURSORS', False))",
        PRODUCTION_ENV,
    )
    assert result.stdout.split() == ["django.db.backends.postgresql", "False"]


def test_an_unknown_pooler_is_refused_with_a_message():
    result = run_django(
        "spoc.settings.production", "pass", {**PRODUCTION_ENV, "DATABASE_POOLER": "pgpool"}
    )
    assert result.returncode != 0
    assert "DATABASE_POOLER must be empty or 'pgbouncer', not 'pgpool'" in result.stderr


@pytest.mark.parametrize("url", ["sqlite:////tmp/spoc.sqlite3", "mysql://root@127.0.0.1/spoc"])
def test_a_database_url_that_is_not_postgresql_is_refused_with_a_message(url):
    result = run_django("spoc.settings.local", "pass", {"DATABASE_URL": url})
    assert result.returncode != 0
    assert "DATABASE_URL must be a PostgreSQL URL" in result.stderr
    assert "leave it unset for the embedded SQLite database" in result.stderr


def _production_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="spoc.settings.production", **extra)
    return env


def _check_deploy(cwd: Path, env: dict[str, str]) -> None:
    """`manage.py check --deploy`, run in `cwd` with `env`, passes with no warning."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_under_production_settings():
    _check_deploy(ROOT, _production_env())


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(relative: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``relative`` out of the build context (its patterns, as far as the
    hub's .dockerignore uses them: a path from the root, ``*`` and a leading ``**/``)."""
    return any(
        fnmatch(relative, pattern) or fnmatch(relative, pattern.removeprefix("**/"))
        for pattern in patterns
    )


def test_production_runs_from_the_image_tree_without_tests_benchmarks_or_development_tools(
    tmp_path: Path,
):
    """The Dockerfile copies the tree less .dockerignore's paths; production settings must load
    and pass the deploy checks from what is left."""
    patterns = _dockerignore_patterns()
    assert {"devtools", "tests", "bench"} <= set(patterns)
    image = tmp_path / "app"
    shutil.copytree(
        ROOT,
        image,
        ignore=lambda folder, names: {
            name
            for name in names
            if _ignored(str((Path(folder) / name).relative_to(ROOT)), patterns)
        },
    )
    assert not {"devtools", "tests", "bench", ".git", ".venv"} & {
        path.name for path in image.iterdir()
    }
    env = _production_env(SPOC_DATA_DIR=str(tmp_path / "data"))
    _check_deploy(image, env)
    # And it ran without them: nothing outside the copy put them back on the path.
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util as u; print([u.find_spec(n) for n in ('devtools', 'tests', 'bench')])",
        ],
        cwd=image,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.stdout.strip() == "[None, None, None]", found.stdout + found.stderr


def test_a_replica_url_adds_the_replica_its_router_and_middleware():
    """DATABASE_REPLICA_URL is read like DATABASE_URL (kept connections, checked before reuse,
    PgBouncer's limits with DATABASE_POOLER), with a short connect timeout; the test suite's
    replica mirrors its test database."""
    result = run_django(
        "spoc.settings.production",
        "from django.conf import settings; r = settings.DATABASES['replica']; "
        "print(r['HOST'], r['PORT'], r['NAME'], r['CONN_MAX_AGE'], r['CONN_HEALTH_CHECKS'], "
        "r['OPTIONS']['connect_timeout'], r['TEST']['MIRROR'], settings.DATABASE_ROUTERS, "
        "settings.MIDDLEWARE.index('spoc.core.replica.ReplicaReadsMiddleware') "
        "- settings.MIDDLEWARE.index('django.contrib.auth.middleware.AuthenticationMiddleware'), "
        "r['DISABLE_SERVER_SIDE_CURSORS'], r['OPTIONS']['prepare_threshold'])",
        {
            **PRODUCTION_ENV,
            "DATABASE_REPLICA_URL": "postgres://spoc@10.0.0.7:5433/spoc",
            "DATABASE_POOLER": "pgbouncer",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "10.0.0.7 5433 spoc 600 True 2 default ['spoc.core.replica.ReplicaRouter'] 1 True None"
    )


def test_without_a_replica_url_nothing_is_routed(settings):
    """The suite runs without DATABASE_REPLICA_URL, as `make run` does: one database, no router,
    no middleware (tests/core/test_replica.py adds them for its own tests only)."""
    assert list(settings.DATABASES) == ["default"]
    assert settings.DATABASE_ROUTERS == []
    assert not [m for m in settings.MIDDLEWARE if "replica" in m]


def test_a_replica_without_a_primary_is_refused_in_one_line():
    result = run_django(
        "spoc.settings.local",
        "pass",
        {"DATABASE_REPLICA_URL": "postgres://spoc@127.0.0.1:5433/spoc"},
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL names a replica of PostgreSQL: set DATABASE_URL" in result.stderr
