from django.contrib import admin

from services.models import (
    Organisation,
    OrganisationMembership,
    Service,
    Site,
    Team,
    TeamMembership,
)

admin.site.register(Organisation)
admin.site.register(Site)
admin.site.register(Service)
admin.site.register(Team)
admin.site.register(OrganisationMembership)
admin.site.register(TeamMembership)
