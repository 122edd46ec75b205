"""The roster's back office: invitations to claim imported profiles, and roster uploads with their preview."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from directory.admin import TherapistAdmin
from directory.forms import add_service_errors
from roster import invitations, uploads
from roster.forms import UploadForm
from roster.models import ImportRow, ImportRun, Invitation


@admin.action(description="Send an invitation to claim the profile", permissions=["change"])
def send_invitations(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    counts = invitations.send_invitations(therapists=queryset, now=timezone.now(), sent_by=request.user)
    skipped = [
        f"{counts.without_email} without an email address" if counts.without_email else "",
        f"{counts.claimed} already claimed" if counts.claimed else "",
    ]
    skipped_text = " and ".join(part for part in skipped if part)
    text = f"Sent {counts.sent} invitation(s)." + (f" Skipped {skipped_text}." if skipped_text else "")
    model_admin.message_user(request, text, messages.SUCCESS if counts.sent else messages.WARNING)


class AccountFilter(admin.SimpleListFilter):
    """Who has claimed their profile, and who could be invited: imported profiles have no account."""

    title = "account"
    parameter_name = "account"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("none", "No account (not claimed)"), ("yes", "Has an account")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("none", "yes"):
            return queryset.filter(user__isnull=self.value() == "none")
        return queryset


# directory knows nothing of the roster (the import contract): the roster adds its action and filter to the list.
TherapistAdmin.actions = [*TherapistAdmin.actions, send_invitations]
TherapistAdmin.list_filter = [*TherapistAdmin.list_filter, AccountFilter]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["therapist", "email", "sent_at", "expires_at", "sent_by"]
    list_filter = ["sent_at"]
    search_fields = ["email", "therapist__last_name", "therapist__npi"]
    list_select_related = ["therapist", "sent_by"]
    raw_id_fields = ["therapist"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return ImportRow.Action.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Upload (the add page), then the run's own page: progress, the preview, confirmation, the results."""

    list_display = ["file_name", "created_at", "uploaded_by", "status", "rows_total", "created", "updated",
                    "unchanged", "refused", "publish"]  # fmt: skip
    list_filter = ["status", "publish", "created_at"]
    search_fields = ["file_name", "uploaded_by__username"]
    list_select_related = ["uploaded_by"]
    PAGE_ROWS = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("csv_text", "refused_csv")

    def get_deleted_objects(self, objs: QuerySet | list, request: HttpRequest) -> tuple:
        """The delete page names the runs and counts their rows: Django's own would list every row (100,000)."""
        runs = list(objs)
        rows = ImportRow.objects.filter(run__in=runs).count()
        counts = {self.model._meta.verbose_name_plural: len(runs), ImportRow._meta.verbose_name_plural: rows}
        denied = set() if self.has_delete_permission(request) else {self.model._meta.verbose_name}
        return [str(run) for run in runs], counts, denied, []

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        own = [
            path("<int:run_id>/confirm/", view(self.confirm_view), name="roster_importrun_confirm"),
            path("<int:run_id>/refused.csv", view(self.refused_view), name="roster_importrun_refused"),
        ]
        return own + super().get_urls()

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = uploads.start_run(uploaded_by=request.user, file_name=upload.name, content=upload.read(),
                                        publish=form.cleaned_data["publish"])  # fmt: skip
            except ValidationError as error:
                add_service_errors(error, form, {})
            else:
                self.message_user(request, "Uploaded. The preview is being prepared: nothing has changed yet.")
                return redirect("admin:roster_importrun_change", run.pk)
        context = {**self.admin_site.each_context(request), "title": "Upload a roster", "opts": self.model._meta,
                   "form": form, "max_mb": settings.ROSTER_UPLOAD_MAX_MB}  # fmt: skip
        return TemplateResponse(request, "roster/admin/upload.html", context, status=400 if form.errors else 200)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:  # fmt: skip
        run = self.get_object(request, object_id)
        if run is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_view_or_change_permission(request, run):
            raise PermissionDenied
        action = request.GET.get("action", "")
        outcomes = run.outcomes.order_by("line")
        if action in ImportRow.Action.values:
            outcomes = outcomes.filter(action=action)
        page = Paginator(outcomes, self.PAGE_ROWS).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request), "title": str(run), "opts": self.model._meta, "run": run,
            "page": page, "action": action, "actions": ImportRow.Action.choices,
            "can_confirm": run.status == ImportRun.Status.PREVIEWED and self.has_change_permission(request, run),
        }  # fmt: skip
        return TemplateResponse(request, "roster/admin/run.html", context)

    def confirm_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        run = get_object_or_404(ImportRun.objects.defer("csv_text", "refused_csv"), pk=run_id)
        if request.method != "POST" or not self.has_change_permission(request, run):
            raise PermissionDenied
        if uploads.confirm_run(run=run, confirmed_by=request.user):
            self.message_user(request, "Import queued. This page shows its progress.", messages.SUCCESS)
        else:
            self.message_user(request, "This run is not waiting for confirmation.", messages.WARNING)
        return redirect("admin:roster_importrun_change", run.pk)

    def refused_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        run = get_object_or_404(ImportRun.objects.only("file_name", "refused_csv", "status"), pk=run_id)
        if not self.has_view_or_change_permission(request, run):
            raise PermissionDenied
        response = HttpResponse(run.refused_csv, content_type="text/csv; charset=utf-8")
        stem = run.file_name.rsplit(".", 1)[0] or "roster"
        response["Content-Disposition"] = f'attachment; filename="{stem}-refused-rows.csv"'
        return response


@admin.register(ImportRow)
class ImportRowAdmin(admin.ModelAdmin):
    """Every row of every run, searchable by NPI or name across runs (the run's page shows one run's)."""

    list_display = ["run", "line", "npi", "name", "action"]
    list_filter = [ActionFilter, "run"]
    search_fields = ["npi", "name"]
    list_select_related = ["run"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
