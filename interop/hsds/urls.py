"""HSDS 3.1 paths (no trailing slash, as Open Referral's OpenAPI names them), under /api/hsds/."""

from django.urls import path

from interop.hsds import api

urlpatterns = [
    path("", api.root, name="root"),
    path("openapi.json", api.openapi, name="openapi"),
    path("services", api.services, name="services"),
    path("services/<uuid:object_id>", api.service, name="service"),
    path("organizations", api.organizations, name="organizations"),
    path("organizations/<uuid:object_id>", api.organization, name="organization"),
    path("service_at_locations", api.service_at_locations, name="service-at-locations"),
    path("service_at_locations/<uuid:object_id>", api.service_at_location, name="service-at-location"),
    path("taxonomies", api.taxonomies, name="taxonomies"),
    path("taxonomies/<uuid:object_id>", api.taxonomy, name="taxonomy"),
    path("taxonomy_terms", api.taxonomy_terms, name="taxonomy-terms"),
    path("taxonomy_terms/<uuid:object_id>", api.taxonomy_term, name="taxonomy-term"),
]
