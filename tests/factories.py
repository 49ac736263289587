from __future__ import annotations

import factory

from services.codes import OrganisationType, ServiceType
from services.models import Organisation, Service, Team, TeamMembership
from spoc.accounts.models import User


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Jane"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    password = factory.django.Password("correct-horse-battery")


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    ods_code = factory.Sequence(lambda n: f"X{n:04d}")
    name = factory.Sequence(lambda n: f"Test Organisation {n}")
    org_type = OrganisationType.HOSPICE


class ServiceFactory(factory.django.DjangoModelFactory[Service]):
    class Meta:
        model = Service

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Test Service {n}")
    service_type = ServiceType.COMMUNITY_SPC


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team

    service = factory.SubFactory(ServiceFactory)
    name = factory.LazyAttribute(lambda o: f"{o.service.name} team")


class TeamMembershipFactory(factory.django.DjangoModelFactory[TeamMembership]):
    class Meta:
        model = TeamMembership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
