"""The codes, URLs and ids that FHIR Plan-Net output uses: each stated once, here.

- Profiles and extensions of HL7 Da Vinci PDex Plan-Net 1.1.0 (FHIR R4 4.0.1).
- Specialties: the directory's free-text credentials ("LCSW", "PhD, Licensed
  Psychologist") mapped to NUCC provider taxonomy codes by keyword
  (`SPECIALTIES`), the one mapping the resources and the `specialty=` search share.
- Ids: therapists and offices publish their stable `public_id`; the insurers'
  organizations, networks and plans and the format services get uuid5 ids
  derived from a slug, the same on every deployment.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db.models import Q

PLAN_NET = "http://hl7.org/fhir/us/davinci-pdex-plan-net"
PLAN_NET_VERSION = "1.1.0"
FHIR_VERSION = "4.0.1"


def profile(name: str) -> str:
    return f"{PLAN_NET}/StructureDefinition/{name}"


PROFILES = {
    "Practitioner": profile("plannet-Practitioner"),
    "PractitionerRole": profile("plannet-PractitionerRole"),
    "Location": profile("plannet-Location"),
    "Organization": profile("plannet-Organization"),
    "Network": profile("plannet-Network"),
    "HealthcareService": profile("plannet-HealthcareService"),
    "InsurancePlan": profile("plannet-InsurancePlan"),
}
NEW_PATIENTS = profile("newpatients")
NETWORK_REFERENCE = profile("network-reference")
ACCESSIBILITY = profile("accessibility")
ACCEPTING_PATIENTS_SYSTEM = f"{PLAN_NET}/CodeSystem/AcceptingPatientsCS"
ACCEPTING = {True: ("newpt", "Accepting"), False: ("nopt", "Not Accepting")}
ORGANIZATION_TYPE_SYSTEM = f"{PLAN_NET}/CodeSystem/OrgTypeCS"
SERVICE_CATEGORY_SYSTEM = f"{PLAN_NET}/CodeSystem/HealthcareServiceCategoryCS"
ACCESSIBILITY_SYSTEM = f"{PLAN_NET}/CodeSystem/AccessibilityCS"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"
# The directory's own code system for the IPT training level: neither standard has one.
TRAINING_LEVEL_SYSTEM = "urn:ipt-directory:ipt-training-level"
# The FHIR core extension for a `near` search's distance, on Bundle.entry.search.
LOCATION_DISTANCE = "http://hl7.org/fhir/StructureDefinition/location-distance"


@dataclass(frozen=True)
class Specialty:
    code: str
    display: str
    # A credential text naming any of these (case-insensitive, as a substring) has this specialty.
    keywords: tuple[str, ...]

    def coding(self) -> dict:
        return {"system": NUCC_SYSTEM, "code": self.code, "display": self.display}


SPECIALTIES = (
    Specialty("1041C0700X", "Social Worker, Clinical", ("LCSW", "LICSW", "Clinical Social Worker")),
    Specialty("106H00000X", "Marriage & Family Therapist", ("LMFT", "Marriage and Family", "Marriage & Family")),
    Specialty("101YM0800X", "Counselor, Mental Health", ("LMHC", "Mental Health Counselor")),
    Specialty("101YP2500X", "Counselor, Professional", ("LPC", "LCPC", "Professional Counselor")),
    Specialty("103TC0700X", "Psychologist, Clinical", ("Psychologist", "PsyD")),
    Specialty("2084P0800X", "Psychiatry & Neurology, Psychiatry", ("Psychiatrist",)),
    Specialty("363LP0808X", "Nurse Practitioner, Psychiatric/Mental Health", ("PMHNP",)),
)
SPECIALTY_OF_CODE = {specialty.code: specialty for specialty in SPECIALTIES}


@functools.lru_cache(maxsize=4096)
def specialties_of(credentials: str) -> tuple[Specialty, ...]:
    """The NUCC specialties a therapist's credential text names, in `SPECIALTIES` order (none when unknown).

    Cached: a directory has far fewer distinct credential texts than therapists.
    """
    text = credentials.casefold()
    return tuple(
        specialty for specialty in SPECIALTIES if any(keyword.casefold() in text for keyword in specialty.keywords)
    )


def credentials_naming(codes: Collection[str], texts: Iterable[str]) -> list[str]:
    """The credential texts among these that name one of the specialties of these codes, by `specialties_of`."""
    return [text for text in texts if any(specialty.code in codes for specialty in specialties_of(text))]


def specialty_condition(code: str) -> Q:
    """The therapists whose credentials name this specialty: `specialties_of` as a query (none if unmapped).

    Its keywords are tested in SQL, each credential text read: for a directory of too many distinct texts to list.
    """
    specialty = SPECIALTY_OF_CODE.get(code)
    if specialty is None:
        return Q(pk__in=[])
    condition = Q()
    for keyword in specialty.keywords:
        condition |= Q(credentials__icontains=keyword)
    return condition


# The namespace of the derived ids (uuid5): fixed, so an id names the same thing on every deployment.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:ipt-directory:fhir")


@functools.lru_cache(maxsize=1024)
def derived_id(kind: str, slug: str) -> str:
    """The id of a resource made from a slug: `payer`, `network` and `plan` of an insurer, `service` of a format."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{slug}"))
