from django.urls import path

from calls import views
from calls.views import follow_ups, telephony

app_name = "calls"
urlpatterns = [
    path("", views.my_calls, name="mine"),
    path("new/", views.call_new, name="new"),
    path("new/patient/", views.call_patient_panel, name="patient-panel"),
    path("new/suggestion/", views.call_suggestion, name="suggestion"),
    path("<int:call_id>/", views.call_detail, name="detail"),
    path("call-backs/", views.call_backs_due, name="call-backs"),
    path("call-backs/<int:call_back_id>/done/", views.call_back_done, name="call-back-done"),
    path(
        "call-backs/<int:call_back_id>/attempt/",
        views.call_back_attempt,
        name="call-back-attempt",
    ),
    path("follow-ups/", follow_ups.follow_ups_list, name="follow-ups"),
    path(
        "follow-ups/<int:follow_up_id>/",
        follow_ups.follow_up_record,
        name="follow-up-record",
    ),
    path("screen-pop/", telephony.screen_pop, name="screen-pop"),
    path("missed/", telephony.missed_calls_list, name="missed"),
    path("reviews/", views.senior_reviews, name="reviews"),
    path("reviews/<int:call_id>/", views.senior_review_record, name="review"),
]
