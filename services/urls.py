from django.urls import path

from services import views

app_name = "services"
urlpatterns = [
    path("", views.directory_search, name="search"),
    path("services/", views.service_list, name="list"),
    path("services/<int:service_id>/", views.service_page, name="service"),
    path("services/<int:service_id>/edit/", views.service_edit, name="edit"),
    path("services/<int:service_id>/closures/", views.closure_add, name="closure-add"),
    path(
        "services/<int:service_id>/closures/<int:closure_id>/remove/",
        views.closure_remove,
        name="closure-remove",
    ),
    path("services/<int:service_id>/capacity/", views.capacity_update, name="capacity"),
]
