"""The NPPES checks in the back office: each run, its findings filtered by kind, the providers kept."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from registry.models import NppesCheck, NppesFinding, RegistryProvider


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the check only: staff read, and may delete old runs."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(NppesCheck)
class NppesCheckAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at", "file_name", "rows_read", "therapists_checked", "findings_link", "suspended_count",
        "providers_kept", "report_only",
    ]  # fmt: skip
    list_filter = ["report_only", "started_at"]
    search_fields = ["file_name"]

    @admin.display(description="findings")
    def findings_link(self, check: NppesCheck) -> str:
        url = reverse("admin:registry_nppesfinding_changelist") + f"?check_run__id__exact={check.pk}"
        return format_html('<a href="{}">{}</a>', url, check.findings_count)


@admin.register(NppesFinding)
class NppesFindingAdmin(ReadOnlyAdmin):
    list_display = [
        "npi",
        "therapist_link",
        "kind",
        "state",
        "listed_value",
        "registry_value",
        "suspended",
        "check_run",
    ]
    list_filter = ["kind", "suspended", "check_run"]
    search_fields = ["npi", "therapist__last_name", "therapist__first_name"]
    list_select_related = ["therapist", "check_run"]

    @admin.display(description="therapist", ordering="therapist__last_name")
    def therapist_link(self, finding: NppesFinding) -> str:
        url = reverse("admin:directory_therapist_change", args=[finding.therapist_id])
        return format_html('<a href="{}">{}</a>', url, finding.therapist.full_name)


@admin.register(RegistryProvider)
class RegistryProviderAdmin(ReadOnlyAdmin):
    list_display = ["npi", "last_name", "first_name", "credential", "city", "state", "postal_code", "updated_at"]
    list_filter = ["state"]
    search_fields = ["npi", "last_name"]
