"""The NPPES check (compare every checked listing with the monthly file, suspend deactivated NPIs) and the
pre-fill of a new therapist's draft profile from the registry."""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import mail_managers
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.sqlite import file_not_mapped
from directory import geo, profiles
from directory.models import LicensedState, Therapist
from registry import rules, selectors
from registry.models import NppesCheck, NppesFinding, RegistryProvider
from registry.nppes import NppesReader, NppesRecord
from registry.vocabularies import BEHAVIOURAL_HEALTH_TAXONOMIES, is_behavioural_health

PROVIDER_BATCH = 2000  # kept providers written per statement: memory stays bounded whatever the file's size
LISTING_BATCH = 2000  # listings read and compared at a time, as the file names them
FINDING_BATCH = 1000  # findings written per statement
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Difference:
    """A listing's difference from its registry record, as the scan keeps it until the run is stored."""

    therapist_id: int
    npi: str
    discrepancy: rules.Discrepancy


@dataclass
class Scan:
    """What one pass over the file found: the differences of the listings it names, the NPIs it does not
    name (`unseen`), the providers kept."""

    unseen: set[str]
    differences: dict[str, list[Difference]] = field(default_factory=dict)  # by NPI, those with any
    rows_read: int = 0
    providers_kept: int = 0


def check_nppes(
    *, path: Path, now: datetime.datetime, report_only: bool = False, keep_providers: bool = False
) -> NppesCheck:
    """Compare every checked listing with an NPPES data file and store the run and its findings.

    Findings: NPI not in the file, NPI deactivated, last name, practice ZIP and licence numbers that
    differ (`registry.rules.compare`). A deactivated NPI suspends its listing, which emails the
    therapist, and staff (MANAGERS) get one email listing the suspensions; `report_only` suspends and
    emails nobody. `keep_providers` also keeps the file's behavioural-health individuals for pre-fill.
    LayoutError when the file lacks a column the check reads; OSError when it cannot be read.

    Memory holds the checked NPIs (with their therapists' ids) and the differences found, not the
    listings: those are read a batch at a time as the file names them (`LISTING_BATCH`).
    """
    with file_not_mapped():
        npis = selectors.checked_npis()
        scan = _scan(path, npis, now=now, keep_providers=keep_providers)
        differences = [*_not_found(npis, scan.unseen), *itertools.chain.from_iterable(scan.differences.values())]
    with transaction.atomic():
        check = NppesCheck.objects.create(
            file_name=path.name[:255],
            started_at=now,
            finished_at=now,
            report_only=report_only,
            rows_read=scan.rows_read,
            therapists_checked=len(npis),
            providers_kept=scan.providers_kept,
        )
        deactivated = [_finding(check, difference) for difference in differences
                       if difference.discrepancy.kind == rules.DEACTIVATED]  # fmt: skip
        suspended = [] if report_only else _suspend_deactivated(deactivated)
        NppesFinding.objects.bulk_create(deactivated, batch_size=FINDING_BATCH)
        others = (_finding(check, difference) for difference in differences
                  if difference.discrepancy.kind != rules.DEACTIVATED)  # fmt: skip
        for batch in _batches(others, FINDING_BATCH):
            NppesFinding.objects.bulk_create(batch)
        check.findings_count, check.suspended_count = len(differences), len(suspended)
        check.finished_at = timezone.now()
        check.save(update_fields=["findings_count", "suspended_count", "finished_at"])
        if suspended:
            _tell_staff(check, suspended)
    return check


def _scan(path: Path, npis: dict[str, int], *, now: datetime.datetime, keep_providers: bool) -> Scan:
    scan = Scan(unseen=set(npis))
    named: list[NppesRecord] = []
    batch: list[RegistryProvider] = []
    ended: list[str] = []
    with path.open(newline="", encoding="utf-8", errors="replace") as stream:
        reader = NppesReader(stream)
        keep_taxonomies = BEHAVIOURAL_HEALTH_TAXONOMIES if keep_providers else None
        for record in reader.records(listed=npis, keep_taxonomies=keep_taxonomies):
            if record.npi in npis:
                named.append(record)
                if len(named) >= LISTING_BATCH:
                    _compare(named, npis, scan)
                    named = []
            if not keep_providers:
                continue
            if record.is_deactivated:
                ended.append(record.npi)
            elif record.is_individual and any(is_behavioural_health(code) for code in record.taxonomies):
                batch.append(_provider(record, now))
            if len(batch) >= PROVIDER_BATCH or len(ended) >= PROVIDER_BATCH:
                scan.providers_kept += _keep(batch, ended)
                batch, ended = [], []
        _compare(named, npis, scan)
        scan.providers_kept += _keep(batch, ended)
        scan.rows_read = reader.rows_read
    return scan


def _compare(records: list[NppesRecord], npis: dict[str, int], scan: Scan) -> None:
    """Compare a batch of the file's records with their listings; a later row of the same NPI replaces an earlier."""
    listings = selectors.checked_listings({record.npi: npis[record.npi] for record in records})
    for record in records:
        scan.unseen.discard(record.npi)
        scan.differences.pop(record.npi, None)
        listing = listings.get(record.npi)
        if listing is None:  # no longer checked since the scan began
            continue
        if discrepancies := rules.compare(listing, record):
            scan.differences[record.npi] = [
                Difference(listing.therapist_id, record.npi, discrepancy) for discrepancy in discrepancies
            ]


def _not_found(npis: dict[str, int], unseen: set[str]) -> Iterator[Difference]:
    """The listings whose NPI the file does not name."""
    for npi in sorted(unseen):
        yield Difference(npis[npi], npi, rules.Discrepancy(rules.NOT_FOUND))


def _provider(record: NppesRecord, now: datetime.datetime) -> RegistryProvider:
    return RegistryProvider(
        npi=record.npi,
        first_name=record.first_name[:80],
        last_name=record.last_name[:80],
        credential=record.credential[:60],
        address=record.address[:200],
        city=record.city[:80],
        state=record.state[:2],
        postal_code=rules.zip5(record.postal_code),
        phone=record.phone[:20],
        taxonomies=",".join(record.taxonomies)[:200],
        licences=[list(licence) for licence in record.licences],
        updated_at=now,
    )


KEPT_FIELDS = [
    "first_name", "last_name", "credential", "address", "city", "state", "postal_code", "phone", "taxonomies",
    "licences", "updated_at",
]  # fmt: skip


def _keep(providers: list[RegistryProvider], ended: list[str]) -> int:
    """Upsert a batch of kept providers and forget the deactivated NPIs; the number upserted."""
    if ended:
        RegistryProvider.objects.filter(npi__in=ended).delete()
    if providers:
        RegistryProvider.objects.bulk_create(
            providers, update_conflicts=True, unique_fields=["npi"], update_fields=KEPT_FIELDS
        )
    return len(providers)


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _finding(check: NppesCheck, difference: Difference) -> NppesFinding:
    discrepancy = difference.discrepancy
    return NppesFinding(
        check_run=check,
        therapist_id=difference.therapist_id,
        npi=difference.npi,
        kind=discrepancy.kind,
        state=discrepancy.state,
        listed_value=discrepancy.listed[:200],
        registry_value=discrepancy.registry[:200],
    )


def _suspend_deactivated(findings: list[NppesFinding]) -> list[Therapist]:
    """Suspend the listing of each finding of a deactivated NPI (suspend_profile emails the therapist); those
    suspended."""
    deactivated = {finding.therapist_id: finding for finding in findings}
    suspended = []
    for therapist in Therapist.objects.filter(pk__in=deactivated).select_related("user"):
        finding = deactivated[therapist.pk]
        message = (
            f"The national NPI registry (NPPES) lists your NPI {finding.npi} as deactivated on "
            f"{finding.registry_value}, so your listing is suspended. If your NPI is active again, or you "
            "have a new one, reply to this email and staff will check it."
        )
        if profiles.suspend_profile(therapist=therapist, message=message):
            finding.suspended = True
            suspended.append(therapist)
    return suspended


def _tell_staff(check: NppesCheck, suspended: Iterable[Therapist]) -> None:
    names = "\n".join(f"- {therapist.full_name} (NPI {therapist.npi})" for therapist in suspended)
    link = settings.SITE_URL.rstrip("/") + reverse("admin:registry_nppesfinding_changelist")
    link = f"{link}?check_run__id__exact={check.pk}"
    mail_managers(
        subject=f"NPPES check: {check.suspended_count} listings suspended for a deactivated NPI",
        message=f"The NPPES check of {check.file_name} suspended:\n{names}\n\nAll findings: {link}",
    )


# --- Pre-fill ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """What the registry would put on a draft profile."""

    fields: dict[str, str]
    office: dict[str, str] | None
    licences: list[tuple[str, str]]
    taxonomies: list[str]


def _name(text: str) -> str:
    """NPPES names and addresses are mostly capitals: "MARY-ANN O'BRIEN" reads "Mary-Ann O'Brien", "300 7TH AVE"
    reads "300 7th Ave"."""
    if not text.isupper():
        return text
    return " ".join(word.title() if word[:1].isalpha() else word.lower() for word in text.split())


def _phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 10 else ""


def proposal(provider: RegistryProvider) -> Proposal:
    """The registry's name, credentials, phone, practice office and licences, as the profile takes them.

    An office whose ZIP is unknown or in another state, and licences outside the US states, are left out.
    """
    fields = {
        "first_name": _name(provider.first_name),
        "last_name": _name(provider.last_name),
        "credentials": provider.credential,
        "phone": _phone(provider.phone),
    }
    office = None
    if provider.address and provider.city and geo.zip_state(provider.postal_code) == provider.state:
        office = {
            "address": _name(provider.address),
            "city": _name(provider.city),
            "state": provider.state,
            "postal_code": provider.postal_code,
        }
    licences = [(state, number) for state, number in provider.licences if state in geo.US_STATES]
    return Proposal(
        fields={name: value for name, value in fields.items() if value},
        office=office,
        licences=licences,
        taxonomies=[BEHAVIOURAL_HEALTH_TAXONOMIES.get(code, code) for code in provider.taxonomy_codes],
    )


def prefill_profile(*, therapist: Therapist) -> Therapist:
    """Fill a draft profile from the registry's record of its NPI, through the directory's profile service.

    Name, credentials and phone take the registry's values; its practice office and its licences are
    added to those already on the profile (a state already listed keeps its number). ValidationError
    names the problem: not a draft, no behavioural-health record for the NPI, or the profile service's.
    """
    if therapist.status != Therapist.Status.DRAFT:
        raise ValidationError({"status": ["Only a new draft profile can be filled from the NPI registry."]})
    provider = selectors.registry_provider(therapist.npi)
    if provider is None:
        raise ValidationError({"npi": [f"The NPI registry copy here has no therapist with NPI {therapist.npi}."]})
    filled = proposal(provider)
    return profiles.update_profile(
        therapist=therapist,
        fields=filled.fields,
        offices=_offices_with(therapist, filled.office),
        licensed_states=_licences_with(therapist, filled.licences),
    )


OFFICE_FIELDS = ("label", "address", "city", "state", "postal_code", "wheelchair_accessible", "latitude", "longitude")


def _offices_with(therapist: Therapist, office: dict[str, str] | None) -> list[dict] | None:
    """The profile's offices plus the registry's, or None (unchanged) when it is there already or unknown."""
    current = [{name: getattr(row, name) for name in OFFICE_FIELDS} for row in therapist.offices.all()]
    if office is None or any(
        row["postal_code"][:5] == office["postal_code"]
        and rules.name_key(row["address"]) == rules.name_key(office["address"])
        for row in current
    ):
        return None
    return [*current, office]


def _licences_with(therapist: Therapist, licences: list[tuple[str, str]]) -> list[dict] | None:
    current = [
        {"state": row.state, "basis": row.basis, "license_number": row.license_number}
        for row in therapist.licensed_states.all()
    ]
    listed = {row["state"] for row in current}
    added = []
    for state, number in licences:
        if state not in listed:
            added.append({"state": state, "basis": LicensedState.Basis.LICENSE, "license_number": number[:40]})
            listed.add(state)
    return [*current, *added] if added else None
