"""The back office: staff find, correct, publish and suspend listings."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, Q, QuerySet, URLField
from django.forms import ModelForm
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from directory import photos, profiles
from directory.models import (
    Concern,
    Credential,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    ListingReport,
    Office,
    PendingPhoto,
    PendingProfile,
    Therapist,
    TherapistInsurer,
    npi_is_valid,
)
from directory.photos import REJECTION_REASON_LENGTH

# The public NPI registry (NPPES) page of one provider.
NPI_REGISTRY_URL = "https://npiregistry.cms.hhs.gov/provider-view/{npi}"


class ModerationActionForm(ActionForm):
    """The changelist's action bar gains a message, for "request changes" and "suspend"."""

    message = forms.CharField(
        required=False, label="Message to the therapist", widget=forms.TextInput(attrs={"size": 60})
    )


class CredentialInline(admin.TabularInline):
    model = Credential
    extra = 0
    fields = ["issuer", "level", "awarded_on", "expires_on", "certificate_number", "verified_at", "verified_by"]
    readonly_fields = ["verified_at", "verified_by"]


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


class SilencedFilter(admin.SimpleListFilter):
    """Therapists hidden from accepting searches for letting consultation requests expire, with how many."""

    title = "silenced for unanswered requests"
    parameter_name = "silenced"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", f"Silenced now ({Therapist.objects.silenced().count()})"), ("no", "Not silenced")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(silenced_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(silenced_at__isnull=True)
        return queryset


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin):
    # A website typed without a scheme is https, as on the therapist's own form (and Django 6's default).
    formfield_overrides = {URLField: {"assume_scheme": "https"}}
    # Fits 1280 px beside the filters: the demo flag and timestamps are filters and change-page fields.
    list_display = [
        "full_name", "credentials", "npi", "status", "training_level",
        "accepts_new_clients", "capacity", "confirmed_on", "silenced_since",
    ]  # fmt: skip
    list_filter = [
        "status", "training_level", "accepts_new_clients", SilencedFilter, "offers_online", "offers_group",
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
    # Set and lifted by the silence rule and the therapist's confirmation only (consultations.silence).
    SILENCE_FIELDS = ["silenced_at", "silence_lifted_at", "silence_reminder_sent_at"]
    # How the therapist answers requests: measured from consultations and offers, never typed in.
    REPLY_FIELDS = [
        "reply_summary", "reply_requests", "reply_answered", "reply_answered_in_time", "reply_median_hours",
        "reply_never_heard_back",
    ]  # fmt: skip
    readonly_fields = [
        "created_at", "updated_at", "photo_preview", "npi_lookup", "licences_to_check", *SILENCE_FIELDS, *REPLY_FIELDS,
    ]  # fmt: skip
    filter_horizontal = ["focus_areas", "concerns", "languages"]
    inlines = [OfficeInline, LicensedStateInline, TherapistInsurerInline, CredentialInline]
    actions = ["publish", "request_changes", "suspend"]
    action_form = ModerationActionForm
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["user", "status", "is_demo", "slug"]}),
        ("Identity", {"fields": [
            "first_name", "last_name", "credentials", "pronouns", "npi", "npi_lookup", "licences_to_check",
            "training_level", "photo_preview",
        ]}),
        ("Contact", {"fields": ["email", "phone", "website"]}),
        ("Profile", {"fields": ["bio", "approach"]}),
        ("Formats", {"fields": [
            "offers_individual", "offers_family", "offers_group", "offers_online", "session_cadence",
        ]}),
        ("Ages served", {"fields": ["serves_children", "serves_adolescents", "serves_adults", "serves_older_adults"]}),
        ("Focus, concerns, languages", {"fields": ["focus_areas", "concerns", "languages"]}),
        ("Fees", {"fields": ["fee_min", "fee_max", "sliding_scale"]}),
        ("Availability", {"fields": [
            "accepts_new_clients", "capacity", "availability_confirmed_at",
            "availability_reminder_sent_at", "reconfirmation_requested_at",
            "silenced_at", "silence_lifted_at", "silence_reminder_sent_at",
        ]}),
        ("Replies to requests, last 180 days", {"fields": REPLY_FIELDS}),
        ("Moderation", {"fields": ["moderation_note"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"]}),
    ]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).distinct()

    @admin.display(description="Availability confirmed", ordering="availability_confirmed_at", empty_value="never")
    def confirmed_on(self, therapist: Therapist) -> datetime.date | None:
        confirmed = therapist.availability_confirmed_at
        return timezone.localdate(confirmed) if confirmed else None

    @admin.display(description="Silenced since", ordering="silenced_at", empty_value="")
    def silenced_since(self, therapist: Therapist) -> datetime.date | None:
        return timezone.localdate(therapist.silenced_at) if therapist.silenced_at else None

    @admin.display(description="Check the NPI")
    def npi_lookup(self, therapist: Therapist) -> str:
        if not therapist.npi:
            return "—"
        return format_html("{} (the public NPI registry, in a new tab)", npi_registry_link(therapist.npi))

    @admin.display(description="Licences to check")
    def licences_to_check(self, therapist: Therapist) -> str:
        if not therapist.pk:
            return "—"
        rows = [
            (licence.get_state_display(), licence.get_basis_display(), licence.license_number or "NO NUMBER")
            for licence in therapist.licensed_states.all()
        ]
        return format_html_join(mark_safe("<br>"), "{} ({}): {}", rows) or "NONE"

    @admin.display(description="Photo")
    def photo_preview(self, therapist: Therapist) -> str:
        """Photos come only through the therapist's upload (re-encoded, reviewed in "Pending photos")."""
        approved = thumbnail_tag(therapist.photo_thumbnail_url, "approved photo") if therapist.photo else "none"
        waiting = " A new photo waits in the photo queue." if therapist.photo_pending else ""
        return format_html("{}{}", approved, waiting)

    def save_model(self, request: HttpRequest, obj: Therapist, form: ModelForm, change: bool) -> None:
        if change and "status" in form.changed_data and obj.status == Therapist.Status.SUSPENDED:
            # Choosing "Suspended" in the form is the suspend action: the offers and the therapist follow.
            profiles.suspend_profile(therapist=obj, message=obj.moderation_note)
        if change and "status" in form.changed_data and obj.status == Therapist.Status.PUBLISHED:
            # Choosing "Published" is the publish action, confirmed by saving: unverified IPT credentials
            # are marked verified by this staff member, and the therapist is told.
            unverified = obj.ipt_credentials.unverified().count()
            profiles.publish_profile(therapist=obj, verified_by=request.user)
            if unverified:
                self.message_user(request, f"{unverified} IPT credential(s) marked verified by you.", messages.INFO)
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: list, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        profiles.record_staff_edit(therapist_ids=[form.instance.pk])

    @admin.action(description="Publish selected profiles")
    def publish(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """Publish; when an IPT credential is unverified, first ask to publish and mark it verified, or cancel."""
        therapists = list(queryset.select_related("user"))
        unverified = (
            Credential.objects.unverified()
            .filter(therapist__in=therapists)
            .exclude(therapist__status=Therapist.Status.PUBLISHED)
            .select_related("therapist")
            .order_by("therapist__last_name", "therapist__first_name", "-awarded_on")
        )
        if unverified and request.POST.get("verify_credentials") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Publish profiles with unverified IPT credentials?",
                "opts": self.model._meta,
                "credentials": unverified,
                "selected": [therapist.pk for therapist in therapists],
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "cancel_url": request.get_full_path(),
            }
            return TemplateResponse(request, "admin/directory/publish_confirmation.html", context)
        verifier = request.user if unverified else None
        published = sum(profiles.publish_profile(therapist=therapist, verified_by=verifier) for therapist in therapists)
        message = counted("Published", published, len(therapists), "profile(s)", "already published")
        verified = f" {len(unverified)} IPT credential(s) marked verified by you." if unverified else ""
        self.message_user(
            request, f"{message}{verified} Each therapist with an email address was told.", messages.SUCCESS
        )
        return None

    @admin.action(description="Request changes (send the message above to the therapist)")
    def request_changes(self, request: HttpRequest, queryset: QuerySet) -> None:
        message = request.POST.get("message", "")
        therapists = list(queryset.select_related("user"))
        try:
            for therapist in therapists:
                profiles.request_changes(therapist=therapist, message=message)
        except ValidationError:
            self.message_user(
                request, "Write the message to the therapist first, then choose the action.", messages.ERROR
            )
            return
        self.message_user(request, f"Sent {len(therapists)} profile(s) back with your message.", messages.SUCCESS)

    @admin.action(description="Suspend selected profiles")
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        therapists = list(queryset.select_related("user"))
        message = request.POST.get("message", "")
        suspended = sum(profiles.suspend_profile(therapist=therapist, message=message) for therapist in therapists)
        self.message_user(
            request,
            counted("Suspended", suspended, len(therapists), "profile(s)", "already suspended"),
            messages.WARNING,
        )


@admin.register(PendingProfile)
class PendingProfileAdmin(TherapistAdmin):
    """The review queue: what to check before publishing, one row per profile."""

    list_display = [
        "full_name", "credentials", "npi_link", "npi_passes_check", "licences", "credentials_to_verify",
        "offices_located", "updated_at",
    ]  # fmt: skip
    list_filter = ["training_level", "offers_online", "licensed_states__state"]
    ordering = ["updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .awaiting_review()
            .annotate(
                unverified_count=Count(
                    "ipt_credentials", filter=Q(ipt_credentials__verified_at__isnull=True), distinct=True
                ),
                office_count=Count("offices", distinct=True),
                located_count=Count("offices", filter=Q(offices__latitude__isnull=False), distinct=True),
            )
            .prefetch_related("licensed_states")
        )

    @admin.display(description="NPI (registry)", ordering="npi")
    def npi_link(self, therapist: Therapist) -> str:
        return npi_registry_link(therapist.npi)

    @admin.display(boolean=True, description="NPI check digit")
    def npi_passes_check(self, therapist: Therapist) -> bool:
        return npi_is_valid(therapist.npi)

    @admin.display(description="Licences (state: number)")
    def licences(self, therapist: Therapist) -> str:
        rows = [
            f"{licence.state}: {licence.license_number or 'NO NUMBER'}" for licence in therapist.licensed_states.all()
        ]
        return ", ".join(rows) or "NONE"

    @admin.display(description="Credentials to verify")
    def credentials_to_verify(self, therapist: Therapist) -> int:
        return therapist.unverified_count

    @admin.display(description="Offices located")
    def offices_located(self, therapist: Therapist) -> str:
        return f"{therapist.located_count} of {therapist.office_count}"


def listing_links(therapist: Therapist) -> str:
    """The therapist's name, with links to the public listing (a new tab) and to their admin page."""
    change_url = reverse("admin:directory_therapist_change", args=[therapist.pk])
    if therapist.status != Therapist.Status.PUBLISHED:
        public = format_html("not listed ({})", therapist.get_status_display().lower())
    else:
        public = format_html(
            '<a href="{}" target="_blank" rel="noopener">public listing</a>', therapist.get_absolute_url()
        )
    return format_html('{}<br><a href="{}">edit profile</a> · {}', therapist.full_name, change_url, public)


def npi_registry_link(npi: str) -> str:
    """The NPI, linked to its public NPPES registry page (a new tab) for staff to check name and licences."""
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', NPI_REGISTRY_URL.format(npi=npi), npi)


def counted(verb: str, changed: int, selected: int, noun: str, skipped_because: str) -> str:
    """An action's message: what it changed out of what was selected, and why the rest was left alone."""
    message = f"{verb} {changed} of {selected} selected {noun}"
    if changed < selected:
        message += f"; {selected - changed} skipped: {skipped_because}"
    return f"{message}."


def thumbnail_tag(url: str | None, description: str) -> str:
    if not url:
        return "—"
    return format_html('<img src="{}" alt="{}" width="120" height="120" loading="lazy">', url, description)


NO_PHOTO_WAITING = "no photo was waiting any more (reviewed or removed meanwhile)"


class PhotoReviewForm(ActionForm):
    """The photo queue's action bar gains the reason the therapist reads when a photo is rejected."""

    message = forms.CharField(
        required=False,
        label="Reason for rejecting (shown to the therapist)",
        # The browser stops typing at the limit; directory.photos refuses a longer reason with its message.
        widget=forms.TextInput(attrs={"size": 60, "maxlength": REJECTION_REASON_LENGTH}),
    )


@admin.register(PendingPhoto)
class PendingPhotoAdmin(admin.ModelAdmin):
    """The photo queue: each new photo beside the one shown now, oldest first; approve or reject in bulk."""

    list_display = ["full_name", "new_photo", "current_photo", "photo_submitted_at", "status", "profile_link"]
    list_display_links = None
    search_fields = ["first_name", "last_name", "npi"]
    ordering = ["photo_submitted_at", "id"]
    actions = ["approve", "reject"]
    action_form = PhotoReviewForm
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).photo_awaiting_review()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="New photo (waiting)")
    def new_photo(self, therapist: Therapist) -> str:
        return thumbnail_tag(therapist.photo_pending_thumbnail.url, f"new photo of {therapist.full_name}")

    @admin.display(description="Shown now")
    def current_photo(self, therapist: Therapist) -> str:
        return thumbnail_tag(therapist.photo_thumbnail_url, f"current photo of {therapist.full_name}")

    @admin.display(description="Profile")
    def profile_link(self, therapist: Therapist) -> str:
        change_url = reverse("admin:directory_therapist_change", args=[therapist.pk])
        full_size = therapist.photo_pending.url
        return format_html('<a href="{}">edit</a> · <a href="{}">full size</a>', change_url, full_size)

    @admin.action(description="Approve selected photos (they replace the photos shown)", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        therapists = list(queryset)
        approved = sum(photos.approve_photo(therapist=therapist) for therapist in therapists)
        message = counted("Approved", approved, len(therapists), "photo(s)", NO_PHOTO_WAITING)
        self.message_user(request, f"{message} Each therapist with an email address was told.", messages.SUCCESS)

    @admin.action(description="Reject selected photos (with the reason above)", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = request.POST.get("message", "")
        therapists = list(queryset)
        try:
            rejected = sum(photos.reject_photo(therapist=therapist, reason=reason) for therapist in therapists)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        message = counted("Rejected", rejected, len(therapists), "photo(s)", NO_PHOTO_WAITING)
        self.message_user(request, f"{message} Each therapist with an email address was told.", messages.WARNING)


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ["therapist", "issuer", "level", "awarded_on", "expires_on", "certificate_number", "verified_at"]
    list_filter = ["issuer", "level", ("verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["therapist__last_name", "therapist__npi", "certificate_number"]
    list_select_related = ["therapist"]
    autocomplete_fields = ["therapist"]
    readonly_fields = ["verified_at", "verified_by"]
    actions = ["verify"]

    @admin.action(description="Mark selected credentials verified")
    def verify(self, request: HttpRequest, queryset: QuerySet) -> None:
        credentials = list(queryset.select_related("therapist"))
        now = timezone.now()
        verified = sum(
            profiles.verify_credential(credential=credential, moderator=request.user, now=now)
            for credential in credentials
        )
        message = counted("Verified", verified, len(credentials), "credential(s)", "already verified (record kept)")
        self.message_user(request, f"{message} Training levels updated.", messages.SUCCESS)


@admin.register(ListingReport)
class ListingReportAdmin(admin.ModelAdmin):
    list_display = ["created_at", "listing", "reason", "details", "staff_note", "resolved_at"]
    list_filter = ["reason", ("resolved_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["therapist__last_name", "therapist__npi", "details", "staff_note"]
    list_select_related = ["therapist"]
    fields = ["listing", "reason", "details", "client_ip", "created_at", "resolved_at", "staff_note"]
    # Resolving is the action (it counts); the note is what staff type here.
    readonly_fields = ["listing", "reason", "details", "client_ip", "created_at", "resolved_at"]
    actions = ["resolve"]

    @admin.display(description="Listing", ordering="therapist__last_name")
    def listing(self, report: ListingReport) -> str:
        return listing_links(report.therapist)

    @admin.action(description="Mark selected reports resolved")
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> None:
        reports = list(queryset)
        resolved = profiles.resolve_reports(reports=reports, now=timezone.now())
        self.message_user(
            request, counted("Resolved", resolved, len(reports), "report(s)", "already resolved"), messages.SUCCESS
        )


class TherapistPartAdmin(admin.ModelAdmin):
    """An admin for rows that belong to one therapist: its listing card follows every change."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        profiles.record_staff_edit(therapist_ids=[obj.therapist_id])

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        super().delete_model(request, obj)
        profiles.record_staff_edit(therapist_ids=[obj.therapist_id])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        therapist_ids = list(queryset.values_list("therapist_id", flat=True))
        super().delete_queryset(request, queryset)
        profiles.record_staff_edit(therapist_ids=therapist_ids)


class ReferenceAdmin(admin.ModelAdmin):
    """A reference row's name shows on listing cards: renaming one refreshes its therapists' cards."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            profiles.record_staff_edit(therapist_ids=obj.therapist_set.values_list("pk", flat=True))


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
