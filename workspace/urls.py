from django.urls import path

from workspace.views import deaths as death_views
from workspace.views import patients as views

app_name = "patients"
urlpatterns = [
    path("", views.patient_search_page, name="search"),
    path("new/", views.patient_register_page, name="register"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
    path("<int:patient_id>/break-glass/", views.patient_break_glass, name="break-glass"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/people/new/", views.related_person_edit, name="person-add"),
    path("<int:patient_id>/people/<int:person_id>/", views.related_person_edit, name="person-edit"),
    path(
        "<int:patient_id>/people/<int:person_id>/assessments/",
        views.carer_assessments,
        name="carer-assessments",
    ),
    path(
        "<int:patient_id>/people/<int:person_id>/assessments/new/",
        views.carer_assessment_new,
        name="carer-assessment-new",
    ),
    path("<int:patient_id>/care-plan/", views.care_plan_edit, name="care-plan"),
    path("<int:patient_id>/medicines/", views.jic_medicines_page, name="medicines"),
    path(
        "<int:patient_id>/medicines/<int:medicine_id>/remove/",
        views.jic_medicine_remove_page,
        name="medicine-remove",
    ),
    path("<int:patient_id>/death/", death_views.patient_death_record, name="death"),
    path(
        "<int:patient_id>/death/correct/",
        death_views.patient_death_correct,
        name="death-correct",
    ),
]
