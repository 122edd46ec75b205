"""HSDS under /api/hsds/ and FHIR Plan-Net under /fhir/ (config.urls includes this at the root)."""

from django.urls import include, path

urlpatterns = [
    path("api/hsds/", include(("interop.hsds.urls", "hsds"))),
    path("fhir/", include(("interop.plannet.urls", "fhir"))),
]
