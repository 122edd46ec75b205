"""What the roster's back office keeps: invitations sent to claim imported profiles, and each admin upload."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from directory.models import Therapist


class Invitation(models.Model):
    """One email inviting an imported therapist to claim their profile (the link itself is signed, not stored)."""

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation to {self.email} ({self.sent_at:%Y-%m-%d})"


class ImportRun(models.Model):
    """A roster CSV uploaded by staff: previewed (a dry run), then, once confirmed, imported."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued for preview"
        PREVIEWING = "previewing", "Previewing"
        PREVIEWED = "previewed", "Preview ready"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    RUNNING = (Status.QUEUED, Status.PREVIEWING, Status.IMPORTING)

    file_name = models.CharField(max_length=255)
    # The file as uploaded (checked to be UTF-8 CSV with the template's header); deferred in lists.
    csv_text = models.TextField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    import_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    publish = models.BooleanField(
        default=False, help_text="Changed profiles stay published, vouched for by the staff member who confirms"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    refused_csv = models.TextField(blank=True)
    # Where the file stopped being readable as CSV, if it did: [{"line", "column", "message"}].
    file_problems = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, help_text="Why the run failed, for staff")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "roster import"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def is_applied(self) -> bool:
        """The counts are of the real import, not of the preview."""
        return self.status == self.Status.DONE or (self.status == self.Status.FAILED and self.confirmed_by_id)


class ImportRow(models.Model):
    """What the last pass of a run did, or would do, with one row: the preview's and the report's lines."""

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        UNCHANGED = "unchanged", "Unchanged"
        REFUSE = "refuse", "Refuse"

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="outcomes")
    line = models.PositiveIntegerField()
    npi = models.CharField("NPI", max_length=20, blank=True)
    name = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    # [{"line": 3, "column": "npi", "message": "..."}], the engine's Problems.
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "line"]
        indexes = [models.Index(fields=["run", "action", "line"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.action}"
