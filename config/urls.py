"""Every URL of the service: pages, then the whole JSON API."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from directory import api as directory_api

api_patterns = [
    path("therapists/", directory_api.TherapistSearchView.as_view(), name="therapist-search"),
    path("therapists/<int:pk>/", directory_api.TherapistDetailView.as_view(), name="therapist-detail"),
    path("insurance/", directory_api.InsurerListView.as_view(), name="insurance-list"),
    path("focus-areas/", directory_api.FocusAreaListView.as_view(), name="focus-area-list"),
    path("concerns/", directory_api.ConcernListView.as_view(), name="concern-list"),
    path("formats/", directory_api.FormatListView.as_view(), name="format-list"),
    path("languages/", directory_api.LanguageListView.as_view(), name="language-list"),
    path("auth/token/", directory_api.AxesAwareObtainAuthToken.as_view(), name="auth-token"),
    path("me/profile/", directory_api.MyProfileView.as_view(), name="my-profile"),
    path("me/profile/submit/", directory_api.MySubmitView.as_view(), name="my-profile-submit"),
    path("me/availability/confirm/", directory_api.MyAvailabilityConfirmView.as_view(), name="my-availability-confirm"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include((api_patterns, "api"))),
    path("", include("directory.urls")),
]
