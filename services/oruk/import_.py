"""Importing an ORUK file into the directory: all of it, or nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import models, transaction

from services.models import Closure, CoverageArea, OpeningHours, Organisation, Service, Site, Team
from services.oruk.records import (
    DirectoryRecords,
    OrukImportError,
    OrukProblem,
    ServiceRecord,
    SiteRecord,
    TeamRecord,
)
from services.oruk.shape import organization_id, phone_e164, service_ids
from services.oruk.validate import directory_parse

_PHONE_FIELDS = frozenset({"phone", "duty_phone", "out_of_hours_phone"})


@dataclass
class KindCounts:
    """Records of one kind that were created, updated, or found identical."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, *, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would have done)."""

    dry_run: bool = False
    organizations: KindCounts = field(default_factory=KindCounts)
    locations: KindCounts = field(default_factory=KindCounts)
    services: KindCounts = field(default_factory=KindCounts)

    @property
    def total(self) -> KindCounts:
        kinds = (self.organizations, self.locations, self.services)
        return KindCounts(
            created=sum(kind.created for kind in kinds),
            updated=sum(kind.updated for kind in kinds),
            unchanged=sum(kind.unchanged for kind in kinds),
        )

    def lines(self) -> list[str]:
        """One line per kind, as a person reads it; says when nothing was saved."""
        lines = [
            f"{name}: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
            for name, counts in (
                ("organizations", self.organizations),
                ("locations", self.locations),
                ("services", self.services),
            )
        ]
        if self.dry_run:
            lines.append("Dry run: nothing was saved.")
        return lines


def directory_import(data: Any, *, dry_run: bool = False) -> ImportResult:
    """Create or update the directory from ORUK JSON (the shape of ``directory_export``).

    Every record is checked before anything is written; any problem raises
    :class:`OrukImportError` naming each record (list, position, id) and field, and the
    directory is left unchanged. Then, in one transaction, organisations are matched by ODS
    code, sites by code and services by name (else by their export id, so a renamed service is
    updated, not duplicated); a service's team, coverage areas, opening hours, closures and
    sites served are replaced where they differ. A record counts as ``unchanged`` only when
    nothing about it differs. Teams are never deleted (referrals and memberships hang off them):
    a service without a contact keeps its team. With ``dry_run`` the same work is done and the
    counts returned, then rolled back.
    """
    records = directory_parse(data)
    result = ImportResult(dry_run=dry_run)
    with transaction.atomic():
        existing = list(
            Service.objects.select_related("team").prefetch_related(
                "coverage_areas", "opening_hours", "closures", "sites"
            )
        )
        matches = _check_database(records, existing)
        organisations = {org.ods_code: org for org in Organisation.objects.all()}
        for record in records.organizations:
            organisation = organisations.get(record.ods_code) or Organisation(
                ods_code=record.ods_code
            )
            created, changed = _write(
                organisation,
                {"name": record.name, "org_type": record.org_type},
                kind="organizations",
                record=record,
            )
            organisations[record.ods_code] = organisation
            result.organizations.count(created=created, changed=changed)
        sites = {site.code: site for site in Site.objects.all()}
        for site_record in records.sites:
            site = sites.get(site_record.code) or Site(code=site_record.code)
            created, changed = _write(
                site,
                {
                    "organisation_id": organisations[site_record.ods_code].pk,
                    "name": site_record.name,
                    "postcode": site_record.postcode,
                },
                kind="locations",
                record=site_record,
            )
            sites[site_record.code] = site
            result.locations.count(created=created, changed=changed)
        for service_record in records.services:
            service = matches[service_record.index] or Service()
            created = service.pk is None
            changed = _service_write(service, service_record, organisations, sites, created=created)
            result.services.count(created=created, changed=changed)
        if dry_run:
            transaction.set_rollback(True)
    return result


def _check_database(
    records: DirectoryRecords, existing: list[Service]
) -> dict[int, Service | None]:
    """The checks that need the directory as it is; returns the existing service each service
    record updates (``None``: a new service). Raises :class:`OrukImportError`."""
    problems: list[OrukProblem] = []
    in_file = {record.ods_code for record in records.organizations}
    referring: tuple[tuple[str, Iterable[SiteRecord | ServiceRecord]], ...] = (
        ("locations", records.sites),
        ("services", records.services),
    )
    wanted_orgs = {record.ods_code for _, group in referring for record in group} - in_file
    known = in_file | set(
        Organisation.objects.filter(ods_code__in=wanted_orgs).values_list("ods_code", flat=True)
    )
    for kind, group in referring:
        problems.extend(
            OrukProblem(
                kind,
                record.index,
                record.ref,
                "organization_id",
                f"{organization_id(record.ods_code)!r} is not an organization in this file "
                "nor in the directory.",
            )
            for record in group
            if record.ods_code not in known
        )
    codes = {record.code for record in records.sites}
    wanted = {code for record in records.services for code in record.site_codes}
    codes |= set(Site.objects.filter(code__in=wanted - codes).values_list("code", flat=True))
    for service_record in records.services:
        for code in service_record.site_codes:
            if code not in codes:
                problems.append(
                    _problem(
                        service_record,
                        "spoc_sites",
                        f"{code!r} is not a location in this file nor a site in the directory.",
                    )
                )

    by_name = {service.name: service for service in existing}
    ids = service_ids(by_name)
    by_id = {ids[service.name]: service for service in existing}
    teams = {service.team.name: service for service in existing if _team_of(service)}
    matches: dict[int, Service | None] = {}
    claimed: dict[int, ServiceRecord] = {}
    for record in records.services:
        match = by_name.get(record.name) or by_id.get(record.ref)
        if match is not None and match.pk in claimed:
            problems.append(
                _problem(
                    record,
                    "id",
                    f"updates the same service ({match.name!r}) as services[{claimed[match.pk].index}].",
                )
            )
        elif match is not None:
            claimed[match.pk] = record
        matches[record.index] = match
        owner = teams.get(record.team.name) if record.team else None
        if owner is not None and owner != match:
            problems.append(
                _problem(
                    record,
                    "contacts[0].name",
                    f"the team name {owner.team.name!r} already belongs to the service {owner.name!r}.",
                )
            )
    if problems:
        raise OrukImportError(problems)
    return matches


def _service_write(
    service: Service,
    record: ServiceRecord,
    organisations: dict[str, Organisation],
    sites: dict[str, Site],
    *,
    created: bool,
) -> bool:
    """Bring one service and what hangs off it in line with ``record``; whether anything differed."""
    values = {
        "name": record.name,
        "organisation_id": organisations[record.ods_code].pk,
        **record.fields,
    }
    _, changed = _write(service, values, kind="services", record=record)
    changed |= _team_write(service, record=record, team_record=record.team)
    if (
        tuple(sorted(area.area for area in _children(service, "coverage_areas", created=created)))
        != record.areas
    ):
        service.coverage_areas.all().delete()
        CoverageArea.objects.bulk_create(
            CoverageArea(service=service, area=area) for area in record.areas
        )
        changed = True
    hours = _children(service, "opening_hours", created=created)
    if tuple(sorted((row.weekday, row.opens_at, row.closes_at) for row in hours)) != record.hours:
        service.opening_hours.all().delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(service=service, weekday=weekday, opens_at=opens_at, closes_at=closes_at)
            for weekday, opens_at, closes_at in record.hours
        )
        changed = True
    closures = _children(service, "closures", created=created)
    if (
        tuple(sorted((row.starts_at, row.ends_at, row.reason) for row in closures))
        != record.closures
    ):
        service.closures.all().delete()
        Closure.objects.bulk_create(
            Closure(service=service, starts_at=starts_at, ends_at=ends_at, reason=reason)
            for starts_at, ends_at, reason in record.closures
        )
        changed = True
    if (
        tuple(sorted(site.code for site in _children(service, "sites", created=created)))
        != record.site_codes
    ):
        service.sites.set([sites[code] for code in record.site_codes])
        changed = True
    return changed


def _team_write(service: Service, *, record: ServiceRecord, team_record: TeamRecord | None) -> bool:
    if team_record is None:
        return False
    team = _team_of(service) or Team(service=service)
    created, changed = _write(
        team,
        {
            "name": team_record.name,
            "duty_phone": team_record.duty_phone,
            "duty_email": team_record.duty_email,
        },
        kind="services",
        record=record,
        prefix="contacts[0].",
    )
    return created or changed


def _children(service: Service, relation: str, *, created: bool) -> Iterable[Any]:
    """A service's rows of ``relation`` (prefetched for existing services; none for a new one)."""
    return [] if created else getattr(service, relation).all()


def _team_of(service: Service) -> Team | None:
    try:
        return service.team
    except Team.DoesNotExist:
        return None


def _comparable(name: str, value: Any) -> Any:
    """Values as compared: phone numbers in E.164, referrer types as a set (order means nothing)."""
    if name in _PHONE_FIELDS:
        return phone_e164(value)
    if name == "referrer_types":
        return sorted(set(value))
    return value


def _apply(instance: models.Model, values: dict[str, Any]) -> bool:
    """Set each of ``values`` that differs from ``instance``; whether any did."""
    changed = False
    for name, value in values.items():
        if _comparable(name, getattr(instance, name)) != _comparable(name, value):
            setattr(instance, name, value)
            changed = True
    return changed


class _Located(Protocol):
    """Where a record stands in the file: what a problem with it names."""

    @property
    def index(self) -> int: ...

    @property
    def ref(self) -> str: ...


def _write(
    instance: models.Model,
    values: dict[str, Any],
    *,
    kind: str,
    record: _Located,
    prefix: str = "",
) -> tuple[bool, bool]:
    """Set ``values`` on ``instance`` and save it when it is new or any of them differed;
    (created, changed)."""
    created = instance.pk is None
    changed = _apply(instance, values)
    _save(
        instance,
        kind=kind,
        index=record.index,
        ref=record.ref,
        needed=created or changed,
        prefix=prefix,
    )
    return created, changed


def _save(
    instance: models.Model, *, kind: str, index: int, ref: str, needed: bool, prefix: str = ""
) -> None:
    """``full_clean`` and save when ``needed``; a model-level refusal (the file's checks should
    have caught it) becomes an :class:`OrukImportError` on the record, rolling everything back."""
    if not needed:
        return
    try:
        instance.full_clean()
    except ValidationError as error:
        raise OrukImportError(
            OrukProblem(kind, index, ref, prefix + name, " ".join(messages))
            for name, messages in error.message_dict.items()
        ) from error
    instance.save()


def _problem(record: ServiceRecord, path: str, message: str) -> OrukProblem:
    return OrukProblem("services", record.index, record.ref, path, message)
