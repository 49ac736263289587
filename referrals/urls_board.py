from django.urls import path

from referrals.views import board as views

app_name = "board"
urlpatterns = [
    path("", views.board_page, name="board"),
    path(
        "possible-matches/<int:match_id>/",
        views.possible_match_decision,
        name="possible-match-decision",
    ),
    path(
        "messages/<int:message_id>/send-again/",
        views.outbox_message_resend,
        name="outbox-resend",
    ),
]
