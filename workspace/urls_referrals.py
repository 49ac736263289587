from django.urls import path

from workspace.views import referrals as views

# Under the "queue" namespace with the queue's own routes (referrals/urls_queue.py): spoc/urls.py.
urlpatterns = [
    # The queue's rows post their actions here (the button names the action and the referral).
    path("referrals/act/", views.queue_row_action, name="row-action"),
    path("referrals/<int:referral_id>/", views.referral_detail, name="referral"),
    path(
        "referrals/<int:referral_id>/letters/<int:letter_id>.pdf",
        views.referral_letter,
        name="letter",
    ),
    path(
        "referrals/<int:referral_id>/bereavement-screen/",
        views.referral_bereavement_screen_answer,
        name="bereavement-screen",
    ),
    path("referrals/<int:referral_id>/<str:action>/", views.referral_action, name="action"),
]
