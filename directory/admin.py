"""The back office: staff find, correct, publish and suspend listings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from directory.models import (
    Concern,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    Office,
    Therapist,
    TherapistInsurer,
)
from directory.services import refresh_listing


class OfficeInline(admin.StackedInline):
    model = Office
    extra = 0
    fields = [
        "label",
        "address",
        "city",
        "state",
        "postal_code",
        "wheelchair_accessible",
        "latitude",
        "longitude",
    ]
    readonly_fields = ["latitude", "longitude"]


class LicensedStateInline(admin.TabularInline):
    model = LicensedState
    extra = 0
    fields = ["state", "basis", "license_number"]


class TherapistInsurerInline(admin.TabularInline):
    model = TherapistInsurer
    extra = 0
    fields = ["insurer", "accepting_new_clients"]
    autocomplete_fields = ["insurer"]


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin):
    list_display = [
        "full_name", "credentials", "npi", "status", "training_level",
        "accepts_new_clients", "capacity", "availability_confirmed_at", "is_demo", "updated_at",
    ]  # fmt: skip
    list_filter = [
        "status", "training_level", "accepts_new_clients", "offers_online", "offers_group",
        "offers_family", "is_demo", "licensed_states__state", "focus_areas",
    ]  # fmt: skip
    search_fields = [
        "first_name",
        "last_name",
        "npi",
        "email",
        "credentials",
        "offices__postal_code",
        "offices__city",
    ]
    readonly_fields = ["created_at", "updated_at"]
    filter_horizontal = ["focus_areas", "concerns", "languages"]
    inlines = [OfficeInline, LicensedStateInline, TherapistInsurerInline]
    actions = ["publish", "suspend"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["user", "status", "is_demo", "slug"]}),
        ("Identity", {"fields": [
            "first_name", "last_name", "credentials", "pronouns", "npi", "training_level", "photo",
        ]}),
        ("Contact", {"fields": ["email", "phone", "website"]}),
        ("Profile", {"fields": ["bio", "approach"]}),
        ("Formats", {"fields": [
            "offers_individual", "offers_family", "offers_group", "offers_online", "session_cadence",
        ]}),
        ("Ages served", {"fields": ["serves_children", "serves_adolescents", "serves_adults", "serves_older_adults"]}),
        ("Focus, concerns, languages", {"fields": ["focus_areas", "concerns", "languages"]}),
        ("Fees", {"fields": ["fee_min", "fee_max", "sliding_scale"]}),
        ("Availability", {"fields": ["accepts_new_clients", "capacity", "availability_confirmed_at"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"]}),
    ]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).distinct()

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: list, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        refresh_listing([form.instance.pk])

    @admin.action(description="Publish selected profiles")
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        updated = queryset.update(status=Therapist.Status.PUBLISHED)
        self.message_user(request, f"Published {updated} profile(s).", messages.SUCCESS)

    @admin.action(description="Suspend selected profiles")
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        updated = queryset.update(status=Therapist.Status.SUSPENDED)
        self.message_user(request, f"Suspended {updated} profile(s).", messages.WARNING)


class TherapistPartAdmin(admin.ModelAdmin):
    """An admin for rows that belong to one therapist: its listing card follows every change."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        refresh_listing([obj.therapist_id])

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        super().delete_model(request, obj)
        refresh_listing([obj.therapist_id])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        therapist_ids = list(queryset.values_list("therapist_id", flat=True))
        super().delete_queryset(request, queryset)
        refresh_listing(therapist_ids)


class ReferenceAdmin(admin.ModelAdmin):
    """A reference row's name shows on listing cards: renaming one refreshes its therapists' cards."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            refresh_listing(obj.therapist_set.values_list("pk", flat=True))


@admin.register(Office)
class OfficeAdmin(TherapistPartAdmin):
    list_display = ["therapist", "city", "state", "postal_code", "latitude", "longitude"]
    list_filter = ["state"]
    search_fields = ["therapist__last_name", "city", "postal_code", "address"]
    list_select_related = ["therapist"]
    readonly_fields = ["latitude", "longitude"]
    autocomplete_fields = ["therapist"]


@admin.register(LicensedState)
class LicensedStateAdmin(TherapistPartAdmin):
    list_display = ["therapist", "state", "basis", "license_number"]
    list_filter = ["basis", "state"]
    search_fields = ["therapist__last_name", "license_number"]
    list_select_related = ["therapist"]
    autocomplete_fields = ["therapist"]


@admin.register(Insurer)
class InsurerAdmin(ReferenceAdmin):
    list_display = ["name", "slug", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(FocusArea)
class FocusAreaAdmin(ReferenceAdmin):
    list_display = ["name", "slug"]
    list_filter = []
    search_fields = ["name", "slug"]


@admin.register(Concern)
class ConcernAdmin(ReferenceAdmin):
    list_display = ["name", "slug"]
    list_filter = []
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Language)
class LanguageAdmin(ReferenceAdmin):
    list_display = ["name", "code"]
    list_filter = []
    search_fields = ["name", "code"]
