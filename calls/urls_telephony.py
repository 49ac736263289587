"""The phone system's webhooks (docs/telephony.md): outside /api/, as they are signed by a shared
secret, not an API token."""

from django.urls import path

from calls import views_telephony

app_name = "telephony"
urlpatterns = [
    path("events/", views_telephony.telephony_events, name="events"),
    path("twilio/", views_telephony.telephony_twilio, name="twilio"),
]
