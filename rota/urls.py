from django.urls import path

from rota import views

app_name = "rota"
urlpatterns = [
    path("", views.rota_index, name="index"),
    path("teams/<int:team_id>/", views.rota_team_page, name="team"),
    path("teams/<int:team_id>/patterns/add/", views.pattern_add, name="pattern-add"),
    path("teams/<int:team_id>/shifts/add/", views.extra_add, name="extra-add"),
    path("teams/<int:team_id>/import/", views.rota_import, name="import"),
    path("patterns/<int:pattern_id>/edit/", views.pattern_edit, name="pattern-edit"),
    path("patterns/<int:pattern_id>/end/", views.pattern_end, name="pattern-end"),
    path("patterns/<int:pattern_id>/cancel/", views.occurrence_cancel, name="cancel"),
    path("changes/<int:change_id>/remove/", views.change_remove, name="change-remove"),
]
