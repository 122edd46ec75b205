"""Reads for the NPPES checks and the pre-fill."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from django.db.models import Count, QuerySet

from directory.models import LicensedState, Office, Therapist
from registry.models import NppesCheck, NppesFinding, RegistryProvider
from registry.rules import Listing

# Listed, or waiting for staff to list them: the profiles the registry can vouch for or against.
CHECKED_STATUSES = (Therapist.Status.PUBLISHED, Therapist.Status.PENDING)


def checked_npis() -> dict[str, int]:
    """Every checked listing's therapist id by its NPI, in one query: what a check looks for in the registry's file."""
    return dict(_checked().values_list("npi", "id").iterator())


def checked_listings(therapists: Mapping[str, int]) -> dict[str, Listing]:
    """The listings of these therapists (id by NPI: a batch of a check) still checked, by NPI, in three queries.

    A check reads its listings a batch at a time, as the file names them: a million listings held at
    once took 1.3 GB.
    """
    ids = list(therapists.values())
    last_names = dict(_checked().filter(pk__in_ids=ids).values_list("id", "last_name"))
    postal_codes: dict[int, list[str]] = defaultdict(list)
    for therapist_id, postal_code in Office.objects.filter(therapist_id__in_ids=ids).values_list(
        "therapist_id", "postal_code"
    ):
        postal_codes[therapist_id].append(postal_code)
    licences: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for therapist_id, state, number in (
        LicensedState.objects.filter(therapist_id__in_ids=ids, basis=LicensedState.Basis.LICENSE)
        .exclude(license_number="")
        .values_list("therapist_id", "state", "license_number")
    ):
        licences[therapist_id].append((state, number))
    return {
        npi: Listing(
            therapist_id=therapist_id,
            npi=npi,
            last_name=last_names[therapist_id],
            postal_codes=tuple(postal_codes.get(therapist_id, ())),
            licences=tuple(licences.get(therapist_id, ())),
        )
        for npi, therapist_id in therapists.items()
        if therapist_id in last_names
    }


def _checked() -> QuerySet[Therapist]:
    return Therapist.objects.filter(status__in=CHECKED_STATUSES)


def registry_provider(npi: str) -> RegistryProvider | None:
    """The kept behavioural-health provider with this NPI, if the last file checked held one."""
    return RegistryProvider.objects.filter(npi=npi).first()


def findings_by_kind(check: NppesCheck) -> dict[str, int]:
    """How many findings of each kind a run made, every kind named (0 when none), in one query."""
    counted = dict(
        check.findings.order_by().values_list("kind").annotate(count=Count("id")).values_list("kind", "count")
    )
    return {kind: counted.get(kind, 0) for kind in NppesFinding.Kind.values}
