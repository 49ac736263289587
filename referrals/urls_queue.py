from django.urls import path

from referrals.views import queue as views
from referrals.views import referrals as referral_views

app_name = "queue"
urlpatterns = [
    path("", views.queue_page, name="mine"),
    path("caseload/", views.caseload_page, name="caseload"),
    path("teams/<int:team_id>/", views.queue_page, name="team"),
    path("teams/<int:team_id>/print/", views.queue_print, name="print"),
    path("referrals/<int:referral_id>/", referral_views.referral_detail, name="referral"),
    path("referrals/<int:referral_id>/<str:action>/", referral_views.referral_action, name="action"),
]
