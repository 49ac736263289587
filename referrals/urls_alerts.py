from django.urls import path

from referrals.views import alerts as views

app_name = "alerts"
urlpatterns = [
    # Short: it is the link in a text message.
    path("<int:referral_id>/", views.alert_acknowledge_page, name="acknowledge"),
    path("notify/receipts/", views.notify_receipt, name="notify-receipt"),
]
