"""The phone system's webhooks (docs/telephony.md): outside /api/, as they are signed by a shared
secret, not an API token."""

from django.urls import path

from calls.views import telephony

app_name = "telephony"
urlpatterns = [
    path("events/", telephony.telephony_events, name="events"),
    path("twilio/", telephony.telephony_twilio, name="twilio"),
]
