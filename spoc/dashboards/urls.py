from django.urls import path

from spoc.dashboards import views, views_admissions

app_name = "dashboards"
urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("export/<slug:key>.csv", views.dashboard_csv, name="csv"),
    path("breaches/", views.breaches_drilldown, name="breaches"),
    path("definitions/", views.metrics_page, name="metrics"),
    path(
        "patients/<int:patient_id>/admissions/",
        views_admissions.patient_admissions,
        name="admissions",
    ),
]
