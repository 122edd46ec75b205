"""The registry's pages (config.urls includes this at the root)."""

from django.urls import path

from registry import views

app_name = "registry"
urlpatterns = [
    path("me/profile/from-npi-registry/", views.prefill, name="prefill"),
]
