from django.urls import path

from referrals.views import queue as views

# Under the "queue" namespace with the referral page's routes (workspace/urls_referrals.py): spoc/urls.py.
urlpatterns = [
    path("", views.queue_page, name="mine"),
    path("caseload/", views.caseload_page, name="caseload"),
    path("teams/<int:team_id>/", views.queue_page, name="team"),
    path("teams/<int:team_id>/print/", views.queue_print, name="print"),
]
