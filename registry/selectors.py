"""Reads for the NPPES checks and the pre-fill."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count

from directory.models import LicensedState, Office, Therapist
from registry.models import NppesCheck, NppesFinding, RegistryProvider
from registry.rules import Listing

# Listed, or waiting for staff to list them: the profiles the registry can vouch for or against.
CHECKED_STATUSES = (Therapist.Status.PUBLISHED, Therapist.Status.PENDING)


def checked_listings() -> dict[str, Listing]:
    """Every checked therapist by NPI, in three queries of plain tuples (100,000 listings stay small)."""
    checked = Therapist.objects.filter(status__in=CHECKED_STATUSES)
    postal_codes: dict[int, list[str]] = defaultdict(list)
    for therapist_id, postal_code in (
        Office.objects.filter(therapist__in=checked).values_list("therapist_id", "postal_code").iterator()
    ):
        postal_codes[therapist_id].append(postal_code)
    licences: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for therapist_id, state, number in (
        LicensedState.objects.filter(therapist__in=checked, basis=LicensedState.Basis.LICENSE)
        .exclude(license_number="")
        .values_list("therapist_id", "state", "license_number")
        .iterator()
    ):
        licences[therapist_id].append((state, number))
    return {
        npi: Listing(
            therapist_id=therapist_id,
            npi=npi,
            last_name=last_name,
            postal_codes=tuple(postal_codes.get(therapist_id, ())),
            licences=tuple(licences.get(therapist_id, ())),
        )
        for therapist_id, npi, last_name in checked.values_list("id", "npi", "last_name").iterator()
    }


def registry_provider(npi: str) -> RegistryProvider | None:
    """The kept behavioural-health provider with this NPI, if the last file checked held one."""
    return RegistryProvider.objects.filter(npi=npi).first()


def findings_by_kind(check: NppesCheck) -> dict[str, int]:
    """How many findings of each kind a run made, every kind named (0 when none), in one query."""
    counted = dict(
        check.findings.order_by().values_list("kind").annotate(count=Count("id")).values_list("kind", "count")
    )
    return {kind: counted.get(kind, 0) for kind in NppesFinding.Kind.values}
