from django.urls import path

from referrals.views import queue as views

app_name = "queue"
urlpatterns = [
    path("", views.queue_page, name="mine"),
    path("teams/<int:team_id>/", views.queue_page, name="team"),
    path("referrals/<int:referral_id>/<str:action>/", views.referral_action, name="action"),
]
