"""Every URL of the service: pages, then the whole JSON API."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from consultations import api as consultations_api
from directory import api as directory_api
from directory import views as directory_views
from directory.forms import PasswordChangeForm, SetPasswordForm, SignInForm
from matching import api as matching_api

api_patterns = [
    path("therapists/", directory_api.TherapistSearchView.as_view(), name="therapist-search"),
    path("therapists/<int:pk>/", directory_api.TherapistDetailView.as_view(), name="therapist-detail"),
    path("insurance/", directory_api.InsurerListView.as_view(), name="insurance-list"),
    path("focus-areas/", directory_api.FocusAreaListView.as_view(), name="focus-area-list"),
    path("concerns/", directory_api.ConcernListView.as_view(), name="concern-list"),
    path("formats/", directory_api.FormatListView.as_view(), name="format-list"),
    path("languages/", directory_api.LanguageListView.as_view(), name="language-list"),
    path("accuracy/", consultations_api.AccuracyView.as_view(), name="accuracy"),
    path("match/", matching_api.MatchView.as_view(), name="match"),
    path("referrals/", matching_api.ReferralListView.as_view(), name="referral-list"),
    path("referrals/<uuid:referral_id>/", matching_api.ReferralDetailView.as_view(), name="referral-detail"),
    path("referrals/<uuid:referral_id>/offers/", matching_api.ReferralOfferView.as_view(), name="referral-offer"),
    path(
        "referrals/<uuid:referral_id>/withdraw/", matching_api.ReferralWithdrawView.as_view(), name="referral-withdraw"
    ),
    path("referrals/<uuid:referral_id>/close/", matching_api.ReferralCloseView.as_view(), name="referral-close"),
    path("me/offers/", matching_api.MyOfferListView.as_view(), name="my-offers"),
    path("me/offers/<int:offer_id>/accept/", matching_api.AcceptOfferView.as_view(), name="offer-accept"),
    path("me/offers/<int:offer_id>/decline/", matching_api.DeclineOfferView.as_view(), name="offer-decline"),
    path("me/offers/<int:offer_id>/schedule/", matching_api.ScheduleOfferView.as_view(), name="offer-schedule"),
    path("consultations/", consultations_api.AskView.as_view(), name="consultation-ask"),
    path("me/consultations/", consultations_api.MyConsultationListView.as_view(), name="my-consultations"),
    path(
        "me/consultations/<int:consultation_id>/accept/",
        consultations_api.AcceptConsultationView.as_view(),
        name="consultation-accept",
    ),
    path(
        "me/consultations/<int:consultation_id>/decline/",
        consultations_api.DeclineConsultationView.as_view(),
        name="consultation-decline",
    ),
    path("auth/token/", directory_api.TokenView.as_view(), name="auth-token"),
    path("me/profile/", directory_api.MyProfileView.as_view(), name="my-profile"),
    path("me/profile/photo/", directory_api.MyPhotoView.as_view(), name="my-profile-photo"),
    path("me/profile/submit/", directory_api.MySubmitView.as_view(), name="my-profile-submit"),
    path("me/availability/confirm/", directory_api.MyAvailabilityConfirmView.as_view(), name="my-availability-confirm"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

# The back office carries the product's name, not Django's.
admin.site.site_header = "IPT Directory administration"
admin.site.site_title = "IPT Directory admin"
admin.site.index_title = "Back office"
# The app list sits on the index; without the sidebar the queues and forms have the width of a 1280 px screen.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's own account views, with forms that do not autofocus (directory.forms.WithoutAutofocus)
    # and say their rules in plain words (directory.forms.PlainHelpTexts).
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(form_class=PasswordChangeForm),
        name="password_change",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=SetPasswordForm),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include((api_patterns, "api"))),
    path("roster/", include("roster.urls")),
    path("", include("interop.urls")),
    path("", include("registry.urls")),
    path("", include("accounts.urls")),
    path("", include("matching.urls")),
    path("", include("consultations.urls")),
    path("", include("directory.urls")),
]

if settings.MEDIA_STORAGE == "filesystem":
    # Uploaded photos from MEDIA_ROOT while SERVE_MEDIA is on (development); in production the proxy serves them.
    urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", directory_views.media, name="media"))

# /api/referrals/not-a-uuid/ matches no URL pattern; API clients still get JSON.
handler400 = "directory.views.bad_request"
handler404 = "directory.views.page_not_found"
handler500 = "directory.views.server_error"
