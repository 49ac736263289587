"""The directory's version (services.models.DirectoryVersion) changes with every write to the
directory routing reads, whoever writes it (docs/routing.md "The directory kept in the routing
worker"): the services, the admin, the Open Referral UK import, the demo seed, the ORM's bulk
paths and plain SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from devtools.demo.directory import seed_directory
from devtools.demo.users import seed_users
from services.codes import CapacityRag, ServiceStatus, ServiceType
from services.models import (
    CoverageArea,
    DirectoryVersion,
    OpeningHours,
    Organisation,
    Service,
    Site,
    Team,
)
from services.oruk.import_ import directory_import
from services.services import capacity_report, closure_create, closure_delete
from tests.audit.test_database_roles import app_role, as_role, refused  # noqa: F401 (a fixture)
from tests.factories import OrganisationFactory, UserFactory
from tests.referrals.factories import member
from tests.services.directory_fixtures import make_service, service_edit
from tests.services.test_oruk import CHANGES, build_directory, exported_file

pytestmark = pytest.mark.django_db


def version() -> int:
    return DirectoryVersion.objects.get(pk=DirectoryVersion.ROW_ID).version


@pytest.fixture
def service() -> Service:
    return make_service("Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True)


def report_capacity(service: Service) -> None:
    lead = member(lambda role, **fields: UserFactory(**fields), service.team, "lead1", lead=True)
    capacity_report(service=service, user=lead, rag=CapacityRag.AMBER, units=1)


def closure_added_then(service: Service) -> Callable[[], None]:
    now = timezone.now()
    closure = closure_create(
        service=service,
        user=UserFactory(),
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        reason="Training",
    )
    return lambda: closure_delete(service=service, user=UserFactory(), closure_id=closure.pk)


def admin_post(service: Service, client: Any) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    team = service.team
    response = client.post(
        reverse("admin:services_team_change", args=[team.pk]),
        {"service": service.pk, "name": "Renamed in the admin", "duty_phone": "", "duty_email": ""},
    )
    assert response.status_code == 302, response.content[:2000]


def oruk_import(service: Service) -> None:
    # The version is compared here, after the directory the import changes was built.
    build_directory()
    data = exported_file()
    CHANGES["hours"](data)
    before = version()
    directory_import(data)
    assert version() != before


WRITERS: dict[str, Callable[[Service, Any], object]] = {
    # The services behind the directory's pages.
    "service_update (details, coverage, hours)": lambda s, c: service_edit(
        s, status="INACTIVE", areas=["L10"]
    ),
    "closure_create": lambda s, c: closure_added_then(s),
    "capacity_report": lambda s, c: report_capacity(s),
    # The Django admin.
    "the admin": admin_post,
    # The Open Referral UK import (manage.py import_oruk).
    "the Open Referral UK import": lambda s, c: oruk_import(s),
    # The demo seed (manage.py seed_demo).
    "the demo seed": lambda s, c: seed_directory(users=seed_users(password="x")),
    # The ORM around the services, as a migration or the shell would write.
    "QuerySet.update": lambda s, c: Service.objects.filter(pk=s.pk).update(
        status=ServiceStatus.TEMPORARILY_CLOSED
    ),
    "bulk_create": lambda s, c: CoverageArea.objects.bulk_create(
        [CoverageArea(service=s, area="L10")]
    ),
    "a deletion": lambda s, c: OpeningHours.objects.filter(service=s).delete(),
    "a service deleted with its rows": lambda s, c: s.delete(),
    "a site served": lambda s, c: s.sites.add(
        Site.objects.create(organisation=OrganisationFactory(), code="NGH", name="General")
    ),
    "a team saved": lambda s, c: Team.objects.filter(pk=s.team.pk).update(duty_email="a@b.example"),
    # Plain SQL.
    "SQL": lambda s, c: connection.cursor().execute(
        "UPDATE services_openinghours SET closes_at = '18:00'"
    ),
    "TRUNCATE": lambda s, c: connection.cursor().execute("TRUNCATE services_closure"),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_every_writer_of_the_directory_changes_its_version(
    service: Service, client: Any, writer: str
) -> None:
    before = version()

    WRITERS[writer](service, client)

    assert version() != before


def test_closure_delete_changes_the_version(service: Service) -> None:
    delete = closure_added_then(service)
    before = version()

    delete()

    assert version() != before


def test_an_organisations_edit_leaves_the_version_alone(service: Service) -> None:
    # Routing reads nothing of the organisations; the GP practices' import writes many.
    before = version()

    Organisation.objects.filter(pk=service.organisation_id).update(name="Renamed")
    Organisation.objects.create(ods_code="Y01234", name="A practice", org_type="GP_PRACTICE")

    assert version() == before


def test_a_version_rolled_back_is_never_given_to_another_directory(service: Service) -> None:
    committed = version()
    try:
        with transaction.atomic():
            Service.objects.filter(pk=service.pk).update(status=ServiceStatus.INACTIVE)
            rolled_back = version()
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert version() == committed

    Service.objects.filter(pk=service.pk).update(status=ServiceStatus.TEMPORARILY_CLOSED)

    assert version() not in {committed, rolled_back}


def test_a_directory_emptied_of_its_version_gets_one_at_the_next_write(service: Service) -> None:
    DirectoryVersion.objects.all().delete()

    Service.objects.filter(pk=service.pk).update(status=ServiceStatus.INACTIVE)

    assert DirectoryVersion.objects.get().version > 0


def test_the_apps_database_role_changes_the_version_and_cannot_switch_it_off(
    request: pytest.FixtureRequest, service: Service
) -> None:
    # Production's web and workers write as a role that owns no table (docs/architecture.md,
    # "Two database roles"): the triggers run with its rights, and it cannot disable them.
    role = request.getfixturevalue("app_role")
    before = version()
    with as_role(role):
        Service.objects.filter(pk=service.pk).update(status=ServiceStatus.INACTIVE)
        CoverageArea.objects.bulk_create([CoverageArea(service=service, area="L10")])
        refused("ALTER TABLE services_service DISABLE TRIGGER services_directory_changed")
    assert version() != before
