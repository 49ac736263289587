from django.urls import path

from workspace.views import access_log as views

app_name = "audit"
urlpatterns = [path("access-log/", views.access_log, name="access-log")]
