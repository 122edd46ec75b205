"""FHIR Plan-Net under /fhir/ (interop.urls includes this with the namespace "fhir")."""

from django.urls import path, re_path

from interop.plannet import views

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("<str:resource_type>", views.search, name="search"),
    path("<str:resource_type>/<str:resource_id>", views.read, name="read"),
    re_path(r"^(?P<path>.*)$", views.unknown, name="unknown"),
]
