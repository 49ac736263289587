from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from calls import api as calls_api
from referrals import urls_queue as queue_urls
from referrals.api import referrals as referrals_api
from referrals.api.actions import ReferralActionApi
from rota import api as rota_api
from services import api as services_api
from services.oruk_views import oruk_services
from spoc.accounts import views as account_views
from spoc.core import views as core_views
from spoc.core.replica import replica_reads
from spoc.dashboards import api as dashboards_api
from spoc.home import views as home_views
from workspace import urls_referrals as referral_page_urls
from workspace.api import patients as patients_api

admin.site.site_header = "SPOC hub administration"

# Views and one include: without the annotation their common type is object.
api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", account_views.TokenObtainApi.as_view(), name="api-token"),
    path("auth/token/revoke/", account_views.TokenRevokeApi.as_view(), name="api-token-revoke"),
    path("me/", account_views.MeApi.as_view(), name="api-me"),
    path("services/", services_api.ServiceListApi.as_view(), name="api-services"),
    path("services/<int:service_id>/", services_api.ServiceDetailApi.as_view(), name="api-service"),
    path(
        "services/<int:service_id>/capacity/",
        services_api.ServiceCapacityApi.as_view(),
        name="api-service-capacity",
    ),
    path("teams/", services_api.TeamListApi.as_view(), name="api-teams"),
    path("teams/<int:team_id>/rota/", rota_api.TeamRotaApi.as_view(), name="api-team-rota"),
    path("teams/<int:team_id>/on-duty/", rota_api.TeamOnDutyApi.as_view(), name="api-team-on-duty"),
    path("patients/", patients_api.PatientListApi.as_view(), name="api-patients"),
    path("patients/<int:patient_id>/", patients_api.PatientDetailApi.as_view(), name="api-patient"),
    path("patients/<int:patient_id>/death/", include("workspace.api.deaths")),
    path("calls/", calls_api.CallCreateApi.as_view(), name="api-calls"),
    path("calls/follow-ups/", calls_api.FollowUpListApi.as_view(), name="api-call-follow-ups"),
    path(
        "calls/follow-ups/<int:follow_up_id>/",
        calls_api.FollowUpRecordApi.as_view(),
        name="api-call-follow-up",
    ),
    path("referrals/", referrals_api.ReferralListApi.as_view(), name="api-referrals"),
    path(
        "referrals/<int:referral_id>/",
        referrals_api.ReferralDetailApi.as_view(),
        name="api-referral",
    ),
    path(
        "referrals/<int:referral_id>/<str:action>/",
        ReferralActionApi.as_view(),
        name="api-referral-action",
    ),
    path("dashboard/", replica_reads(dashboards_api.DashboardApi.as_view()), name="api-dashboard"),
]

urlpatterns = [
    path("", home_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("healthz/live", core_views.healthz_live, name="healthz-live"),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", account_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        account_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("accounts/mfa/enrol/", account_views.mfa_enrol, name="mfa-enrol"),
    path("accounts/mfa/verify/", account_views.mfa_verify, name="mfa-verify"),
    # Not under /accounts/mfa/, which MFARequiredMiddleware leaves open: the admin must be verified.
    path("accounts/users/<int:user_id>/mfa-reset/", account_views.mfa_reset, name="mfa-reset"),
    path("accounts/keepalive/", account_views.keepalive, name="keepalive"),
    path("audit/", include("workspace.urls_audit")),
    path("directory/", include("services.urls")),
    path("patients/", include("workspace.urls")),
    path("calls/", include("calls.urls")),
    # The phone system's signed webhooks (docs/telephony.md).
    path("telephony/", include("calls.urls_telephony")),
    path("queue/", include(([*queue_urls.urlpatterns, *referral_page_urls.urlpatterns], "queue"))),
    path("board/", include("referrals.urls_board")),
    path("rota/", include("rota.urls")),
    # Urgent alerts: the page their text messages link to, Notify's delivery receipts.
    path("alerts/", include("referrals.urls_alerts")),
    # Public: the link in a feedback text (docs/security.md, "The feedback form").
    path("feedback/", include("experience.urls")),
    path("dashboards/", include("spoc.dashboards.urls")),
    path("api/oruk/services", oruk_services, name="oruk-services"),
    path("oauth2/token", account_views.PartnerTokenApi.as_view(), name="oauth2-token"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # The FHIR R4 read API (docs/interop.md).
    path("fhir/", include("interop.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "spoc.core.views.bad_request"
handler403 = "spoc.core.views.permission_denied"
handler404 = "spoc.core.views.page_not_found"
handler500 = "spoc.core.views.server_error"
