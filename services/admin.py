from django.contrib import admin

from services import models

admin.site.register(
    [
        models.Organisation,
        models.Site,
        models.Service,
        models.Team,
        models.OrganisationMembership,
        models.TeamMembership,
    ]
)
