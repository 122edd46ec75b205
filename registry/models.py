"""Each NPPES check run with its findings, and the registry's behavioural-health providers kept for pre-fill."""

from __future__ import annotations

from django.db import models

from directory.models import Therapist
from registry import rules


class NppesCheck(models.Model):
    """One run of `manage.py check_nppes` over a monthly file."""

    file_name = models.CharField(max_length=255)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    report_only = models.BooleanField(default=False, help_text="Nobody suspended, nobody emailed")
    rows_read = models.PositiveIntegerField(default=0)
    therapists_checked = models.PositiveIntegerField(default=0)
    findings_count = models.PositiveIntegerField("findings", default=0)
    suspended_count = models.PositiveIntegerField("listings suspended", default=0)
    providers_kept = models.PositiveIntegerField(default=0, help_text="Behavioural-health providers kept for pre-fill")

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "NPPES check"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"


class NppesFinding(models.Model):
    """A listed therapist whose NPI record differs from the listing."""

    Kind = models.TextChoices(
        "Kind", [(value.upper().replace("-", "_"), (value, label)) for value, label in rules.KINDS.items()]
    )

    check_run = models.ForeignKey(NppesCheck, on_delete=models.CASCADE, related_name="findings")
    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="nppes_findings")
    npi = models.CharField("NPI", max_length=10)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=2, blank=True)
    listed_value = models.CharField("in the directory", max_length=200, blank=True)
    registry_value = models.CharField("in the registry", max_length=200, blank=True)
    suspended = models.BooleanField(default=False, help_text="The listing was suspended by this check")

    class Meta:
        ordering = ["-check_run_id", "kind", "npi", "id"]  # the latest run first
        indexes = [models.Index(fields=["check_run", "kind"])]
        verbose_name = "NPPES finding"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: NPI {self.npi}"


class RegistryProvider(models.Model):
    """A behavioural-health individual from the last NPPES file checked with --keep-providers: a slim record."""

    npi = models.CharField("NPI", max_length=10, unique=True)
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    credential = models.CharField(max_length=60, blank=True)
    address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    taxonomies = models.CharField(max_length=200, blank=True, help_text="NUCC codes, comma-separated")
    licences = models.JSONField(default=list, blank=True, help_text='[["NY", "012345"], ...]')
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["last_name", "first_name", "npi"]
        verbose_name = "registry provider"

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} (NPI {self.npi})"

    @property
    def taxonomy_codes(self) -> list[str]:
        return [code for code in self.taxonomies.split(",") if code]
