from django.urls import path

from experience import views

app_name = "feedback"
urlpatterns = [
    # Short: it is the link in a text message. The token is URL-safe base64.
    path("thanks/", views.feedback_thanks, name="thanks"),
    path("<str:token>/", views.feedback_form, name="form"),
]
